//! A miner's unit of work: one `mining.notify` job plus the session's
//! extranonce and difficulty, and the header arithmetic to search it.

use bitcoin::block::Header;
use bitcoin::hashes::{sha256, sha256d, Hash, HashEngine};
use bitcoin::pow::Target;
use bitcoin::{BlockHash, TxMerkleNode, Txid};

use crate::stratum::submit::fold_branch;

/// What a hashing thread needs to search a job.
#[derive(Debug, Clone)]
pub struct Work {
    /// The job id to put in `mining.submit`.
    pub job_id: String,
    /// Header fields from the notify (merkle root and nonce filled in per search).
    pub header: Header,
    /// Coinbase up to the extranonce.
    pub coinb1: Vec<u8>,
    /// Coinbase after the extranonce.
    pub coinb2: Vec<u8>,
    /// Merkle branch.
    pub branch: Vec<TxMerkleNode>,
    /// extranonce1 from the subscribe answer.
    pub extranonce1: Vec<u8>,
    /// Size of extranonce2 in bytes.
    pub extranonce2_size: usize,
    /// The share target (from the difficulty in force at this notify).
    pub target: Target,
    /// The negotiated version-rolling mask, 0 when not rolling.
    pub version_mask: u32,
}

/// A header that met the share target.
#[derive(Debug, Clone)]
pub struct Found {
    /// The job it solves.
    pub job_id: String,
    /// extranonce2 used, hex.
    pub extranonce2: String,
    /// Header time.
    pub ntime: u32,
    /// Header nonce.
    pub nonce: u32,
    /// The rolled version bits, when rolling.
    pub version_bits: Option<u32>,
    /// The header hash.
    pub hash: BlockHash,
}

impl Work {
    /// extranonce2 bytes for a counter (little-endian, truncated to the size).
    pub fn extranonce2(&self, counter: u64) -> Vec<u8> {
        let mut bytes = counter.to_le_bytes().to_vec();
        bytes.resize(self.extranonce2_size, 0);
        bytes
    }

    /// The merkle root for a given extranonce2.
    pub fn merkle_root(&self, extranonce2: &[u8]) -> TxMerkleNode {
        let mut engine = sha256d::Hash::engine();
        engine.input(&self.coinb1);
        engine.input(&self.extranonce1);
        engine.input(extranonce2);
        engine.input(&self.coinb2);
        let txid = Txid::from_raw_hash(sha256d::Hash::from_engine(engine));
        fold_branch(txid, &self.branch)
    }
}

/// Searches nonces of one header quickly: the first 64 bytes are hashed once
/// (the SHA-256 midstate), each nonce only costs the last block and the second hash.
pub struct HeaderScanner {
    midstate: sha256::HashEngine,
    tail: [u8; 16],
    target: [u8; 32],
}

impl HeaderScanner {
    /// Prepares to scan `header` (its nonce is ignored) against `target`.
    pub fn new(header: &Header, target: Target) -> Self {
        let bytes = bitcoin::consensus::encode::serialize(header);
        let mut midstate = sha256::HashEngine::default();
        midstate.input(&bytes[..64]);
        let mut tail = [0u8; 16];
        tail.copy_from_slice(&bytes[64..80]);
        HeaderScanner {
            midstate,
            tail,
            target: target.to_le_bytes(),
        }
    }

    /// The header hash for `nonce` when it meets the target.
    pub fn check(&mut self, nonce: u32) -> Option<BlockHash> {
        self.tail[12..16].copy_from_slice(&nonce.to_le_bytes());
        let mut engine = self.midstate.clone();
        engine.input(&self.tail);
        let first = sha256::Hash::from_engine(engine);
        let hash = sha256::Hash::hash(first.as_byte_array()).to_byte_array();
        // Compare as 256-bit little-endian numbers, most significant byte first.
        for i in (0..32).rev() {
            if hash[i] != self.target[i] {
                return (hash[i] < self.target[i]).then(|| BlockHash::from_byte_array(hash));
            }
        }
        Some(BlockHash::from_byte_array(hash))
    }
}

/// The next combination of rolled version bits under `mask` (all subsets in turn).
pub fn next_version_bits(current: u32, mask: u32) -> u32 {
    (current | !mask).wrapping_add(1) & mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::block::Version;
    use bitcoin::{BlockHash, CompactTarget};

    #[test]
    fn scanner_agrees_with_the_header_hash() {
        let header = Header {
            version: Version::from_consensus(0x2000_0000),
            prev_blockhash: BlockHash::from_byte_array([3; 32]),
            merkle_root: TxMerkleNode::from_byte_array([5; 32]),
            time: 1_700_000_000,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        };
        let everything = Target::from_be_bytes([0xff; 32]);
        let mut scanner = HeaderScanner::new(&header, everything);
        for nonce in [0, 1, 0xdead_beef] {
            let expected = Header { nonce, ..header }.block_hash();
            assert_eq!(scanner.check(nonce), Some(expected));
        }
        let mut strict = HeaderScanner::new(&header, Target::ZERO);
        assert_eq!(strict.check(1), None);
    }

    #[test]
    fn version_bits_walk_the_mask() {
        let mask = 0x1fff_e000;
        let mut v = 0;
        let mut seen = 0;
        loop {
            v = next_version_bits(v, mask);
            assert_eq!(v & !mask, 0);
            seen += 1;
            if v == 0 {
                break;
            }
        }
        assert_eq!(seen, 1 << 16);
    }
}
