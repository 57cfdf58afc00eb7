# shellcheck shell=bash
# lib-stack.sh - start and stop the demo's servers from bash (sourced, not run).
#
# Each server runs in its own process group (setsid), its pid recorded in
# STACK_PIDS, and is held by this shell: it gets SIGTERM when the shell dies,
# even of SIGKILL (setpriv --pdeathsig). stack_stop_all ends every group
# (TERM, then KILL once a shared grace period is over). Scripts
# install the traps with stack_trap_exit before their first server:
#
#     . scripts/lib-stack.sh
#     stack_trap_exit            # or: stack_trap_exit my_cleanup
#     stack_require_free_port "Redis" 6390
#     stack_start_redis 6390 var/redis
#
# Servers listen on 127.0.0.1 only. Output goes to a log file named by the
# caller, so the foreground stays readable.
#
# The races this closes (issue 14: SIGTERM to `make run` soon after start left
# every server running):
#  - make forwards SIGTERM to the script, which also got it from the group
#    kill: the second TERM ran the old trap 'exit 143' again inside the EXIT
#    trap, and that exit ended stack_stop_all before it had stopped anything.
#    Now the first signal makes every later INT, TERM and HUP ignored, and the
#    cleanup runs once, to its end.
#  - A signal between `cmd &` and STACK_PIDS+=("$!") left that server out of
#    the list: stack_stop_all also stops the shell's own background jobs.
#  - A server forked but not yet in its own group (setsid() not yet called)
#    was skipped, since kill -- -PID found no group: the pid is signalled too.
#  - Only a trapped signal was handled: SIGKILL of the script (or of make)
#    left everything; now the servers die with the script (pdeathsig).
# Left as bash makes it: a script started with `&` by another script starts
# with SIGINT ignored, and bash cannot trap a signal ignored at its start; such
# a script stops on TERM or HUP only (its servers still die with it). And a
# SIGINT to the process group while bash waits for a foreground command that
# does not die of it (it handles SIGINT and exits 0) is taken as handled by
# that command and dropped, trap or not ("wait and cooperative exit"; SIGINT
# only; none of the demo's commands handles it): call stack_trap_exit before
# anything else, and prefer builtins (wait -n) where a script spends its time.
STACK_PIDS=()
STACK_NAMES=()
STACK_ON_EXIT=
STACK_GRACE=${STACK_GRACE:-5}
STACK_HOLD=${STACK_HOLD:-1} # 0: servers outlive this shell (a benchmark's KEEP mode)
# Run by each server's process between setpriv and the server: exits when the
# shell that spawned it ($1) is already gone (it died before setpriv set the
# death signal, which would then never come), else becomes the server.
STACK__HOLD='[ "$PPID" = "$1" ] || { echo "stack: parent $1 gone before the start" >&2; exit 129; }; shift; exec "$@"'
# The source tree, found without a subshell: sourcing this file forks nothing
# (see the note on SIGINT above).
if [ -z "${STACK_ROOT:-}" ]; then
    STACK_ROOT=${BASH_SOURCE[0]%/*}
    [ "$STACK_ROOT" != "${BASH_SOURCE[0]}" ] || STACK_ROOT=.
    [[ $STACK_ROOT == /* ]] || STACK_ROOT=$PWD/$STACK_ROOT
    STACK_ROOT=$STACK_ROOT/..
fi

# stack_port_open PORT: true if something accepts connections on 127.0.0.1:PORT.
stack_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stack_require_free_port WHAT PORT: exits 1 with a clear message when PORT is taken.
stack_require_free_port() {
    if stack_port_open "$2"; then
        echo "error: 127.0.0.1:$2 is already in use, needed for $1." >&2
        echo "       Stop whatever listens there (ss -ltnp 'sport = :$2' shows it) and try again." >&2
        exit 1
    fi
}

# stack_trap_exit [FUNCTION]: installs the EXIT, INT, TERM and HUP traps that
# stop every server (and then run FUNCTION, the caller's own cleanup) exactly
# once, whichever signal comes and however many. Call it before the first
# stack_spawn. The script exits 130 on INT, 143 on TERM, 129 on HUP.
stack_trap_exit() {
    STACK_ON_EXIT=${1:-}
    trap stack__on_exit EXIT
    trap 'stack__on_signal 129' HUP
    trap 'stack__on_signal 130' INT
    trap 'stack__on_signal 143' TERM
}

# The first signal: later ones are ignored from here on (a second TERM, from
# make or a supervisor, must not cut the cleanup short); exit runs the EXIT trap.
stack__on_signal() {
    trap '' HUP INT TERM
    exit "$1"
}

# The EXIT trap: the servers, then the caller's cleanup, with signals ignored.
stack__on_exit() {
    trap '' HUP INT TERM
    stack_stop_all
    if [ -n "$STACK_ON_EXIT" ]; then "$STACK_ON_EXIT" || true; fi
}

# stack_spawn NAME LOGFILE CMD ARGS...: starts CMD in a new process group with
# its output appended to LOGFILE, held so that it gets SIGTERM when this shell
# dies (unless STACK_HOLD=0), and records it. Needs a shell without job
# control (a script), so that setsid need not fork and the pid recorded is the
# server's.
stack_spawn() {
    local name=$1 log=$2 shell=$BASHPID # here: the words of `cmd &` expand in the child
    shift 2
    if [ "$STACK_HOLD" = 0 ]; then
        setsid "$@" >>"$log" 2>&1 </dev/null &
    else
        setsid setpriv --pdeathsig TERM -- bash -c "$STACK__HOLD" stack-hold "$shell" "$@" >>"$log" 2>&1 </dev/null &
    fi
    STACK_PIDS+=("$!")
    STACK_NAMES+=("$name")
}

# stack_wait_port NAME PORT PID LOGFILE [SECONDS]: polls until PORT accepts
# connections; fails (showing the log's tail) if PID dies or time runs out.
stack_wait_port() {
    local name=$1 port=$2 pid=$3 log=$4 secs=${5:-30}
    local deadline=$((SECONDS + secs))
    until stack_port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: $name exited while starting; last lines of $log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "error: $name did not listen on 127.0.0.1:$port within ${secs}s; see $log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# stack_start_redis PORT DIR: Debian's redis-server on 127.0.0.1:PORT, data
# (append-only file) and log in DIR.
stack_start_redis() {
    local port=$1 dir=$2
    mkdir -p "$dir"
    stack_spawn redis "$dir/redis.log" redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes \
        --daemonize no --dir "$(cd "$dir" && pwd)" --appendonly yes --save ''
    stack_wait_port "Redis" "$port" "${STACK_PIDS[-1]}" "$dir/redis.log"
}

# stack_start_azurite PORT DIR: Azurite's blob service (node_modules, pinned)
# on 127.0.0.1:PORT, data and log in DIR. Telemetry off; the API version check
# off, since the SDK speaks a newer x-ms-version than Azurite knows.
stack_start_azurite() {
    local port=$1 dir=$2
    local main="$STACK_ROOT/node_modules/azurite/dist/src/blob/main.js"
    if [ ! -f "$main" ]; then
        echo "error: Azurite is not installed ($main missing); run scripts/install-deps.sh" >&2
        return 1
    fi
    mkdir -p "$dir"
    stack_spawn azurite "$dir/azurite.log" node "$main" --blobHost 127.0.0.1 --blobPort "$port" \
        --location "$dir" --skipApiVersionCheck --disableTelemetry --disableProductStyleUrl
    stack_wait_port "Azurite" "$port" "${STACK_PIDS[-1]}" "$dir/azurite.log"
}

# stack__alive PID: true while the process group PID, or the process PID
# itself, still exists.
stack__alive() {
    kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null
}

# stack__signal SIG PID: signals the group PID and, when it is this shell's
# child, the process PID itself (a child that has not called setsid() yet has
# no group of its own).
stack__signal() {
    kill "-$1" -- "-$2" 2>/dev/null || true
    if [ "$(ps -o ppid= -p "$2" 2>/dev/null | tr -d ' ')" = "$BASHPID" ]; then
        kill "-$1" "$2" 2>/dev/null || true
    fi
}

# stack_stop_all: ends every recorded process group and every background job
# of this shell not yet recorded: TERM to each, newest first, then KILL for
# whatever is still there STACK_GRACE (5) seconds later. All at once, so that
# stopping takes as long as the slowest server, not the sum. Safe to call more
# than once; never fails (it runs in EXIT traps under set -e).
stack_stop_all() {
    local i pid pids=() names=() left deadline=$((SECONDS + STACK_GRACE))
    for pid in $(jobs -p); do
        [[ " ${STACK_PIDS[*]} " == *" $pid "* ]] || { pids+=("$pid"); names+=("job $pid"); }
    done
    for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
        pids+=("${STACK_PIDS[i]}")
        names+=("${STACK_NAMES[i]}")
    done
    for pid in "${pids[@]}"; do
        stack__signal TERM "$pid"
    done
    for (( ; ; )); do
        left=()
        for i in "${!pids[@]}"; do
            if stack__alive "${pids[i]}"; then left+=("$i"); fi
        done
        [ "${#left[@]}" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.1
    done
    for i in "${left[@]}"; do
        echo "stack: ${names[i]} did not stop on TERM, killing" >&2
        stack__signal KILL "${pids[i]}"
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    STACK_PIDS=()
    STACK_NAMES=()
    return 0
}

# stack_wait_any: blocks until a recorded server exits (or a trapped signal
# arrives); reports which one died. Returns 1 when a server died.
stack_wait_any() {
    local i
    wait -n "${STACK_PIDS[@]}" 2>/dev/null || true
    for i in "${!STACK_PIDS[@]}"; do
        if ! kill -0 "${STACK_PIDS[i]}" 2>/dev/null; then
            echo "stack: ${STACK_NAMES[i]} (pid ${STACK_PIDS[i]}) exited; stopping the rest" >&2
            return 1
        fi
    done
}

# stack_make_demo_tls DIR: the demo's TLS material in DIR (mode 0700), made
# with the openssl CLI on first use and kept afterwards: a demo CA (ca.pem,
# ca.key) and a server certificate it signs for 127.0.0.1, ::1, localhost
# and *.localhost (kv.pem, kv.key); both keys EC P-256, mode 0600. A
# certificate is made again when it is missing, no longer verifies against
# the CA, or expires within a day. Prints what it created. Demo only: the CA
# key sits beside it, so trust ca.pem for this stack and nothing else.
stack_make_demo_tls() {
    local dir=$1
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
        (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
            -out "$dir/ca.pem" -days 825 -subj "/CN=sasgw demo CA $(hostname -s 2>/dev/null || echo local)" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign) >/dev/null 2>&1 ||
            { echo "error: openssl could not create the demo CA in $dir" >&2; return 1; }
        rm -f "$dir/kv.pem" "$dir/kv.key"
        echo "== created the demo CA $dir/ca.pem (key $dir/ca.key, mode 0600)"
    fi
    if [ ! -s "$dir/kv.pem" ] || [ ! -s "$dir/kv.key" ] || ! openssl verify -CAfile "$dir/ca.pem" "$dir/kv.pem" >/dev/null 2>&1 ||
        ! openssl x509 -in "$dir/kv.pem" -noout -checkend 86400 >/dev/null 2>&1; then
        local ext
        ext=$(mktemp "$dir/ext.XXXXXX")
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:*.localhost\n' >"$ext"
        (umask 077 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/kv.key" -out "$dir/kv.csr" \
            -subj /CN=localhost && openssl x509 -req -in "$dir/kv.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
            -out "$dir/kv.pem" -days 397 -extfile "$ext") >/dev/null 2>&1 ||
            { rm -f "$ext" "$dir/kv.csr"; echo "error: openssl could not create the demo certificate in $dir" >&2; return 1; }
        rm -f "$ext" "$dir/kv.csr"
        echo "== created $dir/kv.pem for 127.0.0.1 and localhost (key $dir/kv.key, mode 0600), signed by the demo CA"
    fi
    chmod 600 "$dir/ca.key" "$dir/kv.key"
    chmod 644 "$dir/ca.pem" "$dir/kv.pem"
}
