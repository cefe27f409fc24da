//! The miner's daemon: bitcoind client, block templates, Stratum, sharechain network, HTTP API.

pub mod api;
pub mod bitcoin_view;
pub mod bitcoind;
pub mod claim_keys;
pub mod config;
pub mod daemon;
pub mod devnet;
pub mod fdlimit;
pub mod full_node;
pub mod jobs;
pub mod loadgen;
pub mod miner;
pub mod mining;
pub mod p2p;
pub mod payout;
pub mod share_chain;
pub mod shutdown;
pub mod stratum;

pub use config::{ConfigLayer, NodeConfig};
pub use daemon::{Daemon, TemplateUpdate};
pub use payout::PayoutScript;
