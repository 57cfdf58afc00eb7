#!/usr/bin/env bash
# End-to-end test of `sasgw serve` (SASGW_BINARY): a temporary configuration on
# free ports, then /healthz, /readyz, /metrics, the 404/405 JSON errors,
# HTTP/2 (h2c and over TLS with a self-signed certificate), configuration
# errors, core dumps off (RLIMIT_CORE 0), a second serve on the same
# addresses refused while the first goes on serving, SIGHUP reload, SIGTERM
# with a request in flight (it finishes, the process exits 0 within a few
# seconds), and --die-with-parent.
set -euo pipefail
bin=${SASGW_BINARY:?set SASGW_BINARY to the sasgw binary}
work=$(mktemp -d)
pid=
redis_pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill -KILL "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$work/log" ] && sed 's/^/  log: /' "$work/log" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }

issuer=$(free_port); proxy=$(free_port); tls=$(free_port); redis=$(free_port)
src=${SASGW_SOURCE_DIR:-$(pwd)}

# what serve opens: a vault (master key file 0600), the demo policy, and a Redis of its own
head -c 32 /dev/urandom | base64 > "$work/master.key"
chmod 600 "$work/master.key"
"$bin" vault init --vault "$work/vault.db" --master-key-file "$work/master.key" >/dev/null
"$bin" account add devstoreaccount1 --vault "$work/vault.db" --master-key-file "$work/master.key" \
    --key1 "$(head -c 64 /dev/urandom | base64 -w0)" >/dev/null
redis-server --port "$redis" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null 2>&1 &
redis_pid=$!
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat > "$work/sasgw.yaml" <<YAML
vault: {path: $work/vault.db, master_key_file: $work/master.key}
policy: $src/conf/policy.yaml
redis: {host: 127.0.0.1, port: $redis}
threads: 2
issuer:
  listen:
    - {address: 127.0.0.1, port: $issuer}
    - address: 127.0.0.1
      port: $tls
      tls: {certificate: $work/cert.pem, key: $work/key.pem}
  max_body: 65536
proxy:
  listen: [{address: 127.0.0.1, port: $proxy}]
  public_base_url: http://127.0.0.1:$proxy
YAML

# configuration errors: named with file:line:column, exit 1; usage errors exit 2
printf 'vault: {}\npolicy: p\nissuer: {listen: [{address: 127.0.0.1, port: 99999}]}\n' > "$work/bad.yaml"
set +e
out=$("$bin" serve -c "$work/bad.yaml" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "bad config exit $rc"
[[ $out == *"bad.yaml:3:46: 'port' must be between 1 and 65535"* ]] || fail "bad config message: $out"
set +e; "$bin" serve >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 2 ] || fail "missing -c exit $rc"
"$bin" serve -c "$work/sasgw.yaml" --check | grep -q "configuration OK" || fail "--check"

"$bin" serve -c "$work/sasgw.yaml" > "$work/log" 2>&1 &
pid=$!
wait_port "http://127.0.0.1:$issuer/healthz" || fail "issuer did not come up"
grep -q "sasgw: issuer listening on http://127.0.0.1:$issuer" "$work/log" || fail "startup line"
grep -q "sasgw: issuer listening on https://127.0.0.1:$tls" "$work/log" || fail "TLS startup line"
grep -q "sasgw: proxy listening on http://127.0.0.1:$proxy" "$work/log" || fail "proxy startup line"

