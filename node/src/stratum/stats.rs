//! Counters the Stratum server keeps per worker (accepted and rejected shares,
//! hashrate from accepted difficulty) for the JSON API and the logs.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::difficulty::Difficulty;

/// Time constant of the hashrate average: long enough to smooth the luck of a
/// few shares, short enough to show a miner going offline within minutes.
pub const HASHRATE_WINDOW: Duration = Duration::from_secs(300);
/// Workers tracked by name; beyond it new names are counted together, so a
/// hostile client cannot grow memory by authorizing endless names.
pub const MAX_TRACKED_WORKERS: usize = 10_000;
const OVERFLOW_WORKER: &str = "(other)";
/// Hashes per share of difficulty 1.
const HASHES_PER_DIFFICULTY: f64 = 4_294_967_296.0;

/// Exponentially decayed sum of accepted difficulty.
#[derive(Debug, Clone)]
struct DecayedRate {
    sum: f64,
    last: Instant,
    first: Instant,
}

impl DecayedRate {
    fn new(now: Instant) -> Self {
        DecayedRate {
            sum: 0.0,
            last: now,
            first: now,
        }
    }

    fn decayed(&self, now: Instant) -> f64 {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.sum * (-dt / HASHRATE_WINDOW.as_secs_f64()).exp()
    }

    fn add(&mut self, difficulty: f64, now: Instant) {
        self.sum = self.decayed(now) + difficulty;
        self.last = now;
    }

    /// Hashes per second: the decayed sum over the (start-up corrected) window.
    fn hashrate(&self, now: Instant) -> f64 {
        let tau = HASHRATE_WINDOW.as_secs_f64();
        let age = now
            .saturating_duration_since(self.first)
            .as_secs_f64()
            .max(1.0);
        let effective = tau * (1.0 - (-age / tau).exp());
        self.decayed(now) * HASHES_PER_DIFFICULTY / effective
    }
}

#[derive(Debug, Clone)]
struct WorkerStats {
    accepted: u64,
    accepted_difficulty: f64,
    rejected: BTreeMap<&'static str, u64>,
    best_difficulty: f64,
    last_share: Option<SystemTime>,
    rate: DecayedRate,
}

/// What the API shows for one worker.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerSnapshot {
    /// `name.worker` as authorized.
    pub name: String,
    /// Estimated hashes per second over about five minutes.
    pub hashrate: f64,
    /// Accepted shares.
    pub accepted: u64,
    /// Sum of the accepted shares' difficulties.
    pub accepted_difficulty: f64,
    /// Rejected shares by reason.
    pub rejected: BTreeMap<String, u64>,
    /// The highest difficulty a share of this worker reached.
    pub best_difficulty: f64,
    /// Unix time of the last accepted share.
    pub last_share_unix: Option<u64>,
}

/// Server-wide counters plus per-worker ones.
#[derive(Debug, Clone, Serialize)]
pub struct StratumSnapshot {
    /// Open miner connections.
    pub connections: usize,
    /// Sum of the workers' hashrates.
    pub hashrate: f64,
    /// Accepted shares, all workers.
    pub accepted: u64,
    /// Rejected requests by reason, all connections (including ones never authorized).
    pub rejected: BTreeMap<String, u64>,
    /// Per worker, sorted by name.
    pub workers: Vec<WorkerSnapshot>,
}

