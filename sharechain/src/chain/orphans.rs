//! Shares that arrived before their parent or uncles: kept, bounded (the
//! oldest is evicted first), and handed back as soon as what they wait for
//! connects.

use std::collections::{BTreeMap, HashMap};

use crate::chain::entry::ChainEntry;
use crate::types::ShareId;

/// How many shares wait for missing ancestors by default: ten minutes of a
/// sharechain at 10 s shares, many times over, and still a few hundred
/// kilobytes of shares at most.
pub const DEFAULT_ORPHAN_LIMIT: usize = 1024;

struct Orphan<T> {
    seq: u64,
    entry: ChainEntry,
    payload: T,
}

/// Unconnected shares with a payload each (the share's bytes, in practice).
pub struct OrphanPool<T> {
    limit: usize,
    next_seq: u64,
    orphans: HashMap<ShareId, Orphan<T>>,
    /// Arrival order, oldest first, for eviction.
    order: BTreeMap<u64, ShareId>,
    /// Which orphans list a given share as parent or uncle.
    waiting: HashMap<ShareId, Vec<ShareId>>,
}

impl<T> OrphanPool<T> {
    /// A pool that holds at most `limit` shares (at least one).
    pub fn new(limit: usize) -> Self {
        OrphanPool {
            limit: limit.max(1),
            next_seq: 0,
            orphans: HashMap::new(),
            order: BTreeMap::new(),
            waiting: HashMap::new(),
        }
    }

    /// Number of waiting shares.
    pub fn len(&self) -> usize {
        self.orphans.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.orphans.is_empty()
    }

    /// True when `id` waits here.
    pub fn contains(&self, id: &ShareId) -> bool {
        self.orphans.contains_key(id)
    }

    /// Keeps `entry` until [`Self::take_waiting_on`] one of its dependencies;
    /// returns the ids evicted to make room (oldest first). A share already
    /// waiting is kept as it was.
    pub fn insert(&mut self, entry: ChainEntry, payload: T) -> Vec<ShareId> {
        if self.contains(&entry.id) {
            return Vec::new();
        }
        let mut evicted = Vec::new();
        while self.orphans.len() >= self.limit {
            let (_, oldest) = self.order.pop_first().expect("pool is full, so not empty");
            self.remove(&oldest);
            evicted.push(oldest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        for dep in entry.dependencies() {
            self.waiting.entry(dep).or_default().push(entry.id);
        }
        self.order.insert(seq, entry.id);
        self.orphans.insert(
            entry.id,
            Orphan {
                seq,
                entry,
                payload,
            },
        );
        evicted
    }

    /// Removes and returns every orphan that lists `id` as parent or uncle,
    /// in arrival order.
    pub fn take_waiting_on(&mut self, id: &ShareId) -> Vec<(ChainEntry, T)> {
        let mut ids = self.waiting.remove(id).unwrap_or_default();
        ids.sort_by_key(|o| self.orphans.get(o).map(|o| o.seq));
        ids.dedup();
        ids.iter()
            .filter_map(|o| self.remove(o))
            .map(|o| (o.entry, o.payload))
            .collect()
    }

    fn remove(&mut self, id: &ShareId) -> Option<Orphan<T>> {
        let orphan = self.orphans.remove(id)?;
        self.order.remove(&orphan.seq);
        for dep in orphan.entry.dependencies() {
            if let Some(list) = self.waiting.get_mut(&dep) {
                list.retain(|o| o != id);
                if list.is_empty() {
                    self.waiting.remove(&dep);
                }
            }
        }
        Some(orphan)
    }
}
