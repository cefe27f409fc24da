//! The node's JSON API (`GET /api/stats`): per-worker hashrate and share
//! counts from the Stratum server, shares in the sharechain, blocks found.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use bitcoin::BlockHash;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::stratum::{StratumSnapshot, StratumStats};

/// Blocks kept in the API's list of recent finds.
pub const RECENT_BLOCKS: usize = 100;

/// A block this node found and bitcoind accepted.
#[derive(Debug, Clone, Serialize)]
pub struct FoundBlock {
    /// Height of the block.
    pub height: u32,
    /// Its hash.
    pub hash: BlockHash,
    /// The worker whose share it was.
    pub worker: String,
    /// Unix time it was submitted.
    pub time_unix: u64,
}

/// Counters the daemon updates as shares and blocks happen.
#[derive(Debug, Default)]
pub struct NodeCounters {
    shares_in_chain: AtomicU64,
    own_shares: AtomicU64,
    blocks_found: AtomicU64,
    recent_blocks: Mutex<Vec<FoundBlock>>,
}

impl NodeCounters {
    /// Sets the number of shares in the best sharechain.
    pub fn set_shares_in_chain(&self, count: u64) {
        self.shares_in_chain.store(count, Ordering::Relaxed);
    }

    /// Counts a share this node's miners added to the sharechain.
    pub fn record_own_share(&self) {
        self.own_shares.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a block bitcoind accepted.
    pub fn record_block(&self, height: u32, hash: BlockHash, worker: &str) {
        self.blocks_found.fetch_add(1, Ordering::Relaxed);
        let time_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut recent = self.recent_blocks.lock().expect("blocks lock poisoned");
        recent.push(FoundBlock {
            height,
            hash,
            worker: worker.to_owned(),
            time_unix,
        });
        if recent.len() > RECENT_BLOCKS {
            recent.remove(0);
        }
    }

    /// Blocks found so far.
    pub fn blocks_found(&self) -> u64 {
        self.blocks_found.load(Ordering::Relaxed)
    }
}

/// The body of `GET /api/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct StatsResponse {
    /// Miners, workers, hashrate, accepted and rejected shares.
    pub stratum: StratumSnapshot,
    /// Shares in the best sharechain.
    pub shares_in_chain: u64,
    /// Shares this node's miners added to the sharechain.
    pub own_shares: u64,
    /// Blocks this node found that bitcoind accepted.
    pub blocks_found: u64,
    /// The most recent of them, oldest first.
    pub recent_blocks: Vec<FoundBlock>,
}

/// What the API reads.
#[derive(Clone)]
pub struct ApiState {
    /// The Stratum server's statistics.
    pub stratum: StratumStats,
    /// The daemon's counters.
    pub node: Arc<NodeCounters>,
}

impl ApiState {
    /// The stats as the endpoint returns them.
    pub fn stats(&self) -> StatsResponse {
        StatsResponse {
            stratum: self.stratum.snapshot(Instant::now()),
            shares_in_chain: self.node.shares_in_chain.load(Ordering::Relaxed),
            own_shares: self.node.own_shares.load(Ordering::Relaxed),
            blocks_found: self.node.blocks_found(),
            recent_blocks: self
                .node
                .recent_blocks
                .lock()
                .expect("blocks lock poisoned")
                .clone(),
        }
    }
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for the API on {addr}: {source}; pick another --api-listen port")]
pub struct ApiError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// A running API server.
pub struct ApiServer {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ApiServer {
    /// Binds and serves `GET /api/stats`.
    pub async fn start(listen: SocketAddr, state: ApiState) -> Result<ApiServer, ApiError> {
        let listener = TcpListener::bind(listen).await.map_err(|source| ApiError {
            addr: listen,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| ApiError {
            addr: listen,
            source,
        })?;
        let app = Router::new()
            .route("/api/stats", get(stats))
            .with_state(state);
        let (shutdown, mut shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = shutdown_rx.changed().await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!("api server failed: {e}");
            }
        });
        tracing::info!(%local_addr, "api listening: http://{local_addr}/api/stats");
        Ok(ApiServer {
            local_addr,
            shutdown,
            task,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

async fn stats(State(state): State<ApiState>) -> Json<StatsResponse> {
    Json(state.stats())
}
