//! The in-memory index of connected shares: O(1) lookup by id, ancestor at
//! any height in O(log n) through skip pointers, the best chain as a vector
//! by height, and the uncle rules (which need all three).

use std::collections::HashMap;

use bitcoin::CompactTarget;

use crate::chain::entry::ChainEntry;
use crate::chain::error::ChainError;
use crate::chain::tip::TipChange;
use crate::chain::uncles::{check_uncle_list, check_uncles, Ancestry};
use crate::params::ConsensusParams;
use crate::retarget::expected_bits;
use crate::types::ShareId;
use crate::view::{ChainView, ShareSummary};
use crate::work::Work;

/// Position of a share in the index's arena.
type Slot = u32;

struct Node {
    entry: ChainEntry,
    parent: Option<Slot>,
    /// The entry's uncles, in listed order: a PPLNS window walk reads them
    /// without a hash lookup each.
    uncles: Box<[Slot]>,
    /// An ancestor further down (bitcoin's `pskip`), for O(log n) ancestor walks.
    skip: Option<Slot>,
    height: u32,
    /// Work of the chain ending here: own work, every ancestor's, and every
    /// uncle listed along the way.
    cumulative: Work,
    /// What the retarget rule demands of a child, cached so that
    /// [`ChainView::expected_bits`] is O(1).
    child_bits: CompactTarget,
    /// Time of the first share (height 0) of this share's chain: the ASERT anchor.
    anchor_time: u32,
}

/// A share whose parent and uncles are connected and whose uncles follow
/// the rules: ready to [`ChainIndex::apply`].
#[derive(Debug)]
pub struct Prepared {
    entry: ChainEntry,
    parent: Option<Slot>,
    height: u32,
    cumulative: Work,
    child_bits: CompactTarget,
    anchor_time: u32,
}

impl Prepared {
    /// The share about to connect.
    pub fn entry(&self) -> &ChainEntry {
        &self.entry
    }

    /// Its height: 0 for a share without parent, else parent's plus one.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The work of the chain it ends.
    pub fn cumulative_work(&self) -> Work {
        self.cumulative
    }

    /// The share target the retarget rule demands of its children.
    pub fn child_bits(&self) -> CompactTarget {
        self.child_bits
    }
}

/// Whether a share can connect now.
#[derive(Debug)]
pub enum Readiness {
    /// Already connected; nothing to do.
    Known,
    /// Some of its parent and uncles are not connected yet; the entry comes back.
    Missing(ChainEntry, Vec<ShareId>),
    /// Everything it needs is there and its uncles are valid.
    Ready(Prepared),
}

/// Every connected share, and the best chain among them.
pub struct ChainIndex {
    /// The rules: uncle depth and count, retarget.
    params: ConsensusParams,
    nodes: Vec<Node>,
    by_id: HashMap<ShareId, Slot>,
    /// Slots per height: where uncle candidates are found.
    by_height: Vec<Vec<Slot>>,
    /// The best chain: `main[h]` is its share at height `h`; the last is the tip.
    main: Vec<Slot>,
}

impl ChainIndex {
    /// An empty index of a chain run by `params`.
    pub fn new(params: ConsensusParams) -> Self {
        ChainIndex {
            params,
            nodes: Vec::new(),
            by_id: HashMap::new(),
            by_height: Vec::new(),
            main: Vec::new(),
        }
    }

    /// The rules this chain runs by.
    pub fn params(&self) -> &ConsensusParams {
        &self.params
    }

    /// Number of connected shares.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when no share is connected.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The connected share `id`.
    pub fn get(&self, id: &ShareId) -> Option<&ChainEntry> {
        self.slot(id).map(|s| &self.node(s).entry)
    }

    /// True when `id` is connected.
    pub fn contains(&self, id: &ShareId) -> bool {
        self.by_id.contains_key(id)
    }

    /// Height of a connected share (0 for a first share).
    pub fn height(&self, id: &ShareId) -> Option<u32> {
        self.slot(id).map(|s| self.node(s).height)
    }

    /// Work of the chain ending at a connected share, uncles included.
    pub fn cumulative_work(&self, id: &ShareId) -> Option<Work> {
        self.slot(id).map(|s| self.node(s).cumulative)
    }

    /// The best chain's last share.
    pub fn tip(&self) -> Option<ShareId> {
        self.main.last().map(|s| self.node(*s).entry.id)
    }

