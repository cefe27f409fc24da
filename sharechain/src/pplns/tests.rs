//! PPLNS tests: exact sums, proportionality, uncles, windows, and
//! independence from the order shares arrived in.

use proptest::prelude::*;
use ruint::aliases::U256;

use crate::chain::testing::{claim_key, entry_with, id};
use crate::chain::{ChainEntry, ShareChain};
use crate::params::ConsensusParams;
use crate::pplns::{
    payouts, split, split_narrow, split_wide, window_shares, Msat, PplnsError, PplnsWindow,
    WindowShare,
};
use crate::store::MemoryStore;
use crate::work::Work;

fn by_count(max_shares: u32) -> PplnsWindow {
    PplnsWindow {
        max_shares,
        max_work: None,
    }
}

fn weighted(weights: &[u128]) -> Vec<WindowShare> {
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| WindowShare {
            share: id(i as u64),
            claim_key: claim_key(i as u64),
            weight: U256::from(*w),
        })
        .collect()
}

fn chain_of(entries: &[ChainEntry]) -> ShareChain<MemoryStore> {
    let mut chain =
        ShareChain::open_with_orphan_limit(MemoryStore::new(), ConsensusParams::regtest(), 100_000)
            .unwrap();
    for e in entries {
        chain.insert(e.clone(), Vec::new()).unwrap();
    }
    chain
}

fn amounts(payouts: &[crate::pplns::Payout]) -> Vec<u64> {
    payouts.iter().map(|p| p.amount.msat()).collect()
}

#[test]
fn equal_work_splits_evenly_and_remainders_go_by_position() {
    let out = split(Msat::from_msat(10), &weighted(&[1, 1, 1]));
    // Cumulative floors: 3, 6, 10.
    assert_eq!(amounts(&out), vec![3, 3, 4]);
}

#[test]
fn window_by_count_pays_only_the_last_shares() {
    let entries: Vec<_> = (1..=10)
        .map(|n| entry_with(n, (n > 1).then(|| n - 1), &[], 100))
        .collect();
    let chain = chain_of(&entries);
    let out = payouts(chain.index(), &id(10), Msat::from_msat(1_000), by_count(4)).unwrap();
    assert_eq!(
        out.iter().map(|p| p.share).collect::<Vec<_>>(),
        vec![id(10), id(9), id(8), id(7)]
    );
    assert_eq!(amounts(&out), vec![250; 4]);
    assert_eq!(out[0].claim_key, claim_key(10));
    // A block found earlier, by share 5, pays the window ending there.
    let earlier = payouts(chain.index(), &id(5), Msat::from_msat(1_000), by_count(100)).unwrap();
    assert_eq!(earlier.len(), 5);
}

#[test]
fn window_by_work_stops_at_the_share_that_fills_it() {
    let entries: Vec<_> = (1..=10)
        .map(|n| entry_with(n, (n > 1).then(|| n - 1), &[], 100))
        .collect();
    let chain = chain_of(&entries);
    let window = PplnsWindow {
        max_shares: 100,
        max_work: Some(Work::from_u128(250)),
    };
    let out = payouts(chain.index(), &id(10), Msat::from_msat(999), window).unwrap();
    assert_eq!(
        out.len(),
        3,
        "100 + 100 + 100 reaches 250 at the third share"
    );
    assert_eq!(amounts(&out), vec![333, 333, 333]);
}

#[test]
fn uncle_earns_nine_tenths_and_nephew_one_tenth_of_its_work() {
    // 1 - 2 - 4, with 3 an orphan on 1, listed by 4.
    let chain = chain_of(&[
        entry_with(1, None, &[], 100),
        entry_with(2, Some(1), &[], 100),
        entry_with(3, Some(1), &[], 100),
        entry_with(4, Some(2), &[3], 100),
    ]);
    let window = window_shares(chain.index(), &id(4), by_count(3)).unwrap();
    let order: Vec<_> = window.iter().map(|w| w.share).collect();
    assert_eq!(order, vec![id(4), id(3), id(2), id(1)]);
    let weights: Vec<_> = window.iter().map(|w| w.weight.to::<u128>()).collect();
    // Percent of work: chain shares 100%, the uncle 90%, its nephew +10%.
    assert_eq!(weights, vec![10_000 + 1_000, 9_000, 10_000, 10_000]);
    let out = payouts(
        chain.index(),
        &id(4),
        Msat::from_msat(4_000_000),
        by_count(3),
    )
    .unwrap();
    assert_eq!(
        amounts(&out),
        vec![1_100_000, 900_000, 1_000_000, 1_000_000]
    );
}

