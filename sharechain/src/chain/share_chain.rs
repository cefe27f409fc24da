//! The chain a node keeps: the index, the orphan pool and the store together,
//! so that a share is on disk before the caller hears it was accepted.

use bitcoin::CompactTarget;
use tracing::{debug, info, warn};

use crate::chain::index::{ChainIndex, Prepared, Readiness};
use crate::chain::orphans::{OrphanPool, DEFAULT_ORPHAN_LIMIT};
use crate::chain::{ChainEntry, ChainError, TipChange};
use crate::params::ConsensusParams;
use crate::pplns::{self, Msat, Payout, PplnsError, PplnsWindow};
use crate::retarget::genesis_bits;
use crate::share::Share;
use crate::store::{ShareStore, StoreError, StoredShare};
use crate::types::ShareId;
use crate::validation::ValidShare;
use crate::view::{ChainView, ShareSummary};

/// What happened to the share given to [`ShareChain::insert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertStatus {
    /// It connected, and is stored.
    Connected,
    /// It waits in the orphan pool; fetch these shares from peers.
    Orphaned {
        /// Parent and uncles neither connected nor waiting themselves.
        missing: Vec<ShareId>,
    },
    /// It was connected before; nothing changed.
    AlreadyKnown,
}

/// The result of one [`ShareChain::insert`].
#[derive(Debug)]
pub struct InsertOutcome {
    /// What happened to the given share.
    pub status: InsertStatus,
    /// Every share connected (and stored) by this call, in order: the given
    /// share when it connected, then the orphans it unlocked.
    pub connected: Vec<ShareId>,
    /// Orphans unlocked by this call that broke the uncle rules once their
    /// ancestry was known; they are dropped.
    pub rejected_orphans: Vec<(ShareId, ChainError)>,
    /// Orphans evicted (oldest first) to make room for this one.
    pub evicted_orphans: Vec<ShareId>,
    /// How the best chain moved over the whole call, if it did.
    pub tip_change: Option<TipChange>,
}

/// What a new Stratum job needs from the chain: the committed sharechain
/// data of the next share, apart from the miner's claim key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextShare {
    /// The best tip, the new share's parent; `None` on an empty chain (the
    /// job then mines the chain's first share).
    pub prev_share: Option<ShareId>,
    /// The uncles to list, at most `max_uncles`, in the order to commit them.
    pub uncles: Vec<ShareId>,
    /// The share target the retarget rule demands of a child of the tip
    /// (the genesis target on an empty chain). A miner may choose a harder
    /// one within `max_harder_shift`.
    pub share_bits: CompactTarget,
    /// The new share's height.
    pub height: u32,
}

/// Index, orphans and store of one sharechain.
pub struct ShareChain<S> {
    index: ChainIndex,
    orphans: OrphanPool<Vec<u8>>,
    store: S,
}

impl<S: ShareStore> ShareChain<S> {
    /// Loads every share in `store` and picks the best chain among them; on
    /// equal work, the tip last stored wins.
    /// `params` must be the rules the store's shares were accepted under.
    pub fn open(store: S, params: ConsensusParams) -> Result<Self, ChainError> {
        Self::open_with_orphan_limit(store, params, DEFAULT_ORPHAN_LIMIT)
    }

    /// [`Self::open`] with an orphan pool of `orphan_limit` shares.
    pub fn open_with_orphan_limit(
        store: S,
        params: ConsensusParams,
        orphan_limit: usize,
    ) -> Result<Self, ChainError> {
        let loaded = store.load()?;
        let mut index = ChainIndex::new(params);
        for (height, entry) in loaded.entries {
            let id = entry.id;
            let readiness = index
                .prepare(entry)
                .map_err(|e| corrupt(id, e.to_string()))?;
            match readiness {
                Readiness::Ready(p) if p.height() == height => {
                    index.apply(p);
                }
                Readiness::Ready(p) => {
                    return Err(corrupt(
                        id,
                        format!("stored at height {height}, connects at {}", p.height()),
                    ))
                }
                Readiness::Known => return Err(corrupt(id, "stored twice".to_owned())),
                Readiness::Missing(_, missing) => {
                    return Err(corrupt(id, format!("stored without {missing:?}")))
                }
            }
        }
        if let Some(tip) = loaded.tip {
            index.prefer_tip(&tip);
        }
        info!(shares = index.len(), tip = ?index.tip(), "share chain loaded");
        Ok(ShareChain {
            index,
            orphans: OrphanPool::new(orphan_limit),
            store,
        })
    }

    /// The connected shares.
    pub fn index(&self) -> &ChainIndex {
        &self.index
    }

    /// The store behind the chain.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Number of shares waiting for their ancestry.
    pub fn orphan_count(&self) -> usize {
        self.orphans.len()
    }

