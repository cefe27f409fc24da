//! The node's JSON API (`GET /api/stats`): per-worker hashrate and share
//! counts from the Stratum server, shares in the sharechain, blocks found.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use bitcoin::BlockHash;
use serde::Serialize;
use sharechain::{Share, ShareId};
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
    blocks_submitted: AtomicU64,
    recent_blocks: Mutex<Vec<FoundBlock>>,
    /// Our miners' shares the sharechain refused, by reason.
    shares_rejected: Mutex<BTreeMap<String, u64>>,
    /// Blocks bitcoind refused, by its reason.
    blocks_rejected: Mutex<BTreeMap<String, u64>>,
    chain_tip: Mutex<Option<ChainTipInfo>>,
    synced: AtomicBool,
    serving_jobs: AtomicBool,
    claim_key_index: AtomicU64,
}

/// The best share tip, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainTipInfo {
    /// The tip share's id.
    pub id: BlockHash,
    /// Its height.
    pub height: u32,
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

    /// Counts a block handed to `submitblock`.
    pub fn record_block_submitted(&self) {
        self.blocks_submitted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a block bitcoind refused, with its reason.
    pub fn record_block_rejected(&self, reason: &str) {
        bump(&self.blocks_rejected, reason);
    }

    /// Counts one of our miners' shares that the sharechain refused.
    pub fn record_share_rejected(&self, reason: &str) {
        bump(&self.shares_rejected, reason);
    }

    /// Records the best share tip.
    pub fn set_chain_tip(&self, tip: Option<ChainTipInfo>) {
        *lock(&self.chain_tip) = tip;
    }

    /// Records whether the sharechain is synced and whether jobs are served.
    pub fn set_readiness(&self, synced: bool, serving_jobs: bool) {
        self.synced.store(synced, Ordering::Relaxed);
        self.serving_jobs.store(serving_jobs, Ordering::Relaxed);
    }

    /// Records the next claim-key index.
    pub fn set_claim_key_index(&self, index: u32) {
        self.claim_key_index.store(index.into(), Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn bump(counts: &Mutex<BTreeMap<String, u64>>, reason: &str) {
    *lock(counts).entry(reason.to_owned()).or_default() += 1;
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
    /// Blocks this node handed to `submitblock`.
    pub blocks_submitted: u64,
    /// Blocks bitcoind refused, by its reason.
    pub blocks_rejected: BTreeMap<String, u64>,
    /// Our miners' shares that met the share target but the sharechain
    /// refused, by reason (stale bitcoin parent, ...).
    pub shares_rejected: BTreeMap<String, u64>,
    /// The best share tip.
    pub chain_tip: Option<ChainTipInfo>,
    /// Whether the sharechain is synced with peers.
    pub synced: bool,
    /// Whether miners get jobs (synced and bitcoind ready).
    pub serving_jobs: bool,
    /// The index of the next claim key (never reused, also across restarts).
    pub claim_key_index: u64,
}

/// What the API reads.
#[derive(Clone)]
pub struct ApiState {
    /// The Stratum server's statistics.
    pub stratum: StratumStats,
    /// The daemon's counters.
    pub node: Arc<NodeCounters>,
    /// The stored shares; `None` serves no share endpoints.
    pub shares: Option<Arc<dyn ShareLookup>>,
}

impl ApiState {
    /// The stats as the endpoint returns them.
    pub fn stats(&self) -> StatsResponse {
        StatsResponse {
            stratum: self.stratum.snapshot(Instant::now()),
            shares_in_chain: self.node.shares_in_chain.load(Ordering::Relaxed),
            own_shares: self.node.own_shares.load(Ordering::Relaxed),
            blocks_found: self.node.blocks_found(),
            recent_blocks: lock(&self.node.recent_blocks).clone(),
            blocks_submitted: self.node.blocks_submitted.load(Ordering::Relaxed),
            blocks_rejected: lock(&self.node.blocks_rejected).clone(),
            shares_rejected: lock(&self.node.shares_rejected).clone(),
            chain_tip: lock(&self.node.chain_tip).clone(),
            synced: self.node.synced.load(Ordering::Relaxed),
            serving_jobs: self.node.serving_jobs.load(Ordering::Relaxed),
            claim_key_index: self.node.claim_key_index.load(Ordering::Relaxed),
        }
    }
}

/// Reads stored shares for `GET /api/share/{id}`.
pub trait ShareLookup: Send + Sync + 'static {
    /// The stored share, `Ok(None)` if unknown.
    fn lookup(&self, id: &ShareId) -> Result<Option<Share>, String>;
    /// The best chain's share ids, newest first, at most `max`.
    fn recent(&self, max: usize) -> Vec<ShareId>;
}

/// A share as `GET /api/share/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ShareView {
    /// The share id (its header hash; the block hash if it is a block).
    pub id: BlockHash,
    /// The previous share.
    pub prev_share: Option<BlockHash>,
    /// Its uncles.
    pub uncles: Vec<BlockHash>,
    /// Its share target, compact, hex.
    pub share_bits: String,
    /// The claim key it pays.
    pub claim_key: String,
    /// The commitment its coinbase carries (hex, the OP_RETURN's 32 bytes).
    pub commitment: String,
    /// The bitcoin block it builds on.
    pub bitcoin_prev: BlockHash,
    /// Its header time.
    pub time: u32,
    /// Whether it also met the bitcoin target.
    pub is_block: bool,
    /// The whole share, encoded (docs/protocol.md), hex.
    pub encoded: String,
}

impl ShareView {
    fn of(share: &Share) -> ShareView {
        ShareView {
            id: share.id().block_hash(),
            prev_share: share.data.prev_share.map(|p| p.block_hash()),
            uncles: share.data.uncles.iter().map(|u| u.block_hash()).collect(),
            share_bits: format!("{:08x}", share.data.share_bits.to_consensus()),
            claim_key: share.data.claim_key.to_string(),
            commitment: hex::encode(share.data.commitment().to_byte_array()),
            bitcoin_prev: share.header.prev_blockhash,
            time: share.header.time,
            is_block: share.meets_bitcoin_target(),
            encoded: hex::encode(share.encode()),
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
            .route("/api/shares", get(recent_shares))
            .route("/api/share/{id}", get(share))
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

/// Shares listed by `GET /api/shares`, newest first.
const RECENT_SHARES: usize = 100;

async fn recent_shares(State(state): State<ApiState>) -> Json<Vec<BlockHash>> {
    let ids = state
        .shares
        .map(|s| s.recent(RECENT_SHARES))
        .unwrap_or_default();
    Json(ids.iter().map(|id| id.block_hash()).collect())
}

async fn share(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ShareView>, (StatusCode, String)> {
    let id: BlockHash = id.parse().map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a share id (64 hex digits)"),
        )
    })?;
    let id = ShareId::from_block_hash(id);
    let lookup = state.shares.ok_or((
        StatusCode::NOT_FOUND,
        "this node serves no shares".to_owned(),
    ))?;
    match lookup.lookup(&id) {
        Ok(Some(share)) => Ok(Json(ShareView::of(&share))),
        Ok(None) => Err((
            StatusCode::NOT_FOUND,
            format!("share {id} is not in the chain"),
        )),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}