#[test]
fn unknown_block_share_and_empty_window_are_errors() {
    let chain = chain_of(&[entry_with(1, None, &[], 1)]);
    assert_eq!(
        payouts(chain.index(), &id(2), Msat::from_msat(1), by_count(1)),
        Err(PplnsError::UnknownShare(id(2)))
    );
    assert_eq!(
        payouts(chain.index(), &id(1), Msat::from_msat(1), by_count(0)),
        Err(PplnsError::EmptyWindow)
    );
}

#[test]
fn zero_weights_pay_the_block_finder() {
    let out = split(Msat::from_msat(7), &weighted(&[0, 0]));
    assert_eq!(amounts(&out), vec![7, 0]);
}

#[test]
fn largest_amounts_do_not_overflow() {
    let out = split(
        Msat::from_msat(u64::MAX),
        &weighted(&[u128::MAX, u128::MAX, 1]),
    );
    let sum: u128 = out.iter().map(|p| u128::from(p.amount.msat())).sum();
    assert_eq!(sum, u128::from(u64::MAX));
}

#[test]
fn a_big_mainnet_window_takes_the_narrow_path() {
    // 3.2 BTC of reward; 120,960 shares of a 100 EH/s pool at 10 s (2^70 hashes).
    let reward = Msat::from_sat(320_000_000).unwrap();
    let shares = weighted(&vec![100 << 70; 120_960]);
    let total = U256::from(100u128 << 70) * U256::from(120_960u32);
    let narrow = split_narrow(reward, &shares, total).expect("fits in 128 bits");
    assert_eq!(narrow, split_wide(reward, &shares, total));
    assert_eq!(
        narrow.iter().map(|p| p.amount.msat()).sum::<u64>(),
        reward.msat()
    );
    // Weights beyond 2^128 fall back to 256 bits.
    let huge = weighted(&[u128::MAX, u128::MAX]);
    let total = U256::from(u128::MAX) * U256::from(2u8);
    assert_eq!(split_narrow(reward, &huge, total), None);
}

/// A random chain: each share builds on one of the last few shares (forks),
/// and lists as uncles whatever recent orphans the rules allow.
fn random_chain(works: &[u64], forks: &[u8]) -> Vec<ChainEntry> {
    let mut chain = chain_of(&[]);
    let mut entries = Vec::new();
    for (i, (work, fork)) in works.iter().zip(forks).enumerate() {
        let n = i as u64 + 1;
        let parent = chain.index().tip().map(|tip| {
            let back = u32::from(*fork % 3);
            let height = chain.index().height(&tip).unwrap().saturating_sub(back);
            chain.index().ancestor(&tip, height).unwrap()
        });
        let uncles = parent
            .map(|p| chain.index().uncle_candidates(&p))
            .unwrap_or_default();
        let mut entry = entry_with(n, None, &[], u128::from(*work));
        entry.parent = parent;
        entry.uncles = uncles;
        chain.insert(entry.clone(), Vec::new()).unwrap();
        entries.push(entry);
    }
    entries
}

