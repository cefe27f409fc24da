//! Benchmarks of the chain in memory: inserting a share (index, orphans,
//! best chain) and a PPLNS payout over a mainnet-size window. The RocksDB
//! benchmarks are in `store.rs`.
//!
//! Run: `cargo bench -p sharechain --bench chain`

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use sharechain::chain::testing::entry_with;
use sharechain::chain::{ChainEntry, ShareChain};
use sharechain::pplns::{payouts, Msat, PplnsWindow};
use sharechain::store::MemoryStore;

/// p2poolv2's largest window, in shares.
const WINDOW: u32 = 120_960;

/// Shares `first..first + count`, the first on share `first - 1`: every
/// tenth share (n % 10 == 5) is an orphan, a sibling of the tip, and the next
/// share lists it as an uncle, like a sharechain that loses one share in ten
/// to latency.
fn entries(first: u64, count: u64) -> Vec<ChainEntry> {
    let mut out = Vec::with_capacity(count as usize);
    let mut tip = (first > 1).then(|| first - 1);
    let mut tip_parent = None;
    let mut pending_uncle = None;
    for n in first..first + count {
        let work = 1_000_000 + u128::from(n % 1000);
        if n % 10 == 5 && tip_parent.is_some() {
            out.push(entry_with(n, tip_parent, &[], work));
            pending_uncle = Some(n);
            continue;
        }
        let uncles: Vec<u64> = pending_uncle.take().into_iter().collect();
        out.push(entry_with(n, tip, &uncles, work));
        tip_parent = tip;
        tip = Some(n);
    }
    out
}

fn chain_of(entries: &[ChainEntry]) -> ShareChain<MemoryStore> {
    let mut chain = ShareChain::open(MemoryStore::new()).unwrap();
    for e in entries {
        chain.insert(e.clone(), Vec::new()).unwrap();
    }
    chain
}

fn bench_insert(c: &mut Criterion) {
    let base = entries(1, 10_000);
    c.bench_function("insert share (memory store, 10k-share chain)", |b| {
        b.iter_custom(|iters| {
            let mut chain = chain_of(&base);
            let next = entries(10_001, iters);
            let start = Instant::now();
            for e in next {
                chain.insert(e, vec![0; 300]).unwrap();
            }
            start.elapsed()
        })
    });
}

fn bench_pplns(c: &mut Criterion) {
    let all = entries(1, u64::from(WINDOW) * 11 / 10 + 1000);
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
