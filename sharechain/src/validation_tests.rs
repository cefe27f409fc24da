use super::*;
use crate::testkit::{
    mine, quick_regtest_config, test_block_hash, test_claim_key, MemoryBitcoin, MemoryChain,
    ShareRecipe,
};
use bitcoin::hashes::Hash;
use bitcoin::{Amount, CompactTarget, ScriptBuf, TxOut};

const T0: u32 = 1_700_000_000;

fn config() -> SharechainConfig {
    quick_regtest_config()
}

struct World {
    config: SharechainConfig,
    chain: MemoryChain,
    bitcoin: MemoryBitcoin,
}

impl World {
    fn new() -> World {
        let config = config();
        let mut bitcoin = MemoryBitcoin::default();
        for h in 0..=10 {
            bitcoin.add(test_block_hash(h), h);
        }
        World {
            chain: MemoryChain::new(config.params.clone()),
            config,
            bitcoin,
        }
    }

    /// A recipe for a child of `prev` at sharechain height `height`, on schedule.
    fn recipe(&self, prev: Option<ShareId>, height: u32) -> ShareRecipe {
        let mut r = ShareRecipe::new(
            test_block_hash(10),
            11,
            T0 + height,
            self.config.params.initial_share_bits,
        );
        r.prev_share = prev;
        r.claim_key = test_claim_key(height as u8 + 1);
        r
    }

    fn validate(&self, share: &Share) -> Result<ValidShare, ShareError> {
        validate_share(share, &self.config, &self.chain, &self.bitcoin, T0 + 1000)
    }

    /// Mines, validates and files a share.
    fn add(&mut self, recipe: &ShareRecipe) -> Share {
        let share = mine(&self.config, recipe);
        self.validate(&share).expect("valid share");
        self.chain.insert(&share);
        share
    }
}

/// Re-derives the merkle root after a coinbase edit and grinds again, so
/// only the edited rule can fail.
fn remine(config: &SharechainConfig, mut share: Share) -> Share {
    share.header.merkle_root =
        root_from_coinbase(share.coinbase.compute_txid(), &share.merkle_branch);
    let target = target_from_bits(share.data.share_bits).unwrap();
    while !target.is_met_by(share.header.block_hash()) {
        share.header.nonce += 1;
    }
    let _ = config;
    share
}

#[test]
fn a_chain_of_valid_shares_is_accepted() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let a = mine(&w.config, &w.recipe(Some(g.id()), 1));
    let valid = w.validate(&a).unwrap();
    assert_eq!(valid.id, a.id());
    assert_eq!(valid.height, 1);
    assert_eq!(valid.bitcoin_height, 11);
    assert!(
        valid.is_block,
        "on regtest every share meets the bitcoin target"
    );
    // Share targets up to 2^4 harder are fine too.
    let mut harder = w.recipe(Some(g.id()), 1);
    harder.share_bits = CompactTarget::from_consensus(0x1f0f_fff0);
    assert!(w.validate(&mine(&w.config, &harder)).is_ok());
}

#[test]
fn proof_of_work_above_the_share_target_is_banned() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let mut share = mine(&w.config, &w.recipe(Some(g.id()), 1));
    let target = target_from_bits(share.data.share_bits).unwrap();
    while target.is_met_by(share.header.block_hash()) {
        share.header.nonce += 1;
    }
    let err = w.validate(&share).unwrap_err();
    assert!(matches!(err, ShareError::HighHash { .. }));
    assert_eq!(err.action(), PeerAction::Ban);
}

