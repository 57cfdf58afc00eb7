#!/usr/bin/env bash
# test_run_signals.sh - issue 14: scripts/run-demo.sh (and `make run`) stopped
# by SIGTERM, SIGINT, SIGHUP or SIGKILL at any moment of start-up leaves no
# process and no listening port behind.
#
# The demo runs on free ports (SASGW_DEMO_PORT_BASE) with a temporary state
# directory (SASGW_DEMO_VAR), in a session of its own, marked by
# SASGW_SIGTEST_RUN (lib-signals.sh). First one full start: it initialises the
# state directory and measures the start-up time T; then SIGTERM to the
# process group as soon as /readyz answers (the issue's recipe). Then TRIES
# runs, each sent one of the signals in turn (from a random start) after a
# random delay in [0, T + 1 s] (T + 3 s through make), to the process group
# (as a terminal or a supervisor does), to the script alone, or twice: to the
# group and 0-90 ms later to the script again (what make does with SIGTERM).
# After each signal every process of the run and every port must be gone
# within CLEAN_SECS seconds. Through make only where make's own build is a
# no-op (the ctest build directory is build/): make forwards SIGTERM to the
# script but waits without forwarding on SIGINT and SIGHUP, so those go to the
# group, as a terminal sends them; SIGKILL to make alone must stop the demo too.
#
#   SEED=N TRIES=N CLEAN_SECS=N tests/scripts/test_run_signals.sh
set -euo pipefail
src=${SASGW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$(realpath "${SASGW_BINARY:-$src/build/gateway/sasgw}")
. "$src/tests/scripts/lib-signals.sh"
sig_seed
TRIES=${TRIES:-8}
CLEAN_SECS=${CLEAN_SECS:-8}
SIGNALS=(TERM INT HUP KILL)

work=$(mktemp -d /tmp/sasgw-sigtest-demo-XXXXXX)
current= # the token of the run in progress: killed if this test is stopped itself
cleanup() {
    local left
    left=$( [ -z "$current" ] || sig_procs "$current" "${ports[@]}" "$work")
    # shellcheck disable=SC2086
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
base=$(sig_free_base 5)
ports=("$base" $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)))
use_make=0
if [ -n "${SASGW_BUILD_DIR:-}" ] && [ "$(realpath "$SASGW_BUILD_DIR")" = "$(realpath -m "$src/build")" ]; then
    use_make=1
fi
echo "ports ${ports[*]}, state $work/var, make runs: $([ $use_make = 1 ] && echo yes || echo 'no (the build directory is not build/)')"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_demo HOW LOG: the demo (HOW: script | make) in a new session; sets leader and current.
start_demo() {
    local cmd=("$src/scripts/run-demo.sh")
    [ "$1" = script ] || cmd=(make -s -C "$src" --no-print-directory run)
    current=$(sig_token)
    # A command run with & by a script starts with SIGINT ignored, and a shell
    # cannot trap what it was started ignoring: give the demo a default SIGINT,
    # as a terminal, make or a supervisor does.
    SASGW_SIGTEST_RUN=$current SASGW_DEMO_VAR=$work/var SASGW_DEMO_PORT_BASE=$base SASGW_BINARY=$bin \
        setsid env --default-signal=INT,QUIT "${cmd[@]}" >"$2" 2>&1 </dev/null &
    leader=$!
}

# check WHAT LOG: every process and port of the current run gone, else a failure.
failures=0
check() {
    sig_wait_leader "$CLEAN_SECS" "$leader"
    if sig_wait_clean "$CLEAN_SECS" "$current" "${ports[@]}" "$work"; then
        echo "  ok: nothing left $(( $(date +%s%N) / 1000000 - sent )) ms after the signal"
    else
        echo "FAIL: $1 left processes or ports; last lines of its output:" >&2
        tail -n 5 "$2" | sed 's/^/    /' >&2
        failures=$((failures + 1))
    fi
    current=
}

# the first start, timed; SIGTERM to the group as soon as /readyz answers
t0=$(now_ms)
start_demo script "$work/run0.log"
until curl -fsS -o /dev/null "http://127.0.0.1:$base/readyz" 2>/dev/null; do
    if ! kill -0 "$leader" 2>/dev/null || [ $(( $(now_ms) - t0 )) -gt 90000 ]; then
        echo "FAIL: the demo did not become ready; its output:" >&2
        cat "$work/run0.log" >&2
        exit 1
    fi
    sleep 0.1
done
T=$(( $(now_ms) - t0 ))
echo "run 0: ready after ${T} ms; SIGTERM to the process group at once"
kill -TERM -- "-$leader"
sent=$(now_ms)
check "run 0 (SIGTERM once ready)" "$work/run0.log"

offset=$((RANDOM % ${#SIGNALS[@]}))
for ((i = 1; i <= TRIES; i++)); do
    sig=${SIGNALS[(offset + i) % ${#SIGNALS[@]}]} # every signal within four tries
    how=script
    [ "$use_make" = 1 ] && [ $((i % 3)) = 0 ] && how='make'
    target=group
    case $((RANDOM % 3)) in
    1) { [ "$how" = script ] || [ "$sig" = TERM ] || [ "$sig" = KILL ]; } && target=leader ;;
    2) [ "$sig" = KILL ] || target=twice ;; # the group, then the leader again, as make forwards SIGTERM
    esac
    span=$((T + 1000))
    [ "$how" = make ] && span=$((span + 2000))
    delay=$(( (RANDOM * 32768 + RANDOM) % span ))
    start_demo "$how" "$work/run$i.log"
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    phase=$( (grep -v "^\s*$" "$work/run$i.log" || true) | tail -n 1 | cut -c1-60)
    echo "run $i: SIG$sig to the ${target/twice/group, then the leader} ($how) after ${delay} ms${phase:+ (last output: $phase)}"
    sent=$(now_ms)
    if [ "$target" != leader ]; then
        kill "-$sig" -- "-$leader" 2>/dev/null || true
    fi
    if [ "$target" = twice ]; then
        sleep "0.0$((RANDOM % 10))"
    fi
    if [ "$target" != group ]; then
        kill "-$sig" "$leader" 2>/dev/null || true
    fi
    check "run $i (SIG$sig to the $target of $how after $delay ms, seed $SEED)" "$work/run$i.log"
done

if [ "$failures" -gt 0 ]; then
    echo "FAIL: $failures of $((TRIES + 1)) runs left something behind (seed $SEED)" >&2
    exit 1
fi
echo "PASS: $((TRIES + 1)) runs, nothing left (seed $SEED)"
