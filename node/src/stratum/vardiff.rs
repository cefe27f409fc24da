//! Per-connection variable difficulty: steers each miner toward a configured
//! share rate.
//!
//! The approach is ckpool-like rather than powers of two: the connection's
//! hashrate is estimated from the difficulty it has submitted over a window
//! and the new difficulty is set in one step to `hashrate * interval`. One step
//! from any starting point matters because a miner can start many orders of
//! magnitude off (a Bitaxe at difficulty 1, a CPU miner at difficulty 1 needs
//! minutes a share); powers of two would need a retarget per doubling. A
//! hysteresis band (no change while the rate is within a factor of two) keeps
//! the difficulty steady for a miner at the right level. Difficulties below 1
//! need no special case.

use std::time::{Duration, Instant};

use super::difficulty::Difficulty;

/// Vardiff settings of a server.
#[derive(Debug, Clone)]
pub struct VardiffConfig {
    /// The time between shares to aim at (public-pool uses 10 s, ckpool about 3.3 s).
    pub share_interval: Duration,
    /// The difficulty a new connection starts at (a `mining.suggest_difficulty` overrides it).
    pub start: Difficulty,
    /// The lowest difficulty the server hands out.
    pub min: Difficulty,
    /// The highest difficulty the server hands out.
    pub max: Difficulty,
    /// False keeps every connection at its start (or suggested) difficulty.
    pub enabled: bool,
}

impl Default for VardiffConfig {
    fn default() -> Self {
        VardiffConfig {
            share_interval: Duration::from_secs(10),
            start: Difficulty::ONE,
            min: Difficulty::new(1e-12).expect("positive"),
            max: Difficulty::new(1e15).expect("positive"),
            enabled: true,
        }
    }
}

/// Shares counted before a retarget may happen early: fewer gives a noisy
/// rate; with 16 the estimate is within about 25 % most of the time.
const EARLY_RETARGET_SHARES: u32 = 16;
/// Share intervals after which the window is evaluated whatever the count,
/// so a miner far too slow for its difficulty is rescued.
const WINDOW_INTERVALS: u32 = 6;
/// The rate may drift this factor either way before the difficulty moves.
const HYSTERESIS: f64 = 2.0;

/// One connection's vardiff state.
#[derive(Debug, Clone)]
pub struct Vardiff {
    config: VardiffConfig,
    current: Difficulty,
    window_start: Instant,
    window_difficulty: f64,
    window_shares: u32,
    /// The current job's cap, below `config.max`.
    ceiling: Option<Difficulty>,
}

impl Vardiff {
    /// Starts at the configured difficulty.
    pub fn new(config: VardiffConfig, now: Instant) -> Self {
        let current = config.start.clamp(config.min, config.max);
        Vardiff {
            config,
            current,
            window_start: now,
            window_difficulty: 0.0,
            window_shares: 0,
            ceiling: None,
        }
    }

    /// The difficulty currently asked of the miner.
    pub fn current(&self) -> Difficulty {
        self.current
    }

    /// Sets the difficulty (a suggestion from the miner), clamped to the
    /// configured range, and restarts the measurement window.
    pub fn set(&mut self, difficulty: Difficulty, now: Instant) -> Difficulty {
        self.current = difficulty.clamp(self.config.min, self.max());
        self.restart(now);
        self.current
    }

    /// Raises the floor for this connection (`minimum-difficulty` of BIP 310).
    pub fn raise_min(&mut self, min: Difficulty, now: Instant) -> Option<Difficulty> {
        self.config.min = min.clamp(self.config.min, self.config.max);
        if self.current < self.config.min {
            Some(self.set(self.config.min, now))
        } else {
            None
        }
    }

    /// Caps the difficulty at `ceiling` (the share target of the current
    /// job: a harder Stratum difficulty would hide shares the sharechain
    /// wants), or lifts a previous cap with `None`. Returns the new
    /// difficulty when it changed.
    pub fn set_ceiling(&mut self, ceiling: Option<Difficulty>, now: Instant) -> Option<Difficulty> {
        self.ceiling = ceiling;
        let max = self.max();
        if self.current > max {
            self.current = max;
            self.restart(now);
            Some(self.current)
        } else {
            None
        }
    }

    /// The effective maximum: the configured one, or the job's cap when
    /// lower, never below the configured minimum.
    fn max(&self) -> Difficulty {
        match self.ceiling {
            Some(c) if c < self.config.min => self.config.min,
            Some(c) if c < self.config.max => c,
            _ => self.config.max,
        }
    }

