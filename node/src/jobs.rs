//! Stratum jobs from bitcoind block templates: the coinbase split around the
//! extranonce (`sharechain::coinbase`), the merkle branch
//! (`sharechain::merkle`), and the context needed to rebuild the block.
//!
//! When to build: the daemon builds a job with `clean_jobs` on every new tip
//! and a plain one on every template refresh (new transactions, every 30 s).

use std::sync::Arc;

use bitcoin::block::Version;
use bitcoin::pow::Target;
use bitcoin::{ScriptBuf, Transaction};
use sharechain::coinbase::{CoinbaseError, CoinbaseSpec};
use sharechain::retarget::target_from_bits;
use sharechain::{ShareCommitment, ShareData};

use crate::bitcoind::BlockTemplate;
use crate::stratum::{Difficulty, Job, JobId, JobParts};

/// What the node keeps beside a job to turn a solved header into a full block
/// (and, with the sharechain, into a share).
#[derive(Debug, Clone)]
pub struct BlockContext {
    /// The block height the template is for.
    pub height: u32,
    /// The template's transactions in block order, without the coinbase.
    pub transactions: Vec<Transaction>,
    /// True when the coinbase carries a witness commitment and so needs the
    /// BIP 141 reserved-value witness.
    pub witness_commitment: bool,
    /// The bitcoin target (from the template's `bits`).
    pub bitcoin_target: Target,
    /// What the coinbase commits to (the hash of the share's sharechain data).
    pub share_commitment: ShareCommitment,
    /// The sharechain data itself (previous share, uncles, share target,
    /// claim key): with the solved header it makes the share. `None` for
    /// synthetic jobs that make no shares.
    pub share_data: Option<ShareData>,
}

/// Why a job could not be built from a template.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the coinbase for height {height}: {source}")]
pub struct JobError {
    /// The template's height.
    pub height: u32,
    /// The sharechain crate's reason.
    pub source: CoinbaseError,
}

/// What the node decides for each job besides the template.
#[derive(Debug, Clone)]
pub struct JobInputs {
    /// The federation's script: output 0, the only value output.
    pub payout_script: ScriptBuf,
    /// The sharechain data of the share this job would make (previous
    /// share, uncles, share target, claim key); the coinbase commits to it.
    pub share_data: ShareData,
    /// True when the job builds on a new tip (miners drop older jobs).
    pub clean_jobs: bool,
}

/// Turns templates into Stratum jobs with increasing ids.
#[derive(Debug)]
pub struct JobBuilder {
    next_id: u64,
    extranonce_len: usize,
}

impl JobBuilder {
    /// A builder for a server whose extranonce1 + extranonce2 is `extranonce_len` bytes.
    pub fn new(extranonce_len: usize) -> Self {
        JobBuilder {
            next_id: 1,
            extranonce_len,
        }
    }

    /// One job: the coinbase split around the extranonce, the merkle branch of
    /// the template's transactions, and the context to rebuild the block.
    pub fn build(&mut self, template: &BlockTemplate, inputs: JobInputs) -> Result<Job, JobError> {
        let share_commitment = inputs.share_data.commitment();
        // Asking miners for more than the share target would hide shares.
        let max_difficulty =
            target_from_bits(inputs.share_data.share_bits).and_then(|t| Difficulty::of_target(&t));
        let spec = CoinbaseSpec {
            height: template.height,
            value: template.coinbase_value,
            payout_script: inputs.payout_script,
            share_commitment,
            witness_commitment: template.default_witness_commitment.clone(),
            extranonce_len: self.extranonce_len,
        };
        let parts = spec.split().map_err(|source| JobError {
            height: template.height,
            source,
        })?;
        let id = JobId::new(self.next_id);
        self.next_id += 1;
        Ok(Job::new(JobParts {
            id,
            prev_blockhash: template.previous_block_hash,
            coinb1: parts.coinb1,
            coinb2: parts.coinb2,
            merkle_branch: sharechain::merkle::coinbase_branch(&template.txids()),
            version: Version::from_consensus(template.version),
            bits: template.bits,
            ntime: template.curtime.max(template.mintime),
            min_ntime: template.mintime,
            clean_jobs: inputs.clean_jobs,
            max_difficulty,
            context: Arc::new(BlockContext {
                height: template.height,
                transactions: template.transactions.iter().map(|t| t.tx.clone()).collect(),
                witness_commitment: template.default_witness_commitment.is_some(),
                bitcoin_target: template.target,
                share_commitment,
                share_data: Some(inputs.share_data),
            }),
        }))
    }
}

/// A regtest-like job that needs no bitcoind: a well-formed coinbase paying
/// `OP_TRUE`, no other transactions. For benchmarks (`sharemint bench stratum`)
/// and protocol tests; the node itself builds jobs from templates.
pub fn synthetic_job(
    id: u64,
    prev_blockhash: bitcoin::BlockHash,
    ntime: u32,
    extranonce_len: usize,
    clean_jobs: bool,
) -> crate::stratum::Job {
    use bitcoin::block::Version;
    use bitcoin::CompactTarget;

    let height: u32 = 1;
    let script_len = 4 + extranonce_len;
    let mut coinb1 = Vec::new();
    coinb1.extend_from_slice(&2u32.to_le_bytes()); // version
    coinb1.push(1); // one input
    coinb1.extend_from_slice(&[0u8; 32]); // null prevout hash
    coinb1.extend_from_slice(&u32::MAX.to_le_bytes()); // null prevout index
    coinb1.push(script_len as u8);
    coinb1.push(3); // BIP 34 height push, 3 bytes
    coinb1.extend_from_slice(&height.to_le_bytes()[..3]);
    let mut coinb2 = Vec::new();
    coinb2.extend_from_slice(&u32::MAX.to_le_bytes()); // sequence
    coinb2.push(1); // one output
    coinb2.extend_from_slice(&5_000_000_000u64.to_le_bytes());
    coinb2.extend_from_slice(&[1, 0x51]); // OP_TRUE
    coinb2.extend_from_slice(&0u32.to_le_bytes()); // lock time
    let bits = CompactTarget::from_consensus(0x207f_ffff);
    crate::stratum::Job::new(crate::stratum::JobParts {
        id: crate::stratum::JobId::new(id),
        prev_blockhash,
        coinb1,
        coinb2,
        merkle_branch: Vec::new(),
        version: Version::from_consensus(0x2000_0000),
        bits,
        ntime,
        min_ntime: ntime.saturating_sub(600),
        clean_jobs,
        max_difficulty: None,
        context: Arc::new(BlockContext {
            height,
            transactions: Vec::new(),
            witness_commitment: false,
            bitcoin_target: Target::from_compact(bits),
            share_commitment: ShareCommitment::from_byte_array([0; 32]),
            share_data: None,
        }),
    })
}
