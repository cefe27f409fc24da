//! Shared pieces of the Stratum tests: a server on loopback fed a synthetic
//! job, a raw line client for hostile input, and an honest in-process miner.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use node::miner::{MinerConfig, MinerStats};
use node::stratum::{
    job_channel, Difficulty, JobSender, Limits, Solution, StratumConfig, StratumServer,
    VardiffConfig,
};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub struct TestPool {
    pub server: StratumServer,
    pub jobs: JobSender,
    pub solutions: mpsc::UnboundedReceiver<Solution>,
}

pub fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// A server with the given limits, vardiff aiming at a share every 200 ms, and one synthetic job.
pub async fn start_pool(limits: Limits) -> TestPool {
    let mut config = StratumConfig::new("127.0.0.1:0".parse().unwrap());
    config.limits = limits;
    config.session.vardiff = VardiffConfig {
        share_interval: Duration::from_millis(200),
        start: Difficulty::new(1e-4).unwrap(),
        ..VardiffConfig::default()
    };
    let (jobs, jobs_rx) = job_channel();
    let extranonce_len = 4 + config.session.extranonce2_size;
    jobs.send_replace(Some(Arc::new(node::jobs::synthetic_job(
        1,
        BlockHash::from_byte_array([1; 32]),
        now_secs(),
        extranonce_len,
        true,
    ))));
    let (sink, solutions) = mpsc::unbounded_channel();
    let server = StratumServer::start(config, jobs_rx, Arc::new(sink))
        .await
        .expect("server starts");
    TestPool {
        server,
        jobs,
        solutions,
    }
}

/// A client that writes whatever the test says and reads answers as JSON.
pub struct RawClient {
    pub reader: BufReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).await.expect("connect to stratum");
        let (read, writer) = stream.into_split();
        RawClient {
            reader: BufReader::new(read),
            writer,
        }
    }

    pub async fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).await.expect("write");
        self.writer.write_all(b"\n").await.expect("write");
    }

    /// The next line as JSON, or None when the server closed the connection.
    pub async fn recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(5), self.reader.read_line(&mut line))
            .await
            .expect("server answers within 5 s")
            .ok()?;
        if n == 0 {
            return None;
        }
        Some(serde_json::from_str(&line).expect("server lines are JSON"))
    }

    /// The next answer to a request (skipping notifications).
    pub async fn answer(&mut self) -> Option<Value> {
        loop {
            let v = self.recv().await?;
            if v.get("method").is_none() {
                return Some(v);
            }
        }
    }

    /// Subscribes and authorizes; returns the notify params of the first job.
    pub async fn handshake(&mut self, user: &str) -> Value {
        self.send(r#"{"id":1,"method":"mining.subscribe","params":["raw"]}"#)
            .await;
        self.send(&format!(
            r#"{{"id":2,"method":"mining.authorize","params":["{user}","x"]}}"#
        ))
        .await;
        loop {
            let v = self.recv().await.expect("handshake answers");
            if v["method"] == "mining.notify" {
                return v["params"].clone();
            }
        }
    }

    /// True once the server has closed the connection (reads hit end of stream).
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        let mut sink = Vec::new();
        tokio::time::timeout(
            limit,
            tokio::io::AsyncReadExt::read_to_end(&mut self.reader, &mut sink),
        )
        .await
        .is_ok()
    }
}

/// An honest CPU miner (one thread) on the pool, running until the sender says stop.
pub fn honest_miner(
    addr: SocketAddr,
    version_rolling: bool,
) -> (Arc<MinerStats>, watch::Sender<bool>, JoinHandle<()>) {
    let stats = Arc::new(MinerStats::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let config = MinerConfig {
        server: addr.to_string(),
        user: "honest.rig".into(),
        password: "x".into(),
        threads: 1,
        version_rolling,
        suggest_difficulty: Some(Difficulty::new(1e-4).unwrap()),
        report_every: Duration::from_secs(60),
        max_shares: None,
        duration: None,
    };
    let task_stats = stats.clone();
    let task = tokio::spawn(async move {
        node::miner::run(config, task_stats, stop_rx)
            .await
            .expect("honest miner runs");
    });
    (stats, stop_tx, task)
}

/// Waits until `cond` holds, polling; panics with `what` after `limit`.
pub async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
