//! The light per-share record the chain index, the store and PPLNS work on:
//! everything about a share except its bytes.

use bitcoin::BlockHash;

use crate::types::{ClaimKey, ShareId};
use crate::work::Work;

/// What the chain needs to know about one share. Built from a decoded and
/// validated share; the share's encoded bytes travel next to it, opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEntry {
    /// The share's id, its header hash.
    pub id: ShareId,
    /// The share it builds on; `None` for a first share of the sharechain.
    pub parent: Option<ShareId>,
    /// Recent orphan shares this share references, in committed order.
    pub uncles: Vec<ShareId>,
    /// The work of this share alone, from the share target it met.
    pub work: Work,
    /// The share's committed timestamp, seconds since the Unix epoch.
    pub timestamp: u64,
    /// Who is paid for this share.
    pub claim_key: ClaimKey,
    /// The bitcoin height the share's coinbase commits to (BIP 34).
    pub bitcoin_height: u32,
    /// The bitcoin block the share's header builds on.
    pub bitcoin_prev: BlockHash,
}

impl ChainEntry {
    /// Every share this entry needs connected before it can connect itself:
    /// its parent, then its uncles.
    pub fn dependencies(&self) -> impl Iterator<Item = ShareId> + '_ {
        self.parent
            .iter()
            .copied()
            .chain(self.uncles.iter().copied())
    }
}
