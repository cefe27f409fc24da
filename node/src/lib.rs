//! The miner's daemon: bitcoind client, block templates, Stratum, sharechain network, HTTP API.

pub mod jobs;
pub mod miner;
pub mod stratum;
