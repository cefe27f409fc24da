//! A store in RAM: for tests and tools that do not need to survive a restart.

use std::collections::{BTreeMap, HashMap};

use crate::store::{LoadedChain, ShareStore, StoreError, StoredShare};
use crate::types::ShareId;

/// Keeps everything in memory; `put` cannot fail.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    entries: BTreeMap<(u32, ShareId), crate::chain::ChainEntry>,
    bytes: HashMap<ShareId, Vec<u8>>,
    tip: Option<ShareId>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ShareStore for MemoryStore {
    fn put(&mut self, share: StoredShare<'_>, tip: ShareId) -> Result<(), StoreError> {
        let id = share.entry.id;
        self.entries.insert((share.height, id), share.entry.clone());
        self.bytes.insert(id, share.bytes.to_vec());
        self.tip = Some(tip);
        Ok(())
    }

    fn load(&self) -> Result<LoadedChain, StoreError> {
        Ok(LoadedChain {
            entries: self
                .entries
                .iter()
                .map(|((h, _), e)| (*h, e.clone()))
                .collect(),
            tip: self.tip,
        })
    }

    fn share_bytes(&self, id: &ShareId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.bytes.get(id).cloned())
    }
}
