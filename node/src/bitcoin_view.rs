//! This node's own bitcoind as share validation sees it
//! ([`sharechain::BitcoinView`]): a small cache of block positions filled
//! from `getblockheader` before a share is validated, cleared on every new
//! bitcoin tip so "on the best chain" and the tip height always describe the
//! same chain.
//!
//! Validation is synchronous and pure, so lookups happen first
//! ([`BitcoindView::prepare`]), then validation reads the cache.

use std::collections::HashMap;
use std::sync::RwLock;

use bitcoin::BlockHash;
use sharechain::{BitcoinBlockInfo, BitcoinView};

use crate::bitcoind::{BitcoindClient, RpcError};

/// Positions kept before the cache starts over (a sync of old history looks
/// up one block per share; this bounds the memory it takes).
const MAX_CACHED: usize = 10_000;

#[derive(Default)]
struct Cache {
    tip: Option<(u32, BlockHash)>,
    /// `None`: bitcoind does not know the block.
    blocks: HashMap<BlockHash, Option<BitcoinBlockInfo>>,
}

/// The cache over one bitcoind.
pub struct BitcoindView {
    client: BitcoindClient,
    cache: RwLock<Cache>,
}

impl BitcoindView {
    /// An empty cache over `client`.
    pub fn new(client: BitcoindClient) -> Self {
        BitcoindView {
            client,
            cache: RwLock::new(Cache::default()),
        }
    }

    /// Records bitcoind's new best tip; forgets every cached position, since
    /// a reorg may have moved blocks off the best chain.
    pub fn set_tip(&self, height: u32, hash: BlockHash) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.tip == Some((height, hash)) {
            return;
        }
        cache.tip = Some((height, hash));
        cache.blocks.clear();
        cache.blocks.insert(
            hash,
            Some(BitcoinBlockInfo {
                height,
                in_best_chain: true,
            }),
        );
    }

    /// The best tip as last recorded.
    pub fn tip(&self) -> Option<(u32, BlockHash)> {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).tip
    }

    /// Looks `hash` up in bitcoind unless cached, so that a validation that
    /// follows finds it.
    pub async fn prepare(&self, hash: &BlockHash) -> Result<(), RpcError> {
        if self.read().blocks.contains_key(hash) {
            return Ok(());
        }
        let position = self.client.get_block_position(hash).await?;
        let info = position.map(|p| BitcoinBlockInfo {
            height: p.height,
            in_best_chain: p.confirmations >= 0,
        });
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.blocks.len() >= MAX_CACHED {
            let tip = cache.tip;
            cache.blocks.clear();
            if let Some((height, hash)) = tip {
                cache.blocks.insert(
                    hash,
                    Some(BitcoinBlockInfo {
                        height,
                        in_best_chain: true,
                    }),
                );
            }
        }
        // An unknown block is not cached: bitcoind may learn it any moment.
        if info.is_some() {
            cache.blocks.insert(*hash, info);
        }
        Ok(())
    }

    /// [`Self::prepare`] from synchronous code running on a multi-threaded
    /// tokio runtime (the network's [`crate::p2p::ShareSink`] calls). Blocks
    /// this worker thread for one local RPC, only on a cache miss.
    pub fn prepare_blocking(&self, hash: &BlockHash) -> Result<(), RpcError> {
        if self.read().blocks.contains_key(hash) {
            return Ok(());
        }
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(self.prepare(hash))
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl BitcoinView for BitcoindView {
    fn block(&self, hash: &BlockHash) -> Option<BitcoinBlockInfo> {
        self.read().blocks.get(hash).copied().flatten()
    }

    fn tip_height(&self) -> u32 {
        self.read().tip.map_or(0, |(height, _)| height)
    }
}

/// A view of history: every block bitcoind knows counts as recent and on the
/// best chain. For shares downloaded during sync, which were judged recent
/// by the nodes that accepted them when they were new; checking them against
/// today's bitcoin tip would reject every old share (docs/protocol.md 1.7:
/// a sync may accept a tip-relative `Ignore`). Every other rule still applies.
pub struct AsOfShareTime<'a>(pub &'a BitcoindView);

impl BitcoinView for AsOfShareTime<'_> {
    fn block(&self, hash: &BlockHash) -> Option<BitcoinBlockInfo> {
        self.0.block(hash).map(|info| BitcoinBlockInfo {
            in_best_chain: true,
            ..info
        })
    }

    fn tip_height(&self) -> u32 {
        // Never below a known block's height: depth 0 for any parent.
        0
    }
}
