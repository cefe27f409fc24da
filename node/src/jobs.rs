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
