//! Share validation: the semantic rules of decision 2 on a decoded share,
//! each failure a typed [`ShareError`] that tells the network layer what to
//! do with the peer ([`PeerAction`]). Pure: the chain, bitcoind and the
//! clock come in as arguments.
//!
//! Order (docs/protocol.md, "Validation"): first every check that needs no
//! outside view (cheapest first, proof of work before anything that hashes
//! more), then the bitcoin parent, then the sharechain context, and last
//! the checks whose failure is not the sender's fault (clock, staleness). So
//! a `Ban` is never hidden behind a `FetchShares`, and a stale share is
//! otherwise fully valid.

use bitcoin::{BlockHash, Target};

use crate::chain::uncles::{check_uncle_list, check_uncles};
use crate::coinbase_rules::{check_coinbase_height, check_coinbase_shape, CoinbaseRuleError};
use crate::merkle::root_from_coinbase;
use crate::params::{SharechainConfig, MAX_SHARE_SIZE, SHARE_VERSION};
use crate::retarget::{check_share_bits, genesis_bits, target_from_bits, TargetError};
use crate::share::Share;
use crate::types::ShareId;
use crate::view::{BitcoinView, ChainView, ShareSummary};

/// What the network layer should do about the peer that sent a share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerAction {
    /// The share is provably invalid: score the peer down / ban it.
    Ban,
    /// The share may be valid once these shares are known: fetch them from
    /// the peer, then validate again.
    FetchShares(Vec<ShareId>),
    /// Our own view is behind (bitcoind lacks the parent block, or the
    /// share is from our future): keep the share and retry later; no penalty.
    RetryLater,
    /// Valid work but not useful to us now (stale bitcoin parent): drop it
    /// without penalty and do not relay.
    Ignore,
}

