//! The node's sharechain: the `sharechain` crate's [`ShareChain`] over a
//! RocksDB store, behind one lock, with this node's bitcoind as the bitcoin
//! view. Every share, whether found by our miners or received from a peer,
//! goes through [`NodeChain::accept`]: `validate_share` (the only copy of
//! the rules), then a durable insert, then the new best tip is published on
//! a watch channel (jobs follow it). The network reaches it through
//! [`ShareSink`].

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::pow::Work as BitcoinWork;
use sharechain::chain::{ChainError, InsertStatus, NextShare, ShareChain};
use sharechain::store::{RocksStore, StoreError};
use sharechain::work::Work;
use sharechain::{validate_share, PeerAction, Share, ShareId, SharechainConfig};
use tokio::sync::watch;

use crate::api::{ChainTipInfo, NodeCounters, ShareLookup};
use crate::bitcoin_view::{AsOfShareTime, BitcoindView};
use crate::p2p::sink::locator_heights;
use crate::p2p::{ChainTip, Origin, ShareSink, Verdict};

/// Directory of the share store inside the node's data dir.
pub const STORE_DIR: &str = "sharechain";

/// Why the chain could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The RocksDB store could not be opened.
    #[error("cannot open the share store in {path}: {source}")]
    Store {
        /// Its directory.
        path: std::path::PathBuf,
        /// The store's error.
        source: StoreError,
    },
    /// The stored shares do not form a chain.
    #[error("the share store in {path} is damaged: {source}")]
    Load {
        /// Its directory.
        path: std::path::PathBuf,
        /// The chain's error.
        source: ChainError,
    },
}

/// Where a share comes from, for [`NodeChain::accept`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Found by a miner on this node.
    Local,
    /// Pushed by a peer as a new share.
    Gossip,
    /// Downloaded during sync: history, judged against bitcoin as of its time.
    History,
}

/// The node's sharechain.
pub struct NodeChain {
    config: SharechainConfig,
    chain: Mutex<ShareChain<RocksStore>>,
    bitcoin: Arc<BitcoindView>,
    tip: watch::Sender<Option<ChainTip>>,
    counters: Arc<NodeCounters>,
}

impl NodeChain {
    /// Opens (or creates) the store in `data_dir` and loads the chain.
    pub fn open(
        data_dir: &Path,
        config: SharechainConfig,
        bitcoin: Arc<BitcoindView>,
        counters: Arc<NodeCounters>,
    ) -> Result<NodeChain, OpenError> {
        let path = data_dir.join(STORE_DIR);
        let store = RocksStore::open(&path).map_err(|source| OpenError::Store {
            path: path.clone(),
            source,
        })?;
        let chain = ShareChain::open(store, config.params.clone())
            .map_err(|source| OpenError::Load { path, source })?;
        let tip = tip_of(&chain);
        counters.set_shares_in_chain(chain.index().len() as u64);
        counters.set_chain_tip(tip.map(|t| ChainTipInfo {
            id: t.id.block_hash(),
            height: t.height,
        }));
        Ok(NodeChain {
            config,
            chain: Mutex::new(chain),
            bitcoin,
            tip: watch::channel(tip).0,
            counters,
        })
    }

    /// The chain's rules and federation script.
    pub fn config(&self) -> &SharechainConfig {
        &self.config
    }

    /// The best tip now and on every change.
    pub fn watch_tip(&self) -> watch::Receiver<Option<ChainTip>> {
        self.tip.subscribe()
    }

    /// What the next share mined on the best tip commits to.
    pub fn next_share(&self) -> NextShare {
        self.lock().next_share()
    }

    /// Number of connected shares (every branch).
    pub fn len(&self) -> usize {
        self.lock().index().len()
    }

    /// True when no share is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A stored share, decoded.
    pub fn share(&self, id: &ShareId) -> Result<Option<Share>, StoreError> {
        let bytes = self.lock().share_bytes(id)?;
        bytes
            .map(|b| {
                Share::decode(&b).map_err(|e| StoreError::Corrupt {
                    what: "share",
                    why: format!("{id}: {e}"),
                })
            })
            .transpose()
    }

    /// The best chain's ids, newest first, at most `max`.
    pub fn recent(&self, max: usize) -> Vec<ShareId> {
        let chain = self.lock();
        let index = chain.index();
        let Some(tip) = index.tip() else {
            return Vec::new();
        };
        index.ancestors(&tip).take(max).map(|e| e.id).collect()
    }

