//! Shares built by this crate are blocks a real Bitcoin Core accepts: the
//! coinbase of decision 1 (BIP 34 heights 1..=17, the SMNT commitment, the
//! witness commitment and reserved value), the header and merkle root. Each
//! share is then validated with a `BitcoinView` answered by that bitcoind.
//! Needs the bitcoind built by scripts/bitcoind.sh (SHAREMINT_BITCOIN_BIN).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::block::Header;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Amount, Block, BlockHash, CompactTarget, ScriptBuf};
use serde_json::Value;
use sharechain::coinbase::CoinbaseSpec;
use sharechain::testkit::{test_claim_key, MemoryChain};
use sharechain::{
    validate_share, BitcoinBlockInfo, BitcoinView, ChainView, ConsensusParams, Share, ShareData,
    SharechainConfig,
};

struct Bitcoind {
    child: Child,
    args: Vec<String>,
    cli: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bitcoind {
    fn start(chain_args: &[&str]) -> Bitcoind {
        let bin = std::env::var("SHAREMINT_BITCOIN_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap())
                    .join(".cache/sharemint/bitcoind/0.4.1/bin")
            });
        assert!(
            bin.join("bitcoind").exists(),
            "no bitcoind in {}; run scripts/bitcoind.sh or set SHAREMINT_BITCOIN_BIN",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = chain_args.iter().map(|s| s.to_string()).collect();
        args.push(format!("-datadir={}", dir.path().display()));
        args.push(format!("-rpcport={}", free_port()));
        let child = Command::new(bin.join("bitcoind"))
            .args(&args)
            .args(["-server", "-listen=0", "-printtoconsole=0"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start bitcoind");
        let node = Bitcoind {
            child,
            args,
            cli: bin.join("bitcoin-cli"),
            _dir: dir,
        };
        let start = Instant::now();
        while node.try_cli(&["getblockcount"]).is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "bitcoind did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        node
    }

    fn try_cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(&self.cli)
            .args(&self.args)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap().trim().to_string())
    }

    fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("bitcoin-cli {args:?} failed"))
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.cli(args)).unwrap()
    }
}

