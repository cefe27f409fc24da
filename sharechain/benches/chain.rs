//! Benchmarks of the chain in memory: inserting a share (index, orphans,
//! best chain) and a PPLNS payout over a mainnet-size window. The RocksDB
//! benchmarks are in `store.rs`.
//!
//! Run: `cargo bench --profile dev -p sharechain -p cli --bench chain` (see
//! docs/benchmarks.md: `-p cli` only makes cargo reuse the workspace's
//! RocksDB build)

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use sharechain::chain::testing::lossy_chain;
use sharechain::chain::{ChainEntry, ShareChain};
use sharechain::pplns::{payouts, Msat, PplnsWindow};
use sharechain::store::MemoryStore;
use sharechain::ConsensusParams;

/// p2poolv2's largest window, in shares.
const WINDOW: u32 = 120_960;

fn chain_of(entries: &[ChainEntry]) -> ShareChain<MemoryStore> {
    let mut chain = ShareChain::open(MemoryStore::new(), ConsensusParams::mainnet()).unwrap();
    for e in entries {
        chain.insert(e.clone(), Vec::new()).unwrap();
    }
    chain
}

fn bench_insert(c: &mut Criterion) {
    let base = lossy_chain(1, 10_000);
    c.bench_function("insert share (memory store, 10k-share chain)", |b| {
        b.iter_custom(|iters| {
            let mut chain = chain_of(&base);
            let next = lossy_chain(10_001, iters);
            let start = Instant::now();
            for e in next {
                chain.insert(e, vec![0; 300]).unwrap();
            }
            start.elapsed()
        })
    });
}

fn bench_pplns(c: &mut Criterion) {
    let all = lossy_chain(1, u64::from(WINDOW) * 11 / 10 + 1000);
    let chain = chain_of(&all);
    let tip = chain.index().tip().unwrap();
    let window = PplnsWindow {
        max_shares: WINDOW,
        max_work: None,
    };
    let paid = payouts(
        chain.index(),
        &tip,
        Msat::from_msat(312_500_000_000),
        window,
    )
    .unwrap();
    assert!(
        paid.len() > WINDOW as usize,
        "the window is full and holds uncles"
    );
    let mut group = c.benchmark_group("pplns");
    group.sample_size(20);
    group.bench_function("payout over a 120,960-share window", |b| {
        b.iter(|| {
            payouts(
                chain.index(),
                &tip,
                Msat::from_msat(312_500_000_000),
                window,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_insert, bench_pplns);
criterion_main!(benches);