    /// The encoded bytes of a connected share.
    pub fn share_bytes(&self, id: &ShareId) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.share_bytes(id)
    }

    /// Adds a share [`crate::validate_share`] accepted against this chain
    /// (`validate_share(share, config, chain.index(), ...)`): builds its
    /// entry, stores its encoded bytes durably and connects it. Since
    /// validation found its parent and uncles in this chain, it never waits
    /// as an orphan.
    pub fn insert_valid(
        &mut self,
        share: &Share,
        valid: &ValidShare,
    ) -> Result<InsertOutcome, ChainError> {
        self.insert(ChainEntry::from_valid(share, valid), share.encode())
    }

    /// The parent, uncles, target and height of the next share to mine on
    /// the best tip.
    pub fn next_share(&self) -> NextShare {
        let Some(tip) = self.index.tip() else {
            return NextShare {
                prev_share: None,
                uncles: Vec::new(),
                share_bits: genesis_bits(self.index.params()),
                height: 0,
            };
        };
        NextShare {
            prev_share: Some(tip),
            uncles: self.index.uncle_candidates(&tip),
            share_bits: self
                .index
                .expected_bits(&tip)
                .expect("the tip is connected"),
            height: self.index.height(&tip).expect("the tip is connected") + 1,
        }
    }

    /// The PPLNS payouts of the block found by `block_share` (reward in
    /// msat, the coinbase value times 1000), over the window of this
    /// chain's parameters. Every node and guardian gets the same list.
    pub fn payouts(&self, block_share: &ShareId, reward: Msat) -> Result<Vec<Payout>, PplnsError> {
        let window = PplnsWindow::from_params(self.index.params());
        pplns::payouts(&self.index, block_share, reward, window)
    }

    /// Adds a share the caller has validated (proof of work, target,
    /// coinbase). Prefer [`Self::insert_valid`]; this is for entries built
    /// elsewhere (tests, tools). Checks the uncle rules, stores it (durably, before
    /// returning) when it connects, or keeps it in the orphan pool, and
    /// connects every orphan it unlocks.
    ///
    /// An `Err` means the share itself was not accepted: see
    /// [`ChainError::is_invalid_share`].
    pub fn insert(
        &mut self,
        entry: ChainEntry,
        bytes: Vec<u8>,
    ) -> Result<InsertOutcome, ChainError> {
        let old_tip = self.index.tip();
        let mut outcome = InsertOutcome {
            status: InsertStatus::AlreadyKnown,
            connected: Vec::new(),
            rejected_orphans: Vec::new(),
            evicted_orphans: Vec::new(),
            tip_change: None,
        };
        match self.index.prepare(entry)? {
            Readiness::Known => return Ok(outcome),
            Readiness::Missing(entry, missing) => {
                let missing: Vec<ShareId> = missing
                    .into_iter()
                    .filter(|m| !self.orphans.contains(m))
                    .collect();
                debug!(share = %entry.id, ?missing, "share waits for its ancestry");
                outcome.evicted_orphans = self.orphans.insert(entry, bytes);
                outcome.status = InsertStatus::Orphaned { missing };
                return Ok(outcome);
            }
            Readiness::Ready(prepared) => {
                let id = self.commit(prepared, &bytes)?;
                outcome.status = InsertStatus::Connected;
                outcome.connected.push(id);
            }
        }
        self.connect_orphans(&mut outcome)?;
        let new_tip = self.index.tip();
        if new_tip != old_tip {
            let new_tip = new_tip.expect("a tip never goes away");
            outcome.tip_change = self.index.tip_change(old_tip, new_tip);
            if let Some(change) = outcome.tip_change.as_ref().filter(|c| c.is_reorg()) {
                info!(old = ?change.old_tip, new = %change.new_tip, left = change.disconnected.len(), joined = change.connected.len(), "share chain reorganised");
            }
        }
        Ok(outcome)
    }

    /// Connects, breadth first, every orphan whose ancestry is now complete.
    fn connect_orphans(&mut self, outcome: &mut InsertOutcome) -> Result<(), ChainError> {
        let mut next = 0;
        while let Some(parent) = outcome.connected.get(next).copied() {
            next += 1;
            for (entry, bytes) in self.orphans.take_waiting_on(&parent) {
                let id = entry.id;
                match self.index.prepare(entry) {
                    Ok(Readiness::Ready(prepared)) => {
                        self.commit(prepared, &bytes)?;
                        outcome.connected.push(id);
                    }
                    Ok(Readiness::Missing(entry, _)) => {
                        outcome
                            .evicted_orphans
                            .extend(self.orphans.insert(entry, bytes));
                    }
                    Ok(Readiness::Known) => {}
                    Err(error) => {
                        warn!(share = %id, %error, "orphan dropped once its ancestry arrived");
                        outcome.rejected_orphans.push((id, error));
                    }
                }
            }
        }
        Ok(())
    }

    /// Stores a prepared share with the tip it leads to, then connects it.
    fn commit(&mut self, prepared: Prepared, bytes: &[u8]) -> Result<ShareId, ChainError> {
        let id = prepared.entry().id;
        let tip = if self.index.would_become_tip(&prepared) {
            id
        } else {
            self.index
                .tip()
                .expect("a share that does not become tip has one to lose to")
        };
        let stored = StoredShare {
            entry: prepared.entry(),
            height: prepared.height(),
            bytes,
        };
        self.store.put(stored, tip)?;
        self.index.apply(prepared);
        Ok(id)
    }
}

impl<S> ChainView for ShareChain<S> {
    fn share(&self, id: &ShareId) -> Option<ShareSummary> {
        self.index.share(id)
    }

    fn expected_bits(&self, parent: &ShareId) -> Option<CompactTarget> {
        self.index.expected_bits(parent)
    }
}

fn corrupt(share: ShareId, why: String) -> ChainError {
    ChainError::Store(StoreError::Corrupt {
        what: "chain",
        why: format!("share {share}: {why}"),
    })
}
