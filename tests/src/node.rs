//! `sharemint node` as a real process on loopback ports, for tests that
//! need whole nodes: started against a [`TestBitcoind`], killed when dropped
//! (its data dir lives as long as the [`TestNode`] unless kept), and read
//! through its JSON API like a user would.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use node::bitcoind::Auth;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::ports::free_ports;
use crate::TestBitcoind;

/// Ports and paths of one node.
#[derive(Clone, Debug)]
pub struct NodeSetup {
    /// The `sharemint` binary.
    pub bin: PathBuf,
    /// The node's data dir.
    pub data_dir: PathBuf,
    /// Stratum port.
    pub stratum_port: u16,
    /// API port.
    pub api_port: u16,
    /// Sharechain network TCP port.
    pub p2p_port: u16,
    /// The federation's payout descriptor or address.
    pub payout: String,
    /// Peers to dial (multiaddrs).
    pub bootstrap: Vec<String>,
}

impl NodeSetup {
    /// Fresh ports and a data dir under `dir`.
    pub fn new(bin: &Path, dir: &Path, payout: &str) -> NodeSetup {
        let ports = free_ports(3);
        NodeSetup {
            bin: bin.to_owned(),
            data_dir: dir.to_owned(),
            stratum_port: ports[0],
            api_port: ports[1],
            p2p_port: ports[2],
            payout: payout.to_owned(),
            bootstrap: Vec::new(),
        }
    }

    /// The address to give peers: `/ip4/127.0.0.1/tcp/<p2p port>`.
    pub fn p2p_addr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.p2p_port)
    }

    /// Where miners connect.
    pub fn stratum_addr(&self) -> String {
        format!("127.0.0.1:{}", self.stratum_port)
    }
}

/// A running `sharemint node`.
pub struct TestNode {
    /// How it was started.
    pub setup: NodeSetup,
    child: Option<Child>,
    _dir: Option<TempDir>,
}

impl TestNode {
    /// Starts a node with its own temporary data dir.
    pub async fn start(bin: &Path, bitcoind: &TestBitcoind, payout: &str) -> TestNode {
        let dir = tempfile::Builder::new()
            .prefix("sharemint-node-")
            .tempdir()
            .expect("a temp dir");
        let setup = NodeSetup::new(bin, dir.path(), payout);
        let mut node = TestNode::start_with(setup, bitcoind).await;
        node._dir = Some(dir);
        node
    }

    /// Starts a node as `setup` says (the data dir is the caller's).
    pub async fn start_with(setup: NodeSetup, bitcoind: &TestBitcoind) -> TestNode {
        let Auth::UserPass { user, password } = bitcoind.user_pass() else {
            panic!("the test bitcoind has a user and password");
        };
        let mut command = Command::new(&setup.bin);
        command
            .args(["node", "--network", "regtest"])
            .args(["--bitcoind-url", &bitcoind.rpc_url()])
            .args(["--bitcoind-user", &user, "--bitcoind-password", &password])
            .arg("--data-dir")
            .arg(&setup.data_dir)
            .args(["--payout", &setup.payout])
            .args(["--stratum-listen", &setup.stratum_addr()])
            .args(["--api-listen", &format!("127.0.0.1:{}", setup.api_port)])
            .args(["--p2p-listen", &setup.p2p_addr()])
            // Shares come every second on regtest; Stratum shares as often.
            .args(["--vardiff-interval-ms", "1000"])
            .env(
                "RUST_LOG",
                std::env::var("NODE_LOG").unwrap_or("info".into()),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for peer in &setup.bootstrap {
            command.args(["--bootstrap", peer]);
        }
        let child = command.spawn().expect("sharemint node starts");
        let node = TestNode {
            setup,
            child: Some(child),
            _dir: None,
        };
        node.wait_for("the API answers", Duration::from_secs(60), |_| true)
            .await;
        node
    }

    /// `GET /api/stats`.
    pub async fn stats(&self) -> Option<Value> {
        self.get("/api/stats").await
    }

    /// `GET path` on the API as JSON; `None` if it does not answer 200.
    pub async fn get(&self, path: &str) -> Option<Value> {
        get_json(("127.0.0.1", self.setup.api_port), path).await
    }

    /// Polls the stats until `check` holds; panics with the last stats after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some(stats) = self.stats().await {
                if check(&stats) {
                    return stats;
                }
                last = Some(stats);
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "node on port {}: no {what} within {timeout:?}; last stats: {last:?}",
                    self.setup.api_port
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Asks the process to stop (SIGTERM) and waits up to 30 s.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                // SAFETY: kill(2) with a pid we own; no memory is involved.
                unsafe {
                    libc::kill(pid as i32, libc::SIGTERM);
                }
            }
            match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
                Ok(status) => {
                    let status = status.expect("wait for the node");
                    assert!(status.success(), "the node exited with {status}");
                }
                Err(_) => {
                    let _ = child.kill().await;
                    panic!("the node did not stop within 30 s of SIGTERM");
                }
            }
        }
    }
}

/// A `sharemint mine` process, killed when dropped.
pub struct TestMiner {
    child: Child,
}

impl TestMiner {
    /// Starts `sharemint mine` on `stratum` with one thread.
    pub fn start(bin: &Path, stratum: &str, user: &str, version_rolling: bool) -> TestMiner {
        let mut command = Command::new(bin);
        command
            .args(["mine", stratum, "--user", user, "--threads", "1"])
            .args(["--report-every", "5"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        if !version_rolling {
            command.arg("--no-version-rolling");
        }
        TestMiner {
            child: command.spawn().expect("sharemint mine starts"),
        }
    }

    /// Starts a third-party miner process (e.g. `para miner ...`).
    pub fn start_command(mut command: Command) -> TestMiner {
        command.stdin(Stdio::null()).kill_on_drop(true);
        TestMiner {
            child: command.spawn().expect("the miner starts"),
        }
    }

    /// Stops the miner.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `GET path` over plain HTTP/1.1, parsed as JSON; `None` unless the answer is 200.
pub async fn get_json(addr: (&str, u16), path: &str) -> Option<Value> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n\r\n",
        addr.0, addr.1
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    if !response.starts_with("HTTP/1.1 200") {
        return None;
    }
    let body = response.split("\r\n\r\n").nth(1)?;
    serde_json::from_str(body).ok()
}
