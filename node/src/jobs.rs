//! Stratum jobs from bitcoind block templates: the coinbase split around the
//! extranonce, the merkle branch, and the context needed to rebuild the block.

use bitcoin::pow::Target;
use bitcoin::Transaction;

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
        context: std::sync::Arc::new(BlockContext {
            height,
            transactions: Vec::new(),
            witness_commitment: false,
            bitcoin_target: Target::from_compact(bits),
        }),
    })
}
