//! PPLNS: how a found block's reward is split among the shares of the window
//! ending at the share that found it. A pure function every node and every
//! guardian computes identically: integers only, the same order everywhere.
//!
//! The window is the block-finding share and its ancestors, newest first,
//! until it holds `max_shares` chain shares or their work (uncles included)
//! reaches `max_work`, whichever comes first; the share that reaches the work
//! limit is counted whole. With `p` the chain's
//! [`ConsensusParams::uncle_weight_percent`], each chain share weighs 100
//! times its work plus `100 - p` times the work of each uncle it lists; each
//! uncle weighs `p` times its work. The reward is then cut by cumulative floors
//! (see [`split`]), so amounts sum exactly to the reward and each is within
//! one millisatoshi of its exact share.

mod amount;
mod split;
#[cfg(test)]
mod tests;

pub use amount::Msat;
pub use split::{split, split_narrow, split_wide, weight_of, Weight};

use crate::chain::ChainIndex;
use crate::params::ConsensusParams;
use crate::types::{ClaimKey, ShareId};
use crate::work::Work;

/// Which shares before a block-finding share are paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PplnsWindow {
    /// At most this many chain shares (uncles ride along with their nephew
    /// and are not counted).
    pub max_shares: u32,
    /// Stop once chain shares and their uncles hold this much work; `None`
    /// for a window by count only.
    pub max_work: Option<Work>,
}

impl PplnsWindow {
    /// The window of a chain: its `pplns_window_shares`, by count only.
    pub fn from_params(params: &ConsensusParams) -> Self {
        PplnsWindow {
            max_shares: params.pplns_window_shares,
            max_work: None,
        }
    }
}

/// One share in a payout window with its weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowShare {
    /// The share.
    pub share: ShareId,
    /// Who it pays.
    pub claim_key: ClaimKey,
    /// Its weight in the split.
    pub weight: Weight,
}

/// What one share of the window is paid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Payout {
    /// The share.
    pub share: ShareId,
    /// The key that may claim the amount.
    pub claim_key: ClaimKey,
    /// The share's part of the reward.
    pub amount: Msat,
}

/// Why a payout could not be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PplnsError {
    /// The block-finding share (or an uncle it lists) is not connected.
    #[error("share {0} is not in the chain; sync the sharechain before computing payouts")]
    UnknownShare(ShareId),
    /// A window of zero shares pays nobody.
    #[error("the payout window holds no shares; max_shares must be at least 1")]
    EmptyWindow,
}

/// The reward of the block found by `block_share`, split over its window:
/// one payout per chain share (newest first), each followed by its uncles.
pub fn payouts(
    index: &ChainIndex,
    block_share: &ShareId,
    reward: Msat,
    window: PplnsWindow,
) -> Result<Vec<Payout>, PplnsError> {
    let shares = window_shares(index, block_share, window)?;
    Ok(split(reward, &shares))
}

/// The window ending at `block_share` with each share's weight, in payout order.
pub fn window_shares(
    index: &ChainIndex,
    block_share: &ShareId,
    window: PplnsWindow,
) -> Result<Vec<WindowShare>, PplnsError> {
    if window.max_shares == 0 {
        return Err(PplnsError::EmptyWindow);
    }
    if !index.contains(block_share) {
        return Err(PplnsError::UnknownShare(*block_share));
    }
    let uncle_percent = Weight::from(index.params().uncle_weight_percent.min(100));
    let nephew_percent = Weight::from(100u8) - uncle_percent;
    let mut shares = Vec::new();
    let mut counted: u32 = 0;
    let mut work = Work::ZERO;
    for entry in index.ancestors(block_share) {
        let at = shares.len();
        shares.push(WindowShare {
            share: entry.id,
            claim_key: entry.claim_key,
            weight: weight_of(entry.work) * Weight::from(100u8),
        });
        work = work
            .checked_add(entry.work)
            .unwrap_or(Work::from_u128(u128::MAX));
        for uncle_id in &entry.uncles {
            let uncle = index
                .get(uncle_id)
                .ok_or(PplnsError::UnknownShare(*uncle_id))?;
            let uncle_work = weight_of(uncle.work);
            shares[at].weight += uncle_work * nephew_percent;
            shares.push(WindowShare {
                share: uncle.id,
                claim_key: uncle.claim_key,
                weight: uncle_work * uncle_percent,
            });
            work = work
                .checked_add(uncle.work)
                .unwrap_or(Work::from_u128(u128::MAX));
        }
        counted += 1;
        let work_full = window.max_work.is_some_and(|max| work >= max);
        if counted >= window.max_shares || work_full {
            break;
        }
    }
    Ok(shares)
}