proptest! {
    #[test]
    fn split_sums_exactly_and_is_within_one_msat(
        reward in any::<u64>(),
        weights in prop::collection::vec(any::<u128>(), 1..50),
    ) {
        let shares = weighted(&weights);
        let out = split(Msat::from_msat(reward), &shares);
        let total: U256 = shares.iter().fold(U256::ZERO, |a, s| a + s.weight);
        let sum: u128 = out.iter().map(|p| u128::from(p.amount.msat())).sum();
        prop_assert_eq!(sum, u128::from(reward));
        if !total.is_zero() {
            let r = U256::from(reward);
            for (p, s) in out.iter().zip(&shares) {
                // |amount * W - R * w| < W
                let paid = U256::from(p.amount.msat()) * total;
                let exact = r * s.weight;
                let diff = if paid > exact { paid - exact } else { exact - paid };
                prop_assert!(diff < total);
            }
        }
        prop_assert_eq!(split(Msat::from_msat(reward), &shares), out);
    }

    #[test]
    fn the_narrow_and_the_wide_split_agree_exactly(
        reward in any::<u64>(),
        // Mixed magnitudes: small weights, and weights near the narrow path's limit.
        weights in prop::collection::vec(
            prop_oneof![0u128..1_000, any::<u64>().prop_map(u128::from), 0u128..(1 << 70)],
            1..80,
        ),
    ) {
        let shares = weighted(&weights);
        let total: U256 = shares.iter().fold(U256::ZERO, |a, s| a + s.weight);
        prop_assume!(!total.is_zero());
        let wide = split_wide(Msat::from_msat(reward), &shares, total);
        match split_narrow(Msat::from_msat(reward), &shares, total) {
            Some(narrow) => prop_assert_eq!(narrow, wide),
            // Only when the 128-bit intermediate really would overflow.
            None => {
                let max = weights.iter().max().unwrap();
                let fits = u128::from(reward)
                    .checked_mul(*max)
                    .and_then(|p| p.checked_add(total.to::<u128>()));
                prop_assert!(fits.is_none());
            }
        }
    }

    #[test]
    fn payouts_do_not_depend_on_the_order_shares_arrived(
        works in prop::collection::vec(1u64..1_000_000, 2..60),
        forks in prop::collection::vec(any::<u8>(), 60),
        seed in any::<u64>(),
        reward in 1u64..1_000_000_000_000,
        window in 1u32..80,
    ) {
        let entries = random_chain(&works, &forks);
        let in_order = chain_of(&entries);
        // Shuffle deterministically from the seed.
        let mut shuffled = entries.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let out_of_order = chain_of(&shuffled);
        prop_assert_eq!(out_of_order.index().len(), entries.len());
        prop_assert_eq!(out_of_order.orphan_count(), 0);
        for e in &entries {
            let a = payouts(in_order.index(), &e.id, Msat::from_msat(reward), by_count(window)).unwrap();
            let b = payouts(out_of_order.index(), &e.id, Msat::from_msat(reward), by_count(window)).unwrap();
            prop_assert_eq!(&a, &b);
            let sum: u64 = a.iter().map(|p| p.amount.msat()).sum();
            prop_assert_eq!(sum, reward);
        }
    }

    #[test]
    fn payouts_are_proportional_to_work_within_one_msat(
        works in prop::collection::vec(1u64..1_000_000, 2..40),
        reward in 1u64..1_000_000_000_000,
    ) {
        let entries: Vec<_> = works
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let n = i as u64 + 1;
                entry_with(n, (n > 1).then(|| n - 1), &[], u128::from(*w))
            })
            .collect();
        let chain = chain_of(&entries);
        let tip = entries.last().unwrap().id;
        let out = payouts(chain.index(), &tip, Msat::from_msat(reward), by_count(1_000)).unwrap();
        let total: u128 = works.iter().map(|w| u128::from(*w)).sum();
        for (p, w) in out.iter().zip(works.iter().rev()) {
            // Within one msat of reward * work / total.
            let exact = u128::from(reward) * u128::from(*w);
            let paid = u128::from(p.amount.msat()) * total;
            prop_assert!(paid.abs_diff(exact) < total);
        }
    }
}

proptest! {
    /// `payouts` splits straight from the index in 128 bits when it can; it
    /// must give exactly the list of the general path (window, then split).
    #[test]
    fn payouts_equal_the_split_of_their_window(
        works in prop::collection::vec(
            prop_oneof![1u64..1_000_000, any::<u64>()],
            2..60,
        ),
        forks in prop::collection::vec(any::<u8>(), 60),
        reward in any::<u64>(),
        window in 1u32..80,
    ) {
        let entries = random_chain(&works, &forks);
        let chain = chain_of(&entries);
        let reward = Msat::from_msat(reward);
        for e in &entries {
            let fast = payouts(chain.index(), &e.id, reward, by_count(window)).unwrap();
            let shares = window_shares(chain.index(), &e.id, by_count(window)).unwrap();
            prop_assert_eq!(fast, split(reward, &shares));
        }
    }
}

#[test]
fn weights_beyond_128_bits_take_the_wide_path_with_the_same_rules() {
    // 1 - 2 - 4, with 3 an uncle listed by 4; works so large that 100 times
    // one of them does not fit 128 bits.
    let huge = u128::MAX / 64;
    let chain = chain_of(&[
        entry_with(1, None, &[], huge),
        entry_with(2, Some(1), &[], huge),
        entry_with(3, Some(1), &[], huge),
        entry_with(4, Some(2), &[3], huge),
    ]);
    let out = payouts(
        chain.index(),
        &id(4),
        Msat::from_msat(4_000_000),
        by_count(3),
    )
    .unwrap();
    assert_eq!(
        amounts(&out),
        vec![1_100_000, 900_000, 1_000_000, 1_000_000]
    );
}
