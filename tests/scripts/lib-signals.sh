# shellcheck shell=bash
# lib-signals.sh - helpers for the tests that interrupt scripts at random
# moments and check that nothing they started is left (sourced).
#
# A run is marked by an environment variable, SASGW_SIGTEST_RUN=TOKEN, that the
# test sets for the script it starts; every descendant inherits it, whatever
# session or process group it moves to, so the test finds exactly the
# processes it started (never another engineer's) by reading /proc/PID/environ.
# Redis rewrites that memory for its process title, so a process listening on
# one of the run's ports whose title names that port counts as the run's too.
#
#   sig_seed                 seeds $RANDOM from $SEED (else a fresh seed), prints the seed
#   sig_token                a fresh run token
#   sig_procs TOKEN PORTS... the pids of live processes carrying TOKEN, or listening on
#                            one of PORTS with that port in their title; one a line
#   sig_port_open PORT       true when 127.0.0.1:PORT accepts connections
#   sig_free_base N          a port P with P..P+N-1 all free (20000-32000, below the ephemeral range)
#   sig_wait_clean SECS TOKEN PORTS...   waits until no process carries TOKEN and no PORT
#                            listens; on failure prints what is left, kills it (it is
#                            ours: it carries TOKEN) and returns 1

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
        for pid in $(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qw "$port" && echo "$pid"
        done
    done
    return 0
}

sig_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

sig_free_base() {
    local n=$1 base p ok
    for _ in $(seq 50); do
        base=$((20000 + RANDOM % 12000))
        ok=1
        for ((p = base; p < base + n; p++)); do
            if sig_port_open "$p"; then ok=0; break; fi
        done
        [ "$ok" = 1 ] && { echo "$base"; return 0; }
    done
    echo "sig_free_base: no $n free ports found" >&2
    return 1
}

sig_wait_clean() {
    local secs=$1 token=$2
    shift 2
    local deadline=$(( $(date +%s%N) / 1000000 + secs * 1000 )) procs p open
    for (( ; ; )); do
        procs=$(sig_procs "$token" "$@" | sort -u)
        open=
        for p in "$@"; do sig_port_open "$p" && open+=" $p"; done
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
