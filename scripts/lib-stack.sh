# shellcheck shell=bash
# lib-stack.sh - start and stop the demo's servers from bash (sourced, not run).
#
# Each server runs in its own process group (setsid), its pid recorded in
# STACK_PIDS; stack_stop_all ends every group (TERM, then KILL after a grace
# period), newest first. Scripts install it as their EXIT trap:
#
#     . scripts/lib-stack.sh
#     trap stack_stop_all EXIT
#     trap 'exit 130' INT
#     trap 'exit 143' TERM
#     stack_require_free_port "Redis" 6390
#     stack_start_redis 6390 var/redis
#
# Servers listen on 127.0.0.1 only. Output goes to a log file named by the
# caller, so the foreground stays readable.

STACK_PIDS=()
STACK_NAMES=()
STACK_ROOT=${STACK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

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

# stack_spawn NAME LOGFILE CMD ARGS...: starts CMD in a new process group with
# its output appended to LOGFILE, and records it.
stack_spawn() {
    local name=$1 log=$2
    shift 2
    setsid "$@" >>"$log" 2>&1 </dev/null &
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

# stack_stop_all: ends every recorded process group, newest first: TERM, up to
# 5 s grace, then KILL. Safe to call more than once.
stack_stop_all() {
    local i pid n
    for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${STACK_PIDS[i]}
        kill -TERM -- "-$pid" 2>/dev/null || continue
        for ((n = 0; n < 50; n++)); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 -- "-$pid" 2>/dev/null; then
            echo "stack: ${STACK_NAMES[i]} did not stop on TERM, killing" >&2
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    STACK_PIDS=()
    STACK_NAMES=()
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
