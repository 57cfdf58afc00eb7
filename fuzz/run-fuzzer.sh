#!/usr/bin/env bash
# run-fuzzer.sh BINARY SEED_DIR SECONDS
# Runs a libFuzzer target for a bounded time over a scratch copy of its seed
# corpus. Fails when the seed corpus is missing or the fuzzer finds a crash,
# leak or timeout (the reproducer is kept under build for inspection).
set -euo pipefail
bin=$1 seeds=$2 secs=$3
[ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || { echo "no seed corpus at $seeds" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds" "$work/corpus"
artifacts="$(dirname "$bin")/artifacts/$(basename "$bin")"
mkdir -p "$artifacts"
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
     -artifact_prefix="$artifacts/" "$work/corpus"
