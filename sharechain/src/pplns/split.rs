//! The exact integer split of a reward by weight.

use ruint::aliases::U256;

use crate::pplns::{Msat, Payout, WindowShare};
use crate::work::Work;

/// A share's weight in a split: work times tenths, so 256 bits hold any sum.
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
pub fn split(reward: Msat, shares: &[WindowShare]) -> Vec<Payout> {
    let total: U256 = shares
        .iter()
        .map(|s| s.weight)
        .fold(U256::ZERO, |a, w| a + w);
    let r = U256::from(reward.msat());
    if total.is_zero() {
        return shares
            .iter()
            .enumerate()
            .map(|(i, s)| payout(s, if i == 0 { reward.msat() } else { 0 }))
            .collect();
    }
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
