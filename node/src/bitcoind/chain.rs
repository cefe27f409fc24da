//! Small typed answers from bitcoind: chain state and the outcome of `submitblock`.

use bitcoin::{BlockHash, Network};
use serde::Deserialize;

/// What `getblockchaininfo` says about bitcoind's chain.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainInfo {
    /// The chain bitcoind runs.
    pub network: Network,
    /// Height of the best validated block.
    pub blocks: u64,
    /// Height of the best known header.
    pub headers: u64,
    /// Hash of the best validated block.
    pub best_block_hash: BlockHash,
    /// True while bitcoind is still catching up.
    pub initial_block_download: bool,
    /// bitcoind's estimate of sync progress between 0 and 1; for display only.
    pub verification_progress: f64,
}

#[derive(Deserialize)]
pub(crate) struct RawChainInfo {
    pub chain: String,
    pub blocks: u64,
    pub headers: u64,
    pub bestblockhash: BlockHash,
    pub initialblockdownload: bool,
    pub verificationprogress: f64,
}

/// Maps bitcoind's chain name (`main`, `test`, `testnet4`, `signet`, `regtest`) to a network.
pub fn network_from_chain_name(chain: &str) -> Option<Network> {
    match chain {
        "main" => Some(Network::Bitcoin),
        "test" => Some(Network::Testnet),
        "testnet4" => Some(Network::Testnet4),
        "signet" => Some(Network::Signet),
        "regtest" => Some(Network::Regtest),
        _ => None,
    }
}

/// What bitcoind did with a block we submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The block is valid and was added (it may or may not be the new tip).
    Accepted,
    /// bitcoind already had this block.
    Duplicate,
    /// Valid so far, but it does not extend the best chain, so not fully checked.
    Inconclusive,
    /// The block is invalid; the reason is bitcoind's (`high-hash`, `bad-txnmrklroot`, ...).
    Rejected(String),
}

impl SubmitOutcome {
    pub(crate) fn from_reason(reason: Option<String>) -> Self {
        match reason.as_deref() {
            None => SubmitOutcome::Accepted,
            Some("duplicate") => SubmitOutcome::Duplicate,
            Some("inconclusive") => SubmitOutcome::Inconclusive,
            Some(other) => SubmitOutcome::Rejected(other.to_owned()),
        }
    }
}

impl std::fmt::Display for SubmitOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitOutcome::Accepted => f.write_str("accepted"),
            SubmitOutcome::Duplicate => f.write_str("duplicate"),
            SubmitOutcome::Inconclusive => f.write_str("inconclusive"),
            SubmitOutcome::Rejected(reason) => write!(f, "rejected: {reason}"),
        }
    }
}

/// Where a block sits in bitcoind's view (`getblockheader` verbose).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct BlockPosition {
    /// The block's height.
    pub height: u32,
    /// Blocks on top of it in the best chain plus one; -1 when it is not on the best chain.
    pub confirmations: i64,
}