/// Why a share is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Encoded share larger than [`MAX_SHARE_SIZE`].
    #[error("share is {0} bytes encoded, more than {MAX_SHARE_SIZE}")]
    Oversize(usize),
    /// Share format version this node does not run.
    #[error("share version {0} is not {SHARE_VERSION}")]
    Version(u32),
    /// The share belongs to another sharechain (other federation or network).
    #[error("share belongs to another sharechain")]
    WrongSharechain,
    /// The header hash does not meet the share's own target.
    #[error("share hash {hash} is above its share target")]
    HighHash {
        /// The header hash.
        hash: BlockHash,
    },
    /// The share target is not canonical, too easy or too hard.
    #[error("share target: {0}")]
    Target(#[from] TargetError),
    /// The merkle branch does not lead from the coinbase to the header's root.
    #[error("merkle branch does not reach the header's merkle root")]
    MerkleRoot,
    /// The coinbase breaks decision 1.
    #[error("coinbase: {0}")]
    Coinbase(#[from] CoinbaseRuleError),
    /// More uncles than the chain allows.
    #[error("share has {count} uncles, more than {max}")]
    TooManyUncles {
        /// Uncles in the share.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The same uncle twice.
    #[error("uncle {0} is referenced twice")]
    DuplicateUncle(ShareId),
    /// A chain's first share with uncles.
    #[error("a chain's first share cannot have uncles")]
    GenesisUncles,
    /// The uncle is an ancestor (or the parent) of the share.
    #[error("uncle {0} is already in the share's chain")]
    UncleInChain(ShareId),
    /// The uncle was already referenced by an ancestor.
    #[error("uncle {0} is already referenced by an ancestor")]
    UncleAlreadyReferenced(ShareId),
    /// The uncle is too far below the share.
    #[error("uncle {uncle} at height {uncle_height} is too deep for a share at height {height}")]
    UncleTooDeep {
        /// The uncle.
        uncle: ShareId,
        /// Its height.
        uncle_height: u32,
        /// The new share's height.
        height: u32,
    },
    /// The uncle does not fork off this share's chain.
    #[error("uncle {0} does not branch off this share's chain")]
    UncleNotSibling(ShareId),
    /// The share's time is too far before its parent's.
    #[error("share time {time} is more than {max} s before its parent's {parent_time}")]
    TimeBeforeParent {
        /// The share's time.
        time: u32,
        /// The parent's time.
        parent_time: u32,
        /// The allowed slack.
        max: u32,
    },
    /// The bitcoin block the share builds on is not known to our bitcoind.
    #[error("bitcoin parent {0} is not known to our bitcoind yet")]
    UnknownBitcoinParent(BlockHash),
    /// The share's time is too far in our future.
    #[error("share time {time} is more than {max} s after our clock {now}")]
    TimeTooNew {
        /// The share's time.
        time: u32,
        /// Our clock.
        now: u32,
        /// The allowed slack.
        max: u32,
    },
    /// Shares this one references are not in our index.
    #[error("{} referenced shares are unknown", .0.len())]
    MissingShares(Vec<ShareId>),
    /// The bitcoin parent is not on our bitcoind's best chain.
    #[error("bitcoin parent {0} is not on our best chain")]
    StaleBitcoinParent(BlockHash),
    /// The bitcoin parent is too far below our bitcoin tip.
    #[error("bitcoin parent is {depth} blocks below our tip, more than {max}")]
    OldBitcoinParent {
        /// Blocks between the parent and our tip.
        depth: u32,
        /// The limit.
        max: u32,
    },
}

impl ShareError {
    /// What to do with the peer that sent the share.
    pub fn action(&self) -> PeerAction {
        match self {
            ShareError::MissingShares(ids) => PeerAction::FetchShares(ids.clone()),
            ShareError::UnknownBitcoinParent(_) | ShareError::TimeTooNew { .. } => {
                PeerAction::RetryLater
            }
            ShareError::StaleBitcoinParent(_) | ShareError::OldBitcoinParent { .. } => {
                PeerAction::Ignore
            }
            _ => PeerAction::Ban,
        }
    }
}

/// A share that passed every rule, with what the chain index needs to file it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidShare {
    /// The share's id.
    pub id: ShareId,
    /// Its height on its chain.
    pub height: u32,
    /// Its share target.
    pub target: Target,
    /// Height of the bitcoin block it would be (parent height + 1).
    pub bitcoin_height: u32,
    /// Whether it also meets the bitcoin target: submit it as a block.
    pub is_block: bool,
}

/// Checks everything that needs no outside view. Cheap enough to run on
/// every gossiped share before fetching anything for it.
pub fn check_share(share: &Share, config: &SharechainConfig) -> Result<Target, ShareError> {
    let size = encoded_len(share);
    if size > MAX_SHARE_SIZE {
        return Err(ShareError::Oversize(size));
    }
    if share.data.version != SHARE_VERSION {
        return Err(ShareError::Version(share.data.version));
    }
    if share.data.sharechain_id != config.id() {
        return Err(ShareError::WrongSharechain);
    }
    let target = target_from_bits(share.data.share_bits).ok_or(TargetError::NonCanonical(
        share.data.share_bits.to_consensus(),
    ))?;
    let hash = share.header.block_hash();
    if !target.is_met_by(hash) {
        return Err(ShareError::HighHash { hash });
    }
    if root_from_coinbase(share.coinbase.compute_txid(), &share.merkle_branch)
        != share.header.merkle_root
    {
        return Err(ShareError::MerkleRoot);
    }
    check_coinbase_shape(
        &share.coinbase,
        &config.payout_script,
        &share.data.commitment(),
    )?;
    check_uncle_list(&share.data.uncles, share.data.prev_share, &config.params)?;
    Ok(target)
}

/// Validates a share completely against the chain index, our bitcoind and
/// our clock (`now`, unix seconds).
pub fn validate_share(
    share: &Share,
    config: &SharechainConfig,
    chain: &impl ChainView,
    bitcoin: &impl BitcoinView,
    now: u32,
) -> Result<ValidShare, ShareError> {
    let target = check_share(share, config)?;
    let params = &config.params;

    let bitcoin_parent = share.header.prev_blockhash;
    let parent_block = bitcoin
        .block(&bitcoin_parent)
        .ok_or(ShareError::UnknownBitcoinParent(bitcoin_parent))?;
    let bitcoin_height = parent_block.height.saturating_add(1);
    check_coinbase_height(&share.coinbase, bitcoin_height)?;

    let height = match share.data.prev_share {
        None => {
            // Uncles of a first share are refused by `check_share`.
            check_share_bits(params, share.data.share_bits, genesis_bits(params))?;
            0
        }
        Some(parent_id) => check_chain_context(share, config, chain, parent_id)?,
    };

    if share.header.time > now.saturating_add(params.max_future_secs) {
        return Err(ShareError::TimeTooNew {
            time: share.header.time,
            now,
            max: params.max_future_secs,
        });
    }
    if !parent_block.in_best_chain {
        return Err(ShareError::StaleBitcoinParent(bitcoin_parent));
    }
    let depth = bitcoin.tip_height().saturating_sub(parent_block.height);
    if depth > params.max_bitcoin_parent_depth {
        return Err(ShareError::OldBitcoinParent {
            depth,
            max: params.max_bitcoin_parent_depth,
        });
    }
    Ok(ValidShare {
        id: share.id(),
        height,
        target,
        bitcoin_height,
        is_block: share.meets_bitcoin_target(),
    })
}

impl Share {
    /// Whether the header also meets its own bitcoin target (`nBits`): a block.
    pub fn meets_bitcoin_target(&self) -> bool {
        self.header.target().is_met_by(self.header.block_hash())
    }
}

/// Parent, target, time and uncle rules; returns the share's height.
fn check_chain_context(
    share: &Share,
    config: &SharechainConfig,
    chain: &impl ChainView,
    parent_id: ShareId,
) -> Result<u32, ShareError> {
    let params = &config.params;
    let parent = chain.share(&parent_id);
    let uncles: Vec<(ShareId, Option<ShareSummary>)> = share
        .data
        .uncles
        .iter()
        .map(|id| (*id, chain.share(id)))
        .collect();
    let mut missing: Vec<ShareId> = uncles
        .iter()
        .filter(|(_, s)| s.is_none())
        .map(|(id, _)| *id)
        .collect();
    let Some(parent) = parent else {
        missing.insert(0, parent_id);
        return Err(ShareError::MissingShares(missing));
    };
    if !missing.is_empty() {
        return Err(ShareError::MissingShares(missing));
    }
    let height = parent.height.saturating_add(1);
    let demanded = chain
        .expected_bits(&parent_id)
        .ok_or_else(|| ShareError::MissingShares(vec![parent_id]))?;
    check_share_bits(params, share.data.share_bits, demanded)?;
    if share
        .header
        .time
        .saturating_add(params.max_secs_before_parent)
        < parent.time
    {
        return Err(ShareError::TimeBeforeParent {
            time: share.header.time,
            parent_time: parent.time,
            max: params.max_secs_before_parent,
        });
    }
    let uncles: Vec<(ShareId, ShareSummary)> = uncles
        .into_iter()
        .map(|(id, s)| (id, s.expect("missing uncles returned above")))
        .collect();
    check_uncles(chain, params, parent_id, &parent, &uncles)?;
    Ok(height)
}

/// The encoded size without encoding: header, coinbase, branch, data.
fn encoded_len(share: &Share) -> usize {
    let coinbase = share.coinbase.base_size();
    80 + compact_size_len(coinbase)
        + coinbase
        + compact_size_len(share.merkle_branch.len())
        + 32 * share.merkle_branch.len()
        + crate::share::SHARE_DATA_FIXED_SIZE
        - 1
        + compact_size_len(share.data.uncles.len())
        + 32 * share.data.uncles.len()
}

fn compact_size_len(n: usize) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

#[cfg(test)]
#[path = "validation_tests.rs"]
mod tests;
