//! The sharechain: share format, validation, difficulty, best chain, uncles,
//! PPLNS payouts and storage. Pure: no networking, no async runtime, no clock
//! reads; time and tips come in as arguments.

pub mod chain;
pub mod pplns;
pub mod store;
pub mod types;
pub mod work;

pub use pplns::Msat;
pub use types::{ClaimKey, ShareCommitment, ShareId};

// Share format, validation and retarget.
pub mod coinbase;
pub mod coinbase_rules;
pub mod decode;
pub mod merkle;
pub mod params;
pub mod retarget;
pub mod share;
pub mod tagged_hash;
pub mod testkit;
pub mod validation;
pub mod view;

pub use coinbase::{CoinbaseError, CoinbaseParts, CoinbaseSpec};
pub use decode::DecodeError;
pub use params::{ConsensusParams, SharechainConfig, SharechainId};
pub use share::{Share, ShareData};
pub use validation::{check_share, validate_share, PeerAction, ShareError, ValidShare};
pub use view::{BitcoinBlockInfo, BitcoinView, ChainView, ShareSummary};

#[cfg(test)]
mod golden_tests;
