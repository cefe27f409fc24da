//! The miner's daemon: bitcoind client, block templates, Stratum, sharechain network, HTTP API.

pub mod p2p;
