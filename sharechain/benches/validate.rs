//! How fast a node validates shares: decode plus full validation against an
//! in-memory index and bitcoind, on realistic shares (a 12-level merkle
//! branch, as for a ~3,000-transaction block; an uncle on every other share).
//! Goal: at least 20,000 shares/s on one core.

use bitcoin::hashes::Hash;
use bitcoin::{CompactTarget, ScriptBuf, Txid};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sharechain::testkit::{
    mine, test_block_hash, test_claim_key, MemoryBitcoin, MemoryChain, ShareRecipe,
};
use sharechain::{validate_share, ConsensusParams, Share, SharechainConfig};

const SHARES: usize = 1000;
const T0: u32 = 1_700_000_000;

fn setup() -> (SharechainConfig, MemoryChain, MemoryBitcoin, Vec<Share>) {
    let params = ConsensusParams {
        initial_share_bits: CompactTarget::from_consensus(0x2000_ffff),
        ..ConsensusParams::regtest()
    };
    let config = SharechainConfig::new(
        params.clone(),
        ScriptBuf::from_bytes([&[0x00, 0x20][..], &[0x42; 32]].concat()),
    );
    let mut chain = MemoryChain::new(params);
    let mut bitcoin = MemoryBitcoin::default();
    bitcoin.add(test_block_hash(0), 100);
    let txids: Vec<Txid> = (0..3000u32).map(|i| Txid::hash(&i.to_le_bytes())).collect();
    let mut shares = Vec::new();
    let mut prev = None;
    let mut pending_uncle = None;
    for i in 0..SHARES as u32 {
        let mut recipe = ShareRecipe::new(
            test_block_hash(0),
            101,
            T0 + i,
            params_bits(&chain, prev, &config),
        );
        recipe.prev_share = prev;
        recipe.other_txids = txids.clone();
        recipe.claim_key = test_claim_key((i % 250) as u8 + 1);
        recipe.uncles = pending_uncle.take().into_iter().collect();
        let share = mine(&config, &recipe);
        chain.insert(&share);
        if i % 2 == 1 {
            let mut side = recipe.clone();
            side.uncles.clear();
            side.claim_key = test_claim_key(251);
            let sibling = mine(&config, &side);
            chain.insert(&sibling);
            pending_uncle = Some(sibling.id());
        }
        prev = Some(share.id());
        shares.push(share);
    }
    (config, chain, bitcoin, shares)
}

fn params_bits(
    chain: &MemoryChain,
    prev: Option<sharechain::ShareId>,
    config: &SharechainConfig,
) -> CompactTarget {
    use sharechain::ChainView;
    match prev {
        None => config.params.initial_share_bits,
        Some(p) => chain.expected_bits(&p).expect("parent filed"),
    }
}

fn bench(c: &mut Criterion) {
    let (config, chain, bitcoin, shares) = setup();
    let encoded: Vec<Vec<u8>> = shares.iter().map(Share::encode).collect();
    let now = T0 + SHARES as u32;
    for share in &shares {
        validate_share(share, &config, &chain, &bitcoin, now).expect("bench shares are valid");
    }
    let mut group = c.benchmark_group("shares");
    group.throughput(Throughput::Elements(SHARES as u64));
    group.bench_function("validate", |b| {
        b.iter(|| {
            for share in &shares {
                validate_share(share, &config, &chain, &bitcoin, now).unwrap();
            }
        })
    });
    group.bench_function("decode_and_validate", |b| {
        b.iter(|| {
            for bytes in &encoded {
                let share = Share::decode(bytes).unwrap();
                validate_share(&share, &config, &chain, &bitcoin, now).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
