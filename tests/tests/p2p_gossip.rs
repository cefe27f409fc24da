//! Gossip of new shares between in-process nodes on loopback TCP: every node
//! ends on the same tip, and nodes of another sharechain never mix with ours.

mod p2p_common;

use std::time::Duration;

use node::p2p::testing::{build_chain, easy_config, unix_now};
use node::p2p::{Origin, ShareSink, Verdict};
use p2p_common::*;
use sharechain::ShareId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_gossiped_by_any_node_reach_all_nodes_and_tips_agree() {
    init_tracing();
    let config = easy_config();
    let start = unix_now() - 100;
    let base = build_chain(&config, None, 5, start, 1);
    let hub = spawn_node(vec![], &base).await;
    let mut nodes = vec![hub];
    for _ in 0..3 {
        let node = spawn_node(vec![nodes[0].addr.clone()], &base).await;
        nodes.push(node);
    }
    // A line as well as a star: node 4 only knows node 3, so shares take two hops.
    let tail = spawn_node(vec![nodes[3].addr.clone()], &base).await;
    nodes.push(tail);
    let refs: Vec<&TestNode> = nodes.iter().collect();
    wait_connected(&refs, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // gossipsub meshes form on heartbeats

    let new = build_chain(&config, Some((&base[4], 4)), 10, start, 2);
    for (i, share) in new.iter().enumerate() {
        let publisher = &nodes[i % nodes.len()];
        // The finder files its own share first, as the daemon does.
        let me = publisher.handle.peer_id();
        assert!(matches!(
            publisher.sink.offer(share.clone(), Origin::Sync(me)),
            Verdict::Accepted | Verdict::Duplicate
        ));
        publisher.handle.publish(share).await.expect("published");
        let id = share.id();
        wait_until(
            Duration::from_secs(10),
            "every node has the new share",
            || nodes.iter().all(|n| n.sink.contains(&id)),
        )
        .await;
    }
    let want: ShareId = new.last().expect("shares").id();
    for node in &nodes {
        assert_eq!(tip(node), Some(want), "node {} tip", node.handle.peer_id());
        assert_eq!(node.sink.tip().map(|t| t.height), Some(14));
        assert!(
            node.handle.banned().await.expect("running").is_empty(),
            "honest nodes ban nobody"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_whose_parent_is_missing_is_fetched_then_accepted() {
    init_tracing();
    let config = easy_config();
    let start = unix_now() - 100;
    let base = build_chain(&config, None, 5, start, 1);
    let a = spawn_node(vec![], &base).await;
    let b = spawn_node(vec![a.addr.clone()], &base).await;
    wait_connected(&[&a, &b], 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let new = build_chain(&config, Some((&base[4], 4)), 3, start, 2);
    // A has all three but gossips only the last: B must fetch the two parents.
    a.sink.preload(&new);
    a.handle.publish(&new[2]).await.expect("published");
    let last = new[2].id();
    let b_sink = b.sink.clone();
    wait_until(
        Duration::from_secs(10),
        "b has the gossiped share and its parents",
        || b_sink.tip().map(|t| t.id) == Some(last),
    )
    .await;
    assert_eq!(b.sink.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_another_sharechain_are_refused() {
    init_tracing();
    let ours = easy_config();
    let other = sharechain::SharechainConfig::new(
        ours.params.clone(),
        bitcoin::ScriptBuf::from_bytes(vec![0x52]),
    );
    assert_ne!(ours.id(), other.id());
    let start = unix_now() - 100;
    let a = spawn_node(vec![], &build_chain(&ours, None, 3, start, 1)).await;
    let theirs = build_chain(&other, None, 6, start, 1);
    let x = spawn_node_with(other, test_p2p_config(vec![a.addr.clone()], None), &theirs).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        a.handle.peers().await.expect("running").is_empty(),
        "a must not count x as a peer"
    );
    assert!(
        x.handle.peers().await.expect("running").is_empty(),
        "x must not count a as a peer"
    );
    assert_eq!(a.sink.len(), 3, "no share of the other chain reached ours");
    assert_eq!(x.sink.len(), 6);
}
