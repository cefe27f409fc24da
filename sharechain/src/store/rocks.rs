//! The RocksDB share store: a column family per concern, one synced write
//! batch per accepted share. A daemon keeps one database (decision 9): it
//! opens it with [`Column::descriptors`] next to its own column families
//! and hands it over with [`RocksStore::with_db`]; [`RocksStore::open`] is
//! the shortcut for a database holding only the sharechain.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};

use crate::chain::ChainEntry;
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

    /// The column family's name on disk, prefixed so it cannot collide
    /// with another part's column families in the daemon's database.
    pub fn name(self) -> &'static str {
        match self {
            Column::Shares => "sharechain_shares",
            Column::Entries => "sharechain_entries",
            Column::Meta => "sharechain_meta",
        }
    }

    /// Descriptors of every sharechain column family, to open a shared
    /// database with (`DB::open_cf_descriptors`).
    pub fn descriptors() -> Vec<ColumnFamilyDescriptor> {
        Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), Options::default()))
            .collect()
    }
}

/// Key in [`Column::Meta`] holding the tip's id.
const TIP_KEY: &[u8] = b"tip";

/// Shares in a RocksDB database.
pub struct RocksStore {
    db: Arc<DB>,
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

    /// The store inside a database the daemon opened with (at least)
    /// [`Column::descriptors`]. Every [`ShareStore::put`] is synced.
    pub fn with_db(db: Arc<DB>) -> Result<Self, StoreError> {
        if let Some(missing) = Column::ALL
            .iter()
            .find(|c| db.cf_handle(c.name()).is_none())
        {
            return Err(StoreError::Corrupt {
                what: "database",
                why: format!(
                    "column family {} is missing; open the database with Column::descriptors()",
                    missing.name()
                ),
            });
        }
        Ok(RocksStore { db, sync: true })
    }

    /// The database, for a daemon that keeps its other concerns next to the shares.
    pub fn db(&self) -> &Arc<DB> {
        &self.db
    }

    fn open_with_sync(path: &Path, sync: bool) -> Result<Self, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = DB::open_cf_descriptors(&options, path, Column::descriptors())?;
        Ok(RocksStore {
            db: Arc::new(db),
            sync,
        })
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

/// One item of [`Column::Entries`]: its height and entry, the key checked
/// against the entry.
fn decode_keyed_entry(key: &[u8], value: &[u8]) -> Result<(u32, ChainEntry), StoreError> {
    let bad_key = || StoreError::Corrupt {
        what: "entry key",
        why: format!("{} bytes, expected 36", key.len()),
    };
    if key.len() != 36 {
        return Err(bad_key());
    }
    let (height, id) = key.split_at(4);
    let height = u32::from_be_bytes(height.try_into().map_err(|_| bad_key())?);
    let entry = decode_entry(value)?;
    if id != entry.id.to_byte_array() {
        return Err(StoreError::Corrupt {
            what: "entry key",
            why: format!("key names another share than entry {}", entry.id),
        });
    }
    Ok((height, entry))
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
        // A raw iterator borrows each key and value instead of boxing a copy
        // of both per entry: loading 100,000 shares at start is on every
        // node's path to mining.
        let mut items = self.db.raw_iterator_cf(self.cf(Column::Entries));
        items.seek_to_first();
        while let (Some(key), Some(value)) = (items.key(), items.value()) {
            entries.push(decode_keyed_entry(key, value)?);
            items.next();
        }
        items.status()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::testing::{id, lossy_chain};
    use crate::chain::ShareChain;
    use crate::params::ConsensusParams;

    fn open_chain(store: RocksStore) -> ShareChain<RocksStore> {
        ShareChain::open(store, ConsensusParams::regtest()).unwrap()
    }

    #[test]
    fn a_reopened_store_gives_back_the_chain_and_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut chain = open_chain(RocksStore::open(&path).unwrap());
        for entry in lossy_chain(1, 50) {
            let bytes = entry.id.to_byte_array().to_vec();
            chain.insert(entry, bytes).unwrap();
        }
        let tip = chain.index().tip();
        drop(chain);
        let chain = open_chain(RocksStore::open(&path).unwrap());
        assert_eq!(chain.index().len(), 50);
        assert_eq!(chain.index().tip(), tip);
        assert_eq!(
            chain.share_bytes(&id(7)).unwrap(),
            Some(id(7).to_byte_array().to_vec())
        );
        assert_eq!(chain.share_bytes(&id(999)).unwrap(), None);
    }

    #[test]
    fn the_store_shares_a_database_with_other_column_families() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let mut columns = Column::descriptors();
        columns.push(ColumnFamilyDescriptor::new(
            "federation_notes",
            Options::default(),
        ));
        let db = Arc::new(DB::open_cf_descriptors(&options, dir.path(), columns).unwrap());
        let mut chain = open_chain(RocksStore::with_db(db.clone()).unwrap());
        for entry in lossy_chain(1, 3) {
            chain.insert(entry, vec![1, 2, 3]).unwrap();
        }
        let other = db.cf_handle("federation_notes").unwrap();
        db.put_cf(other, b"k", b"v").unwrap();
        assert_eq!(chain.store().load().unwrap().entries.len(), 3);
        assert_eq!(db.get_cf(other, b"k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn a_database_without_the_sharechain_columns_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = Options::default();
        options.create_if_missing(true);
        let db = Arc::new(DB::open(&options, dir.path()).unwrap());
        let err = RocksStore::with_db(db)
            .err()
            .expect("no sharechain columns");
        assert!(err.to_string().contains("sharechain_shares"), "{err}");
    }

    #[test]
    fn a_damaged_entry_is_a_typed_error_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut chain = open_chain(RocksStore::open(&path).unwrap());
        for entry in lossy_chain(1, 3) {
            chain.insert(entry, Vec::new()).unwrap();
        }
        drop(chain);
        let store = RocksStore::open(&path).unwrap();
        let entries = store.cf(Column::Entries);
        let key = entry_key(1, &id(2));
        store.db.put_cf(entries, key, [1u8, 2, 3]).unwrap();
        let err = store.load().expect_err("truncated entry");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }
}
