//! One miner connection's protocol state: subscribe, authorize, configure,
//! difficulty, the jobs it was sent, and submit checking. No I/O here: the
//! connection task feeds lines, jobs and clock ticks in and writes out the
//! lines this produces.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::BlockHash;
use serde_json::{Map, Value};

use super::difficulty::Difficulty;
use super::error::StratumError;
use super::extranonce::{Extranonce1, ExtranonceAllocator, ExtranonceLease};
use super::job::{Job, JobId};
use super::protocol::{
    error_line, result_line, set_difficulty_line, Call, ConfigureParams, Request, SubmitParams,
    SubscribeParams,
};
use super::sink::{Solution, SolutionSink};
use super::stats::StratumStats;
use super::submit::rebuild;
use super::vardiff::{Vardiff, VardiffConfig};

/// The version bits this server lets miners roll (BIP 310's usual mask,
/// leaving the top three bits and the low BIP 9 signalling bits alone).
pub const DEFAULT_VERSION_MASK: u32 = 0x1fff_e000;
/// Jobs a connection may still submit to: with a refresh every 30 s this
/// covers a few minutes, far more than any miner's queue.
pub const MAX_JOBS_PER_CONNECTION: usize = 16;
/// Workers one connection may authorize; a proxy may carry several.
pub const MAX_WORKERS_PER_CONNECTION: usize = 64;
/// Accepted shares remembered per job for duplicate detection; vardiff keeps a
/// real miner far below this, so reaching it means a misbehaving client.
pub const MAX_SHARES_PER_JOB: usize = 65_536;
/// Lines that are not JSON-RPC at all before the connection is closed.
pub const MAX_MALFORMED_LINES: u32 = 16;

/// Settings shared by every session of a server.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Bytes of extranonce2 the miner rolls.
    pub extranonce2_size: usize,
    /// The server's version-rolling mask (ANDed with the miner's).
    pub version_mask: u32,
    /// Vardiff settings.
    pub vardiff: VardiffConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            extranonce2_size: 8,
            version_mask: DEFAULT_VERSION_MASK,
            vardiff: VardiffConfig::default(),
        }
    }
}

/// What the connection should do after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep the connection.
    Continue,
    /// Write what is queued, then close.
    Close,
}

#[derive(Debug)]
struct SentJob {
    job: Arc<Job>,
    /// The lowest difficulty in force while this job was the miner's work.
    difficulty: Difficulty,
    accepted: HashSet<BlockHash>,
}

/// Shared services a session needs.
#[derive(Clone)]
pub struct SessionDeps {
    /// Settings.
    pub config: Arc<SessionConfig>,
    /// Extranonce1 allocator of the server.
    pub allocator: ExtranonceAllocator,
    /// Statistics of the server.
    pub stats: StratumStats,
    /// Where accepted shares go.
    pub sink: Arc<dyn SolutionSink>,
}

/// The protocol state of one connection.
pub struct Session {
    deps: SessionDeps,
    lease: Option<ExtranonceLease>,
    user_agent: Option<String>,
    version_mask: u32,
    workers: Vec<Arc<str>>,
    vardiff: Vardiff,
    sent_difficulty: Option<Difficulty>,
    jobs: VecDeque<SentJob>,
    latest: Option<Arc<Job>>,
    last_prevhash: Option<BlockHash>,
    malformed: u32,
    last_activity: Instant,
}

impl Session {
    /// A fresh session; `latest` is the current job, if any.
    pub fn new(deps: SessionDeps, latest: Option<Arc<Job>>, now: Instant) -> Self {
        let vardiff = Vardiff::new(deps.config.vardiff.clone(), now);
        Session {
            deps,
            lease: None,
            user_agent: None,
            version_mask: 0,
            workers: Vec::new(),
            vardiff,
            sent_difficulty: None,
            jobs: VecDeque::new(),
            latest,
            last_prevhash: None,
            malformed: 0,
            last_activity: now,
        }
    }

    /// True once subscribed and at least one worker is authorized.
    pub fn is_ready(&self) -> bool {
        self.lease.is_some() && !self.workers.is_empty()
    }

    /// The extranonce1, once subscribed.
    pub fn extranonce1(&self) -> Option<Extranonce1> {
        self.lease.as_ref().map(ExtranonceLease::value)
    }

    /// The user agent from `mining.subscribe`.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The current difficulty.
    pub fn difficulty(&self) -> Difficulty {
        self.vardiff.current()
    }

