//! Crash-test tool: appends test shares to a RocksDB share store, forks and
//! uncles included, and prints `<n> <share id>` once each insert returned,
//! i.e. once the share is acknowledged. The `crash_recovery` test kills it
//! with SIGKILL at random moments and checks what survived.
//!
//! Usage: `crash_writer <db-path> <shares-to-add>`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use sharechain::chain::testing::entry_with;
use sharechain::chain::ShareChain;
use sharechain::store::RocksStore;
use sharechain::ConsensusParams;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(count)) = (args.get(1), args.get(2).and_then(|c| c.parse::<u64>().ok()))
    else {
        eprintln!("usage: crash_writer <db-path> <shares-to-add>");
        return ExitCode::from(2);
    };
    match run(PathBuf::from(path), count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash_writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: PathBuf, count: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut chain = ShareChain::open(RocksStore::open(&path)?, ConsensusParams::regtest())?;
    let stdout = std::io::stdout();
    let first = chain.index().len() as u64 + 1;
    for n in first..first + count {
        let entry = next_entry(&chain, n);
        let id = entry.id;
        chain.insert(entry, share_bytes(n))?;
        let mut out = stdout.lock();
        writeln!(out, "{n} {id}")?;
        out.flush()?;
    }
    Ok(())
}

/// Share `n`: usually on the tip, every fifth on an ancestor one or two
/// below it (a fork), listing whatever uncles the rules allow.
fn next_entry(chain: &ShareChain<RocksStore>, n: u64) -> sharechain::chain::ChainEntry {
    let index = chain.index();
    let parent = index.tip().map(|tip| {
        let back: u32 = if n.is_multiple_of(5) {
            1 + (n / 5 % 2) as u32
        } else {
            0
        };
        let height = index
            .height(&tip)
            .expect("tip is connected")
            .saturating_sub(back);
        index
            .ancestor(&tip, height)
            .expect("ancestor below the tip")
    });
    let work = 100 + u128::from(n % 37);
    let mut entry = entry_with(n, None, &[], work);
    entry.parent = parent;
    entry.uncles = parent
        .map(|p| index.uncle_candidates(&p))
        .unwrap_or_default();
    entry
}

/// The bytes stored for share `n`, which the test checks after a crash.
pub fn share_bytes(n: u64) -> Vec<u8> {
    let mut bytes = b"share ".to_vec();
    bytes.extend_from_slice(&n.to_le_bytes());
    bytes.resize(300, n as u8);
    bytes
}