    /// Validates `share` and, if valid, stores it durably and connects it.
    /// The bitcoin parent must have been looked up first
    /// ([`BitcoindView::prepare`]); without it the share waits (`RetryLater`).
    pub fn accept(&self, share: &Share, source: Source) -> Verdict {
        let id = share.id();
        let mut chain = self.lock();
        if chain.index().contains(&id) {
            return Verdict::Duplicate;
        }
        let now = unix_now();
        let checked = match source {
            Source::History => validate_share(
                share,
                &self.config,
                &*chain,
                &AsOfShareTime(&self.bitcoin),
                now,
            ),
            Source::Local | Source::Gossip => {
                validate_share(share, &self.config, &*chain, &*self.bitcoin, now)
            }
        };
        let valid = match checked {
            Ok(valid) => valid,
            Err(err) => {
                return match err.action() {
                    PeerAction::FetchShares(ids) => Verdict::Missing(ids),
                    _ => Verdict::Rejected(err),
                }
            }
        };
        let outcome = match chain.insert_valid(share, &valid) {
            Ok(outcome) => outcome,
            Err(ChainError::InvalidUncles { reason, .. }) => return Verdict::Rejected(reason),
            Err(e) => {
                tracing::error!(share = %id, "cannot store a valid share: {e}");
                return Verdict::Failed(e.to_string());
            }
        };
        self.counters
            .set_shares_in_chain(chain.index().len() as u64);
        if outcome.tip_change.is_some() {
            let tip = tip_of(&chain);
            self.counters.set_chain_tip(tip.map(|t| ChainTipInfo {
                id: t.id.block_hash(),
                height: t.height,
            }));
            self.tip.send_replace(tip);
        }
        match outcome.status {
            InsertStatus::Connected => Verdict::Accepted,
            InsertStatus::AlreadyKnown => Verdict::Duplicate,
            InsertStatus::Orphaned { missing } => Verdict::Missing(missing),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ShareChain<RocksStore>> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ShareSink for NodeChain {
    fn offer(&self, share: Share, origin: Origin) -> Verdict {
        if let Err(e) = self.bitcoin.prepare_blocking(&share.header.prev_blockhash) {
            return Verdict::Failed(format!("bitcoind: {e}"));
        }
        let source = match origin {
            Origin::Gossip(_) => Source::Gossip,
            Origin::Sync(_) => Source::History,
        };
        self.accept(&share, source)
    }

    fn tip(&self) -> Option<ChainTip> {
        tip_of(&self.lock())
    }

    fn contains(&self, id: &ShareId) -> bool {
        self.lock().index().contains(id)
    }

    fn share_bytes(&self, id: &ShareId) -> Option<Vec<u8>> {
        match self.lock().share_bytes(id) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(share = %id, "cannot read a stored share: {e}");
                None
            }
        }
    }

    fn locator(&self) -> Vec<ShareId> {
        let chain = self.lock();
        let index = chain.index();
        let Some(tip) = index.tip().and_then(|t| index.height(&t)) else {
            return Vec::new();
        };
        locator_heights(tip)
            .into_iter()
            .filter_map(|h| index.main_chain_at(h))
            .collect()
    }

    fn ids_after(&self, locator: &[ShareId], max: usize) -> Vec<ShareId> {
        let chain = self.lock();
        let index = chain.index();
        let start = locator
            .iter()
            .find(|id| index.is_in_main_chain(id))
            .and_then(|id| index.height(id))
            .map_or(0, |h| h + 1);
        (start..)
            .map_while(|h| index.main_chain_at(h))
            .take(max)
            .collect()
    }
}

fn tip_of(chain: &ShareChain<RocksStore>) -> Option<ChainTip> {
    let index = chain.index();
    let id = index.tip()?;
    Some(ChainTip {
        id,
        height: index.height(&id)?,
        work: to_bitcoin_work(index.cumulative_work(&id)?),
    })
}

/// The sharechain's u128 work as the 256-bit work the network compares.
fn to_bitcoin_work(work: Work) -> BitcoinWork {
    let mut bytes = [0u8; 32];
    bytes[16..].copy_from_slice(&work.to_u128().to_be_bytes());
    BitcoinWork::from_be_bytes(bytes)
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

impl ShareLookup for NodeChain {
    fn lookup(&self, id: &ShareId) -> Result<Option<Share>, String> {
        self.share(id).map_err(|e| e.to_string())
    }

    fn recent(&self, max: usize) -> Vec<ShareId> {
        NodeChain::recent(self, max)
    }
}
