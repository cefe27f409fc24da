//! Measures the resident memory of a chain index holding 100,000 shares
//! (one in ten an uncle), as the growth of the process's RSS.
//!
//! Run: `cargo run --release -p sharechain --example chain_memory`

use sharechain::chain::testing::entry_with;
use sharechain::chain::{ChainIndex, Readiness};

const SHARES: u64 = 100_000;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("linux /proc");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field is the resident page count");
    pages * 4096
}

fn main() {
    // Warm the claim-key cache so it is not counted.
    let _ = entry_with(0, None, &[], 1);
    let before = rss_bytes();
    let mut index = ChainIndex::new();
    let (mut tip, mut tip_parent, mut uncle) = (None, None, None);
    for n in 1..=SHARES {
        let entry = if n % 10 == 5 && tip_parent.is_some() {
            uncle = Some(n);
            entry_with(n, tip_parent, &[], 1_000_000)
        } else {
            let uncles: Vec<u64> = uncle.take().into_iter().collect();
            let e = entry_with(n, tip, &uncles, 1_000_000);
            tip_parent = tip;
            tip = Some(n);
            e
        };
        match index.prepare(entry).expect("valid test chain") {
            Readiness::Ready(p) => {
                index.apply(p);
            }
            other => panic!("test chain share {n} did not connect: {other:?}"),
        }
    }
    let after = rss_bytes();
    let grown = after - before;
    println!(
        "{} shares in the index: RSS grew by {:.1} MiB ({} bytes per share)",
        index.len(),
        grown as f64 / (1024.0 * 1024.0),
        grown / SHARES
    );
}
