//! Benchmarks of the RocksDB share store: inserting a share with its synced
//! write, and loading a 100,000-share chain at start.
//!
//! Run: `cargo bench -p sharechain --bench store`

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sharechain::chain::testing::entry_with;
use sharechain::chain::{ChainEntry, ShareChain};
use sharechain::store::RocksStore;

const LOAD_SHARES: u64 = 100_000;

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

fn bench_insert(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = ShareChain::open(RocksStore::open(&dir.path().join("db")).unwrap()).unwrap();
    let mut n = 1;
    let mut group = c.benchmark_group("rocksdb");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("insert share (rocksdb, synced write)", |b| {
        b.iter_custom(|iters| {
            let next = entries(n, iters);
            n += iters;
            let start = Instant::now();
            for e in next {
                chain.insert(e, vec![0; 300]).unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
}

fn build_db(path: &Path) {
    let mut chain = ShareChain::open(RocksStore::open_unsynced(path).unwrap()).unwrap();
    for e in entries(1, LOAD_SHARES) {
        chain.insert(e, vec![0; 300]).unwrap();
    }
}

fn bench_load(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    build_db(&path);
    let mut group = c.benchmark_group("load");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("open a 100,000-share chain from rocksdb", |b| {
        b.iter(|| {
            let chain = ShareChain::open(RocksStore::open(&path).unwrap()).unwrap();
            assert_eq!(chain.index().len() as u64, LOAD_SHARES);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_insert, bench_load);
criterion_main!(benches);
