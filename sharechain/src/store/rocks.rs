//! The RocksDB share store: one database, a column family per concern, one
//! synced write batch per accepted share.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, WriteOptions, DB};

use crate::store::record::{decode_entry, encode_entry};
use crate::store::{LoadedChain, ShareStore, StoreError, StoredShare};
use crate::types::ShareId;

/// The store's column families. Names are on disk: never rename one; retire
/// it and add a new one instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Share id -> the share's encoded bytes.
    Shares,
    /// Height (big-endian u32) ‖ share id -> encoded [`crate::chain::ChainEntry`],
    /// so iterating it yields parents before children.
    Entries,
    /// Small named values, e.g. [`TIP_KEY`] -> the tip's id.
    Meta,
}

impl Column {
    /// Every column family, in creation order.
    pub const ALL: [Column; 3] = [Column::Shares, Column::Entries, Column::Meta];

    /// The column family's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Column::Shares => "shares",
            Column::Entries => "entries",
            Column::Meta => "meta",
        }
    }
}

/// Key in [`Column::Meta`] holding the tip's id.
const TIP_KEY: &[u8] = b"tip";

/// Shares in a RocksDB database.
pub struct RocksStore {
    db: DB,
    sync: bool,
}

impl RocksStore {
    /// Opens (creating if needed) the store at `path`. Every
    /// [`ShareStore::put`] is synced to disk before it returns.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_sync(path, true)
    }

    /// Opens the store without syncing each write: only for building test
    /// and benchmark databases in bulk. A crash may lose acknowledged shares,
    /// which breaks the store's contract; a daemon must use [`Self::open`].
    pub fn open_unsynced(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_sync(path, false)
    }

    fn open_with_sync(path: &Path, sync: bool) -> Result<Self, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let columns = Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), Options::default()));
        let db = DB::open_cf_descriptors(&options, path, columns)?;
        Ok(RocksStore { db, sync })
    }

    fn cf(&self, column: Column) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(column.name())
            .expect("every column family is created at open")
    }
}

fn entry_key(height: u32, id: &ShareId) -> [u8; 36] {
    let mut key = [0; 36];
    key[..4].copy_from_slice(&height.to_be_bytes());
    key[4..].copy_from_slice(&id.to_byte_array());
    key
}

fn share_id(bytes: &[u8], what: &'static str) -> Result<ShareId, StoreError> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        what,
        why: format!("{} bytes where a 32-byte share id belongs", bytes.len()),
    })?;
    Ok(ShareId::from_byte_array(array))
}

impl ShareStore for RocksStore {
    fn put(&mut self, share: StoredShare<'_>, tip: ShareId) -> Result<(), StoreError> {
        let id = share.entry.id;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(Column::Shares), id.to_byte_array(), share.bytes);
        batch.put_cf(
            self.cf(Column::Entries),
            entry_key(share.height, &id),
            encode_entry(share.entry),
        );
        batch.put_cf(self.cf(Column::Meta), TIP_KEY, tip.to_byte_array());
        let mut options = WriteOptions::default();
        options.set_sync(self.sync);
        self.db.write_opt(batch, &options)?;
        Ok(())
    }

    fn load(&self) -> Result<LoadedChain, StoreError> {
        let mut entries = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(Column::Entries), IteratorMode::Start)
        {
            let (key, value) = item?;
            let height_bytes: [u8; 4] =
                key.get(..4)
                    .and_then(|h| h.try_into().ok())
                    .ok_or_else(|| StoreError::Corrupt {
                        what: "entry key",
                        why: format!("{} bytes, expected 36", key.len()),
                    })?;
            let entry = decode_entry(&value)?;
            if key[4..] != entry.id.to_byte_array() {
                return Err(StoreError::Corrupt {
                    what: "entry key",
                    why: format!("key names another share than entry {}", entry.id),
                });
            }
            entries.push((u32::from_be_bytes(height_bytes), entry));
        }
        let tip = self
            .db
            .get_cf(self.cf(Column::Meta), TIP_KEY)?
            .map(|t| share_id(&t, "tip"))
            .transpose()?;
        Ok(LoadedChain { entries, tip })
    }

    fn share_bytes(&self, id: &ShareId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get_cf(self.cf(Column::Shares), id.to_byte_array())?)
    }
}
