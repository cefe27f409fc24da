//! What share validation needs from the outside world, as two small traits:
//! the sharechain index (implemented by the chain part) and the validating
//! node's own bitcoind (implemented by the node). Validation never reads a
//! clock, a database or the network itself.

use bitcoin::{BlockHash, CompactTarget};

use crate::types::ShareId;

/// What validation needs to know about a share the index already holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareSummary {
    /// Height on its chain: 0 for a chain's first share, parent + 1 otherwise.
    pub height: u32,
    /// The share's time (its header time).
    pub time: u32,
    /// Its previous share, `None` for a first share.
    pub prev: Option<ShareId>,
    /// The uncles it references.
    pub uncles: Vec<ShareId>,
}

/// The sharechain index as validation sees it.
///
/// Implementations MUST only return shares that were themselves accepted by
/// [`crate::validation::validate_share`] (so every ancestor of a returned
/// share is also returned, back to a first share), and MUST be consistent
/// for the duration of one validation call.
pub trait ChainView {
    /// The summary of a share held by the index, or `None` if unknown.
    fn share(&self, id: &ShareId) -> Option<ShareSummary>;

    /// The share target demanded of a child of `parent`, or `None` if
    /// `parent` is unknown. MUST equal
    /// [`crate::retarget::expected_bits`]`(params, t0, parent.height, parent.time)`
    /// where `t0` is the time of the first share (height 0) of `parent`'s
    /// chain. Implementations may cache it per share.
    fn expected_bits(&self, parent: &ShareId) -> Option<CompactTarget>;
}

/// A bitcoin block as the validating node's bitcoind sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitcoinBlockInfo {
    /// The block's height.
    pub height: u32,
    /// Whether it is on bitcoind's best chain (false: a stale block).
    pub in_best_chain: bool,
}

/// The validating node's bitcoind as validation sees it.
///
/// Answers MUST come from this node's own bitcoind (never from the peer
/// that sent the share), and `tip_height` MUST be the height of the same
/// best chain that `block` reports `in_best_chain` against.
pub trait BitcoinView {
    /// The block with header hash `hash`, or `None` if bitcoind does not
    /// (yet) know its header.
    fn block(&self, hash: &BlockHash) -> Option<BitcoinBlockInfo>;

    /// The height of bitcoind's best chain tip.
    fn tip_height(&self) -> u32;
}
