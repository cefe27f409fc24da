//! Unit tests of the session state machine, with synthetic jobs and no sockets.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::Target;
use bitcoin::{BlockHash, CompactTarget};
use serde_json::Value;

use super::*;
use crate::jobs::BlockContext;
use crate::stratum::job::JobParts;
use crate::stratum::sink::DiscardSink;

#[derive(Default)]
struct Collect(Mutex<Vec<Solution>>);

impl SolutionSink for Collect {
    fn solved(&self, solution: Solution) {
        self.0.lock().unwrap().push(solution);
    }
}

fn job(id: u64, prev: u8, clean: bool) -> Arc<Job> {
    Arc::new(Job::new(JobParts {
        id: JobId::new(id),
        prev_blockhash: BlockHash::from_byte_array([prev; 32]),
        coinb1: vec![1, 2, 3],
        coinb2: vec![4, 5, 6],
        merkle_branch: vec![],
        version: Version::from_consensus(0x2000_0000),
        bits: CompactTarget::from_consensus(0x207f_ffff),
        ntime: 1_700_000_000,
        min_ntime: 1_699_999_000,
        max_difficulty: None,
        clean_jobs: clean,
        context: Arc::new(BlockContext {
            height: 1,
            transactions: vec![],
            witness_commitment: false,
            bitcoin_target: Target::MAX,
            share_commitment: sharechain::ShareCommitment::from_byte_array([0; 32]),
            share_data: None,
        }),
    }))
}

struct Harness {
    session: Session,
    sink: Arc<Collect>,
    stats: StratumStats,
    now: Instant,
}

impl Harness {
    fn new(start_difficulty: f64) -> Self {
        let sink = Arc::new(Collect::default());
        let stats = StratumStats::new();
        let config = SessionConfig {
            extranonce2_size: 4,
            vardiff: VardiffConfig {
                start: Difficulty::new(start_difficulty).unwrap(),
                ..VardiffConfig::default()
            },
            ..SessionConfig::default()
        };
        let deps = SessionDeps {
            config: Arc::new(config),
            allocator: ExtranonceAllocator::new(),
            stats: stats.clone(),
            sink: sink.clone(),
        };
        let now = Instant::now();
        Harness {
            session: Session::new(deps, Some(job(1, 1, true)), now),
            sink,
            stats,
            now,
        }
    }

    fn send(&mut self, line: &str) -> Vec<Value> {
        let mut out = Vec::new();
        self.session
            .handle_line(line.as_bytes(), self.now, &mut out);
        out.iter()
            .map(|l| serde_json::from_str(l).expect("server lines are JSON"))
            .collect()
    }

