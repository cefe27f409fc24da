//! Guardian signing throughput and client verification cost, in process.
//! Run: `cargo bench -p federation --features testing --bench federation`.

use federation::tbs;
use std::collections::BTreeMap;

use bitcoin::Network;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use federation::api::ReissueRequest;
use federation::crypto::{batch_check, PairingCheck};
use federation::guardian::Guardian;
use federation::{Denomination, Msat, PendingOutput};

const NOTES: usize = 10;

fn fresh_request(
    config: &federation::FederationConfig,
    secrets: &[federation::GuardianSecrets],
) -> ReissueRequest {
    let d = Denomination::from_msat(1024).unwrap();
    let inputs: Vec<_> = (0..NOTES)
        .flat_map(|_| federation::dealer::mint(config, secrets, Msat::from_msat(1024)))
        .collect();
    let outputs = (0..NOTES)
        .map(|_| PendingOutput::random(d).blinded())
        .collect();
    ReissueRequest::new(
        &config.id(),
        inputs.iter().map(|n| (n.note(), n.keypair())).collect(),
        outputs,
    )
}

fn guardian_reissue(c: &mut Criterion) {
    let (config, secrets) =
        federation::dealer::deal(4, Network::Regtest, 20, |i| format!("http://127.0.0.1:{i}"));
    let dir = tempfile::tempdir().unwrap();
    let guardian =
        Guardian::open(config.clone(), secrets[0].clone(), dir.path(), None, None).unwrap();
    let mut group = c.benchmark_group("guardian");
    group.throughput(Throughput::Elements(NOTES as u64));
    group.sample_size(30);
    group.bench_function("reissue 10 notes (verify, sign, synced commit)", |b| {
        b.iter_batched(
            || fresh_request(&config, &secrets),
            |request| guardian.reissue(&request).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn client_verify(c: &mut Criterion) {
    let (config, secrets) =
        federation::dealer::deal(4, Network::Regtest, 20, |i| format!("http://127.0.0.1:{i}"));
    let d = Denomination::from_msat(1024).unwrap();
    let outputs: Vec<PendingOutput> = (0..NOTES).map(|_| PendingOutput::random(d)).collect();
    let blinded: Vec<_> = outputs.iter().map(|o| o.blinded()).collect();
    let t = usize::from(config.threshold);
    let answers: Vec<(u64, Vec<tbs::BlindedSignatureShare>)> = secrets[..t]
        .iter()
        .map(|s| {
            let shares = blinded
                .iter()
                .map(|b| tbs::sign_message(b.blinded_message, s.key_shares[&d]))
                .collect();
            (s.peer.tbs_index(), shares)
        })
        .collect();
    let mut group = c.benchmark_group("client");
    group.throughput(Throughput::Elements(NOTES as u64));
    group.sample_size(30);
    group.bench_function(
        "verify t=3 shares per note, combine, unblind (10 notes)",
        |b| {
            b.iter(|| {
                for (peer, shares) in &answers {
                    let key = config.denominations[&d].shares[&federation::PeerId(*peer as u16)].0;
                    let checks: Vec<PairingCheck> = blinded
                        .iter()
                        .zip(shares)
                        .map(|(b, s)| PairingCheck {
                            message: b.blinded_message.0,
                            signature: s.0,
                            key,
                        })
                        .collect();
                    assert!(batch_check(&checks));
                }
                for (i, output) in outputs.iter().enumerate() {
                    let shares: BTreeMap<u64, _> =
                        answers.iter().map(|(p, s)| (*p, s[i])).collect();
                    output.finish(tbs::aggregate_signature_shares(&shares));
                }
            })
        },
    );
    group.bench_function(
        "verify t=3 shares per note one by one (10 notes, no batching)",
        |b| {
            b.iter(|| {
                for (peer, shares) in &answers {
                    let key = config.denominations[&d].shares[&federation::PeerId(*peer as u16)];
                    for (b, s) in blinded.iter().zip(shares) {
                        assert!(tbs::verify_signature_share(b.blinded_message, *s, key));
                    }
                }
            })
        },
    );
    group.finish();
}

criterion_group!(benches, guardian_reissue, client_verify);
criterion_main!(benches);
