//! A multi-threaded CPU Stratum V1 miner for regtest and test networks
//! (`sharemint mine`): subscribe, authorize, optional BIP 310 version rolling,
//! difficulties below 1, clean jobs, reconnect with session resume, and a
//! periodic hashrate and shares report.
//!
//! Inputs: a pool address and worker name. Outputs: submits to the pool,
//! counters in [`MinerStats`], log lines.

mod client;
mod hasher;
mod work;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

pub use client::format_hashrate;
pub use work::{Found, HeaderScanner, Work};

use crate::stratum::Difficulty;

/// How to mine.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// The pool, `HOST:PORT`.
    pub server: String,
    /// Worker name, `name.worker`.
    pub user: String,
    /// Password (pools here ignore it).
    pub password: String,
    /// Hashing threads.
    pub threads: usize,
    /// Ask for BIP 310 version rolling (`mining.configure`) and submit 6 params.
    pub version_rolling: bool,
    /// Difficulty to suggest; `None` measures this machine and suggests about one share every 5 s.
    pub suggest_difficulty: Option<Difficulty>,
    /// How often to log the hashrate and share counts.
    pub report_every: Duration,
    /// Stop after this many accepted shares.
    pub max_shares: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Why mining stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    /// The pool could not be reached.
    #[error("cannot connect to pool {server}: {reason}; is the node running and its stratum port right?")]
    Connect {
        /// The address tried.
        server: String,
        /// The reason.
        reason: String,
    },
    /// The pool refused the worker.
    #[error("{0}")]
    Refused(String),
    /// The pool broke the protocol.
    #[error("stratum protocol error: {0}")]
    Protocol(String),
    /// The connection failed mid-way.
    #[error("connection lost: {0}")]
    Lost(String),
}

/// Counters of a running miner; cheap to share.
#[derive(Debug, Default)]
pub struct MinerStats {
    accepted: AtomicU64,
    rejected: AtomicU64,
    blocks: AtomicU64,
    hashrate_bits: AtomicU64,
    reasons: Mutex<BTreeMap<String, u64>>,
}

impl MinerStats {
    /// Accepted shares.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Rejected shares.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Accepted shares that also met the bitcoin target.
    pub fn blocks(&self) -> u64 {
        self.blocks.load(Ordering::Relaxed)
    }

    /// Rejections by the pool's reason.
    pub fn rejection_reasons(&self) -> BTreeMap<String, u64> {
        self.reasons.lock().expect("stats lock poisoned").clone()
    }

    /// The last measured hashrate in hashes per second.
    pub fn hashrate(&self) -> f64 {
        f64::from_bits(self.hashrate_bits.load(Ordering::Relaxed))
    }

    fn set_hashrate(&self, rate: f64) {
        self.hashrate_bits.store(rate.to_bits(), Ordering::Relaxed);
    }

    fn record_accepted(&self, network_block: bool) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        if network_block {
            self.blocks.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn record_rejected(&self, reason: String) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        *self
            .reasons
            .lock()
            .expect("stats lock poisoned")
            .entry(reason)
            .or_default() += 1;
    }
}

/// Mines until `stop` turns true, the share goal or duration is reached, or
/// the pool refuses the worker. A lost connection is retried every few seconds,
/// resuming the session.
pub async fn run(
    config: MinerConfig,
    stats: Arc<MinerStats>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), MinerError> {
    let mut config = config;
    config.threads = config.threads.max(1);
    if config.suggest_difficulty.is_none() {
        config.suggest_difficulty = Some(auto_difficulty(config.threads));
    }
    let shared = Arc::new(hasher::Shared::default());
    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let threads = hasher::spawn(config.threads, shared.clone(), found_tx);
    info!(threads = config.threads, server = %config.server, "mining");

    let deadline = config.duration.map(|d| tokio::time::Instant::now() + d);
    let result = async {
        let mut session_id = None;
        let mut failures = 0u32;
        loop {
            let attempt = async {
                let (mut conn, reader) =
                    client::Connection::open(&config, &stats, &shared, session_id.clone()).await?;
                let end = conn.run(reader, &mut found_rx, &mut stop).await;
                session_id = conn.session_id.clone();
                end
            };
            let end = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, attempt).await {
                    Ok(end) => end,
                    Err(_) => return Ok(()),
                },
                None => attempt.await,
            };
            match end {
                Ok(client::End::Stop) => return Ok(()),
                Ok(client::End::Lost(reason)) | Err(MinerError::Lost(reason)) => {
                    warn!("lost the pool: {reason}; reconnecting");
                    failures = 0;
                }
                Err(e @ MinerError::Connect { .. }) if failures < 30 => {
                    warn!("{e}; retrying");
                    failures += 1;
                }
                Err(e) => return Err(e),
            }
            shared.set_work(None);
            while found_rx.try_recv().is_ok() {}
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }
    .await;
    shared.stop();
    for thread in threads {
        let _ = thread.join();
    }
    info!(
        "stopped: accepted {}, rejected {}, blocks {}",
        stats.accepted(),
        stats.rejected(),
        stats.blocks()
    );
    result
}

/// Measures this machine's hashrate for a moment and returns the difficulty
/// that gives about one share every five seconds.
fn auto_difficulty(threads: usize) -> Difficulty {
    let header = bitcoin::block::Header {
        version: bitcoin::block::Version::TWO,
        prev_blockhash: bitcoin::BlockHash::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
        merkle_root: bitcoin::TxMerkleNode::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
        time: 0,
        bits: bitcoin::CompactTarget::from_consensus(0x1d00_ffff),
        nonce: 0,
    };
    let mut scanner = HeaderScanner::new(&header, bitcoin::pow::Target::ZERO);
    let started = Instant::now();
    let mut hashes = 0u64;
    while started.elapsed() < Duration::from_millis(100) {
        for nonce in 0..10_000u32 {
            let _ = scanner.check(nonce);
        }
        hashes += 10_000;
    }
    let rate = hashes as f64 / started.elapsed().as_secs_f64() * threads as f64;
    let difficulty = rate * 5.0 / 4_294_967_296.0;
    Difficulty::new(difficulty).unwrap_or(Difficulty::ONE)
}