#[test]
fn wrong_share_targets_are_banned() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let mut easy = w.recipe(Some(g.id()), 1);
    easy.share_bits = CompactTarget::from_consensus(0x2001_0000);
    assert!(matches!(
        w.validate(&mine(&w.config, &easy)),
        Err(ShareError::Target(TargetError::TooEasy { .. }))
    ));
    let mut hard = w.recipe(Some(g.id()), 1);
    hard.share_bits = CompactTarget::from_consensus(0x1f0f_ffef);
    assert!(matches!(
        w.validate(&mine(&w.config, &hard)),
        Err(ShareError::Target(TargetError::TooHard { .. }))
    ));
    let mut genesis = w.recipe(None, 0);
    genesis.share_bits = CompactTarget::from_consensus(0x2001_0000);
    assert!(matches!(
        w.validate(&mine(&w.config, &genesis)),
        Err(ShareError::Target(TargetError::TooEasy { .. }))
    ));
    // Non-canonical bits are caught before any lookup.
    let mut share = mine(&w.config, &w.recipe(Some(g.id()), 1));
    share.data.share_bits = CompactTarget::from_consensus(0x2100_00ff);
    assert!(matches!(
        check_share(&share, &w.config),
        Err(ShareError::Target(TargetError::NonCanonical(_)))
    ));
}

#[test]
fn demanded_target_follows_the_retarget_rule() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    // The parent came 100 s late (ten half-lives): the child may be much easier.
    let mut late = w.recipe(Some(g.id()), 1);
    late.time = T0 + 100;
    let p = w.add(&late);
    let demanded = w.chain.expected_bits(&p.id()).unwrap();
    assert!(
        Target::from_compact(demanded) > Target::from_compact(w.config.params.initial_share_bits)
    );
    let mut child = w.recipe(Some(p.id()), 2);
    child.time = T0 + 101;
    child.share_bits = demanded;
    assert!(w.validate(&mine(&w.config, &child)).is_ok());
    child.share_bits = w.config.params.initial_share_bits;
    assert!(matches!(
        w.validate(&mine(&w.config, &child)),
        Err(ShareError::Target(TargetError::TooHard { .. }))
    ));
}

#[test]
fn broken_merkle_branches_are_banned() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let mut recipe = w.recipe(Some(g.id()), 1);
    recipe.other_txids = vec![
        bitcoin::Txid::from_byte_array([1; 32]),
        bitcoin::Txid::from_byte_array([2; 32]),
    ];
    let mut share = mine(&w.config, &recipe);
    assert!(w.validate(&share).is_ok());
    share.merkle_branch.swap(0, 1);
    assert_eq!(w.validate(&share), Err(ShareError::MerkleRoot));
    share.merkle_branch.truncate(1);
    assert_eq!(w.validate(&share), Err(ShareError::MerkleRoot));
}

#[test]
fn commitments_must_be_present_and_match() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let good = mine(&w.config, &w.recipe(Some(g.id()), 1));
    // Changing any committed field breaks the commitment (the PoW still holds).
    let mut stolen = good.clone();
    stolen.data.claim_key = test_claim_key(200);
    assert_eq!(
        w.validate(&stolen),
        Err(ShareError::Coinbase(CoinbaseRuleError::CommitmentMismatch))
    );
    let mut missing = good.clone();
    missing.coinbase.output[1].script_pubkey = ScriptBuf::from_bytes(vec![0x6a, 0x04, 1, 2, 3, 4]);
    let missing = remine(&w.config, missing);
    assert_eq!(
        w.validate(&missing),
        Err(ShareError::Coinbase(CoinbaseRuleError::MissingCommitment))
    );
}

type Edit = Box<dyn Fn(&mut bitcoin::Transaction)>;

