//! Reissue latency of 10 notes through 4 guardians (t = 3) on loopback:
//! real HTTP servers with real RocksDB, in one process; the client verifies
//! every share and combines. Prints p50, p90, p99 over 200 reissues.
//! Run: `cargo bench -p federation --features testing --bench reissue_latency`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::Network;
use federation::client::FederationClient;
use federation::guardian::Guardian;
use federation::{Denomination, Msat, PendingOutput};

const NOTES: usize = 10;
const ROUNDS: usize = 200;

#[tokio::main]
async fn main() {
    let listeners: Vec<tokio::net::TcpListener> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        v
    };
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let (config, secrets) = federation::dealer::deal(4, Network::Regtest, 20, |i| {
        format!("http://127.0.0.1:{}", ports[i])
    });
    let dir = tempfile::tempdir().unwrap();
    for (i, (secret, listener)) in secrets.iter().cloned().zip(listeners).enumerate() {
        let guardian = Guardian::open(
            config.clone(),
            secret,
            &dir.path().join(i.to_string()),
            None,
            None,
        )
        .unwrap();
        tokio::spawn(federation::guardian::http::serve(
            Arc::new(guardian),
            listener,
        ));
    }
    let client = FederationClient::new(config.clone());
    let d = Denomination::from_msat(1024).unwrap();
    let mut latencies = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS + 10 {
        let inputs: Vec<_> = (0..NOTES)
            .flat_map(|_| federation::dealer::mint(&config, &secrets, Msat::from_msat(1024)))
            .collect();
        let outputs: Vec<_> = (0..NOTES).map(|_| PendingOutput::random(d)).collect();
        let start = Instant::now();
        client.reissue(&inputs, &outputs, None).await.unwrap();
        if round >= 10 {
            latencies.push(start.elapsed());
        }
        // Let the fourth guardian finish before the next round is timed.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "reissue of {NOTES} notes, 4 guardians, t=3, loopback, {ROUNDS} rounds: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        at(0.50).as_secs_f64() * 1e3,
        at(0.90).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
}
