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

use crate::chain::{AncestorsWithUncles, ChainEntry, ChainIndex};
use crate::params::ConsensusParams;
use crate::types::{ClaimKey, ShareId};
use crate::work::Work;
use split::carried_amounts;

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
    /// The block-finding share is not connected.
    #[error("share {0} is not in the chain; sync the sharechain before computing payouts")]
    UnknownShare(ShareId),
    /// A window of zero shares pays nobody.
    #[error("the payout window holds no shares; max_shares must be at least 1")]
    EmptyWindow,
}

/// The reward of the block found by `block_share`, split over its window:
/// one payout per chain share (newest first), each followed by its uncles.
///
/// Any real window is split in 128-bit arithmetic straight from the chain
/// index; only weights or intermediates beyond 128 bits (see
/// [`split_narrow`]) take the 256-bit path through [`window_shares`] and
/// [`split`]. Both give the same list (property-tested).
pub fn payouts(
    index: &ChainIndex,
    block_share: &ShareId,
    reward: Msat,
    window: PplnsWindow,
) -> Result<Vec<Payout>, PplnsError> {
    let links = window_start(index, block_share, window)?;
    if let Some(paid) = payouts_narrow(index, links, reward, window) {
        return Ok(paid);
    }
    Ok(split(reward, &window_shares(index, block_share, window)?))
}

/// The window ending at `block_share` with each share's weight, in payout order.
pub fn window_shares(
    index: &ChainIndex,
    block_share: &ShareId,
    window: PplnsWindow,
) -> Result<Vec<WindowShare>, PplnsError> {
    let links = window_start(index, block_share, window)?;
    let mut shares = Vec::new();
    walk_window::<Weight>(index, links, window, |entry, weight| {
        shares.push(WindowShare {
            share: entry.id,
            claim_key: entry.claim_key,
            weight,
        })
    })
    .expect("256 bits hold any weight: a work below 2^128 times at most 100");
    Ok(shares)
}

/// [`payouts`] in 128-bit arithmetic, without building [`WindowShare`]s;
/// `None` when a weight, their sum or an intermediate of the split does not
/// fit (or every weight is zero): the caller then takes the general path.
fn payouts_narrow(
    index: &ChainIndex,
    links: AncestorsWithUncles<'_>,
    reward: Msat,
    window: PplnsWindow,
) -> Option<Vec<Payout>> {
    let expected = (window.max_shares as usize).min(index.len());
    let mut entries: Vec<(&ChainEntry, u128)> = Vec::with_capacity(expected + expected / 8);
    let mut total = Some(0u128);
    let mut max_weight = 0u128;
    walk_window::<u128>(index, links, window, |entry, weight| {
        total = total.and_then(|t| t.checked_add(weight));
        max_weight = max_weight.max(weight);
        entries.push((entry, weight));
    })?;
    let amounts = carried_amounts(reward, total?, max_weight, entries.iter().map(|(_, w)| *w))?;
    Some(
        entries
            .iter()
            .zip(amounts)
            .map(|((entry, _), amount)| Payout {
                share: entry.id,
                claim_key: entry.claim_key,
                amount: Msat::from_msat(amount),
            })
            .collect(),
    )
}

/// The walk down from `block_share`, once the window is known to be non-empty
/// and the share connected.
fn window_start<'a>(
    index: &'a ChainIndex,
    block_share: &ShareId,
    window: PplnsWindow,
) -> Result<AncestorsWithUncles<'a>, PplnsError> {
    if window.max_shares == 0 {
        return Err(PplnsError::EmptyWindow);
    }
    index
        .ancestors_with_uncles(block_share)
        .ok_or(PplnsError::UnknownShare(*block_share))
}

/// A number type the window's weights are computed in.
trait WindowWeight: Copy {
    /// `percent` times `work`, or `None` when it does not fit.
    fn of_work(work: Work, percent: u8) -> Option<Self>;
    /// `self + other`, or `None` when it does not fit.
    fn plus(self, other: Self) -> Option<Self>;
}

impl WindowWeight for u128 {
    fn of_work(work: Work, percent: u8) -> Option<Self> {
        work.to_u128().checked_mul(u128::from(percent))
    }

    fn plus(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
}

impl WindowWeight for Weight {
    fn of_work(work: Work, percent: u8) -> Option<Self> {
        Some(weight_of(work) * Weight::from(percent))
    }

    fn plus(self, other: Self) -> Option<Self> {
        Some(self + other)
    }
}

/// Hands every entry of the window to `visit` with its weight, in payout
/// order (each chain share, then its uncles): the window rule of this
/// module's docs, in one place for both number types. `None` as soon as a
/// weight does not fit `W`.
fn walk_window<'a, W: WindowWeight>(
    index: &ChainIndex,
    links: AncestorsWithUncles<'a>,
    window: PplnsWindow,
    mut visit: impl FnMut(&'a ChainEntry, W),
) -> Option<()> {
    let uncle_percent = index.params().uncle_weight_percent.min(100);
    let nephew_percent = 100 - uncle_percent;
    let add_work =
        |sum: Work, more: Work| sum.checked_add(more).unwrap_or(Work::from_u128(u128::MAX));
    let mut counted: u32 = 0;
    let mut work = Work::ZERO;
    for (share, uncles) in links {
        let mut weight = W::of_work(share.work, 100)?;
        work = add_work(work, share.work);
        for uncle in uncles.clone() {
            weight = weight.plus(W::of_work(uncle.work, nephew_percent)?)?;
            work = add_work(work, uncle.work);
        }
        visit(share, weight);
        for uncle in uncles {
            visit(uncle, W::of_work(uncle.work, uncle_percent)?);
        }
        counted += 1;
        let work_full = window.max_work.is_some_and(|max| work >= max);
        if counted >= window.max_shares || work_full {
            break;
        }
    }
    Some(())
}
