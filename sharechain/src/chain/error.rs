//! Why the chain refused a share, typed so the network can tell a peer to
//! ban (the share breaks the rules) from a local fault (the disk).

use crate::store::StoreError;
use crate::types::ShareId;

/// A share the chain did not accept.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The share lists more uncles than the rules allow.
    #[error("share {share} lists {count} uncles, at most {max} are allowed; the share is invalid, ban the peer that sent it")]
    TooManyUncles {
        /// The offending share.
        share: ShareId,
        /// How many it listed.
        count: usize,
        /// [`crate::chain::MAX_UNCLES`].
        max: usize,
    },
    /// The same uncle appears twice in one share.
    #[error(
        "share {share} lists uncle {uncle} twice; the share is invalid, ban the peer that sent it"
    )]
    DuplicateUncle {
        /// The offending share.
        share: ShareId,
        /// The repeated uncle.
        uncle: ShareId,
    },
    /// The uncle is not between 1 and [`crate::chain::MAX_UNCLE_DEPTH`] shares below the share.
    #[error("share {share} lists uncle {uncle} at depth {depth}, allowed are 1 to {max}; the share is invalid, ban the peer that sent it")]
    UncleDepth {
        /// The offending share.
        share: ShareId,
        /// The uncle.
        uncle: ShareId,
        /// Share height minus uncle height (negative when the uncle is higher).
        depth: i64,
        /// [`crate::chain::MAX_UNCLE_DEPTH`].
        max: u32,
    },
    /// The uncle is an ancestor of the share: it is paid already as part of the chain.
    #[error("share {share} lists uncle {uncle}, which is already in its chain; the share is invalid, ban the peer that sent it")]
    UncleInChain {
        /// The offending share.
        share: ShareId,
        /// The uncle that is an ancestor.
        uncle: ShareId,
    },
    /// An ancestor of the share already listed the same uncle.
    #[error("share {share} lists uncle {uncle}, already listed by ancestor {by}; the share is invalid, ban the peer that sent it")]
    UncleAlreadyIncluded {
        /// The offending share.
        share: ShareId,
        /// The uncle listed twice along the chain.
        uncle: ShareId,
        /// The ancestor that listed it first.
        by: ShareId,
    },
    /// The uncle does not branch off the share's own chain.
    #[error("share {share} lists uncle {uncle}, whose parent is not in the share's chain; the share is invalid, ban the peer that sent it")]
    UncleNotRelated {
        /// The offending share.
        share: ShareId,
        /// The unrelated uncle.
        uncle: ShareId,
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
