//! Tests of best-chain choice, reorgs, orphans and uncles, on the in-memory store.

use crate::chain::testing::{entry_with, id};
use crate::chain::{ChainError, InsertOutcome, InsertStatus, ShareChain, TipChange};
use crate::params::ConsensusParams;
use crate::store::MemoryStore;
use crate::validation::ShareError;
use crate::work::Work;

fn chain() -> ShareChain<MemoryStore> {
    ShareChain::open(MemoryStore::new(), ConsensusParams::regtest()).unwrap()
}

/// The uncle rule a refused share broke.
fn uncle_reason(err: &ChainError) -> &ShareError {
    match err {
        ChainError::InvalidUncles { reason, .. } => reason,
        other => panic!("expected an uncle rule, got {other}"),
    }
}

fn add(
    chain: &mut ShareChain<MemoryStore>,
    n: u64,
    parent: Option<u64>,
    work: u128,
) -> InsertOutcome {
    add_with_uncles(chain, n, parent, &[], work)
}

fn add_with_uncles(
    chain: &mut ShareChain<MemoryStore>,
    n: u64,
    parent: Option<u64>,
    uncles: &[u64],
    work: u128,
) -> InsertOutcome {
    chain
        .insert(
            entry_with(n, parent, uncles, work),
            n.to_le_bytes().to_vec(),
        )
        .unwrap()
}

fn try_uncles(
    chain: &mut ShareChain<MemoryStore>,
    n: u64,
    parent: u64,
    uncles: &[u64],
) -> ChainError {
    chain
        .insert(entry_with(n, Some(parent), uncles, 10), Vec::new())
        .expect_err("uncle rules must refuse this share")
}

/// Shares `from..=to`, each on the previous, the first on `parent`.
fn line(chain: &mut ShareChain<MemoryStore>, parent: Option<u64>, from: u64, to: u64, work: u128) {
    let mut parent = parent;
    for n in from..=to {
        add(chain, n, parent, work);
        parent = Some(n);
    }
}

fn ids(ns: impl IntoIterator<Item = u64>) -> Vec<crate::types::ShareId> {
    ns.into_iter().map(id).collect()
}

#[test]
fn extending_the_tip_is_not_a_reorg() {
    let mut c = chain();
    let first = add(&mut c, 1, None, 10);
    assert_eq!(first.status, InsertStatus::Connected);
    assert_eq!(
        first.tip_change,
        Some(TipChange {
            old_tip: None,
            new_tip: id(1),
            disconnected: vec![],
            connected: ids([1]),
        })
    );
    let second = add(&mut c, 2, Some(1), 10);
    let change = second.tip_change.unwrap();
    assert!(!change.is_reorg());
    assert_eq!(change.connected, ids([2]));
    assert_eq!(c.index().tip(), Some(id(2)));
    assert_eq!(c.index().height(&id(2)), Some(1));
    assert_eq!(c.index().cumulative_work(&id(2)), Some(Work::from_u128(20)));
}

#[test]
fn heavier_fork_takes_over() {
    let mut c = chain();
    line(&mut c, None, 1, 3, 10);
    let fork = add(&mut c, 4, Some(2), 25);
    let change = fork.tip_change.expect("45 beats 30");
    assert_eq!(change.old_tip, Some(id(3)));
    assert_eq!(change.disconnected, ids([3]));
    assert_eq!(change.connected, ids([4]));
    assert!(c.index().is_in_main_chain(&id(4)));
    assert!(!c.index().is_in_main_chain(&id(3)));
    assert_eq!(c.index().main_chain_at(2), Some(id(4)));
}

#[test]
fn fork_of_equal_work_does_not_switch() {
    let mut c = chain();
    line(&mut c, None, 1, 3, 10);
    let fork = add(&mut c, 4, Some(2), 10);
    assert_eq!(fork.status, InsertStatus::Connected);
    assert_eq!(fork.tip_change, None);
    assert_eq!(c.index().tip(), Some(id(3)));
    // One more share on the fork makes it heavier.
    let change = add(&mut c, 5, Some(4), 10).tip_change.unwrap();
    assert_eq!(change.disconnected, ids([3]));
    assert_eq!(change.connected, ids([4, 5]));
}

