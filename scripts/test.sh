#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and property tests, and the
# integration tests that start a real regtest bitcoind and real processes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/deps.sh
SHAREMINT_BITCOIN_BIN="$(bash scripts/bitcoind.sh)"
export SHAREMINT_BITCOIN_BIN
# The third-party miner the node tests mine with (cli/tests/node_mine.rs).
SHAREMINT_PARA_BIN="$(bash scripts/para.sh)"
export SHAREMINT_PARA_BIN
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
