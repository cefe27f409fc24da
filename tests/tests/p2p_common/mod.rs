//! Shared by the p2p tests: in-process sharechain nodes on 127.0.0.1 with
//! in-memory consensus (the sharechain crate's validation), and waiting helpers.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use node::p2p::testing::{easy_config, test_bitcoin, MemorySink};
use node::p2p::{start, P2pConfig, P2pHandle, ShareSink};
use sharechain::{Share, SharechainConfig};

/// A node running in this process.
pub struct TestNode {
    pub handle: P2pHandle,
    pub sink: Arc<MemorySink>,
    pub addr: Multiaddr,
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,libp2p=warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// The p2p settings of a test node: loopback TCP on a free port.
pub fn test_p2p_config(bootstrap: Vec<Multiaddr>, data_dir: Option<PathBuf>) -> P2pConfig {
    let mut config = P2pConfig::new("regtest");
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr")];
    config.bootstrap = bootstrap;
    config.data_dir = data_dir;
    config.ban_duration = Duration::from_secs(300);
    config
}

/// Starts a node on the easy test chain holding `preload`.
pub async fn spawn_node(bootstrap: Vec<Multiaddr>, preload: &[Share]) -> TestNode {
    spawn_node_with(easy_config(), test_p2p_config(bootstrap, None), preload).await
}

/// Starts a node for `chain` with `p2p` settings holding `preload`.
pub async fn spawn_node_with(
    chain: SharechainConfig,
    p2p: P2pConfig,
    preload: &[Share],
) -> TestNode {
    let id = chain.id();
    let sink = Arc::new(MemorySink::new(chain, test_bitcoin()));
    sink.preload(preload);
    let (handle, _task) = start(p2p, id, sink.clone() as Arc<dyn ShareSink>)
        .await
        .expect("network starts");
    let addr = wait_for(Duration::from_secs(5), || async {
        let addrs = handle.listen_addrs().await.expect("running");
        addrs
            .into_iter()
            .find(|a| a.iter().any(|p| matches!(p, Protocol::Tcp(_))))
    })
    .await
    .expect("node listens");
    TestNode { handle, sink, addr }
}

/// Polls `check` every 50 ms until it returns `Some`, or `None` after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `cond` holds, panicking with `what` after `timeout`.
pub async fn wait_until<F: FnMut() -> bool>(timeout: Duration, what: &str, mut cond: F) {
    let ok = wait_for(timeout, || {
        let v = cond();
        async move { v.then_some(()) }
    })
    .await;
    assert!(
        ok.is_some(),
        "timed out after {timeout:?} waiting until {what}"
    );
}

/// Waits until every node sees at least `n` sharechain peers.
pub async fn wait_connected(nodes: &[&TestNode], n: usize) {
    for node in nodes {
        let ok = wait_for(Duration::from_secs(10), || async {
            (node.handle.peers().await.expect("running").len() >= n).then_some(())
        })
        .await;
        assert!(
            ok.is_some(),
            "node {} did not reach {n} peers",
            node.handle.peer_id()
        );
    }
}

/// The tip id of a node.
pub fn tip(node: &TestNode) -> Option<sharechain::ShareId> {
    node.sink.tip().map(|t| t.id)
}
