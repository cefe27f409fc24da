//! The bridge from validation to the chain, on real mined shares: entries
//! from validated shares, the index as the [`ChainView`] validation reads,
//! what a new job gets, and payouts read from the chain.

use crate::chain::{ChainEntry, InsertStatus, NextShare, ShareChain};
use crate::params::SharechainConfig;
use crate::pplns::{self, Msat, PplnsWindow};
use crate::retarget::expected_bits;
use crate::share::Share;
use crate::store::MemoryStore;
use crate::testkit::{
    mine, quick_regtest_config, test_block_hash, test_claim_key, MemoryBitcoin, MemoryChain,
    ShareRecipe,
};
use crate::validation::validate_share;
use crate::view::ChainView;
use crate::work::Work;

const T0: u32 = 1_700_000_000;

fn config() -> SharechainConfig {
    quick_regtest_config()
}

struct Node {
    config: SharechainConfig,
    bitcoin: MemoryBitcoin,
    chain: ShareChain<MemoryStore>,
    /// The testkit's independent index, to compare the real one against.
    reference: MemoryChain,
}

impl Node {
    fn new() -> Node {
        let config = config();
        let mut bitcoin = MemoryBitcoin::default();
        for h in 0..=10 {
            bitcoin.add(test_block_hash(h), h);
        }
        Node {
            chain: ShareChain::open(MemoryStore::new(), config.params.clone()).unwrap(),
            reference: MemoryChain::new(config.params.clone()),
            config,
            bitcoin,
        }
    }

    /// Mines a share on `next` at `time`, paying `seed`'s key.
    fn mine_on(&self, next: &NextShare, time: u32, seed: u8) -> Share {
        let mut recipe = ShareRecipe::new(test_block_hash(10), 11, time, next.share_bits);
        recipe.prev_share = next.prev_share;
        recipe.uncles = next.uncles.clone();
        recipe.claim_key = test_claim_key(seed);
        mine(&self.config, &recipe)
    }

    /// Validates `share` against the chain itself and inserts it.
    fn accept(&mut self, share: &Share) -> InsertStatus {
        let valid = validate_share(share, &self.config, &self.chain, &self.bitcoin, T0 + 10_000)
            .expect("a share mined on the chain's own answers is valid");
        self.reference.insert(share);
        self.chain.insert_valid(share, &valid).unwrap().status
    }
}

/// A chain of 40 shares with irregular gaps (so the target moves), plus an
/// orphan at height 20 that the next share lists as its uncle.
fn busy_node() -> (Node, Vec<Share>) {
    let mut node = Node::new();
    let mut shares = Vec::new();
    let mut time = T0;
    for i in 0..40u32 {
        let next = node.chain.next_share();
        assert_eq!(next.height, i);
        time += [0, 3, 1, 2][i as usize % 4];
        let share = node.mine_on(&next, time, (i % 7) as u8 + 1);
        if i == 20 {
            // A rival child of the same parent arrives first and keeps the
            // tip on the tie; `share` becomes the next share's uncle.
            let rival = node.mine_on(&next, time + 1, 99);
            assert_eq!(node.accept(&rival), InsertStatus::Connected);
            shares.push(rival);
        }
        assert_eq!(node.accept(&share), InsertStatus::Connected);
        shares.push(share);
    }
    (node, shares)
}

#[test]
fn entry_from_a_valid_share_keeps_its_time_target_and_work() {
    let mut node = Node::new();
    let share = node.mine_on(&node.chain.next_share(), T0, 3);
    let valid = validate_share(&share, &node.config, &node.chain, &node.bitcoin, T0).unwrap();
    let entry = ChainEntry::from_valid(&share, &valid);
    assert_eq!(entry.id, share.id());
    assert_eq!(entry.parent, None);
    assert_eq!(entry.time, share.header.time);
    assert_eq!(entry.share_bits, share.data.share_bits);
    assert_eq!(entry.work, Work::from_target(valid.target));
    assert_eq!(entry.claim_key, test_claim_key(3));
    assert_eq!(entry.bitcoin_height, 11);
    assert_eq!(entry.bitcoin_prev, test_block_hash(10));
    node.chain.insert_valid(&share, &valid).unwrap();
    assert_eq!(node.chain.index().get(&share.id()), Some(&entry));
    assert_eq!(
        node.chain.share_bytes(&share.id()).unwrap(),
        Some(share.encode())
    );
}