    /// The best chain's share at `height`.
    pub fn main_chain_at(&self, height: u32) -> Option<ShareId> {
        self.main
            .get(height as usize)
            .map(|s| self.node(*s).entry.id)
    }

    /// True when `id` is in the best chain.
    pub fn is_in_main_chain(&self, id: &ShareId) -> bool {
        self.slot(id).is_some_and(|s| self.on_main(s))
    }

    /// The ancestor of `id` at `height` (`id` itself at its own height).
    pub fn ancestor(&self, id: &ShareId, height: u32) -> Option<ShareId> {
        let slot = self.slot(id)?;
        self.ancestor_slot(slot, height)
            .map(|s| self.node(s).entry.id)
    }

    /// `id`, its parent, its grandparent, ... down to the first share.
    pub fn ancestors(&self, id: &ShareId) -> Ancestors<'_> {
        Ancestors {
            index: self,
            next: self.slot(id),
        }
    }

    /// `id`, its parent, ... down to the first share, each with the entries
    /// of the uncles it lists (in listed order); `None` when `id` is not
    /// connected. What a PPLNS window walks.
    pub fn ancestors_with_uncles(&self, id: &ShareId) -> Option<AncestorsWithUncles<'_>> {
        let next = Some(self.slot(id)?);
        Some(AncestorsWithUncles { index: self, next })
    }

    /// Shares a new child of `parent` may list as uncles, at most
    /// `max_uncles`: most work first, then lowest id.
    pub fn uncle_candidates(&self, parent: &ShareId) -> Vec<ShareId> {
        let Some(parent_slot) = self.slot(parent) else {
            return Vec::new();
        };
        let parent_summary = self.summary(parent_slot);
        let Ok(ancestry) = Ancestry::walk(self, *parent, &parent_summary, &self.params) else {
            return Vec::new();
        };
        let child_height = parent_summary.height + 1;
        let lowest = child_height.saturating_sub(self.params.max_uncle_depth);
        let mut found: Vec<Slot> = (lowest..child_height)
            .flat_map(|h| self.by_height[h as usize].iter().copied())
            .filter(|s| {
                let id = self.node(*s).entry.id;
                ancestry.check_uncle(id, &self.summary(*s)).is_ok()
            })
            .collect();
        found.sort_by(|a, b| {
            let (a, b) = (&self.node(*a).entry, &self.node(*b).entry);
            b.work.cmp(&a.work).then(a.id.cmp(&b.id))
        });
        found.truncate(self.params.max_uncles);
        found.into_iter().map(|s| self.node(s).entry.id).collect()
    }

    /// Checks whether `entry` can connect, without changing anything.
    pub fn prepare(&self, entry: ChainEntry) -> Result<Readiness, ChainError> {
        if self.contains(&entry.id) {
            return Ok(Readiness::Known);
        }
        check_uncle_list(&entry.uncles, entry.parent, &self.params).map_err(|reason| {
            ChainError::InvalidUncles {
                share: entry.id,
                reason,
            }
        })?;
        let missing: Vec<ShareId> = entry.dependencies().filter(|d| !self.contains(d)).collect();
        if !missing.is_empty() {
            return Ok(Readiness::Missing(entry, missing));
        }
        let parent = entry
            .parent
            .map(|p| self.slot(&p).expect("dependencies connected"));
        let height = match parent {
            None => 0,
            Some(p) => self
                .node(p)
                .height
                .checked_add(1)
                .ok_or(ChainError::HeightOverflow { share: entry.id })?,
        };
        let uncle_work = self.check_uncles(&entry, parent)?;
        let base = parent.map_or(Work::ZERO, |p| self.node(p).cumulative);
        let cumulative = base
            .checked_add(entry.work)
            .and_then(|w| w.checked_add(uncle_work))
            .ok_or(ChainError::WorkOverflow { share: entry.id })?;
        let anchor_time = parent.map_or(entry.time, |p| self.node(p).anchor_time);
        let child_bits = expected_bits(&self.params, anchor_time, height, entry.time);
        Ok(Readiness::Ready(Prepared {
            entry,
            parent,
            height,
            cumulative,
            child_bits,
            anchor_time,
        }))
    }

    /// True when applying `prepared` makes it the new tip: strictly more
    /// cumulative work than the current tip. Equal work keeps the tip the
    /// node already mines on.
    pub fn would_become_tip(&self, prepared: &Prepared) -> bool {
        self.main
            .last()
            .is_none_or(|t| prepared.cumulative > self.node(*t).cumulative)
    }

    /// Connects a prepared share; returns how the best chain changed, if it did.
    pub fn apply(&mut self, prepared: Prepared) -> Option<TipChange> {
        let becomes_tip = self.would_become_tip(&prepared);
        let Prepared {
            entry,
            parent,
            height,
            cumulative,
            child_bits,
            anchor_time,
        } = prepared;
        let slot = Slot::try_from(self.nodes.len()).expect("fewer than 2^32 shares in memory");
        let skip = parent.and_then(|p| self.ancestor_slot(p, skip_height(height)));
        let uncles = entry
            .uncles
            .iter()
            .map(|u| {
                self.slot(u)
                    .expect("prepare checked every uncle is connected")
            })
            .collect();
        self.by_id.insert(entry.id, slot);
        if self.by_height.len() <= height as usize {
            self.by_height.resize_with(height as usize + 1, Vec::new);
        }
        self.by_height[height as usize].push(slot);
        self.nodes.push(Node {
            entry,
            parent,
            uncles,
            skip,
            height,
            cumulative,
            child_bits,
            anchor_time,
        });
        becomes_tip.then(|| self.move_tip(slot))
    }

    /// Makes `id` the tip if it has exactly the tip's cumulative work: used
    /// after a restart to come back to the tip the node had chosen among
    /// equals. Returns the change, if any.
    pub fn prefer_tip(&mut self, id: &ShareId) -> Option<TipChange> {
        let slot = self.slot(id)?;
        let tip = *self.main.last()?;
        (slot != tip && self.node(slot).cumulative == self.node(tip).cumulative)
            .then(|| self.move_tip(slot))
    }

    /// How the best chain differs between tips `old` and `new` (both connected).
    pub fn tip_change(&self, old: Option<ShareId>, new: ShareId) -> Option<TipChange> {
        let new_slot = self.slot(&new)?;
        let old_slot = match old {
            Some(o) => Some(self.slot(&o)?),
            None => None,
        };
        let (disconnected, connected) = self.fork_diff(old_slot, new_slot);
        Some(self.describe(old_slot, new_slot, &disconnected, &connected))
    }

    fn move_tip(&mut self, new: Slot) -> TipChange {
        let old = self.main.last().copied();
        let (disconnected, connected) = self.fork_diff(old, new);
        self.main.truncate(self.main.len() - disconnected.len());
        self.main.extend(connected.iter().copied());
        self.describe(old, new, &disconnected, &connected)
    }

    fn describe(&self, old: Option<Slot>, new: Slot, dis: &[Slot], con: &[Slot]) -> TipChange {
        let ids = |slots: &[Slot]| slots.iter().map(|s| self.node(*s).entry.id).collect();
        TipChange {
            old_tip: old.map(|s| self.node(s).entry.id),
            new_tip: self.node(new).entry.id,
            disconnected: ids(dis),
            connected: ids(con),
        }
    }

    /// Shares leaving (from `old` down) and joining (up to `new`) when the
    /// tip moves from `old` to `new`.
    fn fork_diff(&self, old: Option<Slot>, new: Slot) -> (Vec<Slot>, Vec<Slot>) {
        let level = |s: Option<Slot>| s.map_or(-1i64, |s| i64::from(self.node(s).height));
        let (mut a, mut b) = (old, Some(new));
        let (mut disconnected, mut connected) = (Vec::new(), Vec::new());
        while level(a) > level(b) {
            let s = a.expect("level above -1");
            disconnected.push(s);
            a = self.node(s).parent;
        }
        while level(b) > level(a) {
            let s = b.expect("level above -1");
            connected.push(s);
            b = self.node(s).parent;
        }
        while a != b {
            let (sa, sb) = (
                a.expect("same level, differ"),
                b.expect("same level, differ"),
            );
            disconnected.push(sa);
            connected.push(sb);
            a = self.node(sa).parent;
            b = self.node(sb).parent;
        }
        connected.reverse();
        (disconnected, connected)
    }

    /// Sum of the uncles' work, once they pass every rule of
    /// [`crate::chain::uncles`] (the list rules were checked already).
    fn check_uncles(&self, entry: &ChainEntry, parent: Option<Slot>) -> Result<Work, ChainError> {
        let Some(parent) = parent else {
            return Ok(Work::ZERO);
        };
        let invalid = |reason| ChainError::InvalidUncles {
            share: entry.id,
            reason,
        };
        let uncles: Vec<(ShareId, ShareSummary)> = entry
            .uncles
            .iter()
            .map(|u| {
                (
                    *u,
                    self.summary(self.slot(u).expect("dependencies connected")),
                )
            })
            .collect();
        check_uncles(
            self,
            &self.params,
            self.node(parent).entry.id,
            &self.summary(parent),
            &uncles,
        )
        .map_err(invalid)?;
        uncles.iter().try_fold(Work::ZERO, |total, (id, _)| {
            total
                .checked_add(self.get(id).expect("connected").work)
                .ok_or(ChainError::WorkOverflow { share: entry.id })
        })
    }

    /// What validation knows of the share in `slot`.
    fn summary(&self, slot: Slot) -> ShareSummary {
        let node = self.node(slot);
        ShareSummary {
            height: node.height,
            time: node.entry.time,
            prev: node.entry.parent,
            uncles: node.entry.uncles.clone(),
        }
    }

    fn ancestor_slot(&self, from: Slot, height: u32) -> Option<Slot> {
        let mut walk = from;
        if height > self.node(walk).height {
            return None;
        }
        while self.node(walk).height > height {
            let node = self.node(walk);
            let here = node.height;
            let skip_h = skip_height(here);
            let skip_prev_h = skip_height(here - 1);
            walk = match node.skip {
                Some(skip)
                    if skip_h == height
                        || (skip_h > height
                            && !(skip_prev_h + 2 < skip_h && skip_prev_h >= height)) =>
                {
                    skip
                }
                _ => node.parent.expect("height above 0 has a parent"),
            };
        }
        Some(walk)
    }

    fn on_main(&self, slot: Slot) -> bool {
        self.main.get(self.node(slot).height as usize) == Some(&slot)
    }

    fn slot(&self, id: &ShareId) -> Option<Slot> {
        self.by_id.get(id).copied()
    }

    fn node(&self, slot: Slot) -> &Node {
        &self.nodes[slot as usize]
    }
}

