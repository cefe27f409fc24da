//! A misbehaving peer (the `p2p_bad_peer` program, a real process on the
//! same libp2p stack) gets banned by an honest node, while the honest nodes
//! keep their chain and their connection to each other, and an invalid share
//! never travels past the first honest hop.

mod p2p_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use libp2p::PeerId;
use node::p2p::testing::{build_chain, easy_config, unix_now};
use p2p_common::*;

struct BadPeer {
    child: Child,
    id: PeerId,
}

impl Drop for BadPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_bad_peer(target: &libp2p::Multiaddr, mode: &str) -> BadPeer {
    let mut child = Command::new(env!("CARGO_BIN_EXE_p2p_bad_peer"))
        .args(["--connect", &target.to_string(), "--mode", mode])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start p2p_bad_peer");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read peer id");
    let id = line
        .trim()
        .strip_prefix("peer-id ")
        .expect("first line is the peer id")
        .parse()
        .expect("peer id");
    BadPeer { child, id }
}

async fn honest_pair_bans(mode: &str) {
    init_tracing();
    let config = easy_config();
    let chain = build_chain(&config, None, 10, unix_now() - 100, 1);
    let victim = spawn_node(vec![], &chain).await;
    let other = spawn_node(vec![victim.addr.clone()], &chain).await;
    wait_connected(&[&victim, &other], 1).await;
    let tip_before = tip(&victim);

    let bad = start_bad_peer(&victim.addr, mode);
    let ok = wait_for(Duration::from_secs(20), || async {
        victim
            .handle
            .banned()
            .await
            .expect("running")
            .contains(&bad.id)
            .then_some(())
    })
    .await;
    assert!(
        ok.is_some(),
        "{mode}: the honest node did not ban the bad peer"
    );
    let gone = wait_for(Duration::from_secs(5), || async {
        (!victim
            .handle
            .peers()
            .await
            .expect("running")
            .contains(&bad.id))
        .then_some(())
    })
    .await;
    assert!(gone.is_some(), "{mode}: banned peer still connected");
    // Honest nodes keep their chain and each other.
    assert_eq!(tip(&victim), tip_before);
    assert_eq!(tip(&other), tip_before);
    assert_eq!(victim.sink.len(), 10);
    assert_eq!(
        victim.handle.peers().await.expect("running"),
        vec![other.handle.peer_id()]
    );
    // The second hop never saw anything to punish: nothing invalid was relayed.
    assert!(
        other.handle.banned().await.expect("running").is_empty(),
        "{mode}: bad data went past one hop"
    );
    assert!(victim.handle.banned().await.expect("running").len() == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gossiping_invalid_shares_is_banned() {
    honest_pair_bans("invalid-share").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gossiping_oversized_garbage_is_banned() {
    honest_pair_bans("oversize").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_flooding_sync_requests_is_banned() {
    honest_pair_bans("flood").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_answering_sync_with_bogus_data_is_banned() {
    honest_pair_bans("bogus-sync").await;
}
