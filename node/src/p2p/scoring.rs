//! Peer scores and bans: each offense costs points, a peer at or below
//! [`BAN_SCORE`] is banned for a while (kept in memory and in the data dir),
//! and inbound requests are rate limited per peer with a token bucket.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libp2p::PeerId;

/// Score at or below which a peer is banned.
pub const BAN_SCORE: i32 = -100;

/// Something a peer did wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offense {
    /// Sent a share the sharechain rules prove invalid (ban at once).
    InvalidShare,
    /// Sent bytes that do not decode (share or sync message).
    Malformed,
    /// Answered a sync request with shares or ids it was not asked for, or
    /// that do not exist.
    BogusAnswer,
    /// Sent requests faster than the rate limit.
    RequestFlood,
    /// A request to it failed or timed out.
    Unresponsive,
}

impl Offense {
    /// Points the offense costs.
    pub fn cost(self) -> i32 {
        match self {
            Offense::InvalidShare => 100,
            Offense::Malformed => 50,
            Offense::BogusAnswer => 50,
            Offense::RequestFlood => 10,
            Offense::Unresponsive => 2,
        }
    }
}

/// Scores, bans and request budgets of peers.
#[derive(Debug)]
pub struct PeerScores {
    scores: HashMap<PeerId, i32>,
    bans: HashMap<PeerId, SystemTime>,
    buckets: HashMap<PeerId, Bucket>,
    ban_duration: Duration,
    rate: RateLimit,
    path: Option<PathBuf>,
}

/// Inbound request budget per peer.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Requests a peer may send in a burst.
    pub burst: u32,
    /// Requests per second refilled.
    pub per_second: u32,
}

#[derive(Debug)]
struct Bucket {
    tokens: u32,
    last: Instant,
}

impl PeerScores {
    /// Scores with bans lasting `ban_duration`, persisted in `path` if given
    /// (earlier bans still running are loaded from it).
    pub fn new(ban_duration: Duration, rate: RateLimit, path: Option<PathBuf>) -> Self {
        let bans = path.as_deref().map(load_bans).unwrap_or_default();
        PeerScores {
            scores: HashMap::new(),
            bans,
            buckets: HashMap::new(),
            ban_duration,
            rate,
            path,
        }
    }

    /// Records an offense; returns true if the peer is now newly banned.
    pub fn punish(&mut self, peer: PeerId, offense: Offense) -> bool {
        let score = self.scores.entry(peer).or_insert(0);
        *score -= offense.cost();
        tracing::debug!(%peer, ?offense, score = *score, "peer scored down");
        if *score > BAN_SCORE || self.is_banned(&peer) {
            return false;
        }
        self.bans
            .insert(peer, SystemTime::now() + self.ban_duration);
        self.save();
        true
    }

    /// Bans a peer outright (e.g. one on another sharechain) without scoring.
    pub fn ban(&mut self, peer: PeerId) {
        self.bans
            .insert(peer, SystemTime::now() + self.ban_duration);
        self.save();
    }

    /// Whether the peer is banned now.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.bans
            .get(peer)
            .is_some_and(|until| *until > SystemTime::now())
    }

    /// Peers banned now.
    pub fn banned(&self) -> Vec<PeerId> {
        let now = SystemTime::now();
        self.bans
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Drops expired bans (and their scores); returns the peers to unblock.
    pub fn expire(&mut self) -> Vec<PeerId> {
        let now = SystemTime::now();
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in &expired {
            self.bans.remove(peer);
            self.scores.remove(peer);
        }
        if !expired.is_empty() {
            self.save();
        }
        expired
    }

    /// The peer's current score (0 if it never offended).
    pub fn score(&self, peer: &PeerId) -> i32 {
        self.scores.get(peer).copied().unwrap_or(0)
    }

    /// Takes one request from the peer's budget; false if it is exhausted.
    pub fn allow_request(&mut self, peer: PeerId) -> bool {
        let rate = self.rate;
        let now = Instant::now();
        let bucket = self.buckets.entry(peer).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        let refill =
            now.duration_since(bucket.last).as_millis() as u64 * rate.per_second as u64 / 1000;
        if refill > 0 {
            bucket.tokens = (bucket.tokens as u64 + refill).min(rate.burst as u64) as u32;
            bucket.last = now;
        }
        if bucket.tokens == 0 {
            return false;
        }
        bucket.tokens -= 1;
        true
    }

    /// Forgets the request budget of a disconnected peer.
    pub fn forget(&mut self, peer: &PeerId) {
        self.buckets.remove(peer);
    }

    fn save(&self) {
        let Some(path) = &self.path else { return };
        let mut text = String::new();
        for (peer, until) in &self.bans {
            let secs = until
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            text.push_str(&format!("{peer} {secs}\n"));
        }
        if let Err(err) = std::fs::write(path, text) {
            tracing::warn!(path = %path.display(), %err, "cannot save the ban list; bans last until restart");
        }
    }
}

fn load_bans(path: &Path) -> HashMap<PeerId, SystemTime> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let (peer, secs) = line.split_once(' ')?;
            let until = UNIX_EPOCH + Duration::from_secs(secs.trim().parse().ok()?);
            Some((peer.parse().ok()?, until))
        })
        .filter(|(_, until)| *until > SystemTime::now())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(path: Option<PathBuf>) -> PeerScores {
        PeerScores::new(
            Duration::from_secs(60),
            RateLimit {
                burst: 3,
                per_second: 1,
            },
            path,
        )
    }

    #[test]
    fn an_invalid_share_bans_at_once_small_faults_add_up() {
        let mut s = scores(None);
        let (bad, slow) = (PeerId::random(), PeerId::random());
        assert!(s.punish(bad, Offense::InvalidShare));
        assert!(s.is_banned(&bad));
        assert!(!s.punish(bad, Offense::InvalidShare), "already banned");
        for _ in 0..9 {
            assert!(!s.punish(slow, Offense::RequestFlood));
        }
        assert!(s.punish(slow, Offense::RequestFlood));
    }

    #[test]
    fn request_budget_runs_out_and_refills() {
        let mut s = scores(None);
        let peer = PeerId::random();
        assert!((0..3).all(|_| s.allow_request(peer)));
        assert!(!s.allow_request(peer));
        std::thread::sleep(Duration::from_millis(1100));
        assert!(s.allow_request(peer));
    }

    #[test]
    fn bans_survive_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bans");
        let peer = PeerId::random();
        scores(Some(path.clone())).punish(peer, Offense::InvalidShare);
        assert!(scores(Some(path)).is_banned(&peer));
    }
}
