use super::*;
use proptest::prelude::*;

fn target(bits: CompactTarget) -> Target {
    Target::from_compact(bits)
}

/// Expected seconds to find a share at `bits` with `hashrate` hashes/s
/// (simulation only: floats never touch the consensus code).
fn share_secs(bits: CompactTarget, hashrate: f64) -> f64 {
    target(bits).difficulty_float() * 4_294_967_296.0 / hashrate
}

/// Simulates a chain mined at `hashrate` for `shares` shares from
/// `(height, time)`, each share found exactly when expected, and returns the
/// bits demanded of each child plus the final (height, time).
fn simulate(
    p: &ConsensusParams,
    anchor: u32,
    mut height: u32,
    mut time: f64,
    hashrate: f64,
    shares: usize,
) -> (Vec<CompactTarget>, u32, f64) {
    let mut out = Vec::new();
    for _ in 0..shares {
        let bits = expected_bits(p, anchor, height, time as u32);
        out.push(bits);
        time += share_secs(bits, hashrate);
        height += 1;
    }
    (out, height, time)
}

fn interval_ok(p: &ConsensusParams, bits: CompactTarget, hashrate: f64, tolerance: f64) -> bool {
    let secs = share_secs(bits, hashrate);
    let ideal = f64::from(p.share_interval_secs);
    (secs - ideal).abs() <= ideal * tolerance
}

#[test]
fn on_schedule_keeps_the_initial_target() {
    let p = ConsensusParams::mainnet();
    for h in [0u32, 1, 100, 100_000] {
        let t = 1_700_000_000 + h * p.share_interval_secs;
        assert_eq!(expected_bits(&p, 1_700_000_000, h, t), p.initial_share_bits);
    }
}

#[test]
fn one_half_life_late_doubles_and_early_halves_the_target() {
    let p = ConsensusParams::mainnet();
    let anchor = 1_700_000_000;
    let late = expected_bits(&p, anchor, 0, anchor + p.asert_half_life_secs);
    assert_eq!(
        target(late),
        Target::from_compact(CompactTarget::from_consensus(0x1b01_fffe))
    );
    let early = expected_bits(&p, anchor, 60, anchor);
    assert_eq!(early.to_consensus(), 0x1a7f_ff80);
}

#[test]
fn hashrate_ten_times_up_converges_within_400_shares() {
    let p = ConsensusParams::mainnet();
    let base = target(p.initial_share_bits).difficulty_float() * 4_294_967_296.0 / 10.0;
    let anchor = 1_700_000_000u32;
    // 200 shares on schedule, then ten times the hashrate.
    let (_, h, t) = simulate(&p, anchor, 0, f64::from(anchor), base, 200);
    let (bits, _, _) = simulate(&p, anchor, h, t, base * 10.0, 1000);
    let settled = bits
        .iter()
        .position(|b| interval_ok(&p, *b, base * 10.0, 0.1))
        .unwrap();
    eprintln!("10x up: within 10% after {settled} shares");
    assert!(settled <= 400, "took {settled} shares");
    // And it stays settled.
    assert!(bits[settled..]
        .iter()
        .all(|b| interval_ok(&p, *b, base * 10.0, 0.1)));
    // The jump made the target about ten times harder.
    let ratio =
        target(p.initial_share_bits).difficulty_float() / target(bits[999]).difficulty_float();
    assert!((0.09..0.11).contains(&ratio), "ratio {ratio}");
}

#[test]
fn hashrate_ten_times_down_converges_within_250_shares() {
    let p = ConsensusParams::mainnet();
    let base = target(p.initial_share_bits).difficulty_float() * 4_294_967_296.0 / 10.0;
    let anchor = 1_700_000_000u32;
    let (_, h, t) = simulate(&p, anchor, 0, f64::from(anchor), base, 200);
    let (bits, _, _) = simulate(&p, anchor, h, t, base / 10.0, 300);
    // Slow shares take long, so the clock (not the share count) drives it.
    let settled = bits
        .iter()
        .position(|b| interval_ok(&p, *b, base / 10.0, 0.1))
        .unwrap();
    eprintln!("10x down: within 10% after {settled} shares");
    assert!(settled <= 250, "took {settled} shares");
    assert!(bits[settled..]
        .iter()
        .all(|b| interval_ok(&p, *b, base / 10.0, 0.1)));
}

