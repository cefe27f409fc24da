//! Headers-first sync bookkeeping, free of I/O: which peer tips we know,
//! the ids still to download (in chain order), which batches are out, the
//! bodies that arrived out of order, progress and the `synced` flag.

use std::collections::{HashMap, HashSet, VecDeque};

use libp2p::PeerId;
use sharechain::{Share, ShareId};

use super::sink::ChainTip;

/// Most ids queued ahead of the downloaded chain before header requests pause.
pub const MAX_QUEUED_IDS: usize = 20_000;

/// Progress as the daemon and the dashboard see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Within `synced_slack` shares of the best tip any peer told us of
    /// (and at least one peer answered, or none is connected).
    pub synced: bool,
    /// Height of our best chain (0 when empty).
    pub local_height: u32,
    /// Highest tip height a peer announced.
    pub best_peer_height: u32,
    /// Connected peers on our sharechain.
    pub peers: usize,
}

/// Sync state of one node.
#[derive(Debug, Default)]
pub struct SyncState {
    tips: HashMap<PeerId, ChainTip>,
    /// Peers that answered a tip request, with a tip or with an empty chain:
    /// a network that is just starting has no tips at all and must still
    /// count as synced once its peers have said so.
    answered: HashSet<PeerId>,
    /// Ids to offer, oldest first.
    order: VecDeque<ShareId>,
    queued: HashSet<ShareId>,
    /// Ids not yet requested.
    pending: VecDeque<ShareId>,
    in_flight: HashSet<ShareId>,
    received: HashMap<ShareId, (Share, PeerId)>,
    /// Where the next headers request continues from, and from whom.
    pub headers_from: Option<(PeerId, ShareId)>,
    /// A headers request is out.
    pub headers_in_flight: bool,
}

impl SyncState {
    /// Records a peer's tip.
    pub fn set_tip(&mut self, peer: PeerId, tip: Option<ChainTip>) {
        self.answered.insert(peer);
        match tip {
            Some(tip) => self.tips.insert(peer, tip),
            None => self.tips.remove(&peer),
        };
    }

