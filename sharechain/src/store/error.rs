//! Store failures: the disk or the database, never the peer.

/// A store could not read or write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A stored record does not decode: the database is damaged or from an
    /// incompatible version.
    #[error("corrupt {what} in the share store: {why}; restore the database or resync from peers")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
}
