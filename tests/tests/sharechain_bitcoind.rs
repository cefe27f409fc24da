//! Shares built by the sharechain crate are blocks a real Bitcoin Core
//! accepts: the coinbase of decision 1 (BIP 34 heights 1..=17, the SMNT
//! commitment, the witness commitment and reserved value), the header and
//! the merkle root. Each share is then validated against that bitcoind,
//! through the node's own view of it, and connected to a sharechain.

use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::{Amount, Block, ScriptBuf};
use node::bitcoin_view::BitcoindView;
use node::bitcoind::SubmitOutcome;
use sharechain::chain::{InsertStatus, ShareChain};
use sharechain::store::MemoryStore;
use sharechain::testkit::test_claim_key;
use sharechain::{merkle, validate_share, ConsensusParams, Share, ShareData, SharechainConfig};
use tests::blocks::{build_block, coinbase_spec, grind, pays_whole_value, EXTRANONCE_LEN};
use tests::TestBitcoind;

/// `OP_TRUE`: the federation script of these chains, so no key is needed.
fn op_true() -> ScriptBuf {
    ScriptBuf::from_bytes(vec![0x51])
}

fn now() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    u32::try_from(secs).expect("before 2106")
}

/// Builds the next share on the chain's tip from a fresh template, grinds it
/// to both targets it must meet, submits it as a block and validates and
/// connects it as a share. Returns the block and the share.
async fn mine_share_and_block(
    bitcoind: &TestBitcoind,
    config: &SharechainConfig,
    chain: &mut ShareChain<MemoryStore>,
) -> (Block, Share) {
    let template = bitcoind.client().get_block_template().await.unwrap();
    let next = chain.next_share();
    let data = ShareData {
        version: sharechain::params::SHARE_VERSION,
        sharechain_id: config.id(),
        prev_share: next.prev_share,
        uncles: next.uncles,
        share_bits: next.share_bits,
        claim_key: test_claim_key(template.height as u8),
    };
    let spec = coinbase_spec(&template, config.payout_script.clone(), data.commitment());
    let extranonce = template.height.to_le_bytes().repeat(EXTRANONCE_LEN / 4);
    let mut block = build_block(&template, &spec, &extranonce);
    let share_target = bitcoin::Target::from_compact(next.share_bits);
    grind(&mut block.header, share_target.min(template.target));
    assert_eq!(
        bitcoind.client().submit_block(&block).await.unwrap(),
        SubmitOutcome::Accepted,
        "bitcoind accepts the share as the block at height {}",
        template.height
    );
    assert_eq!(
        bitcoind.client().get_best_block_hash().await.unwrap(),
        block.block_hash()
    );

    // The share carries the coinbase without its witness.
    let mut coinbase = block.txdata[0].clone();
    coinbase.input[0].witness = bitcoin::Witness::new();
    let share = Share {
        header: block.header,
        coinbase,
        merkle_branch: merkle::coinbase_branch(&template.txids()),
        data,
    };
    let share = Share::decode(&share.encode()).expect("a share we built decodes");

    let view = BitcoindView::new(bitcoind.client().clone());
    view.set_tip(template.height - 1, template.previous_block_hash);
    view.prepare(&share.header.prev_blockhash).await.unwrap();
    let valid = validate_share(&share, config, chain, &view, now()).expect("the share is valid");
    assert!(valid.is_block);
    assert_eq!(valid.bitcoin_height, template.height);
    let inserted = chain.insert_valid(&share, &valid).unwrap();
    assert_eq!(inserted.status, InsertStatus::Connected);
    assert_eq!(chain.index().tip(), Some(share.id()));
    (block, share)
}

fn empty_chain(config: &SharechainConfig) -> ShareChain<MemoryStore> {
    ShareChain::open(MemoryStore::new(), config.params.clone()).unwrap()
}

#[tokio::test]
async fn regtest_accepts_share_blocks_at_heights_1_to_17() {
    // At genesis, so the shares are the blocks at heights 1..=17 (BIP 34:
    // OP_1..OP_16, then a one-byte push).
    let bitcoind = TestBitcoind::builder().fresh_chain().start().await;
    let config = SharechainConfig::new(ConsensusParams::regtest(), op_true());
    let mut chain = empty_chain(&config);
    let mut last = None;
    for _ in 1..=17 {
        last = Some(mine_share_and_block(&bitcoind, &config, &mut chain).await);
    }
    assert_eq!(bitcoind.height().await, 17);
    assert_eq!(chain.index().len(), 17);
    // What `getblock` shows: the coinbase pays the federation script the
    // whole value, and the next output is the SMNT commitment.
    let (mined, _) = last.expect("17 blocks mined");
    let stored = bitcoind.block(&mined.block_hash()).await;
    assert!(pays_whole_value(
        &stored,
        &op_true(),
        Amount::from_int_btc(50)
    ));
    assert!(stored.txdata[0].output[1]
        .script_pubkey
        .as_bytes()
        .starts_with(&[0x6a, 0x24, 0x53, 0x4d, 0x4e, 0x54]));
}

#[tokio::test]
async fn custom_signet_accepts_a_share_block() {
    let bitcoind = TestBitcoind::signet().await;
    let config = SharechainConfig::new(ConsensusParams::custom_signet(op_true()), op_true());
    let mut chain = empty_chain(&config);
    // One block (~4.8 million hashes): signet demands a witness commitment
    // even without segwit transactions.
    let (_, share) = mine_share_and_block(&bitcoind, &config, &mut chain).await;
    assert_eq!(share.coinbase.output.len(), 3);
}