/// Shared statistics of one Stratum server; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StratumStats {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    connections: AtomicUsize,
    accepted: AtomicU64,
    workers: Mutex<HashMap<Arc<str>, WorkerStats>>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl StratumStats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn connection_opened(&self) {
        self.inner.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.inner.connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// Open connections now.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Accepted shares so far, all workers.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    /// Counts an accepted share credited at `credited`, whose hash reached `achieved`.
    pub fn record_accepted(
        &self,
        worker: &Arc<str>,
        credited: Difficulty,
        achieved: Difficulty,
        now: Instant,
    ) {
        self.inner.accepted.fetch_add(1, Ordering::Relaxed);
        let mut workers = self.inner.workers.lock().expect("stats lock poisoned");
        let stats = worker_entry(&mut workers, worker, now);
        stats.accepted += 1;
        stats.accepted_difficulty += credited.as_f64();
        stats.best_difficulty = stats.best_difficulty.max(achieved.as_f64());
        stats.last_share = Some(SystemTime::now());
        stats.rate.add(credited.as_f64(), now);
    }

    /// Counts a rejected request; per worker too when it names an authorized one.
    pub fn record_rejected(&self, worker: Option<&Arc<str>>, reason: &'static str, now: Instant) {
        *self
            .inner
            .rejected
            .lock()
            .expect("stats lock poisoned")
            .entry(reason)
            .or_default() += 1;
        if let Some(worker) = worker {
            let mut workers = self.inner.workers.lock().expect("stats lock poisoned");
            *worker_entry(&mut workers, worker, now)
                .rejected
                .entry(reason)
                .or_default() += 1;
        }
    }

    /// A copy of everything, for the API.
    pub fn snapshot(&self, now: Instant) -> StratumSnapshot {
        let mut workers: Vec<WorkerSnapshot> = self
            .inner
            .workers
            .lock()
            .expect("stats lock poisoned")
            .iter()
            .map(|(name, s)| WorkerSnapshot {
                name: name.to_string(),
                hashrate: s.rate.hashrate(now),
                accepted: s.accepted,
                accepted_difficulty: s.accepted_difficulty,
                rejected: s
                    .rejected
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect(),
                best_difficulty: s.best_difficulty,
                last_share_unix: s
                    .last_share
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()),
            })
            .collect();
        workers.sort_by(|a, b| a.name.cmp(&b.name));
        let rejected = self.inner.rejected.lock().expect("stats lock poisoned");
        StratumSnapshot {
            connections: self.connections(),
            hashrate: workers.iter().map(|w| w.hashrate).sum(),
            accepted: self.accepted(),
            rejected: rejected.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            workers,
        }
    }
}

fn worker_entry<'a>(
    workers: &'a mut HashMap<Arc<str>, WorkerStats>,
    name: &Arc<str>,
    now: Instant,
) -> &'a mut WorkerStats {
    let key = if workers.contains_key(name) || workers.len() < MAX_TRACKED_WORKERS {
        name.clone()
    } else {
        Arc::from(OVERFLOW_WORKER)
    };
    workers.entry(key).or_insert_with(|| WorkerStats {
        accepted: 0,
        accepted_difficulty: 0.0,
        rejected: BTreeMap::new(),
        best_difficulty: 0.0,
        last_share: None,
        rate: DecayedRate::new(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashrate_follows_accepted_difficulty() {
        let stats = StratumStats::new();
        let worker: Arc<str> = Arc::from("alice.rig1");
        let t0 = Instant::now();
        // One difficulty-1 share a second for ten minutes: 2^32 H/s.
        for i in 0..600 {
            stats.record_accepted(
                &worker,
                Difficulty::ONE,
                Difficulty::ONE,
                t0 + Duration::from_secs(i),
            );
        }
        let snap = stats.snapshot(t0 + Duration::from_secs(600));
        let w = &snap.workers[0];
        assert_eq!(w.accepted, 600);
        let ratio = w.hashrate / HASHES_PER_DIFFICULTY;
        assert!((0.9..1.1).contains(&ratio), "{ratio}");
        stats.record_rejected(Some(&worker), "low-difficulty", t0);
        stats.record_rejected(None, "malformed", t0);
        let snap = stats.snapshot(t0);
        assert_eq!(snap.workers[0].rejected["low-difficulty"], 1);
        assert_eq!(snap.rejected["malformed"], 1);
        assert_eq!(snap.rejected.values().sum::<u64>(), 2);
    }
}
