//! What a guardian needs to know about the outside world to answer claims,
//! as two small traits the node implements over its own bitcoind client and
//! sharechain follower. The federation crate never talks to bitcoind or the
//! sharechain network itself.
//!
//! Implementations MUST answer from the guardian's own view (its own bitcoind,
//! its own copy of the sharechain), never from data in the request, and MUST
//! NOT block for long: answer [`SourceError::Unavailable`] when the view is
//! not ready (bitcoind down, sharechain still syncing). The guardian refuses
//! the claim with a retryable error then; the client retries later.

use bitcoin::{BlockHash, ScriptBuf};
use futures::future::BoxFuture;
use sharechain::pplns::{Msat, Payout};
use sharechain::ShareId;

/// Why a source could not answer.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The view is not ready; retry later.
    #[error("chain view unavailable: {0}")]
    Unavailable(String),
    /// The share is not in this guardian's sharechain.
    #[error("share {0} is not in this guardian's sharechain")]
    UnknownShare(ShareId),
}

/// A found block as this guardian's bitcoind sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockStatus {
    /// Confirmations in the best chain: 1 for the tip.
    pub confirmations: u32,
    /// The coinbase's outputs: (script, value).
    pub coinbase_outputs: Vec<(ScriptBuf, bitcoin::Amount)>,
}

/// The guardian's own bitcoind.
pub trait BitcoinSource: Send + Sync + 'static {
    /// The block with this hash if it is in the best chain, `None` if it is
    /// unknown or was reorganised out.
    fn block_status(
        &self,
        block: BlockHash,
    ) -> BoxFuture<'_, Result<Option<BlockStatus>, SourceError>>;
}

/// The guardian's own copy of the sharechain.
pub trait SharechainSource: Send + Sync + 'static {
    /// The PPLNS payouts of the block found by `block_share` for `reward`,
    /// computed with `sharechain::pplns::payouts` over the guardian's chain
    /// (the same pure function every node runs).
    fn payouts(
        &self,
        block_share: ShareId,
        reward: Msat,
    ) -> BoxFuture<'_, Result<Vec<Payout>, SourceError>>;
}

/// Both views together; claims are refused when a guardian runs without them.
#[derive(Clone)]
pub struct ChainSources {
    /// Bitcoin.
    pub bitcoin: std::sync::Arc<dyn BitcoinSource>,
    /// The sharechain.
    pub sharechain: std::sync::Arc<dyn SharechainSource>,
}
