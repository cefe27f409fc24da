//! Claims against 4 guardians (t = 3) whose chain views are a real regtest
//! bitcoind and a sharechain of real shares that are real regtest blocks.
//! The guardians run in this process behind their real HTTP API; their
//! `BitcoinSource` asks bitcoind over RPC, their `SharechainSource` computes
//! PPLNS over a `ShareChain` holding the shares.

use std::sync::{Arc, Mutex};

use bitcoin::{Block, BlockHash, Network};
use federation::api::ErrorCode;
use federation::client::{ClientError, Wallet, WalletError, WalletSeed};
use federation::guardian::{
    BitcoinSource, BlockStatus, ChainSources, Guardian, SharechainSource, SourceError,
};
use federation::FederationConfig;
use futures::future::BoxFuture;
use node::bitcoind::BitcoindClient;
use secp256k1::{Keypair, SECP256K1};
use sharechain::chain::{ChainEntry, ShareChain};
use sharechain::pplns::{Msat, Payout};
use sharechain::retarget::target_from_bits;
use sharechain::store::MemoryStore;
use sharechain::testkit::{assemble, ShareRecipe};
use sharechain::work::Work;
use sharechain::{ClaimKey, Share, ShareId};
use tests::TestBitcoind;

/// The guardian's bitcoind, over RPC.
struct RpcBitcoin(BitcoindClient);

impl BitcoinSource for RpcBitcoin {
    fn block_status(
        &self,
        block: BlockHash,
    ) -> BoxFuture<'_, Result<Option<BlockStatus>, SourceError>> {
        Box::pin(async move {
            let unavailable = |e: node::bitcoind::RpcError| SourceError::Unavailable(e.to_string());
            let header: serde_json::Value = match self
                .0
                .call(
                    "getblockheader",
                    &[serde_json::json!(block), serde_json::json!(true)],
                )
                .await
            {
                Ok(header) => header,
                Err(_) => return Ok(None),
            };
            let confirmations = header["confirmations"].as_i64().unwrap_or(-1);
            if confirmations < 1 {
                return Ok(None);
            }
            let full = self.0.get_block(&block).await.map_err(unavailable)?;
            let coinbase_outputs = full.txdata[0]
                .output
                .iter()
                .map(|o| (o.script_pubkey.clone(), o.value))
                .collect();
            Ok(Some(BlockStatus {
                confirmations: confirmations as u32,
                coinbase_outputs,
            }))
        })
    }
}

/// The guardian's sharechain.
struct MemorySharechain {
    chain: Mutex<ShareChain<MemoryStore>>,
}

impl SharechainSource for MemorySharechain {
    fn payouts(
        &self,
        block_share: ShareId,
        reward: Msat,
    ) -> BoxFuture<'_, Result<Vec<Payout>, SourceError>> {
        let chain = self.chain.lock().unwrap();
        // The same pure PPLNS function every node runs, over the guardian's chain.
        let result = chain
            .payouts(&block_share, reward)
            .map_err(|_| SourceError::UnknownShare(block_share));
        Box::pin(async move { result })
    }
}

fn entry(share: &Share) -> ChainEntry {
    let target = target_from_bits(share.data.share_bits).unwrap();
    ChainEntry {
        id: ShareId::from_block_hash(share.header.block_hash()),
        parent: share.data.prev_share,
        uncles: share.data.uncles.clone(),
        share_bits: share.data.share_bits,
        work: Work::from_target(target),
        time: share.header.time,
        claim_key: share.data.claim_key,
        bitcoin_height: 0,
        bitcoin_prev: share.header.prev_blockhash,
    }
}

/// A block time bitcoind accepts on `tip`: now, or past the tip's median
/// time when earlier blocks were mined with later clocks.
async fn block_time(bitcoind: &TestBitcoind, tip: BlockHash) -> u32 {
    let header: serde_json::Value = bitcoind
        .client()
        .call(
            "getblockheader",
            &[serde_json::json!(tip), serde_json::json!(true)],
        )
        .await
        .unwrap();
    let median = header["mediantime"].as_u64().unwrap() as u32;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    now.max(median + 1)
}

