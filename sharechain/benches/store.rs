//! Benchmarks of the RocksDB share store: inserting a share with its synced
//! write, and loading a 100,000-share chain at start.
//!
//! Run: `cargo bench --profile dev -p sharechain -p cli --bench store` (see
//! docs/benchmarks.md: `-p cli` only makes cargo reuse the workspace's
//! RocksDB build)

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sharechain::chain::testing::lossy_chain;
use sharechain::chain::ShareChain;
use sharechain::store::RocksStore;
use sharechain::ConsensusParams;

const LOAD_SHARES: u64 = 100_000;

fn bench_insert(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = ShareChain::open(
        RocksStore::open(&dir.path().join("db")).unwrap(),
        ConsensusParams::mainnet(),
    )
    .unwrap();
    let mut n = 1;
    let mut group = c.benchmark_group("rocksdb");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("insert share (rocksdb, synced write)", |b| {
        b.iter_custom(|iters| {
            let next = lossy_chain(n, iters);
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
    let mut chain = ShareChain::open(
        RocksStore::open_unsynced(path).unwrap(),
        ConsensusParams::mainnet(),
    )
    .unwrap();
    for e in lossy_chain(1, LOAD_SHARES) {
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
            let chain =
                ShareChain::open(RocksStore::open(&path).unwrap(), ConsensusParams::mainnet())
                    .unwrap();
            assert_eq!(chain.index().len() as u64, LOAD_SHARES);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_insert, bench_load);
criterion_main!(benches);
