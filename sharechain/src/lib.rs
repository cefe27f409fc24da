//! The sharechain: share format, validation, difficulty, best chain, uncles,
//! PPLNS payouts and storage. Pure: no networking, no async runtime, no clock
//! reads; time and tips come in as arguments.

pub mod types;

pub use types::{ClaimKey, ShareCommitment, ShareId};
pub mod coinbase;
pub mod merkle;

pub use coinbase::{CoinbaseError, CoinbaseParts, CoinbaseSpec};
