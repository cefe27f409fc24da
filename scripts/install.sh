#!/usr/bin/env bash
# Installs everything Sharemint needs on a fresh Debian machine with Rust:
# Debian packages, the regtest bitcoind (built once into the cache), and the
# release build of `sharemint`, linked to ./target/release/sharemint.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/deps.sh
BITCOIN_BIN="$(bash scripts/bitcoind.sh)"
echo "install.sh: bitcoind is in $BITCOIN_BIN" >&2
cargo build --release --locked --bin sharemint
mkdir -p target/release
ln -sf "$CARGO_TARGET_DIR/release/sharemint" target/release/sharemint
echo "install.sh: sharemint is at target/release/sharemint" >&2
