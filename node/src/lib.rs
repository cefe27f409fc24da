//! The miner's daemon: bitcoind client, block templates, Stratum, sharechain network, HTTP API.

pub mod api;
pub mod fdlimit;
pub mod jobs;
pub mod loadgen;
pub mod miner;
pub mod stratum;