#[test]
fn a_vanished_pool_hits_the_easiest_target_and_a_flood_the_hardest() {
    for p in [
        ConsensusParams::mainnet(),
        ConsensusParams::regtest(),
        ConsensusParams::custom_signet(bitcoin::ScriptBuf::from_bytes(vec![0x51])),
    ] {
        let anchor = 1_000_000_000;
        assert_eq!(expected_bits(&p, anchor, 5, u32::MAX), p.max_share_bits);
        assert_eq!(
            expected_bits(&p, anchor, u32::MAX, anchor),
            p.min_share_bits
        );
    }
}

#[test]
fn regtest_and_signet_let_a_cpu_miner_find_shares() {
    // A slow CPU (100 kH/s, a debug build) on regtest drives the target to
    // the ~1 s interval without hitting the floor: shares keep coming.
    let p = ConsensusParams::regtest();
    let anchor = 1_700_000_000u32;
    let (bits, _, _) = simulate(&p, anchor, 0, f64::from(anchor), 100_000.0, 400);
    assert!(share_secs(bits[0], 100_000.0) < 1.0);
    assert!(interval_ok(&p, bits[399], 100_000.0, 0.25));
    // On signet-51 a 2 MH/s CPU settles at shares easier than its ~4.8
    // million hash blocks: shares and blocks are distinct events.
    let s = ConsensusParams::custom_signet(bitcoin::ScriptBuf::from_bytes(vec![0x51]));
    let (bits, _, _) = simulate(&s, anchor, 0, f64::from(anchor), 2_000_000.0, 400);
    let block = Target::from_compact(CompactTarget::from_consensus(0x1e03_77ae));
    assert!(target(bits[399]) > block);
    assert!(interval_ok(&s, bits[399], 2_000_000.0, 0.25));
}

#[test]
fn canonical_bits_only() {
    assert!(target_from_bits(CompactTarget::from_consensus(0x1d00_ffff)).is_some());
    assert!(target_from_bits(CompactTarget::from_consensus(0x207f_ffff)).is_some());
    // Targets of 2^255 and up need the 33rd byte (the mantissa's sign bit).
    assert!(target_from_bits(CompactTarget::from_consensus(0x2100_ffff)).is_some());
    for bad in [
        0u32,
        0x1d80_0000,
        0x1d00_0000,
        0x1c00_00ff,
        0x2101_0000,
        0xff7f_ffff,
        0x2200_0100,
        0x2000_7fff, // leading zero byte: 0x1f7fff00 is the canonical form
        0x0400_0001,
    ] {
        assert!(
            target_from_bits(CompactTarget::from_consensus(bad)).is_none(),
            "{bad:#x}"
        );
    }
}

#[test]
fn miners_may_choose_harder_within_the_bound() {
    let p = ConsensusParams::mainnet();
    let demanded = CompactTarget::from_consensus(0x1b00_ffff);
    assert!(check_share_bits(&p, demanded, demanded).is_ok());
    // 16 times harder is the limit on mainnet (shift 4).
    assert!(check_share_bits(&p, CompactTarget::from_consensus(0x1a0f_fff0), demanded).is_ok());
    assert!(matches!(
        check_share_bits(&p, CompactTarget::from_consensus(0x1a0f_ffef), demanded),
        Err(TargetError::TooHard { .. })
    ));
    assert!(matches!(
        check_share_bits(&p, CompactTarget::from_consensus(0x1b01_0000), demanded),
        Err(TargetError::TooEasy { .. })
    ));
    assert!(matches!(
        check_share_bits(&p, CompactTarget::from_consensus(0x1b80_0000), demanded),
        Err(TargetError::NonCanonical(_))
    ));
}

proptest! {
    #[test]
    fn demanded_bits_are_canonical_and_within_bounds(
        network in 0usize..3,
        anchor in any::<u32>(),
        height in any::<u32>(),
        time in any::<u32>(),
    ) {
        let p = [ConsensusParams::mainnet(), ConsensusParams::regtest(), ConsensusParams::signet()][network].clone();
        let bits = expected_bits(&p, anchor, height, time);
        let t = target_from_bits(bits).expect("canonical");
        prop_assert!(t <= p.max_share_target());
        prop_assert!(t >= p.min_share_target());
    }

    #[test]
    fn later_parents_never_get_harder_targets(
        anchor in 1_600_000_000u32..1_700_000_000,
        height in 0u32..10_000_000,
        time in 1_600_000_000u32..1_800_000_000,
        later in 0u32..100_000,
    ) {
        let p = ConsensusParams::mainnet();
        let a = target(expected_bits(&p, anchor, height, time));
        let b = target(expected_bits(&p, anchor, height, time.saturating_add(later)));
        prop_assert!(b >= a);
        // And a higher parent at the same time never gets an easier one.
        let c = target(expected_bits(&p, anchor, height + 1, time));
        prop_assert!(c <= a);
    }
}
