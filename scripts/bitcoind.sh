#!/usr/bin/env bash
# Provides a real Bitcoin Core (bitcoind, bitcoin-cli) for regtest and signet tests.
#
# The source comes from the crates.io package libbitcoinkernel-sys, which
# carries Bitcoin Core under bitcoin/ (without the ZMQ and wallet sources and
# the asmap data, hence the configure flags below). The binaries are built once
# into a cache outside the repository, keyed by the package version, and reused:
# a second run takes well under a second.
#
# Usage: scripts/bitcoind.sh            build if needed, print the bin directory
# Env:   SHAREMINT_CACHE (default ~/.cache/sharemint), JOBS (default nproc)
set -euo pipefail

# Also BITCOIN_BUILD_KEY in node/src/bitcoind/process.rs: keep them equal.
KERNEL_CRATE_VERSION="0.4.1"
CACHE="${SHAREMINT_CACHE:-$HOME/.cache/sharemint}"
ROOT="$CACHE/bitcoind/$KERNEL_CRATE_VERSION"
BIN="$ROOT/bin"
JOBS="${JOBS:-$(nproc)}"

say() { echo "bitcoind.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

installed() { [[ -x "$BIN/bitcoind" && -x "$BIN/bitcoin-cli" ]] && "$BIN/bitcoind" -version >/dev/null 2>&1; }

if installed; then echo "$BIN"; exit 0; fi

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install the Debian package '$2' (apt-get install $2)"; }
need_cmd cmake cmake
need_cmd pkg-config pkg-config
need_cmd c++ g++
need_cmd cargo "Rust (rustup)"
need_cmd flock util-linux
pkg-config --exists libevent || die "libevent not found: install the Debian package 'libevent-dev'"
[[ -f /usr/include/boost/version.hpp ]] || die "Boost headers not found: install the Debian package 'libboost-dev'"

mkdir -p "$ROOT"
# Two runs at once: the second waits here for the first, then finds the binaries.
exec 9>"$ROOT/.lock"
if ! flock -n 9; then say "another build is running, waiting for it"; flock 9; fi
if installed; then echo "$BIN"; exit 0; fi

SRC="$ROOT/src"
if [[ ! -f "$SRC/bitcoin/CMakeLists.txt" ]]; then
  say "fetching libbitcoinkernel-sys $KERNEL_CRATE_VERSION from crates.io"
  FETCH="$ROOT/fetch"
  mkdir -p "$FETCH/src"
  cat >"$FETCH/Cargo.toml" <<TOML
[package]
name = "sharemint-fetch-bitcoin-core"
version = "0.0.0"
edition = "2021"
[dependencies]
libbitcoinkernel-sys = "=$KERNEL_CRATE_VERSION"
TOML
  : >"$FETCH/src/lib.rs"
  (cd "$FETCH" && cargo fetch -q) || die "cargo could not fetch libbitcoinkernel-sys $KERNEL_CRATE_VERSION"
  CRATE=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/libbitcoinkernel-sys-"$KERNEL_CRATE_VERSION".crate | head -n1)
  [[ -f "$CRATE" ]] || die "fetched, but the .crate file is not in the cargo cache"
  rm -rf "$SRC.tmp" && mkdir -p "$SRC.tmp"
  tar -xzf "$CRATE" -C "$SRC.tmp" --strip-components=1 "libbitcoinkernel-sys-$KERNEL_CRATE_VERSION/bitcoin"
  rm -rf "$SRC" && mv "$SRC.tmp" "$SRC"
fi

BUILD="$ROOT/build"
say "configuring Bitcoin Core (source in $SRC/bitcoin)"
cmake -S "$SRC/bitcoin" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DWITH_EMBEDDED_ASMAP=OFF -DWITH_ZMQ=OFF -DENABLE_WALLET=OFF \
  -DBUILD_GUI=OFF -DENABLE_IPC=OFF -DBUILD_TESTS=OFF -DBUILD_BENCH=OFF \
  -DBUILD_FUZZ_BINARY=OFF -DBUILD_TX=OFF -DBUILD_UTIL=OFF -DBUILD_BITCOIN_BIN=OFF \
  -DBUILD_KERNEL_LIB=OFF -DENABLE_EXTERNAL_SIGNER=OFF -DWITH_CCACHE=OFF -DINSTALL_MAN=OFF \
  >"$ROOT/configure.log" 2>&1 || { tail -n 30 "$ROOT/configure.log" >&2; die "cmake configure failed, full log in $ROOT/configure.log"; }

say "building bitcoind and bitcoin-cli with $JOBS jobs (about 8 minutes on 2 cores)"
# cmake prints "[ NN%] Building ..." lines; show them so a person sees progress.
cmake --build "$BUILD" -j "$JOBS" --target bitcoind bitcoin-cli 2>&1 \
  | tee "$ROOT/build.log" | grep --line-buffered -E '^\[ *[0-9]+%\]' | sed -u 's/^/bitcoind.sh: /' >&2 \
  || true
[[ -x "$BUILD/bin/bitcoind" && -x "$BUILD/bin/bitcoin-cli" ]] \
  || { tail -n 30 "$ROOT/build.log" >&2; die "build failed, full log in $ROOT/build.log"; }

mkdir -p "$BIN.tmp"
for b in bitcoind bitcoin-cli; do
  cp "$BUILD/bin/$b" "$BIN.tmp/$b"
  strip "$BIN.tmp/$b"
done
rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
rm -rf "$BUILD"
installed || die "built binaries do not run"
say "done: $("$BIN/bitcoind" -version | head -n1)"
echo "$BIN"