#[test]
fn the_index_answers_validation_like_the_reference_view() {
    let (node, shares) = busy_node();
    let index = node.chain.index();
    let first_time = shares[0].header.time;
    let mut distinct_bits = std::collections::HashSet::new();
    for share in &shares {
        let id = share.id();
        assert_eq!(index.share(&id), node.reference.share(&id), "{id}");
        let summary = index.share(&id).unwrap();
        let bits = index.expected_bits(&id).unwrap();
        assert_eq!(Some(bits), node.reference.expected_bits(&id));
        assert_eq!(
            bits,
            expected_bits(
                &node.config.params,
                first_time,
                summary.height,
                summary.time
            )
        );
        distinct_bits.insert(bits);
    }
    assert!(
        distinct_bits.len() > 3,
        "the target moved: {distinct_bits:?}"
    );
    assert_eq!(index.share(&crate::chain::testing::id(1)), None);
    assert_eq!(index.expected_bits(&crate::chain::testing::id(1)), None);
}

#[test]
fn a_reloaded_chain_gives_the_same_answers() {
    let (node, shares) = busy_node();
    let reopened =
        ShareChain::open(node.chain.store().clone(), node.config.params.clone()).unwrap();
    assert_eq!(reopened.index().tip(), node.chain.index().tip());
    for share in &shares {
        let id = share.id();
        assert_eq!(reopened.share(&id), node.chain.share(&id));
        assert_eq!(reopened.expected_bits(&id), node.chain.expected_bits(&id));
    }
    assert_eq!(reopened.next_share(), node.chain.next_share());
}

#[test]
fn next_share_names_the_tip_its_uncles_and_the_demanded_target() {
    let mut node = Node::new();
    let empty = node.chain.next_share();
    assert_eq!(
        empty,
        NextShare {
            prev_share: None,
            uncles: Vec::new(),
            share_bits: node.config.params.initial_share_bits,
            height: 0,
        }
    );
    let first = node.mine_on(&empty, T0, 1);
    node.accept(&first);
    let a = node.mine_on(&node.chain.next_share(), T0 + 1, 2);
    let rival = node.mine_on(&node.chain.next_share(), T0 + 2, 3);
    node.accept(&a);
    node.accept(&rival);
    let next = node.chain.next_share();
    assert_eq!(next.prev_share, Some(a.id()), "first seen wins a tie");
    assert_eq!(next.uncles, vec![rival.id()]);
    assert_eq!(next.height, 2);
    assert_eq!(
        next.share_bits,
        expected_bits(&node.config.params, T0, 1, T0 + 1)
    );
    // A share built from those answers is valid and takes the uncle along.
    let b = node.mine_on(&next, T0 + 3, 4);
    node.accept(&b);
    assert_eq!(node.chain.index().tip(), Some(b.id()));
    assert!(node.chain.next_share().uncles.is_empty());
}

#[test]
fn payouts_read_the_window_of_the_chain_params() {
    let (node, shares) = busy_node();
    let tip = node.chain.index().tip().unwrap();
    let reward = Msat::from_msat(5_000_000_000_000);
    let paid = node.chain.payouts(&tip, reward).unwrap();
    let window = PplnsWindow::from_params(&node.config.params);
    assert_eq!(window.max_shares, node.config.params.pplns_window_shares);
    assert_eq!(
        paid,
        pplns::payouts(node.chain.index(), &tip, reward, window).unwrap()
    );
    assert_eq!(
        paid.iter().map(|p| p.amount.msat()).sum::<u64>(),
        reward.msat()
    );
    // The regtest window (100) holds all 40 chain shares and the uncle.
    assert_eq!(paid.len(), shares.len());
    let uncle = shares[21].id();
    let lister = node.chain.index().main_chain_at(21).unwrap();
    assert_eq!(node.chain.index().get(&lister).unwrap().uncles, vec![uncle]);
    assert!(paid.iter().any(|p| p.share == uncle && p.amount.msat() > 0));
}
