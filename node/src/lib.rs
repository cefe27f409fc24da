//! The miner's daemon: bitcoind client, block templates, Stratum, sharechain network, HTTP API.

pub mod bitcoind;
pub mod config;
pub mod daemon;
pub mod devnet;
pub mod payout;
pub mod shutdown;

pub use config::{ConfigLayer, NodeConfig};
pub use daemon::{Daemon, TemplateUpdate};
pub use payout::PayoutScript;
