//! Building the coinbase of decision 1: the whole value to the federation,
//! a zero-value OP_RETURN committing to the share's data, and the segwit
//! witness commitment when the template has one. Also the Stratum V1 split
//! of its non-witness serialization around the extranonce.
//!
//! Layout (documented in docs/protocol.md, "Coinbase"):
//! - version 2, one input spending the null outpoint, sequence 0xffffffff,
//!   lock time 0;
//! - scriptSig = BIP 34 height push ‖ one direct push of the extranonce
//!   (`OP_PUSHBYTES_n` followed by the n extranonce bytes);
//! - output 0: `value` to `payout_script`;
//! - output 1: 0 sat, `OP_RETURN OP_PUSHBYTES_36 "SMNT" ‖ commitment`;
//! - output 2 (only when the template has one): 0 sat, the witness commitment,
//!   and then the input carries one witness item of 32 zero bytes.

use bitcoin::absolute::LockTime;
use bitcoin::blockdata::opcodes::all::OP_RETURN;
use bitcoin::blockdata::script::Builder;
use bitcoin::consensus::Encodable;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use crate::params::MAX_PAYOUT_SCRIPT_LEN;
use crate::types::ShareCommitment;

/// The four bytes after `OP_RETURN OP_PUSHBYTES_36` that mark a Sharemint
/// share commitment ("SMNT"), so explorers and our own parser can tell it
/// from other OP_RETURN outputs.
pub const SHARE_COMMITMENT_TAG: [u8; 4] = *b"SMNT";

/// Length of the commitment output's script: OP_RETURN, one push opcode,
/// 4 tag bytes, 32 hash bytes.
pub const SHARE_COMMITMENT_SCRIPT_LEN: usize = 2 + 4 + 32;

/// The witness commitment header of BIP 141: `OP_RETURN OP_PUSHBYTES_36 aa21a9ed`.
pub const WITNESS_COMMITMENT_PREFIX: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

/// The longest extranonce we place in one direct push (opcodes 0x01..=0x4b);
/// longer would need OP_PUSHDATA1 and no miner needs more than a few bytes.
pub const MAX_EXTRANONCE_LEN: usize = 32;

/// Bitcoin's consensus bounds on a coinbase scriptSig length (`bad-cb-length`).
pub const MIN_SCRIPT_SIG_LEN: usize = 2;
/// See [`MIN_SCRIPT_SIG_LEN`].
pub const MAX_SCRIPT_SIG_LEN: usize = 100;

/// Everything that decides a share's coinbase, as the node takes it from a
/// block template and its sharechain state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinbaseSpec {
    /// The block height, pushed first in the scriptSig as BIP 34 demands.
    pub height: u32,
    /// The template's whole `coinbasevalue` (subsidy plus fees).
    pub value: Amount,
    /// The federation's script: output 0, the only output with value.
    pub payout_script: ScriptBuf,
    /// Hash of the share's sharechain data, carried in the OP_RETURN output.
    pub share_commitment: ShareCommitment,
    /// The template's `default_witness_commitment` scriptPubKey, when present.
    pub witness_commitment: Option<ScriptBuf>,
    /// Total extranonce length (extranonce1 + extranonce2), placed in the
    /// scriptSig right after the height.
    pub extranonce_len: usize,
}

/// The non-witness coinbase serialization cut around the extranonce:
/// coinbase = coinb1 ‖ extranonce ‖ coinb2 (Stratum V1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinbaseParts {
    /// Bytes before the extranonce.
    pub coinb1: Vec<u8>,
    /// Bytes after the extranonce.
    pub coinb2: Vec<u8>,
}

/// Why a coinbase cannot be built from a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoinbaseError {
    /// The extranonce handed to `build` has the wrong length.
    #[error("extranonce is {got} bytes but the job was built for {expected}; rebuild the job or fix the miner's extranonce2 size")]
    ExtranonceLength {
        /// The spec's `extranonce_len`.
        expected: usize,
        /// The length passed in.
        got: usize,
    },
    /// The spec asks for a longer extranonce than fits one direct push.
    #[error("extranonce length {0} exceeds the maximum of {MAX_EXTRANONCE_LEN} bytes; use a shorter extranonce2")]
    ExtranonceTooLong(usize),
    /// Height 0 is the genesis block, which never comes from a template.
    #[error("block height 0 has no coinbase to build; the template is wrong")]
    HeightZero,
    /// The witness commitment script is not a BIP 141 commitment.
    #[error("witness commitment script does not start with OP_RETURN 0x24 aa21a9ed; pass the template's default_witness_commitment unchanged")]
    BadWitnessCommitment,
    /// The payout script is empty.
    #[error("payout script is empty; the federation config is missing its script")]
    EmptyPayoutScript,
    /// The payout script is longer than any federation script.
    #[error("payout script is {0} bytes, more than the maximum of {MAX_PAYOUT_SCRIPT_LEN}; check the federation config")]
    PayoutScriptTooLong(usize),
}