    /// Forgets a disconnected peer.
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.tips.remove(peer);
        self.answered.remove(peer);
        if self.headers_from.is_some_and(|(p, _)| p == *peer) {
            self.headers_from = None;
        }
    }

    /// The tip with most work among peers, and who has it.
    pub fn best_tip(&self) -> Option<(PeerId, ChainTip)> {
        self.tips
            .iter()
            .max_by_key(|(_, tip)| tip.work)
            .map(|(p, t)| (*p, *t))
    }

    /// Highest height any peer told us.
    pub fn best_height(&self) -> u32 {
        self.tips.values().map(|t| t.height).max().unwrap_or(0)
    }

    /// Peers whose tip is at least `height` (they can serve those shares).
    pub fn peers_at_least(&self, height: u32) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self
            .tips
            .iter()
            .filter(|(_, t)| t.height >= height)
            .map(|(p, _)| *p)
            .collect();
        peers.sort();
        peers
    }

    /// Whether any connected peer answered a tip request, even with an
    /// empty chain.
    pub fn heard_from_peers(&self) -> bool {
        !self.answered.is_empty()
    }

    /// Queues ids from a headers answer; returns how many were new.
    pub fn queue_ids(&mut self, ids: impl IntoIterator<Item = ShareId>) -> usize {
        let mut added = 0;
        for id in ids {
            if self.queued.insert(id) {
                self.order.push_back(id);
                self.pending.push_back(id);
                added += 1;
            }
        }
        added
    }

    /// Whether the queue has room for another headers answer.
    pub fn wants_headers(&self) -> bool {
        !self.headers_in_flight && self.order.len() < MAX_QUEUED_IDS
    }

    /// Ids still to offer.
    pub fn queued_len(&self) -> usize {
        self.order.len()
    }

    /// Takes the next batch of up to `max` ids to request.
    pub fn next_batch(&mut self, max: usize) -> Vec<ShareId> {
        let mut batch = Vec::new();
        while batch.len() < max {
            let Some(id) = self.pending.pop_front() else {
                break;
            };
            if self.queued.contains(&id)
                && !self.received.contains_key(&id)
                && self.in_flight.insert(id)
            {
                batch.push(id);
            }
        }
        batch
    }

    /// Puts ids of a failed or partly answered batch back in front.
    pub fn requeue(&mut self, ids: &[ShareId]) {
        for id in ids.iter().rev() {
            if self.in_flight.remove(id) && self.queued.contains(id) {
                self.pending.push_front(*id);
            }
        }
    }

    /// Files a downloaded share; false if it was not asked for.
    pub fn receive(&mut self, share: Share, from: PeerId) -> bool {
        let id = share.id();
        if !self.in_flight.remove(&id) {
            return false;
        }
        self.received.insert(id, (share, from));
        true
    }

    /// The next share to offer, in chain order, if it has arrived.
    pub fn next_ready(&mut self) -> Option<(Share, PeerId)> {
        let id = *self.order.front()?;
        let ready = self.received.remove(&id)?;
        self.order.pop_front();
        self.queued.remove(&id);
        Some(ready)
    }

    /// Puts an offered share back at the front (our view is behind; retry later).
    pub fn put_back(&mut self, share: Share, from: PeerId) {
        let id = share.id();
        self.order.push_front(id);
        self.queued.insert(id);
        self.received.insert(id, (share, from));
    }

    /// Drops everything queued (the chain being downloaded proved invalid).
    pub fn reset(&mut self) {
        self.order.clear();
        self.queued.clear();
        self.pending.clear();
        self.in_flight.clear();
        self.received.clear();
        self.headers_from = None;
        self.headers_in_flight = false;
    }

    /// Number of batches' worth of ids neither requested nor received.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// The progress line a person reads, e.g.
/// `syncing sharechain: 4,200 / 10,000 shares (42%)`.
pub fn progress_line(have: u32, best: u32) -> String {
    let percent = if best == 0 {
        100
    } else {
        (have as u64 * 100 / best as u64).min(100)
    };
    format!(
        "syncing sharechain: {} / {} shares ({percent}%)",
        thousands(have),
        thousands(best)
    )
}

fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_like_a_person_writes_it() {
        assert_eq!(
            progress_line(4200, 10_000),
            "syncing sharechain: 4,200 / 10,000 shares (42%)"
        );
        assert_eq!(
            progress_line(7, 0),
            "syncing sharechain: 7 / 0 shares (100%)"
        );
        assert_eq!(
            progress_line(999, 1_000_000),
            "syncing sharechain: 999 / 1,000,000 shares (0%)"
        );
    }

    #[test]
    fn a_peer_with_an_empty_chain_still_counts_as_heard_until_it_leaves() {
        let mut s = SyncState::default();
        let peer = PeerId::random();
        assert!(!s.heard_from_peers());
        s.set_tip(peer, None);
        assert!(s.heard_from_peers(), "an empty answer is an answer");
        assert_eq!(s.best_height(), 0);
        s.remove_peer(&peer);
        assert!(!s.heard_from_peers());
    }

    #[test]
    fn batches_hand_out_each_id_once_and_failed_ones_come_back() {
        let mut s = SyncState::default();
        let ids: Vec<ShareId> = (0..5u8)
            .map(|n| ShareId::from_byte_array([n + 1; 32]))
            .collect();
        assert_eq!(s.queue_ids(ids.clone()), 5);
        assert_eq!(
            s.queue_ids(ids.clone()),
            0,
            "duplicates are not queued twice"
        );
        let first = s.next_batch(3);
        assert_eq!(first, ids[..3]);
        assert_eq!(s.next_batch(3), ids[3..]);
        s.requeue(&first);
        assert_eq!(s.next_batch(10), first);
    }
}
