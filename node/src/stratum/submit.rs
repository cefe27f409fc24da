//! Checking a `mining.submit` against its job: the parameters' values, then the
//! coinbase, merkle root, header and hash rebuilt from them.

use bitcoin::block::{Header, Version};
use bitcoin::hashes::{sha256d, Hash, HashEngine};
use bitcoin::{BlockHash, TxMerkleNode, Txid};

use super::error::StratumError;
use super::job::Job;
use super::protocol::SubmitParams;

/// A header rebuilt from a submit, not yet compared with any target.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The rebuilt header.
    pub header: Header,
    /// Its hash.
    pub hash: BlockHash,
    /// The coinbase (non-witness serialization).
    pub coinbase: Vec<u8>,
}

/// Rebuilds the header a submit claims to solve.
///
/// `version_mask` is the mask negotiated with `mining.configure` (0 without it).
pub fn rebuild(
    job: &Job,
    extranonce1: &[u8],
    extranonce2_size: usize,
    submit: &SubmitParams,
    version_mask: u32,
) -> Result<Candidate, StratumError> {
    let extranonce2 = decode_extranonce2(&submit.extranonce2, extranonce2_size)?;
    let (min, max) = job.ntime_range();
    if submit.ntime < min || submit.ntime > max {
        return Err(StratumError::NtimeOutOfRange { min, max });
    }
    let parts = job.parts();
    let version = rolled_version(parts.version, submit.version_bits, version_mask)?;

    let mut coinbase = Vec::with_capacity(
        parts.coinb1.len() + extranonce1.len() + extranonce2.len() + parts.coinb2.len(),
    );
    coinbase.extend_from_slice(&parts.coinb1);
    coinbase.extend_from_slice(extranonce1);
    coinbase.extend_from_slice(&extranonce2);
    coinbase.extend_from_slice(&parts.coinb2);
    let txid = Txid::from_raw_hash(sha256d::Hash::hash(&coinbase));

    let header = Header {
        version,
        prev_blockhash: parts.prev_blockhash,
        merkle_root: fold_branch(txid, &parts.merkle_branch),
        time: submit.ntime,
        bits: parts.bits,
        nonce: submit.nonce,
    };
    Ok(Candidate {
        hash: header.block_hash(),
        header,
        coinbase,
    })
}

fn decode_extranonce2(hex_text: &str, size: usize) -> Result<Vec<u8>, StratumError> {
    let bad = StratumError::BadExtranonce2 { expected: size };
    if hex_text.len() != size * 2 {
        return Err(bad);
    }
    hex::decode(hex_text).map_err(|_| bad)
}

/// BIP 310: `nVersion = (job_version & !mask) | (version_bits & mask)`, and
/// bits outside the mask are an error.
fn rolled_version(
    job_version: Version,
    version_bits: Option<u32>,
    mask: u32,
) -> Result<Version, StratumError> {
    let base = job_version.to_consensus() as u32;
    let Some(bits) = version_bits else {
        return Ok(job_version);
    };
    // Some miners send the full rolled version rather than only the rolled
    // bits; both are fine as long as nothing outside the mask differs.
    let rolled = bits & mask;
    let outside = bits & !mask;
    if outside != 0 && outside != base & !mask {
        return Err(StratumError::BadVersionBits { mask });
    }
    Ok(Version::from_consensus(((base & !mask) | rolled) as i32))
}

/// Folds a Stratum merkle branch from the coinbase txid to the merkle root
/// (the coinbase is always the left child).
pub fn fold_branch(coinbase_txid: Txid, branch: &[TxMerkleNode]) -> TxMerkleNode {
    let mut node = coinbase_txid.to_byte_array();
    for sibling in branch {
        let mut engine = sha256d::Hash::engine();
        engine.input(&node);
        engine.input(sibling.as_byte_array());
        node = sha256d::Hash::from_engine(engine).to_byte_array();
    }
    TxMerkleNode::from_byte_array(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_rolling_follows_bip_310() {
        let job = Version::from_consensus(0x2000_0000);
        let mask = 0x1fff_e000;
        assert_eq!(rolled_version(job, None, mask).unwrap(), job);
        assert_eq!(
            rolled_version(job, Some(0x0000_6000), mask)
                .unwrap()
                .to_consensus(),
            0x2000_6000
        );
        // The full rolled version is accepted too.
        assert_eq!(
            rolled_version(job, Some(0x2000_6000), mask)
                .unwrap()
                .to_consensus(),
            0x2000_6000
        );
        assert_eq!(
            rolled_version(job, Some(0x0000_0001), mask).unwrap_err(),
            StratumError::BadVersionBits { mask }
        );
        // Without configure the mask is zero: any rolled bit is refused.
        assert!(rolled_version(job, Some(0x0000_2000), 0).is_err());
    }

    #[test]
    fn empty_branch_root_is_the_coinbase_txid() {
        let txid = Txid::from_byte_array([7; 32]);
        assert_eq!(fold_branch(txid, &[]).to_byte_array(), [7; 32]);
    }

    #[test]
    fn extranonce2_must_match_the_size() {
        assert!(decode_extranonce2("00000001", 4).is_ok());
        assert!(decode_extranonce2("000001", 4).is_err());
        assert!(decode_extranonce2("0000000g", 4).is_err());
    }
}
