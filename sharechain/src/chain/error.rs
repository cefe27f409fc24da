//! Why the chain refused a share, typed so the network can tell a peer to
//! ban (the share breaks the rules) from a local fault (the disk).

use crate::store::StoreError;
use crate::types::ShareId;
use crate::validation::ShareError;

/// A share the chain did not accept.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The share breaks an uncle rule ([`crate::chain::uncles`]).
    #[error("share {share}: {reason}; the share is invalid, ban the peer that sent it")]
    InvalidUncles {
        /// The offending share.
        share: ShareId,
        /// The rule it breaks, as validation names it.
        reason: ShareError,
    },
    /// Cumulative work would not fit: no honest chain comes near this.
    #[error("cumulative work overflows at share {share}; the share is invalid, ban the peer that sent it")]
    WorkOverflow {
        /// The offending share.
        share: ShareId,
    },
    /// The chain is longer than heights can count.
    #[error("share {share} would be at a height above u32::MAX; the share is invalid, ban the peer that sent it")]
    HeightOverflow {
        /// The offending share.
        share: ShareId,
    },
    /// The store failed: a local fault, not the peer's.
    #[error("storing the share failed: {0}; the share was not accepted, check the disk and retry")]
    Store(#[from] StoreError),
}

impl ChainError {
    /// True when the share itself breaks the rules (ban whoever sent it);
    /// false for local faults, after which the same share may be retried.
    pub fn is_invalid_share(&self) -> bool {
        !matches!(self, ChainError::Store(_))
    }
}