#[test]
fn coinbases_paying_anyone_else_are_banned() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let good = mine(&w.config, &w.recipe(Some(g.id()), 1));
    let cases: Vec<(Edit, CoinbaseRuleError)> = vec![
        (
            Box::new(|tx| tx.output[0].script_pubkey = ScriptBuf::from_bytes(vec![0x51])),
            CoinbaseRuleError::PaysElsewhere,
        ),
        (
            Box::new(|tx| tx.output[1].value = Amount::from_sat(1)),
            CoinbaseRuleError::ValueOutsidePayout(1),
        ),
        (
            Box::new(|tx| {
                tx.output.push(TxOut {
                    value: Amount::from_sat(1000),
                    script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
                })
            }),
            CoinbaseRuleError::ValueOutsidePayout(2),
        ),
        (
            Box::new(|tx| {
                tx.output.push(TxOut {
                    value: Amount::ZERO,
                    script_pubkey: ScriptBuf::from_bytes(vec![0x6a]),
                })
            }),
            CoinbaseRuleError::UnexpectedOutput,
        ),
        (
            Box::new(|tx| {
                let extra = tx.output[1].clone();
                tx.output.push(extra.clone());
                tx.output.push(extra);
            }),
            CoinbaseRuleError::OutputCount(4),
        ),
        (
            Box::new(|tx| tx.input[0].previous_output.vout = 0),
            CoinbaseRuleError::NotCoinbase,
        ),
        (
            Box::new(|tx| tx.input[0].script_sig = ScriptBuf::from_bytes(vec![0x5b])),
            CoinbaseRuleError::ScriptSigLength(1),
        ),
    ];
    for (edit, expected) in cases {
        let mut share = good.clone();
        edit(&mut share.coinbase);
        let share = remine(&w.config, share);
        let err = w.validate(&share).unwrap_err();
        assert_eq!(err, ShareError::Coinbase(expected));
        assert_eq!(err.action(), PeerAction::Ban);
    }
    // A witness commitment output is allowed.
    let mut recipe = w.recipe(Some(g.id()), 1);
    recipe.witness_commitment = Some(ScriptBuf::from_bytes(
        [&crate::coinbase::WITNESS_COMMITMENT_PREFIX[..], &[7; 32]].concat(),
    ));
    assert!(w.validate(&mine(&w.config, &recipe)).is_ok());
}

#[test]
fn bip34_height_must_follow_the_bitcoin_parent() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let mut recipe = w.recipe(Some(g.id()), 1);
    recipe.bitcoin_height = 12; // parent is at 10
    let err = w.validate(&mine(&w.config, &recipe)).unwrap_err();
    assert_eq!(
        err,
        ShareError::Coinbase(CoinbaseRuleError::Bip34Height { expected: 11 })
    );
}

#[test]
fn bitcoin_parent_unknown_is_retried_and_stale_or_old_is_ignored() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let mut recipe = w.recipe(Some(g.id()), 1);
    recipe.bitcoin_parent = test_block_hash(99);
    let err = w.validate(&mine(&w.config, &recipe)).unwrap_err();
    assert!(matches!(err, ShareError::UnknownBitcoinParent(_)));
    assert_eq!(err.action(), PeerAction::RetryLater);

    // The parent block was reorged out of our best chain.
    let share = mine(&w.config, &w.recipe(Some(g.id()), 1));
    w.bitcoin
        .blocks
        .get_mut(&test_block_hash(10))
        .unwrap()
        .in_best_chain = false;
    let err = w.validate(&share).unwrap_err();
    assert!(matches!(err, ShareError::StaleBitcoinParent(_)));
    assert_eq!(err.action(), PeerAction::Ignore);

    // Our tip moved 7 blocks past the parent (regtest allows 6).
    w.bitcoin
        .blocks
        .get_mut(&test_block_hash(10))
        .unwrap()
        .in_best_chain = true;
    w.bitcoin.tip_height = 17;
    let err = w.validate(&share).unwrap_err();
    assert_eq!(err, ShareError::OldBitcoinParent { depth: 7, max: 6 });
    assert_eq!(err.action(), PeerAction::Ignore);
    w.bitcoin.tip_height = 16;
    assert!(w.validate(&share).is_ok());
}

