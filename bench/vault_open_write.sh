#!/usr/bin/env bash
# vault_open_write.sh [BUILD_DIR]
# Open and write times of the vault with 1,000 secrets x 10 versions: through
# the API (bench_vault.c), then through the CLI on the same vault (process
# start, ~40 ms for any sasgw command on this machine, included).
# BUILD_DIR defaults to build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake --build "$build" --target bench_vault sasgw >/dev/null
dir=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sasgw-bench-vault-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bin="$build/gateway/sasgw"
SASGW_MASTER_KEY=$("$bin" vault keygen)
export SASGW_MASTER_KEY
"$build/bench/bench_vault" "$dir"
ms() { local s e; s=$(date +%s%N); for _ in 1 2 3 4 5 6 7 8 9 10; do "$@" >/dev/null; done; e=$(date +%s%N); echo "$(( (e - s) / 10000000 )) ms"; }
echo "CLI sasgw --help (process start only):     $(ms "$bin" --help)"
echo "CLI vault status (open):                  $(ms "$bin" vault status --vault "$dir/vault.db")"
echo "CLI secret set (open + durable write):    $(ms "$bin" secret set bench --value x --vault "$dir/vault.db")"
