//! Where accepted shares go: the solved candidate handed to the node (the
//! daemon checks it against the share target and the bitcoin target).

use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::consensus::encode;
use bitcoin::{Block, BlockHash, Transaction};

use super::difficulty::Difficulty;
use super::job::Job;

/// A share that met its connection's Stratum difficulty: the header, the
/// coinbase the miner completed, and the job it was built on.
#[derive(Debug, Clone)]
pub struct Solution {
    /// The job the share solves.
    pub job: Arc<Job>,
    /// The solved 80-byte header (rolled version, ntime and nonce applied).
    pub header: Header,
    /// The header hash.
    pub hash: BlockHash,
    /// The coinbase, non-witness serialization (`coinb1 ‖ en1 ‖ en2 ‖ coinb2`).
    pub coinbase: Vec<u8>,
    /// The authorized worker that submitted it.
    pub worker: Arc<str>,
    /// The Stratum difficulty the share was accepted at.
    pub difficulty: Difficulty,
}

impl Solution {
    /// The coinbase as a transaction (witness added when the block needs one).
    pub fn coinbase_transaction(&self) -> Result<Transaction, encode::Error> {
        let mut tx: Transaction = encode::deserialize(&self.coinbase)?;
        if self.job.parts().context.witness_commitment {
            if let Some(input) = tx.input.first_mut() {
                // BIP 141: the coinbase witness is one 32-byte reserved value.
                input.witness = bitcoin::Witness::from_slice(&[[0u8; 32]]);
            }
        }
        Ok(tx)
    }

    /// The full block: this header, the coinbase, and the template's transactions.
    pub fn block(&self) -> Result<Block, encode::Error> {
        let mut txdata = Vec::with_capacity(1 + self.job.parts().context.transactions.len());
        txdata.push(self.coinbase_transaction()?);
        txdata.extend(self.job.parts().context.transactions.iter().cloned());
        Ok(Block {
            header: self.header,
            txdata,
        })
    }
}

/// Receives every accepted share.
///
/// Implementations MUST return quickly and MUST NOT block: `solved` runs on the
/// submitting connection's task, before the miner gets its answer. Forward work
/// that takes time (sharechain insertion, `submitblock`) to a channel.
pub trait SolutionSink: Send + Sync + 'static {
    /// Called once per accepted share, in submission order for a connection.
    fn solved(&self, solution: Solution);
}

/// A sink that drops every share: for benchmarks and tests of the protocol alone.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSink;

impl SolutionSink for DiscardSink {
    fn solved(&self, _solution: Solution) {}
}

impl SolutionSink for tokio::sync::mpsc::UnboundedSender<Solution> {
    fn solved(&self, solution: Solution) {
        // A closed receiver means the node is shutting down; nothing to do.
        let _ = self.send(solution);
    }
}
