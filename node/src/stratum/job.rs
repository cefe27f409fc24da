//! A Stratum job: the parts of a block candidate a miner needs (`mining.notify`)
//! and the context the node needs back when a share for it comes in.

use std::fmt;
use std::sync::Arc;

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, CompactTarget, TxMerkleNode};
use serde_json::Value;

use super::protocol::notification_line;
use crate::jobs::BlockContext;

/// A job's id, unique per server run; sent as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(u64);

impl JobId {
    /// Wraps a number.
    pub fn new(value: u64) -> Self {
        JobId(value)
    }

    /// Parses the hex form a miner echoes back in `mining.submit`.
    pub fn parse(s: &str) -> Option<JobId> {
        if s.is_empty() || s.len() > 16 {
            return None;
        }
        u64::from_str_radix(s, 16).ok().map(JobId)
    }

    /// The number.
    pub fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobId({:x})", self.0)
    }
}

/// Everything needed to build a job; see [`Job::new`].
#[derive(Debug, Clone)]
pub struct JobParts {
    /// The job's id.
    pub id: JobId,
    /// The block this job builds on.
    pub prev_blockhash: BlockHash,
    /// Coinbase (non-witness serialization) up to the extranonce.
    pub coinb1: Vec<u8>,
    /// Coinbase after the extranonce.
    pub coinb2: Vec<u8>,
    /// Merkle branch from the coinbase txid to the root, Stratum order.
    pub merkle_branch: Vec<TxMerkleNode>,
    /// Block version before any version rolling.
    pub version: Version,
    /// The bitcoin target in compact form.
    pub bits: CompactTarget,
    /// The header time the job suggests.
    pub ntime: u32,
    /// The lowest header time the block may carry (template `mintime`).
    pub min_ntime: u32,
    /// True when the job builds on a new tip: miners drop older jobs.
    pub clean_jobs: bool,
    /// The highest Stratum difficulty worth asking for this job (its share
    /// target); vardiff stays at or below it. `None`: no cap.
    pub max_difficulty: Option<super::Difficulty>,
    /// What the node needs to turn a solved header into a block and a share.
    pub context: Arc<BlockContext>,
}

/// A job ready to send: its parts plus the `mining.notify` lines, built once
/// and shared by every connection.
#[derive(Debug)]
pub struct Job {
    parts: JobParts,
    notify_lines: [String; 2],
}

/// How far past the job's own ntime a miner may roll the time. Bitcoin accepts
/// headers up to two hours ahead of its clock; this leaves a margin under that.
pub const MAX_NTIME_ROLL: u32 = 7000;

impl Job {
    /// Builds the job and its two `mining.notify` lines (clean and not clean).
    pub fn new(parts: JobParts) -> Job {
        let notify_lines = [notify_line(&parts, false), notify_line(&parts, true)];
        Job {
            parts,
            notify_lines,
        }
    }

    /// The parts the job was built from.
    pub fn parts(&self) -> &JobParts {
        &self.parts
    }

    /// The job id.
    pub fn id(&self) -> JobId {
        self.parts.id
    }

    /// The `mining.notify` line (with newline) for this job.
    pub fn notify_line(&self, clean_jobs: bool) -> &str {
        &self.notify_lines[usize::from(clean_jobs)]
    }

    /// The range of header times a share for this job may carry.
    pub fn ntime_range(&self) -> (u32, u32) {
        let min = self.parts.min_ntime.min(self.parts.ntime);
        (min, self.parts.ntime.saturating_add(MAX_NTIME_ROLL))
    }
}

/// `prevhash` as Stratum sends it: internal byte order with every 4-byte word reversed.
pub fn stratum_prevhash(hash: &BlockHash) -> String {
    let mut bytes = hash.to_byte_array();
    for word in bytes.chunks_exact_mut(4) {
        word.reverse();
    }
    hex::encode(bytes)
}

fn notify_line(parts: &JobParts, clean_jobs: bool) -> String {
    let branch: Vec<Value> = parts
        .merkle_branch
        .iter()
        .map(|node| Value::String(hex::encode(node.to_byte_array())))
        .collect();
    let params = [
        Value::String(parts.id.to_string()),
        Value::String(stratum_prevhash(&parts.prev_blockhash)),
        Value::String(hex::encode(&parts.coinb1)),
        Value::String(hex::encode(&parts.coinb2)),
        Value::Array(branch),
        Value::String(format!("{:08x}", parts.version.to_consensus() as u32)),
        Value::String(format!("{:08x}", parts.bits.to_consensus())),
        Value::String(format!("{:08x}", parts.ntime)),
        Value::Bool(clean_jobs),
    ];
    notification_line("mining.notify", &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prevhash_words_are_swapped() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        let s = stratum_prevhash(&BlockHash::from_byte_array(bytes));
        assert!(s.starts_with("0302010007060504"), "{s}");
    }

    #[test]
    fn job_ids_round_trip() {
        let id = JobId::new(0xab12);
        assert_eq!(JobId::parse(&id.to_string()), Some(id));
        assert_eq!(JobId::parse("zz"), None);
        assert_eq!(JobId::parse(""), None);
    }
}
