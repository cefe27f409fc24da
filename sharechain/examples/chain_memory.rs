//! Measures the resident memory of a chain index holding 100,000 shares
//! (one in ten an uncle), as the growth of the process's RSS.
//!
//! Run: `cargo run --release -p sharechain --example chain_memory`

use sharechain::chain::testing::lossy_chain;
use sharechain::chain::{ChainIndex, Readiness};
use sharechain::ConsensusParams;

const SHARES: u64 = 100_000;
const CHUNK: u64 = 1_000;

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
    let _ = lossy_chain(1, 1);
    let before = rss_bytes();
    let mut index = ChainIndex::new(ConsensusParams::mainnet());
    // Built in chunks so the entries waiting to be inserted stay small.
    for first in (1..=SHARES).step_by(CHUNK as usize) {
        for entry in lossy_chain(first, CHUNK) {
            let id = entry.id;
            match index.prepare(entry).expect("valid test chain") {
                Readiness::Ready(p) => {
                    index.apply(p);
                }
                other => panic!("test chain share {id} did not connect: {other:?}"),
            }
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
