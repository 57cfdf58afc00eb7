#!/usr/bin/env bash
# bench/keyvault.sh - secrets get/s of the Key Vault API (GET /secrets/{name}
# with a reused bearer JWT, api-version 7.6) next to sasgw's own admin API
# (GET /v1/secrets/{name} with Basic demo-admin, secrets.read), both over TLS
# with keep-alive, against a sasgw of its own (Redis on a free loopback port,
# a temporary vault, audit log and throwaway CA/certificate made by openssl).
#
#   bench/keyvault.sh              # ROUNDS=3 DURATION=10s THREADS=2 CONNECTIONS=32
#   SASGW_BINARY=build/gateway/sasgw ROUNDS=5 bench/keyvault.sh
#
# The load generator is wrk over HTTPS (it does not verify the certificate)
# with a Lua script setting the Authorization header. The JWT is made once
# (RS256, demo issuer, sub kv-app of conf/policy.yaml, aud = the vault's resource) and reused for the whole
# run, as a client does until it expires: after its first use the policy's
# signature cache answers (claims, audience and the data action are still
# checked on every request). Every read of a value is audited durably by the
# vault before it answers (one fsync per get, under the vault lock), which is
# what bounds both figures. Builds nothing. The lines:
#   kv_gets_per_s=N       (Key Vault API, bearer JWT)
#   kv_p99_ms=X
#   v1_gets_per_s=N       (admin API, Basic)
#   v1_p99_ms=X
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${SASGW_BINARY:-build/gateway/sasgw}")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WRK_THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_THREADS=${SERVER_THREADS:-0}

for tool in wrk redis-server node python3 openssl curl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "error: $BIN not built (make build)" >&2; exit 1; }

. scripts/lib-stack.sh
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sasgw-bench-kv-XXXXXX")
cleanup() { rm -rf "$WORK"; }
stack_trap_exit cleanup

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
REDIS_PORT=$(free_port)
ISSUER_PORT=$(free_port)
KV_PORT=$(free_port)

# a throwaway CA and a certificate for kv.localhost and 127.0.0.1
(
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 \
        -subj '/CN=sasgw bench CA' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.csr -subj /CN=kv.localhost 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:kv.localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tls.pem -days 1 -extfile ext.cnf 2>/dev/null
)

mkdir -p "$WORK/redis"
stack_start_redis "$REDIS_PORT" "$WORK/redis" >/dev/null
head -c 32 /dev/urandom | base64 >"$WORK/master.key"
chmod 600 "$WORK/master.key"
cp conf/policy.yaml conf/demo-jwks.json "$WORK/"
VOPTS=(--vault "$WORK/vault.db" --master-key-file "$WORK/master.key" --audit-log "$WORK/audit.log")
"$BIN" vault init "${VOPTS[@]}" >/dev/null
printf %s 'bench-secret-value-0123456789' | "$BIN" secret set demo-bench "${VOPTS[@]}" >/dev/null
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
      tls: { certificate: $WORK/tls.pem, key: $WORK/tls.key }
keyvault:
  listen:
    - address: 127.0.0.1
      port: $KV_PORT
      tls: { certificate: $WORK/tls.pem, key: $WORK/tls.key }
  public_url: https://kv.localhost:$KV_PORT
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
audit:
  path: $WORK/audit.log
YAML

stack_spawn sasgw "$WORK/sasgw.log" "$BIN" serve -c "$WORK/sasgw.yaml"
stack_wait_port "sasgw" "$KV_PORT" "${STACK_PIDS[-1]}" "$WORK/sasgw.log"

JWT=$(node -e '
const c = require("node:crypto"), fs = require("node:fs");
const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const input = b({alg: "RS256", typ: "JWT", kid: "demo-rs256"}) + "." +
    b({iss: "https://demo.issuer.local/", aud: process.argv[1], sub: "kv-app", iat: now, exp: now + 3600});
process.stdout.write(input + "." + c.sign("sha256", Buffer.from(input), fs.readFileSync("conf/demo-jwt-private.pem")).toString("base64url"));' \
    "https://localhost:$KV_PORT")
KV_URL="https://127.0.0.1:$KV_PORT/secrets/demo-bench?api-version=7.6"
V1_URL="https://127.0.0.1:$ISSUER_PORT/v1/secrets/demo-bench"
BASIC="Basic $(printf %s demo-admin:admin-secret | base64 -w0)"

# sanity: both answer the value
curl -sf --cacert "$WORK/ca.pem" --resolve "kv.localhost:$KV_PORT:127.0.0.1" -H "Authorization: Bearer $JWT" \
    "https://kv.localhost:$KV_PORT/secrets/demo-bench?api-version=7.6" | grep -q bench-secret-value \
    || { echo "error: the Key Vault API did not answer the secret" >&2; exit 1; }
curl -sf --cacert "$WORK/ca.pem" --resolve "kv.localhost:$ISSUER_PORT:127.0.0.1" -H "Authorization: $BASIC" \
    "https://kv.localhost:$ISSUER_PORT/v1/secrets/demo-bench" | grep -q bench-secret-value \
    || { echo "error: the admin API did not answer the secret" >&2; exit 1; }

printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$JWT" >"$WORK/kv.lua"
printf 'wrk.headers["Authorization"] = "%s"\n' "$BASIC" >"$WORK/v1.lua"

# run NAME URL: one wrk run; appends "rps p99_ms" to $WORK/NAME.txt
run() {
    local out rps p99 non2xx
    out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/$1.lua" "$2")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '  %-3s round: %10.0f gets/s  p99 %7.2f ms%s\n' "$1" "$rps" "$p99" "${non2xx:+  NON-2XX: $non2xx}"
    [ -z "$non2xx" ] || { echo "error: wrk saw non-2xx answers; see $WORK/sasgw.log" >&2; exit 1; }
    echo "$rps $p99" >>"$WORK/$1.txt"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "sasgw secrets get benchmark: $(nproc) cores, sasgw threads ${SERVER_THREADS/#0/one per core}, wrk (TLS keep-alive) -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d2s -s "$WORK/kv.lua" "$KV_URL" >/dev/null # warm-up
for ((i = 1; i <= ROUNDS; i++)); do
    run kv "$KV_URL"
    run v1 "$V1_URL"
done
echo "audit records written: $(wc -l <"$WORK/audit.log")"
printf 'kv_gets_per_s=%.0f\n' "$(cut -d' ' -f1 "$WORK/kv.txt" | median)"
echo "kv_p99_ms=$(cut -d' ' -f2 "$WORK/kv.txt" | median)"
printf 'v1_gets_per_s=%.0f\n' "$(cut -d' ' -f1 "$WORK/v1.txt" | median)"
echo "v1_p99_ms=$(cut -d' ' -f2 "$WORK/v1.txt" | median)"