impl ChainView for ChainIndex {
    fn share(&self, id: &ShareId) -> Option<ShareSummary> {
        self.slot(id).map(|s| self.summary(s))
    }

    fn expected_bits(&self, parent: &ShareId) -> Option<CompactTarget> {
        self.slot(parent).map(|s| self.node(s).child_bits)
    }
}

/// Walks a share's ancestry downwards, starting with the share itself.
pub struct Ancestors<'a> {
    index: &'a ChainIndex,
    next: Option<Slot>,
}

impl<'a> Iterator for Ancestors<'a> {
    type Item = &'a ChainEntry;

    fn next(&mut self) -> Option<Self::Item> {
        let node = self.index.node(self.next?);
        self.next = node.parent;
        Some(&node.entry)
    }
}

/// Walks a share's ancestry downwards like [`Ancestors`], with each
/// share's uncles: see [`ChainIndex::ancestors_with_uncles`].
#[derive(Clone)]
pub struct AncestorsWithUncles<'a> {
    index: &'a ChainIndex,
    next: Option<Slot>,
}

impl<'a> Iterator for AncestorsWithUncles<'a> {
    type Item = (&'a ChainEntry, UncleEntries<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let node = self.index.node(self.next?);
        self.next = node.parent;
        let uncles = UncleEntries {
            index: self.index,
            slots: node.uncles.iter(),
        };
        Some((&node.entry, uncles))
    }
}

/// The entries of the uncles one share lists, in listed order.
#[derive(Clone)]
pub struct UncleEntries<'a> {
    index: &'a ChainIndex,
    slots: std::slice::Iter<'a, Slot>,
}

impl<'a> Iterator for UncleEntries<'a> {
    type Item = &'a ChainEntry;

    fn next(&mut self) -> Option<Self::Item> {
        self.slots.next().map(|s| &self.index.node(*s).entry)
    }
}

/// Height the skip pointer of a share at `height` points to: bitcoin's
/// `GetSkipHeight`, which keeps every ancestor lookup O(log n).
fn skip_height(height: u32) -> u32 {
    fn clear_lowest_one(n: u32) -> u32 {
        n & n.wrapping_sub(1)
    }
    if height < 2 {
        0
    } else if height & 1 == 1 {
        clear_lowest_one(clear_lowest_one(height - 1)) + 1
    } else {
        clear_lowest_one(height)
    }
}
