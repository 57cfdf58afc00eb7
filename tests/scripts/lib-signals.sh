# shellcheck shell=bash
# lib-signals.sh - helpers for the tests that interrupt scripts at random
# moments and check that nothing they started is left (sourced).
#
# A run is marked by an environment variable, SASGW_SIGTEST_RUN=TOKEN, that the
# test sets for the script it starts; every descendant inherits it, whatever
# session or process group it moves to, so the test finds exactly the
# processes it started (never another engineer's) by reading /proc/PID/environ.
# Redis rewrites that memory for its process title, so two more marks count:
# a working directory inside one of the run's directories (Redis runs in its
# data directory), and listening on one of the run's ports with that port in
# the process title.
#
#   sig_seed                 seeds $RANDOM from $SEED (else a fresh seed), prints the seed
#   sig_token                a fresh run token
#   sig_procs TOKEN MARKS... the pids of live processes carrying TOKEN, or marked as the
#                            run's by MARKS (ports, and directories: absolute paths); one a line
#   sig_free_base N          a port P with P..P+N-1 all free (20000-32000, below the ephemeral range)
#   sig_wait_leader SECS PID waits up to SECS for this shell's child PID to end, and reaps it
#   sig_wait_clean SECS TOKEN MARKS...   waits until sig_procs finds nothing and no port
#                            of MARKS listens; on failure prints what is left, kills it (it is
#                            ours: it carries TOKEN) and returns 1


# stack_port_open, from the scripts under test
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib-stack.sh"

# sig_seed: SEED (given, for a replay) or a new one; $RANDOM follows it.
sig_seed() {
    SEED=${SEED:-$(( $(date +%s%N) % 1000000007 ))}
    RANDOM=$SEED
    echo "seed=$SEED (replay with SEED=$SEED)"
}

sig_token() { printf 'sigtest-%s-%s-%s' "$$" "$RANDOM" "$(date +%s%N)"; }

sig_procs() {
    local f pid port
    # -z: environ is NUL-separated; -x: the whole entry; zombies have an empty environ.
    for f in $(grep -lzx "SASGW_SIGTEST_RUN=$1" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/environ}
        [ "$pid" != "$BASHPID" ] && echo "$pid"
    done
    shift
    for port in "$@"; do
        if [[ $port == /* ]]; then
            for f in /proc/[0-9]*/cwd; do
                [[ "$(readlink "$f" 2>/dev/null)" == "$port"/* ]] && pid=${f#/proc/} && echo "${pid%/cwd}"
            done
            continue
        fi
        for pid in $(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qw "$port" && echo "$pid"
        done
    done
    return 0
}

sig_free_base() {
    local n=$1 base p ok
    for _ in $(seq 50); do
        base=$((20000 + RANDOM % 12000))
        ok=1
        for ((p = base; p < base + n; p++)); do
            if stack_port_open "$p"; then ok=0; break; fi
        done
        [ "$ok" = 1 ] && { echo "$base"; return 0; }
    done
    echo "sig_free_base: no $n free ports found" >&2
    return 1
}

sig_wait_leader() {
    local n
    for ((n = 0; n < $1 * 10; n++)); do
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$2" 2>/dev/null || wait "$2" 2>/dev/null || true
}

sig_wait_clean() {
    local secs=$1 token=$2
    shift 2
    local deadline=$(( $(date +%s%N) / 1000000 + secs * 1000 )) procs p open
    for (( ; ; )); do
        procs=$(sig_procs "$token" "$@" | sort -u)
        open=
        for p in "$@"; do [[ $p == /* ]] || ! stack_port_open "$p" || open+=" $p"; done
        [ -z "$procs$open" ] && return 0
        [ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && break
        sleep 0.1
    done
    echo "  LEFT after ${secs}s:${open:+ listening on$open}" >&2
    # shellcheck disable=SC2086
    [ -z "$procs" ] || ps -o pid,ppid,pgid,sid,stat,args -p "$(echo $procs | tr ' ' ,)" >&2 || true
    # shellcheck disable=SC2086
    [ -z "$procs" ] || kill -KILL $procs 2>/dev/null || true
    return 1
}