    /// Time since the last request that was not an error.
    pub fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_activity)
    }

    /// Handles one line from the miner, appending answers to `out`.
    pub fn handle_line(&mut self, line: &[u8], now: Instant, out: &mut Vec<String>) -> Flow {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Flow::Continue;
        }
        let request = match Request::parse(line) {
            Ok(request) => request,
            Err(error) => {
                self.deps.stats.record_rejected(None, error.reason(), now);
                out.push(error_line("null", &error));
                self.malformed += 1;
                return if self.malformed >= MAX_MALFORMED_LINES {
                    Flow::Close
                } else {
                    Flow::Continue
                };
            }
        };
        let id = request.id_json().to_owned();
        let call = match Call::from_request(&request) {
            Ok(call) => call,
            Err(error) => {
                self.deps.stats.record_rejected(None, error.reason(), now);
                if !request.is_notification() {
                    out.push(error_line(&id, &error));
                }
                return Flow::Continue;
            }
        };
        match self.dispatch(call, &id, now, out) {
            Ok(()) => self.last_activity = now,
            Err((worker, error)) => {
                self.deps
                    .stats
                    .record_rejected(worker.as_ref(), error.reason(), now);
                out.push(error_line(&id, &error));
            }
        }
        Flow::Continue
    }

    /// A new job from the node: sent at once when the miner is ready.
    pub fn on_job(&mut self, job: Arc<Job>, out: &mut Vec<String>) {
        self.latest = Some(job.clone());
        if self.is_ready() {
            self.send_job(job, out);
        }
    }

    /// Periodic housekeeping: lets vardiff lower the difficulty of a quiet miner.
    pub fn on_tick(&mut self, now: Instant, out: &mut Vec<String>) {
        if self.is_ready() && self.vardiff.on_tick(now).is_some() {
            self.resend_with_difficulty(out);
        }
    }

    fn dispatch(
        &mut self,
        call: Call,
        id: &str,
        now: Instant,
        out: &mut Vec<String>,
    ) -> Result<(), (Option<Arc<str>>, StratumError)> {
        match call {
            Call::Subscribe(params) => self.subscribe(params, id, out),
            Call::Authorize(params) => self
                .authorize(params.worker, id, out)
                .map_err(|e| (None, e))?,
            Call::Configure(params) => self.configure(params, id, now, out),
            Call::SuggestDifficulty(difficulty) => {
                self.vardiff.set(difficulty, now);
                out.push(result_line(id, &true));
                if self.sent_difficulty.is_some() {
                    self.resend_with_difficulty(out);
                }
            }
            Call::ExtranonceSubscribe => out.push(result_line(id, &true)),
            Call::Submit(params) => self.submit(params, id, now, out)?,
        }
        Ok(())
    }

    fn subscribe(&mut self, params: SubscribeParams, id: &str, out: &mut Vec<String>) {
        let requested = params.session_id.as_deref().and_then(Extranonce1::parse);
        let keep = matches!((&self.lease, requested), (Some(lease), Some(r)) if lease.value() == r)
            || (self.lease.is_some() && requested.is_none());
        if !keep {
            // Release first so a resume of our own value succeeds.
            self.lease = None;
            self.lease = Some(self.deps.allocator.allocate(requested));
        }
        if params.user_agent.is_some() {
            self.user_agent = params.user_agent;
        }
        let en1 = self.extranonce1().expect("leased above").to_string();
        let result = (
            [
                ["mining.set_difficulty", en1.as_str()],
                ["mining.notify", en1.as_str()],
            ],
            en1.as_str(),
            self.deps.config.extranonce2_size,
        );
        out.push(result_line(id, &result));
        self.send_first_job(out);
    }

    fn authorize(
        &mut self,
        worker: String,
        id: &str,
        out: &mut Vec<String>,
    ) -> Result<(), StratumError> {
        if !self.workers.iter().any(|w| **w == *worker) {
            if self.workers.len() >= MAX_WORKERS_PER_CONNECTION {
                return Err(StratumError::InvalidParams {
                    method: "mining.authorize",
                    detail: format!("at most {MAX_WORKERS_PER_CONNECTION} workers per connection"),
                });
            }
            self.workers.push(Arc::from(worker));
        }
        out.push(result_line(id, &true));
        self.send_first_job(out);
        Ok(())
    }

    fn configure(
        &mut self,
        params: ConfigureParams,
        id: &str,
        now: Instant,
        out: &mut Vec<String>,
    ) {
        let mut answer = Map::new();
        for extension in &params.extensions {
            match extension.as_str() {
                "version-rolling" => {
                    let miner_mask = params.version_rolling_mask.unwrap_or(u32::MAX);
                    self.version_mask = self.deps.config.version_mask & miner_mask;
                    answer.insert("version-rolling".into(), Value::Bool(true));
                    answer.insert(
                        "version-rolling.mask".into(),
                        Value::String(format!("{:08x}", self.version_mask)),
                    );
                }
                "minimum-difficulty" => {
                    let ok = params.minimum_difficulty.is_some();
                    if let Some(min) = params.minimum_difficulty {
                        if self.vardiff.raise_min(min, now).is_some()
                            && self.sent_difficulty.is_some()
                        {
                            self.resend_with_difficulty(out);
                        }
                    }
                    answer.insert("minimum-difficulty".into(), Value::Bool(ok));
                }
                // We never change extranonce1 mid-session, so the notification is trivially honoured.
                "subscribe-extranonce" => {
                    answer.insert("subscribe-extranonce".into(), Value::Bool(true));
                }
                other => {
                    answer.insert(other.to_owned(), Value::Bool(false));
                }
            }
        }
        out.push(result_line(id, &Value::Object(answer)));
    }

    fn submit(
        &mut self,
        params: SubmitParams,
        id: &str,
        now: Instant,
        out: &mut Vec<String>,
    ) -> Result<(), (Option<Arc<str>>, StratumError)> {
        let Some(lease) = &self.lease else {
            return Err((None, StratumError::NotSubscribed));
        };
        let en1 = lease.value().to_bytes();
        let Some(worker) = self
            .workers
            .iter()
            .find(|w| ***w == *params.worker)
            .cloned()
        else {
            return Err((None, StratumError::Unauthorized));
        };
        let reject = |e| (Some(worker.clone()), e);
        let job_id =
            JobId::parse(&params.job_id).ok_or_else(|| reject(StratumError::JobNotFound))?;
        let current = self.vardiff.current();
        let sent = self
            .jobs
            .iter_mut()
            .find(|s| s.job.id() == job_id)
            .ok_or_else(|| reject(StratumError::JobNotFound))?;
        let candidate = rebuild(
            &sent.job,
            &en1,
            self.deps.config.extranonce2_size,
            &params,
            self.version_mask,
        )
        .map_err(reject)?;
        let credited = sent.difficulty.min(current);
        if !credited.to_target().is_met_by(candidate.hash) {
            return Err(reject(StratumError::LowDifficulty));
        }
        if sent.accepted.len() >= MAX_SHARES_PER_JOB {
            return Err(reject(StratumError::InvalidParams {
                method: "mining.submit",
                detail: "too many shares for one job; raise the difficulty".into(),
            }));
        }
        if !sent.accepted.insert(candidate.hash) {
            return Err(reject(StratumError::Duplicate));
        }
        let achieved = Difficulty::of_hash(candidate.hash);
        self.deps
            .stats
            .record_accepted(&worker, credited, achieved, now);
        self.deps.sink.solved(Solution {
            job: sent.job.clone(),
            header: candidate.header,
            hash: candidate.hash,
            coinbase: candidate.coinbase,
            worker,
            difficulty: credited,
        });
        out.push(result_line(id, &true));
        if self.vardiff.on_share(credited, now).is_some() {
            self.resend_with_difficulty(out);
        }
        Ok(())
    }

    /// Sends the difficulty and the current job the first time the miner is ready.
    fn send_first_job(&mut self, out: &mut Vec<String>) {
        if self.is_ready() && self.sent_difficulty.is_none() {
            match self.latest.clone() {
                Some(job) => self.send_job(job, out),
                None => self.send_difficulty(out),
            }
        }
    }

    fn send_difficulty(&mut self, out: &mut Vec<String>) {
        let current = self.vardiff.current();
        if self.sent_difficulty != Some(current) {
            out.push(set_difficulty_line(current));
            self.sent_difficulty = Some(current);
        }
    }

    fn send_job(&mut self, job: Arc<Job>, out: &mut Vec<String>) {
        let already_sent = self.jobs.iter().any(|s| s.job.id() == job.id());
        let prev = job.parts().prev_blockhash;
        // A resent job keeps its shares; a new one on another tip drops the old jobs,
        // whose shares can no longer become blocks or shares.
        let clean = !already_sent
            && (job.parts().clean_jobs || self.last_prevhash.is_some_and(|p| p != prev));
        if clean {
            self.jobs.clear();
        }
        self.last_prevhash = Some(prev);
        self.vardiff
            .set_ceiling(job.parts().max_difficulty, Instant::now());
        self.send_difficulty(out);
        out.push(job.notify_line(clean).to_owned());
        let difficulty = self.vardiff.current();
        match self.jobs.iter_mut().find(|s| s.job.id() == job.id()) {
            Some(sent) => sent.difficulty = sent.difficulty.min(difficulty),
            None => {
                self.jobs.push_back(SentJob {
                    job,
                    difficulty,
                    accepted: HashSet::new(),
                });
                if self.jobs.len() > MAX_JOBS_PER_CONNECTION {
                    self.jobs.pop_front();
                }
            }
        }
    }

    /// After a difficulty change: tell the miner, and resend the current job so
    /// miners that apply a difficulty only with the next job do so at once.
    fn resend_with_difficulty(&mut self, out: &mut Vec<String>) {
        match self.latest.clone() {
            Some(job) if self.is_ready() => self.send_job(job, out),
            _ => self.send_difficulty(out),
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