impl Drop for Bitcoind {
    fn drop(&mut self) {
        let _ = self.try_cli(&["stop"]);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

impl BitcoinView for Bitcoind {
    fn block(&self, hash: &BlockHash) -> Option<BitcoinBlockInfo> {
        let header: Value =
            serde_json::from_str(&self.try_cli(&["getblockheader", &hash.to_string()])?).ok()?;
        Some(BitcoinBlockInfo {
            height: header["height"].as_u64()? as u32,
            in_best_chain: header["confirmations"].as_i64()? >= 0,
        })
    }

    fn tip_height(&self) -> u32 {
        self.cli(&["getblockcount"]).parse().unwrap()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Builds the next share from a fresh template, grinds it to both targets
/// it must meet, submits it as a block and validates it as a share.
fn mine_share_and_block(
    node: &Bitcoind,
    config: &SharechainConfig,
    chain: &mut MemoryChain,
    prev: Option<Share>,
    rules: &str,
) -> Share {
    let gbt = node.json(&["getblocktemplate", &format!("{{\"rules\":{rules}}}")]);
    let height = gbt["height"].as_u64().unwrap() as u32;
    let share_bits = match &prev {
        None => config.params.initial_share_bits,
        Some(p) => chain.expected_bits(&p.id()).unwrap(),
    };
    let data = ShareData {
        version: sharechain::params::SHARE_VERSION,
        sharechain_id: config.id(),
        prev_share: prev.as_ref().map(Share::id),
        uncles: vec![],
        share_bits,
        claim_key: test_claim_key(height as u8),
    };
    let witness_commitment = gbt["default_witness_commitment"]
        .as_str()
        .map(|hex| ScriptBuf::from_hex(hex).unwrap());
    let spec = CoinbaseSpec {
        height,
        value: Amount::from_sat(gbt["coinbasevalue"].as_u64().unwrap()),
        payout_script: config.payout_script.clone(),
        share_commitment: data.commitment(),
        witness_commitment,
        extranonce_len: 8,
    };
    let coinbase = spec.build(&height.to_le_bytes().repeat(2)).unwrap();
    let mut header = Header {
        version: bitcoin::block::Version::from_consensus(gbt["version"].as_i64().unwrap() as i32),
        prev_blockhash: gbt["previousblockhash"].as_str().unwrap().parse().unwrap(),
        merkle_root: bitcoin::TxMerkleNode::from_raw_hash(coinbase.compute_txid().to_raw_hash()),
        time: (gbt["curtime"].as_u64().unwrap() as u32)
            .max(gbt["mintime"].as_u64().unwrap() as u32),
        bits: CompactTarget::from_consensus(
            u32::from_str_radix(gbt["bits"].as_str().unwrap(), 16).unwrap(),
        ),
        nonce: 0,
    };
    let share_target = bitcoin::Target::from_compact(share_bits);
    let block_target = header.target();
    loop {
        let hash = header.block_hash();
        if share_target.is_met_by(hash) && block_target.is_met_by(hash) {
            break;
        }
        header.nonce += 1;
    }
    let block = Block {
        header,
        txdata: vec![coinbase.clone()],
    };
    assert_eq!(
        node.cli(&["submitblock", &serialize_hex(&block)]),
        "",
        "bitcoind rejected the block at height {height}"
    );
    assert_eq!(
        node.cli(&["getbestblockhash"]),
        block.block_hash().to_string()
    );

    let mut share_coinbase = coinbase;
    share_coinbase.input[0].witness = bitcoin::Witness::new();
    let share = Share {
        header,
        coinbase: share_coinbase,
        merkle_branch: vec![],
        data,
    };
    let share = Share::decode(&share.encode()).unwrap();
    let valid = validate_share(&share, config, chain, node, now()).expect("share is valid");
    assert!(valid.is_block);
    assert_eq!(valid.bitcoin_height, height);
    chain.insert(&share);
    share
}

#[test]
fn regtest_accepts_share_blocks_at_heights_1_to_17() {
    let node = Bitcoind::start(&["-regtest"]);
    let config = SharechainConfig::new(
        ConsensusParams::regtest(),
        ScriptBuf::from_bytes(vec![0x51]),
    );
    let mut chain = MemoryChain::new(config.params.clone());
    let mut prev = None;
    for _ in 1..=17 {
        prev = Some(mine_share_and_block(
            &node,
            &config,
            &mut chain,
            prev,
            r#"["segwit"]"#,
        ));
    }
    assert_eq!(node.tip_height(), 17);
    // The coinbase pays the federation script the whole value.
    let tip = node.cli(&["getbestblockhash"]);
    let block = node.json(&["getblock", &tip, "2"]);
    let outputs = block["tx"][0]["vout"].as_array().unwrap().clone();
    assert_eq!(outputs[0]["scriptPubKey"]["hex"], "51");
    assert_eq!(outputs[0]["value"].as_f64().unwrap(), 50.0);
    assert!(outputs[1]["scriptPubKey"]["hex"]
        .as_str()
        .unwrap()
        .starts_with("6a24534d4e54"));
}

#[test]
fn custom_signet_accepts_a_share_block() {
    let node = Bitcoind::start(&["-signet", "-signetchallenge=51"]);
    let config = SharechainConfig::new(
        ConsensusParams::custom_signet(ScriptBuf::from_bytes(vec![0x51])),
        ScriptBuf::from_bytes(vec![0x51]),
    );
    let mut chain = MemoryChain::new(config.params.clone());
    // One block (~4.8 million hashes): signet demands a witness commitment even without segwit transactions.
    let share = mine_share_and_block(&node, &config, &mut chain, None, r#"["segwit","signet"]"#);
    assert_eq!(share.coinbase.output.len(), 3);
}
