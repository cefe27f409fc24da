//! The chain of shares: which shares are connected, which chain is best,
//! which orphans may be referenced as uncles, and how the best chain moves.

mod entry;
mod error;
mod index;
mod orphans;
mod share_chain;
pub mod testing;
mod tip;
pub mod uncles;

#[cfg(test)]
mod glue_tests;
#[cfg(test)]
mod tests;

pub use entry::ChainEntry;
pub use error::ChainError;
pub use index::{Ancestors, AncestorsWithUncles, ChainIndex, Prepared, Readiness, UncleEntries};
pub use orphans::{OrphanPool, DEFAULT_ORPHAN_LIMIT};
pub use share_chain::{InsertOutcome, InsertStatus, NextShare, ShareChain};
pub use tip::TipChange;
