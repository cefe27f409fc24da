//! The one narrow seam between the network and consensus: the network hands
//! every share it receives to a [`ShareSink`] and acts on the [`Verdict`];
//! to serve sync it reads the best chain through the same trait. The daemon
//! implements it over the sharechain crate's validation and chain store, so
//! the network holds no copy of the rules.

use bitcoin::pow::Work;
use libp2p::PeerId;
use sharechain::{Share, ShareError, ShareId};

/// Where a share offered to the sink came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Pushed by a peer over gossip (a new share at the tip).
    Gossip(PeerId),
    /// Downloaded from a peer during sync or an on-demand fetch (history: the
    /// sink may accept a tip-relative `Ignore` for it, docs/protocol.md 1.7).
    Sync(PeerId),
}

impl Origin {
    /// The peer that sent the share.
    pub fn peer(&self) -> PeerId {
        match self {
            Origin::Gossip(peer) | Origin::Sync(peer) => *peer,
        }
    }
}

/// What consensus made of an offered share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and now durably in the chain store: relay it.
    Accepted,
    /// Already known: do not relay again, no penalty.
    Duplicate,
    /// Its previous share or uncles are unknown: fetch these, then offer again.
    Missing(Vec<ShareId>),
    /// Rejected with the sharechain crate's reason; its
    /// [`ShareError::action`] says whether the sender is at fault.
    Rejected(ShareError),
    /// This node could not decide (its store or bitcoind failed): not the
    /// sender's fault; do not relay, try again later.
    Failed(String),
}

/// The tip of a best chain, as peers tell each other during sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTip {
    /// The tip share.
    pub id: ShareId,
    /// Its height (first share 0).
    pub height: u32,
    /// Cumulative work of the chain ending at it.
    pub work: Work,
}

/// Consensus as the network sees it.
///
/// Implementations MUST validate with [`sharechain::validate_share`] (never
/// trusting the network), MUST have stored an `Accepted` share durably before
/// returning, and MUST answer the read methods from one consistent best
/// chain. Calls come from the network task; keep them short (no waiting on
/// other peers).
pub trait ShareSink: Send + Sync + 'static {
    /// Offers a share received from a peer.
    fn offer(&self, share: Share, origin: Origin) -> Verdict;

    /// The best chain's tip, `None` while the chain is empty.
    fn tip(&self) -> Option<ChainTip>;

    /// Whether the share is already stored (in any branch).
    fn contains(&self, id: &ShareId) -> bool;

    /// The encoded share, if stored.
    fn share_bytes(&self, id: &ShareId) -> Option<Vec<u8>>;

    /// A block locator of the best chain: ids of the tip, tip-1, tip-2,
    /// tip-4, tip-8, ... and the first share.
    fn locator(&self) -> Vec<ShareId>;

    /// Up to `max` best-chain ids following the highest locator entry that
    /// is on our best chain (from the first share if none is), oldest first.
    fn ids_after(&self, locator: &[ShareId], max: usize) -> Vec<ShareId>;
}

/// Heights of a block locator for a chain whose tip is at `tip_height`:
/// tip, tip-1, tip-2, tip-4, ... and 0, newest first.
pub fn locator_heights(tip_height: u32) -> Vec<u32> {
    let mut heights = vec![tip_height];
    let mut offset = 1u32;
    while offset < tip_height {
        heights.push(tip_height - offset);
        offset = offset.saturating_mul(2);
    }
    if tip_height > 0 {
        heights.push(0);
    }
    heights
}

#[cfg(test)]
mod tests {
    use super::locator_heights;

    #[test]
    fn locator_doubles_its_steps_and_ends_at_the_first_share() {
        assert_eq!(locator_heights(0), vec![0]);
        assert_eq!(locator_heights(3), vec![3, 2, 1, 0]);
        assert_eq!(locator_heights(20), vec![20, 19, 18, 16, 12, 4, 0]);
        assert!(locator_heights(u32::MAX).len() <= 34);
    }
}