[ "$(curl -s "http://127.0.0.1:$issuer/healthz")" = ok ] || fail "/healthz"
[ "$(curl -s "http://127.0.0.1:$issuer/readyz")" = '{"ready":true,"failed":[]}' ] || fail "/readyz"

# errors: JSON in DESIGN §4's shape
body=$(curl -s -w ' %{http_code} %{content_type}' "http://127.0.0.1:$issuer/nope")
[ "$body" = '{"error":{"code":"not_found","message":"no such resource"}} 404 application/json; charset=utf-8' ] || fail "404: $body"
hdrs=$(curl -s -D - -o "$work/405" -X DELETE "http://127.0.0.1:$issuer/healthz")
[[ $hdrs == *"HTTP/1.1 405"* ]] || fail "405 status: $hdrs"
grep -qi '^allow: GET, HEAD' <<<"$hdrs" || fail "405 Allow: $hdrs"
grep -q '"code":"method_not_allowed"' "$work/405" || fail "405 body"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$proxy/healthz")" = 404 ] || fail "proxy serves the issuer's routes"

# HTTP/2: cleartext with prior knowledge, upgrade, and over TLS (ALPN h2)
[ "$(curl -s -o /dev/null -w '%{http_version}' --http2-prior-knowledge "http://127.0.0.1:$issuer/healthz")" = 2 ] || fail "h2c prior knowledge"
[ "$(curl -s -o /dev/null -w '%{http_version}' --http2 "http://127.0.0.1:$issuer/healthz")" = 2 ] || fail "h2c upgrade"
out=$(curl -sk --http2 -w ' %{http_version}' "https://127.0.0.1:$tls/healthz")
[ "$out" = "ok
 2" ] || fail "h2 over TLS: $out"
out=$(curl -sk --http1.1 -w ' %{http_version}' "https://127.0.0.1:$tls/healthz")
[ "$out" = "ok
 1.1" ] || fail "HTTP/1.1 over TLS: $out"

# metrics: Prometheus text with HELP/TYPE and the requests above
curl -s "http://127.0.0.1:$issuer/metrics" > "$work/metrics"
grep -q '^# HELP sasgw_http_requests_total ' "$work/metrics" || fail "metrics HELP"
grep -q '^# TYPE sasgw_http_requests_total counter$' "$work/metrics" || fail "metrics TYPE"
grep -q '^sasgw_http_requests_total{service="issuer",route="/healthz",status="200"} [0-9]' "$work/metrics" || fail "metrics counter"
grep -q '^sasgw_http_requests_total{service="issuer",route="unmatched",status="404"} 1$' "$work/metrics" || fail "metrics 404"
grep -q '^sasgw_http_request_duration_seconds_bucket{service="issuer",route="/healthz",le="+Inf"} [0-9]' "$work/metrics" || fail "histogram"
grep -Eq '^sasgw_key_age_seconds\{account="devstoreaccount1",slot="key1"\} [0-9]+$' "$work/metrics" || fail "key age gauge"
grep -Eq '^sasgw_key_age_seconds\{account="devstoreaccount1",slot="key2"\} [0-9]+$' "$work/metrics" || fail "key age gauge (key2)"
# every sample line is `name{labels} value`
sample='^[a-z_][a-z0-9_]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [0-9.e+-]+$'
if grep -v '^#' "$work/metrics" | grep -Eqv "$sample"; then fail "malformed sample line: $(grep -v '^#' "$work/metrics" | grep -Ev "$sample" | head -3)"; fi

# core dumps are off in the server (main() sets RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 for every command)
limits=$(awk '/^Max core file size/ {print $5, $6}' "/proc/$pid/limits")
[ "$limits" = "0 0" ] || fail "RLIMIT_CORE of serve (soft hard): $limits"

# a second serve on the same configuration: refused at once, naming the address; the first goes on serving
set +e; out=$(timeout 10 "$bin" serve -c "$work/sasgw.yaml" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] || fail "second serve exit $rc (124: it started, sharing the ports): $out"
[[ $out == *"127.0.0.1:$issuer (issuer listen, line 7) is already in use: pid $pid (sasgw) listens there"*"sasgw serve"* ]] || fail "second serve message: $out"
[ "$(curl -s "http://127.0.0.1:$issuer/healthz")" = ok ] || fail "the first serve stopped serving after the second was refused"
# only the proxy's address taken (another config, same proxy port): refused too, naming it
sed "s/port: $issuer}/port: $(free_port)}/; s/port: $tls\$/port: $(free_port)/" "$work/sasgw.yaml" > "$work/proxy-clash.yaml"
set +e; out=$(timeout 10 "$bin" serve -c "$work/proxy-clash.yaml" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] || fail "serve on a taken proxy port exit $rc: $out"
[[ $out == *"127.0.0.1:$proxy (proxy listen, line "*") is already in use"* ]] || fail "proxy clash message: $out"

# SIGHUP: the reload hooks run on a loop thread
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "reload done" "$work/log" && break; sleep 0.05; done
grep -q "sasgw: SIGHUP: reloading" "$work/log" || fail "SIGHUP not seen"
grep -q "sasgw: reload done" "$work/log" || fail "reload hooks did not run"
curl -sf "http://127.0.0.1:$issuer/healthz" >/dev/null || fail "not serving after SIGHUP"

# SIGTERM with a request in flight: a slow upload that is still sending when the signal comes
head -c 40000 /dev/zero | tr '\0' a > "$work/slow"
curl -s -o "$work/slow.out" -w '%{http_code}' --limit-rate 20k --data-binary @"$work/slow" \
    "http://127.0.0.1:$issuer/healthz" > "$work/slow.code" &
client=$!
sleep 0.7
start=$(date +%s%N)
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
pid=
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
wait "$client" || true
[ $rc -eq 0 ] || fail "exit status after SIGTERM: $rc"
[ $elapsed -lt 6000 ] || fail "shutdown took ${elapsed} ms"
[ "$(cat "$work/slow.code")" = 405 ] || fail "in-flight request did not finish: $(cat "$work/slow.code")"
grep -q "sasgw: SIGTERM: shutting down" "$work/log" || fail "shutdown line"
grep -q "sasgw: stopped" "$work/log" || fail "stopped line"
if curl -s -o /dev/null "http://127.0.0.1:$issuer/healthz"; then fail "still listening after exit"; fi

# --die-with-parent: the parent killed outright (SIGKILL) stops sasgw gracefully
bash -c '"$1" serve -c "$2" --die-with-parent >>"$3" 2>&1 & echo $! >"$4"; exec sleep 30' _ "$bin" "$work/sasgw.yaml" \
    "$work/log" "$work/held.pid" &
parent=$!
wait_port "http://127.0.0.1:$issuer/healthz" || fail "--die-with-parent: not serving"
held=$(cat "$work/held.pid")
kill -KILL "$parent"
for _ in $(seq 100); do kill -0 "$held" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$held" 2>/dev/null; then kill -KILL "$held"; fail "--die-with-parent: running 5 s after its parent died"; fi
[ "$(grep -c 'sasgw: SIGTERM: shutting down' "$work/log")" = 2 ] || fail "--die-with-parent: no graceful stop"
# ... and refuses to start when its parent is already gone (then it belongs to init, pid 1)
orphan=$(bash -c '( sleep 0.5; exec "$1" serve -c "$2" --die-with-parent ) >"$3" 2>&1 & echo $!' _ "$bin" \
    "$work/sasgw.yaml" "$work/orphan.log")
sleep 0.2
if [ "$(ps -o ppid= -p "$orphan" | tr -d ' ')" = 1 ]; then
    for _ in $(seq 100); do kill -0 "$orphan" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$orphan" 2>/dev/null; then kill -KILL "$orphan"; fail "--die-with-parent: an orphan started serving"; fi
    grep -q "the parent process is already gone" "$work/orphan.log" || fail "--die-with-parent: $(cat "$work/orphan.log")"
else
    echo "skip: orphans go to a subreaper here, not init"
    kill -KILL "$orphan" 2>/dev/null || true
fi

echo "ok: serve end-to-end (shutdown in ${elapsed} ms)"
