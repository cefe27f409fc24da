//! Kills a real process (SIGKILL) while it inserts shares into a RocksDB
//! store, again and again, and checks after each kill that every
//! acknowledged share survived and the chain reopens consistent.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rand::Rng;
use sharechain::chain::ShareChain;
use sharechain::store::{RocksStore, ShareStore};
use sharechain::types::ShareId;
use sharechain::ConsensusParams;

const ROUNDS: usize = 8;

#[test]
fn every_acknowledged_share_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shares");
    let mut acknowledged: BTreeMap<u64, String> = BTreeMap::new();
    let mut rng = rand::thread_rng();
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_writer"))
            .arg(&path)
            .arg("100000")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start crash_writer");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first acknowledgement (the store is open), then a random while.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("crash_writer acknowledges a share");
        let mut lines = vec![first];
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..200)));
        child.kill().expect("SIGKILL crash_writer");
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        for line in &lines {
            let (n, id) = line.split_once(' ').expect("`<n> <id>` lines");
            acknowledged.insert(n.parse().unwrap(), id.to_owned());
        }
        check_store(&path, &acknowledged, round);
    }
    assert!(
        acknowledged.len() >= ROUNDS,
        "every round acknowledged a share"
    );
}

fn check_store(path: &std::path::Path, acknowledged: &BTreeMap<u64, String>, round: usize) {
    let store = RocksStore::open(path).expect("reopen after SIGKILL");
    let loaded = store.load().unwrap();
    let chain = ShareChain::open(store, ConsensusParams::regtest())
        .expect("the chain reopens consistent after SIGKILL");
    let index = chain.index();
    let stored: HashMap<String, ShareId> = loaded
        .entries
        .iter()
        .map(|(_, e)| (e.id.to_string(), e.id))
        .collect();
    for (n, id) in acknowledged {
        let share = stored
            .get(id)
            .unwrap_or_else(|| panic!("round {round}: acknowledged share {n} ({id}) is lost"));
        let bytes = chain
            .share_bytes(share)
            .unwrap()
            .expect("bytes next to the entry");
        assert_eq!(
            &bytes[6..14],
            &n.to_le_bytes(),
            "round {round}: bytes of share {n}"
        );
    }
    // Every stored share is connected (open checks parents and uncles), and
    // the tip is the stored share with most cumulative work.
    assert_eq!(index.len(), loaded.entries.len());
    let best = loaded
        .entries
        .iter()
        .map(|(_, e)| index.cumulative_work(&e.id).unwrap())
        .max()
        .unwrap();
    assert_eq!(index.cumulative_work(&index.tip().unwrap()), Some(best));
    // The stored tip is the one the writer chose before the kill.
    assert_eq!(
        loaded.tip,
        index.tip(),
        "round {round}: stored tip is the best"
    );
}
