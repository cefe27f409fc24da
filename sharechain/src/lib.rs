//! The sharechain: share format, validation, difficulty, best chain, uncles,
//! PPLNS payouts and storage. Pure: no networking, no async runtime, no clock
//! reads; time and tips come in as arguments.

pub mod chain;
pub mod pplns;
pub mod store;
pub mod types;
pub mod work;

pub use types::{ClaimKey, ShareCommitment, ShareId};
