#!/usr/bin/env bash
# test_bench_signals.sh - issue 14: each bench/*.sh interrupted once, by one
# of SIGTERM, SIGINT, SIGHUP, SIGKILL (in turn from a random start) sent to
# its process group at a random moment of its start-up, leaves no process behind within CLEAN_SECS
# seconds; after a signal it can trap, its temporary directory is gone too.
#
# Each script runs in a session of its own, marked by SASGW_SIGTEST_RUN
# (lib-signals.sh), with BENCH_TMPDIR in this test's temporary directory (its
# Redis runs in there, which marks it as the run's), shortened (one round of
# one second). vault_open_write.sh runs only with SASGW_BUILD_DIR (set by
# ctest): it builds its targets there, a no-op when they are up to date.
#
#   SEED=N CLEAN_SECS=N tests/scripts/test_bench_signals.sh
set -euo pipefail
src=${SASGW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$(realpath "${SASGW_BINARY:-$src/build/gateway/sasgw}")
. "$src/tests/scripts/lib-signals.sh"
sig_seed
CLEAN_SECS=${CLEAN_SECS:-10}
SIGNALS=(TERM INT HUP KILL)

work=$(mktemp -d /tmp/sasgw-sigtest-bench-XXXXXX)
current=
cleanup() {
    local left
    left=$( [ -z "$current" ] || sig_procs "$current" "$work")
    # shellcheck disable=SC2086
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The scripts, each with the span (ms) its start-up and first load take here.
benches=("mint.sh 4500" "proxy.sh 6000")
if [ -n "${SASGW_BUILD_DIR:-}" ]; then
    benches+=("vault_open_write.sh 2500")
else
    echo "skip: vault_open_write.sh (SASGW_BUILD_DIR unset)"
fi

failures=0
offset=$((RANDOM % ${#SIGNALS[@]}))
for i in "${!benches[@]}"; do
    read -r script span <<<"${benches[i]}"
    sig=${SIGNALS[(offset + i) % ${#SIGNALS[@]}]} # a different signal for each
    delay=$(( (RANDOM * 32768 + RANDOM) % span ))
    tmp=$work/${script%.sh}
    mkdir -p "$tmp"
    args=()
    [ "$script" != vault_open_write.sh ] || args=("$SASGW_BUILD_DIR")
    current=$(sig_token)
    SASGW_SIGTEST_RUN=$current BENCH_TMPDIR=$tmp SASGW_BINARY=$bin SASGW=$bin ROUNDS=1 DURATION=1s REVOKED=1000 \
        WORKERS=1 CONNECTIONS=4 CONNS=4 THREADS=1 setsid env --default-signal=INT,QUIT "$src/bench/$script" "${args[@]}" \
        >"$tmp.log" 2>&1 </dev/null & # (a default SIGINT: see test_run_signals.sh)
    leader=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    echo "bench/$script: SIG$sig to the process group after $delay ms"
    sent=$(( $(date +%s%N) / 1000000 ))
    kill "-$sig" -- "-$leader" 2>/dev/null || echo "  (it had already exited)"
    sig_wait_leader "$CLEAN_SECS" "$leader"
    ok=1
    sig_wait_clean "$CLEAN_SECS" "$current" "$work" || ok=0
    if [ "$sig" != KILL ] && [ -n "$(ls -A "$tmp")" ]; then
        echo "  LEFT: its temporary directory: $(ls -A "$tmp" | tr '\n' ' ')" >&2
        ok=0
    fi
    if [ "$ok" = 1 ]; then
        echo "  ok: nothing left $(( $(date +%s%N) / 1000000 - sent )) ms after the signal"
    else
        echo "FAIL: bench/$script after SIG$sig at $delay ms (seed $SEED); last lines of its output:" >&2
        tail -n 5 "$tmp.log" | sed 's/^/    /' >&2
        failures=$((failures + 1))
    fi
    current=
done

if [ "$failures" -gt 0 ]; then
    echo "FAIL: $failures of ${#benches[@]} benchmarks left something behind (seed $SEED)" >&2
    exit 1
fi
echo "PASS: ${#benches[@]} benchmarks interrupted, nothing left (seed $SEED)"
