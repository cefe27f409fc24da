//! Network benchmarks (ignored in CI; run with
//! `cargo test --release -p tests --test p2p_bench -- --ignored --nocapture`):
//! sync of 100,000 shares from one peer, and gossip latency of a new share to
//! all of 10 nodes on loopback (p50 / p99).

mod p2p_common;

use std::time::{Duration, Instant};

use node::p2p::testing::{build_chain, easy_config, unix_now};
use node::p2p::{Origin, ShareSink};
use p2p_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: 100,000 shares"]
async fn bench_sync_100k_shares_from_one_peer() {
    init_tracing();
    let config = easy_config();
    let n = 100_000;
    let built = Instant::now();
    let chain = build_chain(&config, None, n, unix_now() - n as u32 - 100, 1);
    println!("built {n} shares in {:?}", built.elapsed());
    let server = spawn_node(vec![], &chain).await;
    let started = Instant::now();
    let late = spawn_node(vec![server.addr.clone()], &[]).await;
    let want = chain.last().expect("chain").id();
    wait_until(
        Duration::from_secs(300),
        "the late node has the whole chain",
        || tip(&late) == Some(want),
    )
    .await;
    let elapsed = started.elapsed();
    println!(
        "BENCH sync {n} shares from one peer: {:.2} s ({:.0} shares/s)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: 10 nodes"]
async fn bench_gossip_latency_to_10_nodes() {
    init_tracing();
    let config = easy_config();
    let start = unix_now() - 1000;
    let base = build_chain(&config, None, 5, start, 1);
    let mut nodes = vec![spawn_node(vec![], &base).await];
    for i in 1..10 {
        // Each node bootstraps to two earlier ones: a connected mesh, not a star.
        let boot = vec![nodes[i - 1].addr.clone(), nodes[(i - 1) / 2].addr.clone()];
        nodes.push(spawn_node(boot, &base).await);
    }
    let refs: Vec<&TestNode> = nodes.iter().collect();
    wait_connected(&refs, 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rounds = 200;
    let shares = build_chain(&config, Some((&base[4], 4)), rounds, start, 2);
    let mut latencies = Vec::new();
    for (i, share) in shares.iter().enumerate() {
        let publisher = &nodes[i % nodes.len()];
        let me = publisher.handle.peer_id();
        publisher.sink.offer(share.clone(), Origin::Sync(me));
        let sent = Instant::now();
        publisher.handle.publish(share).await.expect("published");
        let id = share.id();
        wait_until(Duration::from_secs(10), "all nodes have the share", || {
            nodes.iter().all(|n| n.sink.contains(&id))
        })
        .await;
        let last = nodes
            .iter()
            .filter_map(|n| n.sink.accepted_at(&id))
            .max()
            .expect("accepted");
        latencies.push(last.saturating_duration_since(sent));
    }
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "BENCH gossip to all of 10 nodes over {rounds} shares: p50 {:?}, p99 {:?}, max {:?}",
        pct(50),
        pct(99),
        latencies.last().expect("rounds")
    );
}