#[test]
fn deep_reorg_lists_every_share_that_left_and_joined() {
    let mut c = chain();
    line(&mut c, None, 1, 100, 10);
    // A fork from share 5 (height 4), each share a little heavier.
    let mut parent = 5;
    let mut switched = None;
    for n in 1001..=1100 {
        let out = add(&mut c, n, Some(parent), 11);
        parent = n;
        if let Some(change) = out.tip_change {
            switched = Some((n, change));
            break;
        }
    }
    // Main: 100 shares of 10 = 1000. Fork: 50 + 11 * k > 1000 first at k = 87.
    let (n, change) = switched.expect("the heavier fork takes over");
    assert_eq!(n, 1087);
    assert_eq!(change.old_tip, Some(id(100)));
    assert_eq!(change.disconnected, ids((6..=100).rev()));
    assert_eq!(change.connected, ids(1001..=1087));
    assert_eq!(c.index().tip(), Some(id(1087)));
    assert_eq!(c.index().main_chain_at(4), Some(id(5)));
    assert_eq!(c.index().main_chain_at(5), Some(id(1001)));
}

#[test]
fn orphan_connects_when_its_parent_arrives() {
    let mut c = chain();
    add(&mut c, 1, None, 10);
    let early = add(&mut c, 3, Some(2), 10);
    assert_eq!(early.status, InsertStatus::Orphaned { missing: ids([2]) });
    assert_eq!(c.orphan_count(), 1);
    // A grandchild waits on the orphan, which is not reported missing again.
    let later = add(&mut c, 4, Some(3), 10);
    assert_eq!(later.status, InsertStatus::Orphaned { missing: vec![] });
    let parent = add(&mut c, 2, Some(1), 10);
    assert_eq!(parent.connected, ids([2, 3, 4]));
    assert_eq!(parent.tip_change.unwrap().connected, ids([2, 3, 4]));
    assert_eq!(c.orphan_count(), 0);
    assert_eq!(c.index().tip(), Some(id(4)));
}

#[test]
fn orphan_pool_is_bounded_and_evicts_the_oldest() {
    let mut c =
        ShareChain::open_with_orphan_limit(MemoryStore::new(), ConsensusParams::regtest(), 2)
            .unwrap();
    for n in 10..12 {
        assert!(add(&mut c, n, Some(n + 100), 10).evicted_orphans.is_empty());
    }
    let third = add(&mut c, 12, Some(112), 10);
    assert_eq!(third.evicted_orphans, ids([10]));
    assert_eq!(c.orphan_count(), 2);
    // The evicted share no longer connects when its parent arrives.
    let parent = add(&mut c, 110, None, 10);
    assert_eq!(parent.connected, ids([110]));
}

#[test]
fn orphans_connecting_in_a_burst_report_one_net_reorg() {
    let mut c = chain();
    line(&mut c, None, 1, 4, 10);
    // Fork from 2 arrives backwards: 7, 6, then 5 connects all three.
    add(&mut c, 7, Some(6), 10);
    add(&mut c, 6, Some(5), 10);
    let out = add(&mut c, 5, Some(2), 10);
    assert_eq!(out.connected, ids([5, 6, 7]));
    let change = out.tip_change.unwrap();
    assert_eq!(change.disconnected, ids([4, 3]));
    assert_eq!(change.connected, ids([5, 6, 7]));
}

#[test]
fn duplicate_insert_changes_nothing() {
    let mut c = chain();
    add(&mut c, 1, None, 10);
    let again = add(&mut c, 1, None, 10);
    assert_eq!(again.status, InsertStatus::AlreadyKnown);
    assert!(again.connected.is_empty());
    assert_eq!(c.index().len(), 1);
}

/// 1 - 2 - 3 - 4 - 5 main; 20 on 1, 30 on 2, 40 on 3 are orphans at heights 1, 2, 3.
fn chain_with_orphans() -> ShareChain<MemoryStore> {
    let mut c = chain();
    line(&mut c, None, 1, 5, 10);
    add(&mut c, 20, Some(1), 7);
    add(&mut c, 30, Some(2), 7);
    add(&mut c, 40, Some(3), 7);
    c
}

