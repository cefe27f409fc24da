//! The exact integer split of a reward by weight.

use ruint::aliases::U256;

use crate::pplns::{Msat, Payout, WindowShare};
use crate::work::Work;

/// A share's weight in a split: work times a percentage, so 256 bits hold any sum.
pub type Weight = U256;

/// `work` taken once, as a weight.
pub fn weight_of(work: Work) -> Weight {
    U256::from(work.to_u128())
}

/// Splits `reward` over `shares` in proportion to their weights, by
/// cumulative floors: with `C_i` the sum of the first `i` weights and `W` the
/// total, share `i` gets `floor(R * C_i / W) - floor(R * C_(i-1) / W)`.
///
/// The amounts sum to exactly `R` (the last cumulative floor is `R` itself),
/// each lies strictly within one msat of the exact `R * w_i / W`, and the
/// result depends only on the order of `shares`, which the window fixes. A
/// window whose weights are all zero pays everything to its first share.
///
/// Two paths compute the same numbers: 128-bit arithmetic when every
/// intermediate fits (any real chain: see [`split_narrow`]), 256-bit otherwise.
pub fn split(reward: Msat, shares: &[WindowShare]) -> Vec<Payout> {
    let total: U256 = shares
        .iter()
        .map(|s| s.weight)
        .fold(U256::ZERO, |a, w| a + w);
    if total.is_zero() {
        return shares
            .iter()
            .enumerate()
            .map(|(i, s)| payout(s, if i == 0 { reward.msat() } else { 0 }))
            .collect();
    }
    split_narrow(reward, shares, total).unwrap_or_else(|| split_wide(reward, shares, total))
}

/// The split in 128-bit arithmetic, or `None` when it does not fit (or
/// `total`, the sum of the weights, is zero).
///
/// It carries the remainder instead of recomputing each cumulative floor:
/// with `R * C_(i-1) = q * W + r` (`0 <= r < W`), entry `i` gets
/// `floor((r + R * w_i) / W)` and the new remainder is `(r + R * w_i) mod W`,
/// which is exactly `floor(R * C_i / W) - floor(R * C_(i-1) / W)`. Every
/// intermediate is below `W + R * max(w_i)`, so it fits when that does. A
/// block reward today is about 2^48 msat, so weights up to 2^79 (100 times a
/// share work of 2^72 hashes: a 470 EH/s pool at 10 s shares) take this path;
/// 256-bit arithmetic is only the fallback beyond.
pub fn split_narrow(reward: Msat, shares: &[WindowShare], total: U256) -> Option<Vec<Payout>> {
    let total: u128 = total.try_into().ok()?;
    let max_weight: u128 = shares
        .iter()
        .map(|s| s.weight)
        .max()
        .unwrap_or(U256::ZERO)
        .try_into()
        .ok()?;
    let weights = shares.iter().map(|s| s.weight.to::<u128>());
    let amounts = carried_amounts(reward, total, max_weight, weights)?;
    Some(
        shares
            .iter()
            .zip(amounts)
            .map(|(s, a)| payout(s, a))
            .collect(),
    )
}

/// The amounts of [`split_narrow`] for `weights` summing to `total`, the
/// largest being `max_weight`; `None` when `total` is zero or
/// `R * max_weight + total` does not fit 128 bits.
pub(crate) fn carried_amounts(
    reward: Msat,
    total: u128,
    max_weight: u128,
    weights: impl Iterator<Item = u128>,
) -> Option<impl Iterator<Item = u64>> {
    if total == 0 {
        return None;
    }
    let r = u128::from(reward.msat());
    r.checked_mul(max_weight)?.checked_add(total)?;
    let mut remainder: u128 = 0;
    Some(weights.map(move |weight| {
        let carried = remainder + r * weight;
        // One division: the remainder follows by multiplication.
        let amount = carried / total;
        remainder = carried - amount * total;
        u64::try_from(amount).expect("each amount is at most the reward, a u64")
    }))
}

/// The split in 256-bit arithmetic: any weights, any reward. `total` is the
/// sum of the weights and not zero.
pub fn split_wide(reward: Msat, shares: &[WindowShare], total: U256) -> Vec<Payout> {
    let r = U256::from(reward.msat());
    let mut cumulative = U256::ZERO;
    let mut paid: u64 = 0;
    shares
        .iter()
        .map(|s| {
            cumulative += s.weight;
            let upto: u64 = (r * cumulative / total)
                .try_into()
                .expect("cumulative <= total, so the floor is at most the reward");
            let amount = upto - paid;
            paid = upto;
            payout(s, amount)
        })
        .collect()
}

fn payout(share: &WindowShare, amount: u64) -> Payout {
    Payout {
        share: share.share,
        claim_key: share.claim_key,
        amount: Msat::from_msat(amount),
    }
}
