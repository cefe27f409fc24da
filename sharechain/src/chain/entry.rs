//! The light per-share record the chain index, the store and PPLNS work on:
//! everything about a share except its bytes.

use bitcoin::{BlockHash, CompactTarget};

use crate::share::Share;
use crate::types::{ClaimKey, ShareId};
use crate::validation::ValidShare;
use crate::work::Work;

/// What the chain needs to know about one share. Built from a decoded and
/// validated share by [`ChainEntry::from_valid`]; the share's encoded bytes
/// travel next to it, opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEntry {
    /// The share's id, its header hash.
    pub id: ShareId,
    /// The share it builds on; `None` for a first share of the sharechain.
    pub parent: Option<ShareId>,
    /// Recent orphan shares this share references, in committed order.
    pub uncles: Vec<ShareId>,
    /// The share target the share met (its committed `share_bits`).
    pub share_bits: CompactTarget,
    /// The work of this share alone: [`Work::from_target`] of `share_bits`.
    pub work: Work,
    /// The share's time: its header's `time`, seconds since the Unix epoch.
    pub time: u32,
    /// Who is paid for this share.
    pub claim_key: ClaimKey,
    /// The bitcoin height the share's coinbase commits to (BIP 34).
    pub bitcoin_height: u32,
    /// The bitcoin block the share's header builds on.
    pub bitcoin_prev: BlockHash,
}

impl ChainEntry {
    /// The entry of `share`, which [`crate::validate_share`] accepted as `valid`.
    pub fn from_valid(share: &Share, valid: &ValidShare) -> Self {
        debug_assert_eq!(share.id(), valid.id, "the verdict belongs to this share");
        ChainEntry {
            id: valid.id,
            parent: share.data.prev_share,
            uncles: share.data.uncles.clone(),
            share_bits: share.data.share_bits,
            work: Work::from_target(valid.target),
            time: share.header.time,
            claim_key: share.data.claim_key,
            bitcoin_height: valid.bitcoin_height,
            bitcoin_prev: share.header.prev_blockhash,
        }
    }

    /// Every share this entry needs connected before it can connect itself:
    /// its parent, then its uncles.
    pub fn dependencies(&self) -> impl Iterator<Item = ShareId> + '_ {
        self.parent
            .iter()
            .copied()
            .chain(self.uncles.iter().copied())
    }
}
