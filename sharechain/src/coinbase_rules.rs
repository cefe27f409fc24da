//! The rules a share's coinbase must follow (decision 1), checked on a
//! decoded share: it pays everything to the federation and commits to the
//! share's data, nothing else.

use bitcoin::{Amount, Script, Transaction};

use crate::coinbase::{
    bip34_height_push, is_witness_commitment, parse_share_commitment, MAX_SCRIPT_SIG_LEN,
    MIN_SCRIPT_SIG_LEN,
};
use crate::types::ShareCommitment;

/// How a coinbase breaks decision 1 or bitcoin's coinbase rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoinbaseRuleError {
    /// Not exactly one input spending the null outpoint.
    #[error("coinbase must have exactly one input spending the null outpoint")]
    NotCoinbase,
    /// scriptSig outside bitcoin's 2..=100 bytes.
    #[error("coinbase scriptSig is {0} bytes, outside 2..=100")]
    ScriptSigLength(usize),
    /// scriptSig does not start with the BIP 34 push of the block height.
    #[error("coinbase scriptSig does not start with the BIP 34 push of height {expected}")]
    Bip34Height {
        /// The height the bitcoin parent implies.
        expected: u32,
    },
    /// Output layout is not payout, commitment, optional witness commitment.
    #[error("coinbase has {0} outputs; it must have the payout, the share commitment and at most a witness commitment")]
    OutputCount(usize),
    /// Output 0 does not pay the federation's script.
    #[error("coinbase output 0 does not pay the federation's script")]
    PaysElsewhere,
    /// An output other than 0 carries value.
    #[error("coinbase output {0} carries value; only the federation's output may")]
    ValueOutsidePayout(usize),
    /// Output 1 is not a share commitment.
    #[error("coinbase output 1 is not a share commitment (OP_RETURN \"SMNT\" ‖ 32 bytes)")]
    MissingCommitment,
    /// The commitment is not the hash of the share's data.
    #[error("coinbase commitment does not match the share's data")]
    CommitmentMismatch,
    /// Output 2 is present but is not a witness commitment.
    #[error("coinbase output 2 is not a BIP 141 witness commitment")]
    UnexpectedOutput,
}

/// Checks everything about the coinbase that needs no outside view.
pub fn check_coinbase_shape(
    tx: &Transaction,
    payout_script: &Script,
    commitment: &ShareCommitment,
) -> Result<(), CoinbaseRuleError> {
    if tx.input.len() != 1 || !tx.is_coinbase() {
        return Err(CoinbaseRuleError::NotCoinbase);
    }
    let sig_len = tx.input[0].script_sig.len();
    if !(MIN_SCRIPT_SIG_LEN..=MAX_SCRIPT_SIG_LEN).contains(&sig_len) {
        return Err(CoinbaseRuleError::ScriptSigLength(sig_len));
    }
    if !(2..=3).contains(&tx.output.len()) {
        return Err(CoinbaseRuleError::OutputCount(tx.output.len()));
    }
    if tx.output[0].script_pubkey.as_script() != payout_script {
        return Err(CoinbaseRuleError::PaysElsewhere);
    }
    if let Some(i) = (1..tx.output.len()).find(|i| tx.output[*i].value != Amount::ZERO) {
        return Err(CoinbaseRuleError::ValueOutsidePayout(i));
    }
    match parse_share_commitment(tx.output[1].script_pubkey.as_bytes()) {
        None => return Err(CoinbaseRuleError::MissingCommitment),
        Some(c) if c != *commitment => return Err(CoinbaseRuleError::CommitmentMismatch),
        Some(_) => {}
    }
    if let Some(out) = tx.output.get(2) {
        if !is_witness_commitment(out.script_pubkey.as_bytes()) {
            return Err(CoinbaseRuleError::UnexpectedOutput);
        }
    }
    Ok(())
}

/// Checks the BIP 34 height push against the height the bitcoin parent implies.
pub fn check_coinbase_height(tx: &Transaction, height: u32) -> Result<(), CoinbaseRuleError> {
    let push = bip34_height_push(height);
    let sig = tx
        .input
        .first()
        .map(|i| i.script_sig.as_bytes())
        .unwrap_or(&[]);
    if sig.starts_with(push.as_bytes()) {
        Ok(())
    } else {
        Err(CoinbaseRuleError::Bip34Height { expected: height })
    }
}

/// The height a coinbase's scriptSig claims, if it starts with a minimal
/// BIP 34 push (for logs and for the node; validation compares with
/// [`check_coinbase_height`]).
pub fn coinbase_height(tx: &Transaction) -> Option<u32> {
    let sig = tx.input.first()?.script_sig.as_bytes();
    let first = *sig.first()?;
    let height = match first {
        0x51..=0x60 => u32::from(first - 0x50),
        1..=5 => {
            let bytes = sig.get(1..1 + first as usize)?;
            let mut v: u64 = 0;
            for (i, b) in bytes.iter().enumerate() {
                v |= u64::from(*b) << (8 * i);
            }
            u32::try_from(v).ok()?
        }
        _ => return None,
    };
    (bip34_height_push(height).as_bytes() == &sig[..bip34_height_push(height).len().min(sig.len())])
        .then_some(height)
}
