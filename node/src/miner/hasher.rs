//! The hashing threads: plain OS threads (the work is pure CPU) that search the
//! current [`Work`], each over its own extranonce2 values, and report headers
//! meeting the share target through a channel.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use bitcoin::block::{Header, Version};
use tokio::sync::mpsc::UnboundedSender;

use super::work::{next_version_bits, Found, HeaderScanner, Work};

/// Nonces tried between checks for new work: about a millisecond of hashing,
/// so a new job is picked up at once without slowing the search.
const BATCH: u32 = 4096;

/// State shared between the Stratum client and the hashing threads.
#[derive(Debug, Default)]
pub struct Shared {
    work: RwLock<Option<Arc<Work>>>,
    generation: AtomicU64,
    stop: AtomicBool,
    hashes: AtomicU64,
    /// The next extranonce2 to search. Never reused, so a job sent again
    /// (after a difficulty change) does not produce the same shares twice.
    next_extranonce2: AtomicU64,
}

impl Shared {
    /// Replaces the work every thread searches (None pauses them).
    pub fn set_work(&self, work: Option<Arc<Work>>) {
        *self.work.write().expect("work lock poisoned") = work;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Asks every thread to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Hashes computed so far, all threads.
    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    /// The work being searched now.
    pub fn current_work(&self) -> Option<Arc<Work>> {
        self.work.read().expect("work lock poisoned").clone()
    }

    fn current(&self) -> (u64, Option<Arc<Work>>) {
        let generation = self.generation.load(Ordering::Acquire);
        (
            generation,
            self.work.read().expect("work lock poisoned").clone(),
        )
    }

    fn changed(&self, generation: u64) -> bool {
        self.stop.load(Ordering::Relaxed) || self.generation.load(Ordering::Relaxed) != generation
    }
}

/// Starts `threads` hashing threads.
pub fn spawn(
    threads: usize,
    shared: Arc<Shared>,
    found: UnboundedSender<Found>,
) -> Vec<JoinHandle<()>> {
    (0..threads)
        .map(|index| {
            let shared = shared.clone();
            let found = found.clone();
            std::thread::Builder::new()
                .name(format!("hasher-{index}"))
                .spawn(move || thread_loop(&shared, &found))
                .expect("the OS can start a thread")
        })
        .collect()
}

fn thread_loop(shared: &Shared, found: &UnboundedSender<Found>) {
    while !shared.stop.load(Ordering::Acquire) {
        let (generation, work) = shared.current();
        match work {
            Some(work) => search(&work, generation, shared, found),
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Searches until the work changes: fresh extranonce2 values from the shared
/// counter, and for each, every rolled version and every nonce.
fn search(work: &Work, generation: u64, shared: &Shared, found: &UnboundedSender<Found>) {
    let base_version = work.header.version.to_consensus() as u32;
    loop {
        let counter = shared.next_extranonce2.fetch_add(1, Ordering::Relaxed);
        let extranonce2 = work.extranonce2(counter);
        let merkle_root = work.merkle_root(&extranonce2);
        let mut version_bits = 0u32;
        loop {
            let version = Version::from_consensus(
                ((base_version & !work.version_mask) | version_bits) as i32,
            );
            let header = Header {
                version,
                merkle_root,
                ..work.header
            };
            let mut scanner = HeaderScanner::new(&header, work.target);
            let mut nonce: u32 = 0;
            loop {
                for _ in 0..BATCH {
                    if let Some(hash) = scanner.check(nonce) {
                        let _ = found.send(Found {
                            job_id: work.job_id.clone(),
                            extranonce2: hex::encode(&extranonce2),
                            ntime: header.time,
                            nonce,
                            version_bits: (work.version_mask != 0).then_some(version_bits),
                            hash,
                        });
                    }
                    nonce = nonce.wrapping_add(1);
                }
                shared.hashes.fetch_add(u64::from(BATCH), Ordering::Relaxed);
                if shared.changed(generation) {
                    return;
                }
                if nonce == 0 {
                    break;
                }
            }
            version_bits = next_version_bits(version_bits, work.version_mask);
            if version_bits == 0 {
                break;
            }
        }
    }
}
