//! Harness shared by the integration tests: real bitcoind, nodes and miners on loopback.
