//! Headers-first sync between in-process nodes on loopback TCP: a late node
//! catches up on thousands of shares from several peers and reports
//! `synced`; a healed partition converges on the chain with more work and
//! the losing side reports the reorg; a restarted node finds its peers from
//! its saved peer list.

mod p2p_common;

use std::time::{Duration, Instant};

use node::p2p::testing::{build_chain, easy_config, unix_now};
use node::p2p::ShareSink;
use p2p_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_syncs_thousands_of_shares_from_several_peers() {
    init_tracing();
    let config = easy_config();
    let n = 3_000;
    let chain = build_chain(&config, None, n, unix_now() - n as u32 - 100, 1);
    let a = spawn_node(vec![], &chain).await;
    let b = spawn_node(vec![], &chain).await;
    let started = Instant::now();
    let late = spawn_node(vec![a.addr.clone(), b.addr.clone()], &[]).await;
    assert!(
        !late.handle.status().synced,
        "a node with peers is not synced before it heard their tips"
    );
    let want = chain.last().expect("chain").id();
    let sink = late.sink.clone();
    wait_until(
        Duration::from_secs(60),
        "the late node has the whole chain",
        || tip(&late) == Some(want),
    )
    .await;
    tracing::info!(shares = n, elapsed = ?started.elapsed(), "late node synced");
    assert_eq!(sink.len(), n);
    wait_until(
        Duration::from_secs(5),
        "the late node says it is synced",
        || late.handle.status().synced,
    )
    .await;
    let status = late.handle.status();
    assert_eq!(
        (status.local_height, status.best_peer_height),
        (n as u32 - 1, n as u32 - 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healed_partition_converges_on_more_work_and_reports_the_reorg() {
    init_tracing();
    let config = easy_config();
    let start = unix_now() - 200;
    let base = build_chain(&config, None, 10, start, 1);
    let left = build_chain(&config, Some((&base[9], 9)), 4, start, 2);
    let right = build_chain(&config, Some((&base[9], 9)), 7, start, 3);
    let a = spawn_node(vec![], &[base.clone(), left.clone()].concat()).await;
    let b = spawn_node(vec![], &[base.clone(), right.clone()].concat()).await;
    assert!(a.sink.reorgs().is_empty());
    // Heal: a dials b.
    a.handle.dial(b.addr.clone()).await.expect("running");
    let want = right.last().expect("right").id();
    wait_until(
        Duration::from_secs(15),
        "a follows the chain with more work",
        || tip(&a) == Some(want),
    )
    .await;
    assert_eq!(tip(&b), Some(want), "b keeps its heavier chain");
    // One reorg, away from a's own tip, reported when the first heavier share arrived.
    let reorgs = a.sink.reorgs();
    assert_eq!(reorgs.len(), 1, "{reorgs:?}");
    assert_eq!(reorgs[0].0, left.last().expect("left").id());
    assert!(
        right.iter().any(|s| s.id() == reorgs[0].1),
        "the new tip is on the heavier branch"
    );
    assert!(b.sink.reorgs().is_empty());
    assert_eq!(a.sink.tip().map(|t| t.height), Some(16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_reconnects_from_its_saved_peers_without_bootstrap() {
    init_tracing();
    let config = easy_config();
    let chain = build_chain(&config, None, 20, unix_now() - 200, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let hub = spawn_node(vec![], &chain).await;
    let first = spawn_node_with(
        config.clone(),
        test_p2p_config(vec![hub.addr.clone()], Some(dir.path().to_path_buf())),
        &[],
    )
    .await;
    let id = first.handle.peer_id();
    wait_connected(&[&first], 1).await;
    wait_until(Duration::from_secs(10), "first run synced", || {
        first.sink.len() == 20
    })
    .await;
    first.handle.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        dir.path().join(node::p2p::peer_store::PEERS_FILE).exists(),
        "peer list saved on shutdown"
    );

    // Same data dir, no bootstrap, a fresh (empty) chain.
    let again = spawn_node_with(
        config,
        test_p2p_config(vec![], Some(dir.path().to_path_buf())),
        &[],
    )
    .await;
    assert_eq!(
        again.handle.peer_id(),
        id,
        "the node key is kept in the data dir"
    );
    wait_connected(&[&again], 1).await;
    wait_until(
        Duration::from_secs(10),
        "restarted node synced from the saved peer",
        || again.sink.len() == 20,
    )
    .await;
}
