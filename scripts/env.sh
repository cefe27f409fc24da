# Sourced by the other scripts: where caches live (outside the repository, so
# a fresh clone builds fast the second time) and where the regtest bitcoind is.
export SHAREMINT_CACHE="${SHAREMINT_CACHE:-$HOME/.cache/sharemint}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SHAREMINT_CACHE/target}"