#[test]
fn uncles_within_depth_are_accepted_and_their_work_counts() {
    let mut c = chain_with_orphans();
    // Share 6 at height 5 on 5: 40 is at depth 2, 30 at depth 3.
    let out = add_with_uncles(&mut c, 6, Some(5), &[40, 30], 10);
    assert_eq!(out.status, InsertStatus::Connected);
    assert_eq!(
        c.index().cumulative_work(&id(6)),
        Some(Work::from_u128(60 + 14))
    );
    assert_eq!(c.index().get(&id(6)).unwrap().uncles, ids([40, 30]));
}

#[test]
fn uncle_too_deep_is_rejected() {
    let mut c = chain_with_orphans();
    // 20 is at height 1, share 6 at height 5: depth 4.
    let err = try_uncles(&mut c, 6, 5, &[20]);
    assert!(
        matches!(
            uncle_reason(&err),
            ShareError::UncleTooDeep {
                uncle_height: 1,
                height: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_invalid_share());
    assert!(!c.index().contains(&id(6)));
}

#[test]
fn sibling_is_not_an_uncle() {
    let mut c = chain_with_orphans();
    // 41 on 4 is at height 4, like share 5; a share on 4 may not list it.
    add(&mut c, 41, Some(4), 10);
    let err = try_uncles(&mut c, 6, 4, &[41]);
    assert!(
        matches!(
            uncle_reason(&err),
            ShareError::UncleTooDeep {
                uncle_height: 4,
                height: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn duplicate_uncle_is_rejected() {
    let mut c = chain_with_orphans();
    let err = try_uncles(&mut c, 6, 5, &[40, 40]);
    assert_eq!(uncle_reason(&err), &ShareError::DuplicateUncle(id(40)));
}

#[test]
fn uncle_already_in_chain_is_rejected() {
    let mut c = chain_with_orphans();
    let err = try_uncles(&mut c, 6, 5, &[3]);
    assert_eq!(uncle_reason(&err), &ShareError::UncleInChain(id(3)));
}

#[test]
fn uncle_already_included_by_an_ancestor_is_rejected() {
    let mut c = chain_with_orphans();
    add_with_uncles(&mut c, 6, Some(5), &[40], 10);
    let err = try_uncles(&mut c, 7, 6, &[40]);
    assert_eq!(
        uncle_reason(&err),
        &ShareError::UncleAlreadyReferenced(id(40))
    );
}

#[test]
fn too_many_uncles_are_rejected() {
    let mut c = chain_with_orphans();
    add(&mut c, 41, Some(3), 7);
    add(&mut c, 42, Some(3), 7);
    let err = try_uncles(&mut c, 6, 5, &[40, 41, 42, 30]);
    assert_eq!(
        uncle_reason(&err),
        &ShareError::TooManyUncles { count: 4, max: 3 }
    );
}

#[test]
fn uncle_from_another_branch_is_rejected() {
    let mut c = chain_with_orphans();
    // 21 on orphan 20 is at height 2, but its parent is not in 6's chain.
    add(&mut c, 21, Some(20), 7);
    add(&mut c, 22, Some(21), 7);
    let err = try_uncles(&mut c, 6, 5, &[22]);
    assert_eq!(uncle_reason(&err), &ShareError::UncleNotSibling(id(22)));
}

#[test]
fn uncles_make_a_fork_heavier() {
    let mut c = chain_with_orphans();
    // Two children of 5: the one listing an uncle has more work and wins.
    add(&mut c, 6, Some(5), 10);
    let out = add_with_uncles(&mut c, 7, Some(5), &[40], 10);
    assert_eq!(out.tip_change.unwrap().disconnected, ids([6]));
}

#[test]
fn uncle_candidates_are_the_valid_recent_orphans() {
    let mut c = chain_with_orphans();
    // A child of 5 (height 5) may list 40 (depth 2) and 30 (depth 3), not 20 (depth 4).
    let candidates = c.index().uncle_candidates(&id(5));
    assert_eq!(candidates.len(), 2);
    assert!(candidates.contains(&id(40)) && candidates.contains(&id(30)));
    let mut entry = entry_with(6, Some(5), &[], 10);
    entry.uncles = candidates;
    c.insert(entry, Vec::new()).unwrap();
    assert!(c.index().uncle_candidates(&id(6)).is_empty());
}

#[test]
fn orphan_with_a_missing_uncle_waits_for_it() {
    let mut c = chain();
    line(&mut c, None, 1, 3, 10);
    let out = add_with_uncles(&mut c, 4, Some(3), &[30], 10);
    assert_eq!(out.status, InsertStatus::Orphaned { missing: ids([30]) });
    let uncle = add(&mut c, 30, Some(2), 7);
    assert_eq!(uncle.connected, ids([30, 4]));
    assert_eq!(c.index().tip(), Some(id(4)));
}

#[test]
fn orphan_breaking_uncle_rules_is_dropped_when_it_connects() {
    let mut c = chain();
    line(&mut c, None, 1, 3, 10);
    add(&mut c, 20, Some(1), 7);
    // 6 waits for 5; once 5 arrives at height 4, 6 is at height 5 and its
    // uncle 20 (height 1) is too deep.
    let early = add_with_uncles(&mut c, 6, Some(5), &[20], 10);
    assert_eq!(early.status, InsertStatus::Orphaned { missing: ids([5]) });
    add(&mut c, 4, Some(3), 10);
    let out = add(&mut c, 5, Some(4), 10);
    assert_eq!(out.connected, ids([5]));
    assert_eq!(out.rejected_orphans.len(), 1);
    assert_eq!(out.rejected_orphans[0].0, id(6));
    assert!(matches!(
        uncle_reason(&out.rejected_orphans[0].1),
        ShareError::UncleTooDeep { .. }
    ));
    assert_eq!(c.orphan_count(), 0);
    assert_eq!(c.index().tip(), Some(id(5)));
}

#[test]
fn broken_uncle_list_is_refused_before_waiting_as_an_orphan() {
    let mut c = chain();
    line(&mut c, None, 1, 3, 10);
    let err = c
        .insert(entry_with(5, Some(4), &[30, 30], 10), Vec::new())
        .expect_err("a duplicate uncle needs no ancestry to refuse");
    assert_eq!(uncle_reason(&err), &ShareError::DuplicateUncle(id(30)));
    assert_eq!(c.orphan_count(), 0);
}

#[test]
fn first_share_with_uncles_is_refused() {
    let mut c = chain();
    add(&mut c, 1, None, 10);
    let err = c
        .insert(entry_with(2, None, &[1], 10), Vec::new())
        .expect_err("a first share has no uncles");
    assert_eq!(uncle_reason(&err), &ShareError::GenesisUncles);
}

#[test]
fn competing_first_share_is_not_an_uncle() {
    // Validation refuses an uncle without a parent; the index does too.
    let mut c = chain();
    add(&mut c, 1, None, 10);
    add(&mut c, 2, None, 10);
    add(&mut c, 3, Some(1), 10);
    let err = try_uncles(&mut c, 4, 3, &[2]);
    assert_eq!(uncle_reason(&err), &ShareError::UncleNotSibling(id(2)));
    assert!(c.index().uncle_candidates(&id(3)).is_empty());
}

#[test]
fn ancestor_lookup_matches_a_parent_walk() {
    let mut c = chain();
    line(&mut c, None, 1, 1000, 1);
    let walk: Vec<_> = c.index().ancestors(&id(1000)).map(|e| e.id).collect();
    assert_eq!(walk.len(), 1000);
    for height in [0, 1, 2, 3, 7, 64, 255, 256, 511, 998, 999] {
        assert_eq!(
            c.index().ancestor(&id(1000), height),
            Some(id(u64::from(height) + 1))
        );
        assert_eq!(walk[999 - height as usize], id(u64::from(height) + 1));
    }
    assert_eq!(c.index().ancestor(&id(1000), 1000), None);
}

#[test]
fn reopening_the_store_restores_the_chain_and_the_chosen_tip() {
    let mut c = chain();
    line(&mut c, None, 1, 3, 10);
    // Equal-work fork: the node stays on 3, and must come back to 3.
    add(&mut c, 4, Some(2), 10);
    let store = c.store().clone();
    let reopened = ShareChain::open(store, ConsensusParams::regtest()).unwrap();
    assert_eq!(reopened.index().tip(), Some(id(3)));
    assert_eq!(reopened.index().len(), 4);
    assert_eq!(
        reopened.share_bytes(&id(4)).unwrap(),
        Some(4u64.to_le_bytes().to_vec())
    );
}
