//! Five `sharemint node` processes on loopback, each with its own
//! `sharemint mine`, sharing one regtest bitcoind (issue 5): they find
//! each other from bootstrap addresses, every share found anywhere ends up
//! in every node's chain, all reach the same tip, and the blocks they find
//! pay the federation.

use std::path::Path;
use std::time::Duration;

use bitcoin::BlockHash;
use serde_json::Value;
use tests::{NodeSetup, TestBitcoind, TestKey, TestMiner, TestNode};

const BIN: &str = env!("CARGO_BIN_EXE_sharemint");
const NODES: usize = 5;

fn count(stats: &Value, field: &str) -> u64 {
    stats[field].as_u64().unwrap_or(0)
}

async fn stats_of(nodes: &[TestNode]) -> Vec<Value> {
    let mut all = Vec::new();
    for node in nodes {
        all.push(node.stats().await.expect("stats"));
    }
    all
}

/// Mines on `node` until it has found one more share.
async fn mine_one_share(node: &TestNode) {
    let before = count(&node.stats().await.expect("stats"), "own_shares");
    let miner = TestMiner::start(
        Path::new(BIN),
        &node.setup.stratum_addr(),
        "tiebreak.cpu",
        true,
    );
    node.wait_for("one more share", Duration::from_secs(60), |s| {
        count(s, "own_shares") > before
    })
    .await;
    miner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_with_miners_share_one_chain() {
    tests::init_logging();
    let bitcoind = TestBitcoind::regtest().await;
    let federation = TestKey::new();
    let dirs: Vec<_> = (0..NODES).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes: Vec<TestNode> = Vec::new();
    for dir in &dirs {
        let mut setup = NodeSetup::new(Path::new(BIN), dir.path(), &federation.descriptor());
        // A line: each node knows only the one before it; discovery does the rest.
        if let Some(prev) = nodes.last() {
            setup.bootstrap = vec![prev.setup.p2p_addr()];
        }
        nodes.push(TestNode::start_with(setup, &bitcoind).await);
    }
    let miners: Vec<TestMiner> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            TestMiner::start(
                Path::new(BIN),
                &node.setup.stratum_addr(),
                &format!("miner{i}.cpu"),
                true,
            )
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        node.wait_for(
            &format!("node {i}: 3 own shares"),
            Duration::from_secs(180),
            |s| count(s, "own_shares") >= 3,
        )
        .await;
    }
    for miner in miners {
        miner.stop().await;
    }

    // Once gossip settles every node holds every share and the same tip.
    // Two forks of equal work can stay apart (first seen wins a tie,
    // docs/protocol.md "Best chain") until the next share: then one more
    // share is mined on node 0 and the nodes must agree.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let all = loop {
        let all = stats_of(&nodes).await;
        let found: u64 = all.iter().map(|s| count(s, "own_shares")).sum();
        let have_all = all.iter().all(|s| count(s, "shares_in_chain") == found);
        let same_tip = all.iter().all(|s| s["chain_tip"] == all[0]["chain_tip"]);
        if have_all && same_tip {
            break all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nodes did not converge: {found} shares found; {:#?}",
            all.iter()
                .map(|s| (s["chain_tip"].clone(), count(s, "shares_in_chain")))
                .collect::<Vec<_>>()
        );
        if have_all {
            mine_one_share(&nodes[0]).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for (i, stats) in all.iter().enumerate() {
        assert!(count(stats, "own_shares") >= 3, "node {i}: {stats}");
    }

    // Every block any node found pays the federation and nothing else.
    let mut blocks = 0;
    for stats in &all {
        for found in stats["recent_blocks"].as_array().unwrap() {
            let hash: BlockHash = found["hash"].as_str().unwrap().parse().unwrap();
            let block = bitcoind.block(&hash).await;
            let valued = tests::blocks::valued_outputs(&block);
            assert_eq!(valued.len(), 1);
            assert_eq!(valued[0].script_pubkey, federation.script_pubkey());
            blocks += 1;
        }
    }
    assert!(blocks >= NODES, "only {blocks} blocks found");
}
