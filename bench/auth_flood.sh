#!/usr/bin/env bash
# bench/auth_flood.sh - mint throughput while another address floods the
# issuer with bad passwords (issue 9 item 7): wrk POSTs /v1/sas with good
# Basic credentials from 127.0.0.1 over keep-alive HTTP/1.1, alone and then
# while a second wrk sends bad passwords from ::1 (the issuer listens on both
# loopback addresses) as fast as it can over FLOOD_CONNECTIONS keep-alive
# connections. Each phase runs against a
# fresh sasgw of its own (Redis on a free loopback port, a temporary vault
# and audit log):
#   alone      no flood
#   limited    flood, issuer.auth_failures.limit 20 (the default): past 20 failures the flood gets 429
#   unlimited  flood, limit 0: every bad password is checked and refused with 401 (refusals still coalesced)
#
#   bench/auth_flood.sh            # DURATION=10s THREADS=1 CONNECTIONS=64 FLOOD_CONNECTIONS=64
#   SASGW_BINARY=/path/to/older/sasgw PHASES="alone unlimited" bench/auth_flood.sh   # an older binary (no auth_failures key)
#
# Builds nothing: uses build/gateway/sasgw (or $SASGW_BINARY). On this
# 2-core machine the load generators share the cores with sasgw, so the
# figures compare phases, not machines. The last lines:
#   mints_per_s_alone=N  mints_per_s_limited=N  mints_per_s_unlimited=N
#   flood_per_s_limited=N  flood_per_s_unlimited=N  audit_lines_<phase>=N (the flood rate counts 401s and 429s)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${SASGW_BINARY:-build/gateway/sasgw}")
DURATION=${DURATION:-10s}
WRK_THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-64}
SERVER_THREADS=${SERVER_THREADS:-0}
PHASES=${PHASES:-alone limited unlimited}

for tool in wrk redis-server python3 curl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "error: $BIN not built (make build)" >&2; exit 1; }

. scripts/lib-stack.sh
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sasgw-bench-flood-XXXXXX")
cleanup() { stack_stop_all; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
stack_start_redis "$REDIS_PORT" "$WORK/redis" >/dev/null
head -c 32 /dev/urandom | base64 >"$WORK/master.key"
chmod 600 "$WORK/master.key"
cp conf/policy.yaml conf/demo-jwks.json "$WORK/"
BODY='{"account":"devstoreaccount1","container":"demo","blob":"bench/hello.txt","permissions":"rw","expires_in":600}'
cat >"$WORK/mint.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic $(printf %s demo-app:demo-secret | base64 -w0)"
LUA
cat >"$WORK/flood.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic $(printf %s demo-app:wrong-password | base64 -w0)"
LUA

# phase NAME LIMIT FLOOD: a fresh vault and sasgw, wrk for DURATION (with the flood running when FLOOD=1)
phase() {
    local name=$1 limit=$2 flood=$3 dir="$WORK/$1" port out rps p99 non2xx
    mkdir -p "$dir"
    port=$(free_port)
    local vopts=(--vault "$dir/vault.db" --master-key-file "$WORK/master.key" --audit-log "$dir/audit.log")
    "$BIN" vault init "${vopts[@]}" >/dev/null
    "$BIN" account add devstoreaccount1 "${vopts[@]}" --mode passthrough --backend http://127.0.0.1:10000 \
        --key1 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==' >/dev/null
    {
        printf 'vault: {path: %s, master_key_file: %s}\npolicy: %s\nthreads: %s\n' "$dir/vault.db" "$WORK/master.key" "$WORK/policy.yaml" "$SERVER_THREADS"
        printf 'issuer:\n  listen: [{address: 127.0.0.1, port: %s}, {address: "::1", port: %s}]\n' "$port" "$port"
        [ "$limit" = - ] || printf '  auth_failures: {limit: %s}\n' "$limit"
        printf 'redis: {host: 127.0.0.1, port: %s}\naudit: {path: %s}\n' "$REDIS_PORT" "$dir/audit.log"
    } >"$dir/sasgw.yaml"
    stack_spawn "sasgw-$name" "$dir/sasgw.log" "$BIN" serve -c "$dir/sasgw.yaml"
    local pid=${STACK_PIDS[-1]}
    stack_wait_port "sasgw" "$port" "$pid" "$dir/sasgw.log"
    local url=http://127.0.0.1:$port/v1/sas
    [ "$(curl -s -o /dev/null -w '%{http_code}' -u demo-app:demo-secret -d "$BODY" "$url")" = 201 ] || { echo "error: first mint failed" >&2; exit 1; }
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d2s -s "$WORK/mint.lua" "$url" >/dev/null # warm-up
    local fpid=
    if [ "$flood" = 1 ]; then
        wrk -t1 -c"$FLOOD_CONNECTIONS" -d"$((${DURATION%s} + 2))s" -s "$WORK/flood.lua" "http://[::1]:$port/v1/sas" >"$dir/flood.out" &
        fpid=$!
        sleep 1
    fi
    out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/mint.lua" "$url")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    local flood_line=""
    if [ -n "$fpid" ]; then
        wait "$fpid" || true
        local frps
        frps=$(awk '/^Requests\/sec:/ {print $2}' "$dir/flood.out")
        flood_line=$(printf '  flood %6.0f req/s (%s non-2xx)' "$frps" "$(awk '/Non-2xx/ {print $NF}' "$dir/flood.out")")
        printf 'flood_per_s_%s=%.0f\n' "$name" "$frps" >>"$WORK/results"
    fi
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    printf '  %-9s %8.0f mints/s  p99 %7.2f ms%s%s  audit lines %s\n' "$name" "$rps" "$p99" "$flood_line" \
        "${non2xx:+  NON-2XX: $non2xx}" "$(wc -l <"$dir/audit.log")"
    printf 'mints_per_s_%s=%.0f\naudit_lines_%s=%s\n' "$name" "$rps" "$name" "$(wc -l <"$dir/audit.log")" >>"$WORK/results"
}

echo "sasgw mint benchmark under a bad-password flood: $(nproc) cores, sasgw threads ${SERVER_THREADS/#0/one per core}," \
    "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, flood wrk -t1 -c$FLOOD_CONNECTIONS from ::1"
for p in $PHASES; do
    case $p in
    alone) phase alone - 0 ;;
    limited) phase limited 20 1 ;;
    unlimited) phase unlimited 0 1 ;;
    unlimited-old) phase unlimited-old - 1 ;; # an older binary without auth_failures: every refusal audited
    *) echo "error: unknown phase $p" >&2; exit 2 ;;
    esac
done
cat "$WORK/results"