#[test]
fn timestamps_outside_bounds_are_rejected() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let now = T0 + 1000;
    let mut future = w.recipe(Some(g.id()), 1);
    future.time = now + 61;
    let share = mine(&w.config, &future);
    let err = w.validate(&share).unwrap_err();
    assert!(matches!(err, ShareError::TimeTooNew { .. }));
    assert_eq!(err.action(), PeerAction::RetryLater);
    future.time = now + 60;
    assert!(w.validate(&mine(&w.config, &future)).is_ok());

    let mut past = w.recipe(Some(g.id()), 1);
    past.time = T0 - 61;
    // Early timestamps also demand a harder target; give it that.
    past.share_bits = CompactTarget::from_consensus(0x1f0f_fff0);
    let err = w.validate(&mine(&w.config, &past)).unwrap_err();
    assert!(matches!(err, ShareError::TimeBeforeParent { .. }), "{err}");
    assert_eq!(err.action(), PeerAction::Ban);
}

#[test]
fn unknown_parents_and_uncles_are_fetched() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let orphan_parent = ShareId::from_byte_array([5; 32]);
    let unknown_uncle = ShareId::from_byte_array([6; 32]);
    let mut recipe = w.recipe(Some(orphan_parent), 1);
    recipe.uncles = vec![unknown_uncle];
    let err = w.validate(&mine(&w.config, &recipe)).unwrap_err();
    assert_eq!(
        err.action(),
        PeerAction::FetchShares(vec![orphan_parent, unknown_uncle])
    );
    let mut recipe = w.recipe(Some(g.id()), 1);
    recipe.uncles = vec![unknown_uncle];
    assert_eq!(
        w.validate(&mine(&w.config, &recipe)).unwrap_err().action(),
        PeerAction::FetchShares(vec![unknown_uncle])
    );
}

#[test]
fn uncle_rules() {
    let mut w = World::new();
    let g = w.add(&w.recipe(None, 0));
    let a1 = w.add(&w.recipe(Some(g.id()), 1));
    let mut b = w.recipe(Some(g.id()), 1);
    b.claim_key = test_claim_key(77);
    let b1 = w.add(&b);
    let a2 = w.add(&w.recipe(Some(a1.id()), 2));

    // A sibling of an ancestor is a good uncle.
    let mut r = w.recipe(Some(a2.id()), 3);
    r.uncles = vec![b1.id()];
    let a3 = w.add(&r);

    // Referenced twice along one chain.
    let mut again = w.recipe(Some(a3.id()), 4);
    again.uncles = vec![b1.id()];
    assert_eq!(
        w.validate(&mine(&w.config, &again)),
        Err(ShareError::UncleAlreadyReferenced(b1.id()))
    );

    // An ancestor cannot be an uncle.
    let mut anc = w.recipe(Some(a2.id()), 3);
    anc.uncles = vec![a1.id()];
    assert_eq!(
        w.validate(&mine(&w.config, &anc)),
        Err(ShareError::UncleInChain(a1.id()))
    );
    anc.uncles = vec![a2.id()];
    assert_eq!(
        w.validate(&mine(&w.config, &anc)),
        Err(ShareError::UncleInChain(a2.id()))
    );

    // Duplicates and too many are caught without any lookup.
    let mut dup = w.recipe(Some(a2.id()), 3);
    dup.uncles = vec![b1.id(), b1.id()];
    assert_eq!(
        check_share(&mine(&w.config, &dup), &w.config),
        Err(ShareError::DuplicateUncle(b1.id()))
    );
    dup.uncles = (1..=4).map(|i| ShareId::from_byte_array([i; 32])).collect();
    assert_eq!(
        check_share(&mine(&w.config, &dup), &w.config),
        Err(ShareError::TooManyUncles { count: 4, max: 3 })
    );

    // Too deep: b1 is at height 1; a share at height 5 may reach down to 2.
    let a4 = w.add(&w.recipe(Some(a3.id()), 4));
    let mut c = w.recipe(Some(a2.id()), 3);
    c.claim_key = test_claim_key(88);
    let c3 = w.add(&c);
    let mut deep = w.recipe(Some(a4.id()), 5);
    deep.uncles = vec![c3.id()];
    assert!(w.validate(&mine(&w.config, &deep)).is_ok());
    let mut b2r = w.recipe(Some(b1.id()), 2);
    b2r.claim_key = test_claim_key(99);
    let b2 = w.add(&b2r);
    deep.uncles = vec![b2.id()];
    assert!(matches!(
        w.validate(&mine(&w.config, &deep)),
        Err(ShareError::UncleTooDeep { .. }) | Err(ShareError::UncleNotSibling(_))
    ));
    let mut deeper = w.recipe(Some(a4.id()), 5);
    let mut x = w.recipe(Some(a1.id()), 2);
    x.claim_key = test_claim_key(111);
    let x2 = w.add(&x);
    deeper.uncles = vec![x2.id()];
    assert!(
        w.validate(&mine(&w.config, &deeper)).is_ok(),
        "height 2 from 5 is depth 3"
    );
    let mut a5 = w.recipe(Some(a4.id()), 5);
    a5.claim_key = test_claim_key(112);
    let a5 = w.add(&a5);
    let mut too_deep = w.recipe(Some(a5.id()), 6);
    too_deep.uncles = vec![x2.id()];
    assert_eq!(
        w.validate(&mine(&w.config, &too_deep)),
        Err(ShareError::UncleTooDeep {
            uncle: x2.id(),
            uncle_height: 2,
            height: 6
        })
    );

    // Not a sibling: a share of another chain's first share.
    let mut other_genesis = w.recipe(None, 0);
    other_genesis.claim_key = test_claim_key(120);
    let og = w.add(&other_genesis);
    let o1 = w.add(&w.recipe(Some(og.id()), 1));
    let mut foreign = w.recipe(Some(a2.id()), 3);
    foreign.uncles = vec![o1.id()];
    assert_eq!(
        w.validate(&mine(&w.config, &foreign)),
        Err(ShareError::UncleNotSibling(o1.id()))
    );

    // First shares have no uncles.
    let mut gu = w.recipe(None, 0);
    gu.uncles = vec![b1.id()];
    assert_eq!(
        w.validate(&mine(&w.config, &gu)),
        Err(ShareError::GenesisUncles)
    );
}