    /// Records an accepted share; returns a new difficulty when it should change.
    pub fn on_share(&mut self, credited: Difficulty, now: Instant) -> Option<Difficulty> {
        self.window_difficulty += credited.as_f64();
        self.window_shares += 1;
        if self.window_shares >= EARLY_RETARGET_SHARES || self.window_elapsed(now) {
            self.retarget(now)
        } else {
            None
        }
    }

    /// Called periodically; retargets a connection that has gone quiet.
    pub fn on_tick(&mut self, now: Instant) -> Option<Difficulty> {
        if self.window_elapsed(now) {
            self.retarget(now)
        } else {
            None
        }
    }

    fn window_elapsed(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.window_start)
            >= self.config.share_interval * WINDOW_INTERVALS
    }

    fn retarget(&mut self, now: Instant) -> Option<Difficulty> {
        if !self.config.enabled {
            self.restart(now);
            return None;
        }
        let elapsed = now
            .saturating_duration_since(self.window_start)
            .as_secs_f64()
            .max(1e-3);
        let interval = self.config.share_interval.as_secs_f64();
        // With no share in the window the true rate is below one share per
        // window; assuming one gives an upper bound and a safe step down.
        let submitted = if self.window_shares == 0 {
            self.current.as_f64()
        } else {
            self.window_difficulty
        };
        let ideal = submitted / elapsed * interval;
        self.restart(now);
        let ratio = ideal / self.current.as_f64();
        if (1.0 / HYSTERESIS..=HYSTERESIS).contains(&ratio) {
            return None;
        }
        let next = Difficulty::new(ideal)
            .ok()?
            .clamp(self.config.min, self.max());
        if next == self.current {
            return None;
        }
        self.current = next;
        Some(next)
    }

    fn restart(&mut self, now: Instant) {
        self.window_start = now;
        self.window_difficulty = 0.0;
        self.window_shares = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> VardiffConfig {
        VardiffConfig {
            share_interval: Duration::from_secs(10),
            ..VardiffConfig::default()
        }
    }

    fn d(v: f64) -> Difficulty {
        Difficulty::new(v).unwrap()
    }

    #[test]
    fn a_flood_raises_the_difficulty_in_one_step() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        let mut changed = None;
        // 16 shares at difficulty 1 in 160 ms: 100 difficulty per second.
        for i in 1..=16 {
            changed = v.on_share(d(1.0), t0 + Duration::from_millis(10 * i));
        }
        let next = changed.expect("retarget after 16 shares").as_f64();
        assert!((next - 1000.0).abs() < 1.0, "{next}");
    }

    #[test]
    fn a_miner_at_the_right_rate_keeps_its_difficulty() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        for i in 1..=40u64 {
            assert_eq!(v.on_share(d(1.0), t0 + Duration::from_secs(10 * i)), None);
        }
        assert_eq!(v.current(), d(1.0));
    }

    #[test]
    fn silence_lowers_the_difficulty_below_one() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        assert_eq!(v.on_tick(t0 + Duration::from_secs(30)), None);
        let next = v
            .on_tick(t0 + Duration::from_secs(60))
            .expect("retarget after 6 intervals");
        assert!(next.as_f64() < 0.2, "{next}");
    }

    #[test]
    fn stays_within_bounds_and_can_be_disabled() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(
            VardiffConfig {
                max: d(10.0),
                ..config()
            },
            t0,
        );
        let mut last = None;
        for i in 1..=16 {
            last = v.on_share(d(1.0), t0 + Duration::from_millis(i)).or(last);
        }
        assert_eq!(last, Some(d(10.0)));

        let mut fixed = Vardiff::new(
            VardiffConfig {
                enabled: false,
                ..config()
            },
            t0,
        );
        for i in 1..=100 {
            assert_eq!(fixed.on_share(d(1.0), t0 + Duration::from_millis(i)), None);
        }
    }

    #[test]
    fn a_job_ceiling_caps_the_difficulty_until_lifted() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        assert_eq!(v.set_ceiling(Some(d(0.25)), t0), Some(d(0.25)));
        let mut last = None;
        for i in 1..=16 {
            last = v.on_share(d(0.25), t0 + Duration::from_millis(i)).or(last);
        }
        assert_eq!(
            v.current(),
            d(0.25),
            "fast shares cannot lift it over the cap"
        );
        assert_eq!(last, None);
        assert_eq!(
            v.set_ceiling(None, t0),
            None,
            "lifting the cap changes nothing at once"
        );
    }
}
