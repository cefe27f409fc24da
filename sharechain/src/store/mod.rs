//! Where accepted shares live across restarts: a small trait, with an
//! in-memory implementation for tests and a RocksDB one for daemons.

mod error;
mod memory;
mod record;
mod rocks;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use record::{decode_entry, encode_entry};
pub use rocks::{Column, RocksStore};
/// The RocksDB crate the store is built on, for daemons that open the shared database.
pub use rocksdb;

use crate::chain::ChainEntry;
use crate::types::ShareId;

/// One accepted share as the store keeps it.
#[derive(Clone, Copy, Debug)]
pub struct StoredShare<'a> {
    /// The chain record.
    pub entry: &'a ChainEntry,
    /// Its height in the chain (derived, kept so loading needs no sorting).
    pub height: u32,
    /// The share's encoded bytes, opaque to the store.
    pub bytes: &'a [u8],
}

/// Everything a store holds, as loaded at start.
#[derive(Debug, Default)]
pub struct LoadedChain {
    /// Every stored entry with its height, by height then id: parents and
    /// uncles always come before the shares that reference them.
    pub entries: Vec<(u32, ChainEntry)>,
    /// The tip last written, if any.
    pub tip: Option<ShareId>,
}

/// Durable storage of accepted shares.
///
/// An implementation MUST make [`ShareStore::put`] atomic (the share's bytes,
/// its entry and the new tip are all written or none is) and durable before it
/// returns `Ok`: callers acknowledge the share to peers and miners right after.
/// It MUST NOT check chain rules; the chain has done that before calling.
pub trait ShareStore {
    /// Stores one accepted share and the tip after it, atomically and durably.
    fn put(&mut self, share: StoredShare<'_>, tip: ShareId) -> Result<(), StoreError>;

    /// Every stored entry, parents before children, and the last tip written.
    fn load(&self) -> Result<LoadedChain, StoreError>;

    /// The encoded bytes of a stored share.
    fn share_bytes(&self, id: &ShareId) -> Result<Option<Vec<u8>>, StoreError>;
}
