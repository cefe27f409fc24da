//! Harness shared by the integration tests: real bitcoind, nodes and miners on loopback.
//!
//! Start here: [`TestBitcoind::regtest`] gives a running regtest bitcoind that is
//! killed and deleted when dropped (also when the test panics); [`TestKey`] holds a
//! key the test can mine to and spend from; [`blocks`] builds and grinds blocks.

pub mod bitcoind;
pub mod blocks;
pub mod keys;
pub mod node;
pub mod ports;

pub use bitcoind::{bitcoin_bin_dir, TestBitcoind, TestBitcoindBuilder};
pub use keys::TestKey;
pub use node::{NodeSetup, TestMiner, TestNode};

/// Shows the crates' `tracing` logs in test output (`RUST_LOG=debug` for more). Safe to call often.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