    fn ready(&mut self) -> Vec<Value> {
        self.send(r#"{"id":1,"method":"mining.subscribe","params":["test/1.0"]}"#);
        self.send(r#"{"id":2,"method":"mining.authorize","params":["alice.rig","x"]}"#)
    }

    fn submit(&mut self, job: &str, nonce: u32) -> Value {
        let line = format!(
            r#"{{"id":9,"method":"mining.submit","params":["alice.rig","{job}","00000001","6553f100","{nonce:08x}"]}}"#
        );
        self.send(&line).remove(0)
    }
}

fn error_code(v: &Value) -> Option<i64> {
    v["error"].get(0).and_then(Value::as_i64)
}

#[test]
fn handshake_sends_difficulty_then_the_job() {
    let mut h = Harness::new(1e-12);
    let out = h.send(r#"{"id":1,"method":"mining.subscribe","params":["test/1.0"]}"#);
    let result = &out[0]["result"];
    assert_eq!(result[0][1][0], "mining.notify");
    assert_eq!(result[1].as_str().unwrap().len(), 8);
    assert_eq!(result[2], 4);
    let out = h.send(r#"{"id":2,"method":"mining.authorize","params":["alice.rig","x"]}"#);
    assert_eq!(out[0]["result"], true);
    assert_eq!(out[1]["method"], "mining.set_difficulty");
    assert_eq!(out[2]["method"], "mining.notify");
    assert_eq!(out[2]["params"][8], true);
}

#[test]
fn submit_needs_subscribe_then_authorize() {
    let mut h = Harness::new(1e-12);
    assert_eq!(error_code(&h.submit("1", 0)), Some(25));
    h.send(r#"{"id":1,"method":"mining.subscribe","params":[]}"#);
    assert_eq!(error_code(&h.submit("1", 0)), Some(24));
}

#[test]
fn accepts_then_flags_duplicates_unknown_jobs_and_low_difficulty() {
    let mut h = Harness::new(1e-12);
    h.ready();
    assert_eq!(h.submit("1", 7)["result"], true);
    assert_eq!(error_code(&h.submit("1", 7)), Some(22));
    assert_eq!(error_code(&h.submit("ff", 8)), Some(21));
    let out = h.send(r#"{"id":3,"method":"mining.suggest_difficulty","params":[1e12]}"#);
    assert_eq!(out[1]["params"][0], 1e12, "new difficulty sent at once");
    // Jobs sent before the change keep the easier difficulty; new ones do not.
    assert_eq!(h.submit("1", 9)["result"], true);
    let mut lines = Vec::new();
    h.session.on_job(job(2, 1, false), &mut lines);
    assert_eq!(error_code(&h.submit("2", 10)), Some(23));
    let solutions = h.sink.0.lock().unwrap();
    assert_eq!(solutions.len(), 2);
    assert_eq!(&solutions[0].coinbase[..3], &[1, 2, 3]);
    assert_eq!(solutions[0].coinbase.len(), 3 + 4 + 4 + 3);
    let snap = h.stats.snapshot(h.now);
    assert_eq!(snap.accepted, 2);
    assert_eq!(snap.workers[0].rejected["duplicate"], 1);
    assert_eq!(snap.workers[0].rejected["low-difficulty"], 1);
}

#[test]
fn a_new_tip_drops_old_jobs() {
    let mut h = Harness::new(1e-12);
    h.ready();
    let mut out = Vec::new();
    h.session.on_job(job(2, 1, false), &mut out);
    assert!(
        out[0].contains("\"2\"") && out[0].ends_with("false]}\n"),
        "{}",
        out[0]
    );
    assert_eq!(
        h.submit("1", 1)["result"],
        true,
        "same tip: old job still valid"
    );
    out.clear();
    h.session.on_job(job(3, 2, false), &mut out);
    assert!(
        out[0].ends_with("true]}\n"),
        "new prevhash forces clean_jobs: {}",
        out[0]
    );
    assert_eq!(error_code(&h.submit("1", 2)), Some(21));
    assert_eq!(h.submit("3", 2)["result"], true);
}

#[test]
fn version_rolling_mask_is_negotiated_before_or_after_subscribe() {
    let mut h = Harness::new(1e-12);
    let out = h.send(
        r#"{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff","version-rolling.min-bit-count":2}]}"#,
    );
    assert_eq!(out[0]["result"]["version-rolling"], true);
    assert_eq!(out[0]["result"]["version-rolling.mask"], "1fffe000");
    h.ready();
    let ok = h.send(r#"{"id":5,"method":"mining.submit","params":["alice.rig","1","00000001","6553f100","00000001","00002000"]}"#);
    assert_eq!(ok[0]["result"], true);
    let bad = h.send(r#"{"id":6,"method":"mining.submit","params":["alice.rig","1","00000001","6553f100","00000001","00000001"]}"#);
    assert_eq!(error_code(&bad[0]), Some(20));
    assert_eq!(
        h.sink.0.lock().unwrap()[0].header.version.to_consensus(),
        0x2000_2000
    );

    let mut late = Harness::new(1e-12);
    late.ready();
    let out = late.send(r#"{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"00ffff00"}]}"#);
    assert_eq!(out[0]["result"]["version-rolling.mask"], "00ffe000");
}

#[test]
fn ntime_and_extranonce2_are_checked() {
    let mut h = Harness::new(1e-12);
    h.ready();
    let early = h.send(r#"{"id":5,"method":"mining.submit","params":["alice.rig","1","00000001","00000001","00000001"]}"#);
    assert_eq!(error_code(&early[0]), Some(20));
    let short = h.send(r#"{"id":5,"method":"mining.submit","params":["alice.rig","1","0001","6553f100","00000001"]}"#);
    assert_eq!(error_code(&short[0]), Some(20));
}

#[test]
fn malformed_lines_get_errors_then_a_disconnect() {
    let mut h = Harness::new(1e-12);
    let mut out = Vec::new();
    for i in 0..MAX_MALFORMED_LINES {
        let flow = h.session.handle_line(b"{not json", h.now, &mut out);
        assert_eq!(flow == Flow::Close, i + 1 == MAX_MALFORMED_LINES);
    }
    let first: Value = serde_json::from_str(&out[0]).unwrap();
    assert!(first["id"].is_null());
    assert_eq!(error_code(&first), Some(20));
    let unknown = h.send(r#"{"id":4,"method":"mining.bogus","params":[]}"#);
    assert_eq!(error_code(&unknown[0]), Some(20));
    assert!(
        h.send(r#"{"method":"mining.bogus","params":[]}"#)
            .is_empty(),
        "no answer to a notification"
    );
}

#[test]
fn suggested_difficulty_applies_below_one() {
    let mut h = Harness::new(1.0);
    h.send(r#"{"id":1,"method":"mining.suggest_difficulty","params":[0.001]}"#);
    let out = h.ready();
    assert_eq!(out[1]["params"][0], 0.001);
}

#[test]
fn session_resume_returns_the_same_extranonce1_when_free() {
    let allocator = ExtranonceAllocator::new();
    let deps = |allocator: &ExtranonceAllocator| SessionDeps {
        config: Arc::new(SessionConfig::default()),
        allocator: allocator.clone(),
        stats: StratumStats::new(),
        sink: Arc::new(DiscardSink),
    };
    let now = Instant::now();
    let mut first = Session::new(deps(&allocator), None, now);
    let mut out = Vec::new();
    first.handle_line(
        br#"{"id":1,"method":"mining.subscribe","params":["x"]}"#,
        now,
        &mut out,
    );
    let id = first.extranonce1().unwrap();
    drop(first);
    let mut second = Session::new(deps(&allocator), None, now);
    let line = format!(r#"{{"id":1,"method":"mining.subscribe","params":["x","{id}"]}}"#);
    second.handle_line(line.as_bytes(), now, &mut out);
    assert_eq!(second.extranonce1(), Some(id));
    let mut third = Session::new(deps(&allocator), None, now);
    third.handle_line(line.as_bytes(), now, &mut out);
    assert_ne!(third.extranonce1(), Some(id), "held by the second session");
}
