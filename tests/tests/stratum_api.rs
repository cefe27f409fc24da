//! The JSON API over real HTTP: an honest miner mines on a Stratum server and
//! `GET /api/stats` shows its worker with accepted shares and a hashrate.

mod stratum_support;

use std::sync::Arc;
use std::time::Duration;

use node::api::{ApiServer, ApiState, NodeCounters};
use node::stratum::Limits;
use stratum_support::{honest_miner, start_pool, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(body).expect("the body is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_show_workers_shares_and_hashrate() {
    let pool = start_pool(Limits::default()).await;
    let counters = Arc::new(NodeCounters::default());
    let state = ApiState {
        stratum: pool.server.stats(),
        node: counters.clone(),
        shares: None,
    };
    let api = ApiServer::start("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap();

    let (miner, stop, task) = honest_miner(pool.server.local_addr(), false);
    wait_for("five accepted shares", Duration::from_secs(15), || {
        miner.accepted() >= 5
    })
    .await;
    counters.record_block(
        101,
        bitcoin::BlockHash::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
        "honest.rig",
    );

    let stats = get_json(api.local_addr(), "/api/stats").await;
    let worker = &stats["stratum"]["workers"][0];
    assert_eq!(worker["name"], "honest.rig");
    assert!(worker["accepted"].as_u64().unwrap() >= 5, "{stats}");
    assert!(worker["hashrate"].as_f64().unwrap() > 0.0, "{stats}");
    assert_eq!(stats["stratum"]["connections"], 1);
    assert_eq!(stats["blocks_found"], 1);
    assert_eq!(stats["recent_blocks"][0]["height"], 101);

    stop.send(true).unwrap();
    task.await.unwrap();
    api.shutdown().await;
    pool.server.shutdown().await;
}
