#!/usr/bin/env bash
# bench/mint.sh - mint throughput of the issuing API: wrk POSTs /v1/sas over
# keep-alive HTTP/1.1 against a sasgw of its own (Redis on a free loopback
# port, a temporary vault and audit log; Azurite is not needed to mint).
#
#   bench/mint.sh                  # ROUNDS=3 DURATION=10s THREADS=2 CONNECTIONS=128
#   SASGW_BINARY=build/gateway/sasgw ROUNDS=5 bench/mint.sh
#   DISTINCT=1 bench/mint.sh       # every request names another blob (no two mints alike)
#
# Builds nothing: uses build/gateway/sasgw (or $SASGW_BINARY). Each round runs
# Basic auth then a JWT (RS256 bearer) load; the medians are printed, and the
# last three lines are below. By default every request is the same body, so
# thousands of mints per second are identical and each after the first costs a
# second claim in Redis (docs/redis.md: unique mints); DISTINCT=1 varies the
# blob name per request, the common case. The JWT load reuses one token, as a client does
# until it expires: after its first use the policy's signature cache answers
# (claims are still checked on every request); a first use costs a libjwt
# verification, ~0.4 ms. The lines:
#   jwt_mints_per_s=N
#   mints_per_s=N        (Basic)
#   p99_ms=X             (Basic, median over rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$(realpath "${SASGW_BINARY:-build/gateway/sasgw}")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WRK_THREADS=${THREADS:-2}
# 128 clients by default: a mint answers only after its audit record is durable, and
# the audit thread group-commits whatever is queued, so throughput grows with the
# number of concurrent clients (at 32 it is about 70% of the figure at 128).
CONNECTIONS=${CONNECTIONS:-128}
SERVER_THREADS=${SERVER_THREADS:-0}

for tool in wrk redis-server node python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "error: $BIN not built (make build)" >&2; exit 1; }

. scripts/lib-stack.sh
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sasgw-bench-mint-XXXXXX")
cleanup() { rm -rf "$WORK"; }
stack_trap_exit cleanup # the servers first, then cleanup, on exit and on INT, TERM or HUP

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
REDIS_PORT=$(free_port)
ISSUER_PORT=$(free_port)

# Redis, the vault, the configuration
mkdir -p "$WORK/redis"
stack_start_redis "$REDIS_PORT" "$WORK/redis" >/dev/null
head -c 32 /dev/urandom | base64 >"$WORK/master.key"
chmod 600 "$WORK/master.key"
cp conf/policy.yaml conf/demo-jwks.json "$WORK/"
VOPTS=(--vault "$WORK/vault.db" --master-key-file "$WORK/master.key" --audit-log "$WORK/audit.log")
"$BIN" vault init "${VOPTS[@]}" >/dev/null
"$BIN" account add devstoreaccount1 "${VOPTS[@]}" --mode passthrough --backend http://127.0.0.1:10000 \
    --key1 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==' >/dev/null
cat >"$WORK/sasgw.yaml" <<YAML
vault:
  path: $WORK/vault.db
  master_key_file: $WORK/master.key
policy: $WORK/policy.yaml
threads: $SERVER_THREADS
issuer:
  listen:
    - address: 127.0.0.1
      port: $ISSUER_PORT
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
audit:
  path: $WORK/audit.log
YAML

stack_spawn sasgw "$WORK/sasgw.log" "$BIN" serve -c "$WORK/sasgw.yaml"
stack_wait_port "sasgw" "$ISSUER_PORT" "${STACK_PIDS[-1]}" "$WORK/sasgw.log"
URL=http://127.0.0.1:$ISSUER_PORT/v1/sas
BODY='{"account":"devstoreaccount1","container":"demo","blob":"bench/hello.txt","permissions":"rw","expires_in":600}'

# a sanity mint
code=$(curl -s -o "$WORK/first.json" -w '%{http_code}' -u demo-app:demo-secret -d "$BODY" "$URL")
[ "$code" = 201 ] || { echo "error: the first mint answered $code: $(cat "$WORK/first.json")" >&2; exit 1; }

# an RS256 bearer token for the demo issuer, valid for the whole run
JWT=$(node -e '
const c = require("node:crypto"), fs = require("node:fs");
const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const input = b({alg: "RS256", typ: "JWT", kid: "demo-rs256"}) + "." +
    b({iss: "https://demo.issuer.local/", aud: "sasgw", sub: "demo-app", iat: now, exp: now + 3600});
process.stdout.write(input + "." + c.sign("sha256", Buffer.from(input), fs.readFileSync("conf/demo-jwt-private.pem")).toString("base64url"));')

# wrk's script: POST the body with the given Authorization on every request
lua() {
    cat >"$WORK/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "$2"
LUA
    if [ "${DISTINCT:-0}" = 1 ]; then
        cat >>"$WORK/$1.lua" <<'LUA'
local n, prefix = 0, tostring({}):gsub("[^%w]", "")
request = function()
    n = n + 1
    local body = wrk.body:gsub("bench/hello.txt", "bench/" .. prefix .. "-" .. n .. ".txt")
    return wrk.format(nil, nil, nil, body)
end
LUA
    fi
}
lua basic "Basic $(printf %s demo-app:demo-secret | base64 -w0)"
lua jwt "Bearer $JWT"

# run NAME: one wrk run; appends "rps p99_ms" to $WORK/NAME.txt
run() {
    local out rps p99 non2xx
    out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/$1.lua" "$URL")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '  %-5s round: %10.0f mints/s  p99 %7.2f ms%s\n' "$1" "$rps" "$p99" "${non2xx:+  NON-2XX: $non2xx}"
    [ -z "$non2xx" ] || { echo "error: wrk saw non-2xx answers; see $WORK/sasgw.log" >&2; exit 1; }
    echo "$rps $p99" >>"$WORK/$1.txt"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "sasgw mint benchmark: $(nproc) cores, sasgw threads ${SERVER_THREADS/#0/one per core}, wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d2s -s "$WORK/basic.lua" "$URL" >/dev/null # warm-up
for ((i = 1; i <= ROUNDS; i++)); do
    run basic
    run jwt
done
BASIC_RPS=$(cut -d' ' -f1 "$WORK/basic.txt" | median)
BASIC_P99=$(cut -d' ' -f2 "$WORK/basic.txt" | median)
JWT_RPS=$(cut -d' ' -f1 "$WORK/jwt.txt" | median)
JWT_P99=$(cut -d' ' -f2 "$WORK/jwt.txt" | median)
echo "audit records written: $(wc -l <"$WORK/audit.log")"
echo "jwt_p99_ms=$JWT_P99"
printf 'jwt_mints_per_s=%.0f\n' "$JWT_RPS"
printf 'mints_per_s=%.0f\n' "$BASIC_RPS"
echo "p99_ms=$BASIC_P99"