impl CoinbaseSpec {
    /// Non-witness serialization cut around the extranonce: coinbase = coinb1 ‖ extranonce ‖ coinb2 (Stratum V1).
    pub fn split(&self) -> Result<CoinbaseParts, CoinbaseError> {
        let placeholder = vec![0u8; self.extranonce_len];
        let tx = self.build(&placeholder)?;
        let bytes = serialize_no_witness(&tx);
        let start = self.extranonce_offset();
        let end = start + self.extranonce_len;
        Ok(CoinbaseParts {
            coinb1: bytes[..start].to_vec(),
            coinb2: bytes[end..].to_vec(),
        })
    }

    /// The full transaction for a given extranonce (len must equal extranonce_len); carries the
    /// one 32-zero-byte coinbase witness item when witness_commitment is Some.
    pub fn build(&self, extranonce: &[u8]) -> Result<Transaction, CoinbaseError> {
        self.check()?;
        if extranonce.len() != self.extranonce_len {
            return Err(CoinbaseError::ExtranonceLength {
                expected: self.extranonce_len,
                got: extranonce.len(),
            });
        }
        let mut script_sig = bip34_height_push(self.height).into_bytes();
        // A direct push: opcode n (0x00..=0x20 here) followed by n bytes.
        script_sig.push(self.extranonce_len as u8);
        script_sig.extend_from_slice(extranonce);

        let mut witness = Witness::new();
        let mut output = vec![
            TxOut {
                value: self.value,
                script_pubkey: self.payout_script.clone(),
            },
            TxOut {
                value: Amount::ZERO,
                script_pubkey: share_commitment_script(&self.share_commitment),
            },
        ];
        if let Some(script) = &self.witness_commitment {
            output.push(TxOut {
                value: Amount::ZERO,
                script_pubkey: script.clone(),
            });
            // BIP 141: the coinbase witness is one 32-byte reserved value, all zero.
            witness.push([0u8; 32]);
        }
        Ok(Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(script_sig),
                sequence: Sequence::MAX,
                witness,
            }],
            output,
        })
    }

    fn check(&self) -> Result<(), CoinbaseError> {
        if self.height == 0 {
            return Err(CoinbaseError::HeightZero);
        }
        if self.extranonce_len > MAX_EXTRANONCE_LEN {
            return Err(CoinbaseError::ExtranonceTooLong(self.extranonce_len));
        }
        if self.payout_script.is_empty() {
            return Err(CoinbaseError::EmptyPayoutScript);
        }
        if self.payout_script.len() > MAX_PAYOUT_SCRIPT_LEN {
            return Err(CoinbaseError::PayoutScriptTooLong(self.payout_script.len()));
        }
        if let Some(script) = &self.witness_commitment {
            if !is_witness_commitment(script.as_bytes()) {
                return Err(CoinbaseError::BadWitnessCommitment);
            }
        }
        Ok(())
    }

    /// Byte offset of the extranonce in the non-witness serialization:
    /// version (4), input count (1), outpoint (36), scriptSig length (1, as
    /// the scriptSig is at most 100 bytes), height push, extranonce push opcode (1).
    fn extranonce_offset(&self) -> usize {
        4 + 1 + 36 + 1 + bip34_height_push(self.height).len() + 1
    }
}

/// The BIP 34 height push exactly as Bitcoin Core writes it (`CScript() << height`):
/// `OP_1`..`OP_16` for heights 1 to 16, otherwise the minimal script-number push.
pub fn bip34_height_push(height: u32) -> ScriptBuf {
    Builder::new().push_int(i64::from(height)).into_script()
}

/// The zero-value output script committing to a share's data.
pub fn share_commitment_script(commitment: &ShareCommitment) -> ScriptBuf {
    let mut bytes = Vec::with_capacity(SHARE_COMMITMENT_SCRIPT_LEN);
    bytes.push(OP_RETURN.to_u8());
    bytes.push(36); // OP_PUSHBYTES_36
    bytes.extend_from_slice(&SHARE_COMMITMENT_TAG);
    bytes.extend_from_slice(&commitment.to_byte_array());
    ScriptBuf::from_bytes(bytes)
}

/// The commitment carried by `script` if it is exactly a share commitment script.
pub fn parse_share_commitment(script: &[u8]) -> Option<ShareCommitment> {
    if script.len() != SHARE_COMMITMENT_SCRIPT_LEN
        || script[0] != OP_RETURN.to_u8()
        || script[1] != 36
        || script[2..6] != SHARE_COMMITMENT_TAG
    {
        return None;
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&script[6..]);
    Some(ShareCommitment::from_byte_array(hash))
}

/// Whether `script` is a BIP 141 witness commitment (header plus at least 32 bytes).
pub fn is_witness_commitment(script: &[u8]) -> bool {
    script.len() >= 38 && script[..6] == WITNESS_COMMITMENT_PREFIX
}

/// The legacy (txid) serialization, which Stratum and the merkle tree use.
pub fn serialize_no_witness(tx: &Transaction) -> Vec<u8> {
    let mut stripped = tx.clone();
    for input in &mut stripped.input {
        input.witness = Witness::new();
    }
    let mut bytes = Vec::with_capacity(stripped.base_size());
    stripped
        .consensus_encode(&mut bytes)
        .expect("writing to a Vec never fails");
    bytes
}

#[cfg(test)]
#[path = "coinbase_tests.rs"]
mod tests;
