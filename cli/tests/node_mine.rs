//! `sharemint node` as a user runs it: a real process against a real regtest
//! bitcoind, with real miners (`sharemint mine`, and the third-party `para`)
//! pointed at its Stratum port. Checked the way a user would: the node's
//! `/api/stats` shows the sharechain growing and blocks found, and bitcoind's
//! `getblock` of each found share shows a coinbase whose only value output
//! pays the federation and whose OP_RETURN commits to that share (read back
//! from the node's store through `/api/share/{id}`).
//!
//! In the cli package because only there does Cargo build the `sharemint`
//! binary for tests (CARGO_BIN_EXE_sharemint).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bitcoin::{BlockHash, ScriptBuf};
use serde_json::Value;
use sharechain::coinbase::parse_share_commitment;
use tests::{NodeSetup, TestBitcoind, TestKey, TestMiner, TestNode};

const BIN: &str = env!("CARGO_BIN_EXE_sharemint");

fn count(stats: &Value, field: &str) -> u64 {
    stats[field].as_u64().unwrap_or(0)
}

/// Every share on the node's best chain that is also a block is in
/// bitcoind, pays only the federation, and commits to exactly that share.
/// Returns how many such blocks were checked.
async fn check_found_blocks(
    node: &TestNode,
    bitcoind: &TestBitcoind,
    federation: &ScriptBuf,
) -> usize {
    let ids = node.get("/api/shares").await.expect("the share list");
    let mut checked = 0;
    for id in ids.as_array().expect("a list") {
        let id = id.as_str().expect("a hash");
        let share = node
            .get(&format!("/api/share/{id}"))
            .await
            .unwrap_or_else(|| panic!("share {id} listed but not served"));
        if !share["is_block"].as_bool().unwrap() {
            continue;
        }
        let hash: BlockHash = id.parse().unwrap();
        let block = bitcoind.block(&hash).await;
        let coinbase = &block.txdata[0];
        let valued = tests::blocks::valued_outputs(&block);
        assert_eq!(valued.len(), 1, "block {id}: one value output");
        assert_eq!(
            &valued[0].script_pubkey, federation,
            "block {id} pays the federation"
        );
        let committed = coinbase
            .output
            .iter()
            .find_map(|o| parse_share_commitment(o.script_pubkey.as_bytes()))
            .expect("a share commitment");
        assert_eq!(
            hex::encode(committed.to_byte_array()),
            share["commitment"].as_str().unwrap(),
            "block {id} commits to its share's data"
        );
        checked += 1;
    }
    checked
}

