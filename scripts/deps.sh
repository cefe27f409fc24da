#!/usr/bin/env bash
# Installs the Debian packages Sharemint needs to build: CMake and friends for
# the regtest bitcoind, clang/libclang for the crates that run bindgen (RocksDB).
# Does nothing when they are all present.
set -euo pipefail
PACKAGES=(cmake pkg-config libevent-dev libboost-dev clang libclang-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "deps.sh: installing Debian packages: ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
$SUDO apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
