//! `sharemint mine` (the real binary, a separate process) mines on a Stratum
//! server fed jobs built from a real regtest bitcoind's template. Every share
//! on regtest is also a block: the test submits each one, bitcoind accepts it,
//! and getblock shows a coinbase whose only value output pays the federation
//! script and whose OP_RETURN carries the job's share commitment.
//!
//! The test plays the daemon's part (templates in, blocks out) until the
//! daemon wiring lands; the server, the jobs and the miner are the real ones.
//! It lives in the cli package because only there does Cargo build the
//! `sharemint` binary for tests (CARGO_BIN_EXE_sharemint).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use node::bitcoind::SubmitOutcome;
use node::jobs::{JobBuilder, JobInputs};
use node::stratum::{job_channel, StratumConfig, StratumServer, VardiffConfig};
use sharechain::coinbase::parse_share_commitment;
use sharechain::ShareData;
use tests::{TestBitcoind, TestKey};

async fn mine_blocks(version_rolling: bool) {
    tests::init_logging();
    let bitcoind = TestBitcoind::regtest().await;
    let client = bitcoind.client().clone();
    let federation = TestKey::new().script_pubkey();
    let share_data = ShareData {
        version: sharechain::params::SHARE_VERSION,
        sharechain_id: sharechain::SharechainId::from_byte_array([7; 32]),
        prev_share: None,
        uncles: Vec::new(),
        // Difficulty 1/256, harder than the miner's 0.0001: the job's
        // vardiff cap (the share target) stays out of the way.
        share_bits: bitcoin::CompactTarget::from_consensus(0x1e00_ffff),
        claim_key: sharechain::testkit::test_claim_key(1),
    };
    let commitment = share_data.commitment();

    let mut config = StratumConfig::new("127.0.0.1:0".parse().unwrap());
    config.session.vardiff = VardiffConfig {
        share_interval: Duration::from_millis(500),
        ..VardiffConfig::default()
    };
    let mut builder = JobBuilder::new(4 + config.session.extranonce2_size);
    let template = client.get_block_template().await.expect("a template");
    let (jobs, jobs_rx) = job_channel();
    let inputs = JobInputs {
        payout_script: federation.clone(),
        share_data,
        clean_jobs: true,
    };
    jobs.send_replace(Some(Arc::new(
        builder.build(&template, inputs.clone()).expect("a job"),
    )));
    let (sink, mut solutions) = tokio::sync::mpsc::unbounded_channel();
    let server = StratumServer::start(config, jobs_rx, Arc::new(sink))
        .await
        .unwrap();

    let mut args = vec![
        "mine".to_owned(),
        server.local_addr().to_string(),
        "--user".into(),
        "alice.cpu".into(),
        "--threads".into(),
        "1".into(),
        "--difficulty".into(),
        "0.0001".into(),
        // More shares than blocks wanted: shares found on a tip the test has
        // already moved past are accepted but not blocks.
        "--shares".into(),
        "20".into(),
        "--report-every".into(),
        "1".into(),
    ];
    if !version_rolling {
        args.push("--no-version-rolling".into());
    }
    let miner = tokio::process::Command::new(env!("CARGO_BIN_EXE_sharemint"))
        .args(&args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sharemint mine starts");

    // Each share is a block: submit it, then move the pool to the new tip.
    let mut blocks = Vec::new();
    while blocks.len() < 3 {
        let solution = tokio::time::timeout(Duration::from_secs(30), solutions.recv())
            .await
            .expect("a share within 30 s")
            .expect("server running");
        if solution.job.parts().prev_blockhash != client.get_best_block_hash().await.unwrap() {
            continue; // a share on the previous tip, sent before the new job arrived
        }
        assert!(solution
            .job
            .parts()
            .context
            .bitcoin_target
            .is_met_by(solution.hash));
        let block = solution.block().expect("the block assembles");
        let outcome = client
            .submit_block(&block)
            .await
            .expect("submitblock answers");
        assert!(
            matches!(outcome, SubmitOutcome::Accepted),
            "bitcoind refused the block: {outcome:?}"
        );
        blocks.push(block.block_hash());
        let template = client.get_block_template().await.unwrap();
        let inputs = JobInputs {
            clean_jobs: true,
            ..inputs.clone()
        };
        jobs.send_replace(Some(Arc::new(builder.build(&template, inputs).unwrap())));
    }

    let output = tokio::time::timeout(Duration::from_secs(30), miner.wait_with_output())
        .await
        .expect("the miner exits after 20 accepted shares")
        .unwrap();
    assert!(output.status.success());
    let summary = String::from_utf8_lossy(&output.stdout);
    let accepted: u64 = summary
        .split_whitespace()
        .skip_while(|w| *w != "accepted")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no accepted count in {summary:?}"));
    assert!(accepted >= 3, "{summary}");

    for hash in &blocks {
        let block = bitcoind.block(hash).await;
        let coinbase = &block.txdata[0];
        let valued = tests::blocks::valued_outputs(&block);
        assert_eq!(valued.len(), 1, "one value output");
        assert_eq!(
            valued[0].script_pubkey, federation,
            "it pays the federation"
        );
        assert_eq!(coinbase.output[0].script_pubkey, federation);
        let committed = coinbase
            .output
            .iter()
            .find_map(|o| parse_share_commitment(o.script_pubkey.as_bytes()));
        assert_eq!(
            committed,
            Some(commitment),
            "the coinbase commits to the share data"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharemint_mine_finds_blocks_with_version_rolling() {
    mine_blocks(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharemint_mine_finds_blocks_without_version_rolling() {
    mine_blocks(false).await;
}