async fn node_with_miner(version_rolling: bool) {
    tests::init_logging();
    let bitcoind = TestBitcoind::regtest().await;
    let federation = TestKey::new();
    let node = TestNode::start(Path::new(BIN), &bitcoind, &federation.descriptor()).await;
    let miner = TestMiner::start(
        Path::new(BIN),
        &node.setup.stratum_addr(),
        "alice.cpu",
        version_rolling,
    );
    let stats = node
        .wait_for("10 shares and 3 blocks", Duration::from_secs(120), |s| {
            count(s, "shares_in_chain") >= 10 && count(s, "blocks_found") >= 3
        })
        .await;
    miner.stop().await;
    assert!(stats["serving_jobs"].as_bool().unwrap(), "{stats}");
    assert!(count(&stats, "own_shares") >= 10, "{stats}");
    let worker = &stats["stratum"]["workers"][0];
    assert_eq!(worker["name"], "alice.cpu");
    assert!(worker["accepted"].as_u64().unwrap() >= 10, "{stats}");
    let checked = check_found_blocks(&node, &bitcoind, &federation.script_pubkey()).await;
    assert!(
        checked >= 3,
        "only {checked} found blocks on the best chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharemint_mine_on_a_node_with_version_rolling() {
    node_with_miner(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharemint_mine_on_a_node_without_version_rolling() {
    node_with_miner(false).await;
}

/// The directory holding `para`, from `SHAREMINT_PARA_BIN` (scripts/para.sh).
fn para_bin() -> PathBuf {
    let dir = std::env::var_os("SHAREMINT_PARA_BIN").map(PathBuf::from).expect(
        "set SHAREMINT_PARA_BIN to the directory with para: export SHAREMINT_PARA_BIN=$(bash scripts/para.sh)",
    );
    dir.join("para")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn para_mines_on_a_node() {
    tests::init_logging();
    let bitcoind = TestBitcoind::regtest().await;
    let federation = TestKey::new();
    let node = TestNode::start(Path::new(BIN), &bitcoind, &federation.descriptor()).await;
    // para wants a `<address>.<worker>` user name.
    let address =
        bitcoin::Address::from_script(&TestKey::new().script_pubkey(), bitcoin::Network::Regtest)
            .unwrap();
    let mut command = tokio::process::Command::new(para_bin());
    command
        .args(["miner", &node.setup.stratum_addr()])
        .args(["--username", &format!("{address}.para")])
        .args(["--cpu-cores", "1"])
        .stdout(std::process::Stdio::null());
    let miner = TestMiner::start_command(command);
    let stats = node
        .wait_for(
            "10 shares and 3 blocks from para",
            Duration::from_secs(120),
            |s| count(s, "shares_in_chain") >= 10 && count(s, "blocks_found") >= 3,
        )
        .await;
    miner.stop().await;
    let worker = &stats["stratum"]["workers"][0];
    assert_eq!(worker["name"], format!("{address}.para"));
    let checked = check_found_blocks(&node, &bitcoind, &federation.script_pubkey()).await;
    assert!(
        checked >= 3,
        "only {checked} found blocks on the best chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_its_chain_and_never_reuses_a_claim_key() {
    tests::init_logging();
    let bitcoind = TestBitcoind::regtest().await;
    let federation = TestKey::new();
    let dir = tempfile::tempdir().unwrap();
    let setup = NodeSetup::new(Path::new(BIN), dir.path(), &federation.descriptor());
    let mut node = TestNode::start_with(setup.clone(), &bitcoind).await;
    let miner = TestMiner::start(Path::new(BIN), &setup.stratum_addr(), "bob.cpu", true);
    node.wait_for("5 shares", Duration::from_secs(120), |s| {
        count(s, "shares_in_chain") >= 5
    })
    .await;
    miner.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = node.stats().await.expect("stats");
    let old_keys = claim_keys(&node).await;
    // kill -9: no clean shutdown, the store and the index file must be enough.
    node.kill().await;

    let node = TestNode::start_with(setup.clone(), &bitcoind).await;
    let after = node.stats().await.expect("stats");
    assert_eq!(
        count(&after, "shares_in_chain"),
        count(&before, "shares_in_chain"),
        "before {before}\nafter {after}"
    );
    assert_eq!(after["chain_tip"], before["chain_tip"]);
    assert!(
        count(&after, "claim_key_index") >= count(&before, "claim_key_index"),
        "before {before}\nafter {after}"
    );

    let miner = TestMiner::start(Path::new(BIN), &setup.stratum_addr(), "bob.cpu", true);
    let target = count(&before, "shares_in_chain") + 5;
    node.wait_for("5 more shares", Duration::from_secs(120), |s| {
        count(s, "shares_in_chain") >= target
    })
    .await;
    miner.stop().await;
    let new_keys = claim_keys(&node).await;
    let fresh = new_keys.iter().filter(|k| !old_keys.contains(k)).count();
    assert!(fresh >= 5, "the new shares use fresh claim keys");
    // Two shares of one job share its key; a share after the restart never
    // carries a key from before it.
    for key in &old_keys {
        let uses = |keys: &[String]| keys.iter().filter(|k| *k == key).count();
        assert_eq!(
            uses(&new_keys),
            uses(&old_keys),
            "claim key {key} reused after the restart"
        );
    }
}

/// Claim keys of the shares on the node's best chain.
async fn claim_keys(node: &TestNode) -> Vec<String> {
    let ids = node.get("/api/shares").await.expect("the share list");
    let mut keys = Vec::new();
    for id in ids.as_array().unwrap() {
        let share = node
            .get(&format!("/api/share/{}", id.as_str().unwrap()))
            .await
            .expect("a listed share");
        keys.push(share["claim_key"].as_str().unwrap().to_owned());
    }
    keys
}
