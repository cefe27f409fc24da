#!/usr/bin/env bash
# Installs `para`, the third-party CPU Stratum miner from crates.io the tests
# mine with (to show that a miner that is not ours works on a node), into the
# cache once; later runs reuse it. Prints the directory holding `para`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PARA_ROOT="$SHAREMINT_CACHE/para"
if [ ! -x "$PARA_ROOT/bin/para" ]; then
    echo "para.sh: installing para into $PARA_ROOT (once)" >&2
    # Its own target dir: the workspace's would be invalidated by other flags.
    cargo install para --locked --root "$PARA_ROOT" \
        --target-dir "$SHAREMINT_CACHE/para-build" >&2
fi
echo "$PARA_ROOT/bin"