/// A share on `parent` that meets its share target and the block target.
fn grind(config: &sharechain::SharechainConfig, recipe: &ShareRecipe) -> Share {
    let share_target = target_from_bits(recipe.share_bits).unwrap();
    let block_target = target_from_bits(recipe.bitcoin_bits).unwrap();
    let mut share = assemble(config, recipe, 0);
    for nonce in 0.. {
        share.header.nonce = nonce;
        let hash = share.header.block_hash();
        if share_target.is_met_by(hash) && block_target.is_met_by(hash) {
            return share;
        }
    }
    unreachable!()
}

struct Setup {
    bitcoind: TestBitcoind,
    config: FederationConfig,
    shares: Vec<Share>,
    keys: Vec<Keypair>,
    dir: tempfile::TempDir,
    _servers: Vec<tokio::task::JoinHandle<()>>,
}

/// Bitcoind, 3 shares mined as blocks (each share's coinbase pays the
/// federation), and 4 guardians serving over HTTP.
async fn setup() -> Setup {
    tests::init_logging();
    let bitcoind = TestBitcoind::regtest().await;
    let ports = tests::ports::free_ports(4);
    let (config, secrets) = federation::dealer::deal(4, Network::Regtest, 43, |i| {
        format!("http://127.0.0.1:{}", ports[i])
    });
    let sharechain_config = config.sharechain_config();
    let params = config.sharechain_params();
    let keys: Vec<Keypair> = (0..4)
        .map(|_| Keypair::new(SECP256K1, &mut rand::thread_rng()))
        .collect();

    let mut chain = ShareChain::open(MemoryStore::new(), params.clone()).unwrap();
    let mut shares = Vec::new();
    let mut prev: Option<ShareId> = None;
    for key in &keys[..3] {
        let tip = bitcoind.client().get_best_block_hash().await.unwrap();
        let height = bitcoind.height().await as u32;
        let mut recipe = ShareRecipe::new(
            tip,
            height + 1,
            block_time(&bitcoind, tip).await,
            params.initial_share_bits,
        );
        recipe.prev_share = prev;
        recipe.claim_key = ClaimKey::new(key.public_key());
        let share = grind(&sharechain_config, &recipe);
        let block = Block {
            header: share.header,
            txdata: vec![share.coinbase.clone()],
        };
        let outcome = bitcoind.client().submit_block(&block).await.unwrap();
        assert!(
            format!("{outcome:?}").contains("Accepted"),
            "block refused: {outcome:?}"
        );
        chain.insert(entry(&share), Vec::new()).unwrap();
        prev = Some(ShareId::from_block_hash(share.header.block_hash()));
        shares.push(share);
    }
    // A fourth share built later: not in the window of the third's block.
    let tip = bitcoind.client().get_best_block_hash().await.unwrap();
    let mut recipe = ShareRecipe::new(
        tip,
        bitcoind.height().await as u32 + 1,
        shares[2].header.time + 1,
        params.initial_share_bits,
    );
    recipe.prev_share = prev;
    recipe.claim_key = ClaimKey::new(keys[3].public_key());
    let late = grind(&sharechain_config, &recipe);
    chain.insert(entry(&late), Vec::new()).unwrap();
    shares.push(late);

    let sources = ChainSources {
        bitcoin: Arc::new(RpcBitcoin(bitcoind.client().clone())),
        sharechain: Arc::new(MemorySharechain {
            chain: Mutex::new(chain),
        }),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut servers = Vec::new();
    for (i, secret) in secrets.into_iter().enumerate() {
        let guardian = Guardian::open(
            config.clone(),
            secret,
            &dir.path().join(format!("guardian-{i}")),
            Some(sources.clone()),
            None,
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", ports[i]))
            .await
            .unwrap();
        servers.push(tokio::spawn(async move {
            federation::guardian::http::serve(Arc::new(guardian), listener)
                .await
                .unwrap();
        }));
    }
    Setup {
        bitcoind,
        config,
        shares,
        keys,
        dir,
        _servers: servers,
    }
}

fn id(share: &Share) -> ShareId {
    ShareId::from_block_hash(share.header.block_hash())
}

fn codes(error: &WalletError) -> Vec<ErrorCode> {
    match error {
        WalletError::Federation(ClientError::NotEnoughAnswers { failures, .. }) => {
            failures.refusals().map(|(_, e)| e.code).collect()
        }
        other => panic!("expected refusals, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_of_a_found_block_are_claimed_once_it_is_deep_enough() {
    let setup = setup().await;
    let wallet = Wallet::create(
        &setup.dir.path().join("wallet"),
        setup.config.clone(),
        WalletSeed::generate(),
    )
    .unwrap();
    let block = id(&setup.shares[2]);

    // Every share's coinbase pays the federation's script, as bitcoind sees it.
    for share in &setup.shares[..3] {
        let mined = setup.bitcoind.block(&share.header.block_hash()).await;
        assert_eq!(
            mined.txdata[0].output[0].script_pubkey,
            setup.config.payout_script()
        );
    }

    // The amounts every node computes.
    let reward = Msat::from(setup.shares[2].coinbase.output[0].value);
    let expected: Vec<Payout> = {
        let mut chain =
            ShareChain::open(MemoryStore::new(), setup.config.sharechain_params()).unwrap();
        for share in &setup.shares[..3] {
            chain.insert(entry(share), Vec::new()).unwrap();
        }
        chain.payouts(&block, reward).unwrap()
    };
    assert_eq!(expected.len(), 3);
    let amount_of = |i: usize| {
        let share = id(&setup.shares[i]);
        Msat::from_msat(
            expected
                .iter()
                .find(|p| p.share == share)
                .unwrap()
                .amount
                .msat(),
        )
    };

    // One confirmation; claims need two.
    let error = wallet
        .claim(block, id(&setup.shares[0]), &setup.keys[0], amount_of(0))
        .await
        .unwrap_err();
    assert!(
        codes(&error).iter().all(|c| *c == ErrorCode::NotConfirmed),
        "{error}"
    );
    setup.bitcoind.generate(1).await;

    // A wrong claim key.
    let error = wallet
        .claim(block, id(&setup.shares[0]), &setup.keys[1], amount_of(0))
        .await
        .unwrap_err();
    assert!(
        codes(&error).iter().all(|c| *c == ErrorCode::InvalidProof),
        "{error}"
    );

    // A share after the block: not in its window.
    let error = wallet
        .claim(
            block,
            id(&setup.shares[3]),
            &setup.keys[3],
            Msat::from_msat(1),
        )
        .await
        .unwrap_err();
    assert!(
        codes(&error).iter().all(|c| *c == ErrorCode::NotInWindow),
        "{error}"
    );

    // More than the share's amount.
    let too_much = Msat::from_msat(amount_of(0).msat() + 1);
    let error = wallet
        .claim(block, id(&setup.shares[0]), &setup.keys[0], too_much)
        .await
        .unwrap_err();
    assert!(
        codes(&error).iter().all(|c| *c == ErrorCode::Unbalanced),
        "{error}"
    );

    // A block whose coinbase pays someone else.
    let foreign = setup.bitcoind.generate(2).await[0];
    let error = wallet
        .claim(
            ShareId::from_block_hash(foreign),
            id(&setup.shares[0]),
            &setup.keys[0],
            amount_of(0),
        )
        .await
        .unwrap_err();
    assert!(
        codes(&error)
            .iter()
            .all(|c| *c == ErrorCode::NotFederationBlock),
        "{error}"
    );

    // The three real claims: notes worth exactly the PPLNS amounts.
    let mut claimed = 0;
    for i in 0..3 {
        claimed += wallet
            .claim(block, id(&setup.shares[i]), &setup.keys[i], amount_of(i))
            .await
            .unwrap()
            .msat();
    }
    assert_eq!(claimed, reward.msat());
    assert_eq!(wallet.balance().unwrap().msat(), reward.msat());
    let notes: Vec<_> = wallet.notes().unwrap().iter().map(|n| n.note()).collect();
    wallet.client().verify_notes(&notes).unwrap();

    // Claiming again, with new outputs, is refused.
    let error = wallet
        .claim(block, id(&setup.shares[1]), &setup.keys[1], amount_of(1))
        .await
        .unwrap_err();
    assert!(
        codes(&error)
            .iter()
            .all(|c| *c == ErrorCode::AlreadyClaimed),
        "{error}"
    );
}