#[test]
fn other_chains_and_oversize_shares_are_banned() {
    let w = World::new();
    let other = SharechainConfig::new(w.config.params.clone(), ScriptBuf::from_bytes(vec![0x51]));
    let share = mine(&other, &w.recipe(None, 0));
    assert_eq!(w.validate(&share), Err(ShareError::WrongSharechain));
    let mut big = mine(&w.config, &w.recipe(None, 0));
    big.coinbase.output.push(TxOut {
        value: Amount::ZERO,
        script_pubkey: ScriptBuf::from_bytes(vec![0; 5000]),
    });
    assert!(matches!(
        check_share(&big, &w.config),
        Err(ShareError::Oversize(_))
    ));
    // The encoded size computed without encoding matches the encoding.
    let share = mine(&w.config, &w.recipe(None, 0));
    assert_eq!(encoded_len(&share), share.encode().len());
}

proptest::proptest! {
    #[test]
    fn mutated_valid_shares_never_panic_validation(
        edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 1..4),
    ) {
        let mut w = World::new();
        let g = w.add(&w.recipe(None, 0));
        let a1 = w.add(&w.recipe(Some(g.id()), 1));
        let mut b = w.recipe(Some(g.id()), 1);
        b.claim_key = test_claim_key(50);
        let b1 = w.add(&b);
        let mut r = w.recipe(Some(a1.id()), 2);
        r.uncles = vec![b1.id()];
        let mut bytes = mine(&w.config, &r).encode();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(share) = Share::decode(&bytes) {
            if let Err(e) = w.validate(&share) {
                let _ = e.action();
            }
        }
    }
}
