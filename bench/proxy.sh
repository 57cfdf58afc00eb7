#!/usr/bin/env bash
# bench/proxy.sh - the validating proxy against its baselines (issue 5).
#
# Same wrk load on every target: a 1 KiB object, keep-alive, 32 connections,
# targets run alternately for ROUNDS rounds of DURATION each; medians printed.
#   (a) nginx serving the object directly        - the ceiling
#   (b) h2o's plain reverse proxy to that nginx
#   (c) nginx secure_link (MD5) validating, then proxying to that nginx
#   (d) sasgw's proxy, origin mode, validating a SAS and checking revocation
#       with REVOKED (default 100,000) revoked ids loaded from Redis
#   (e) the same proxy in resign mode (issue 12) in front of the same nginx:
#       the token checked with an edge key, the request re-signed with Shared
#       Key (one more HMAC; nginx ignores the Authorization)
#   (f) resign mode in front of bench/sharedkey_origin, which checks that
#       Shared Key on every request (any refusal fails the run)
# Then sasgw's RSS with 1,000,000 revoked ids. Last lines:
#   ratio_vs_h2o_proxy=d/b   ratio_vs_nginx_securelink=d/c   ratio_resign_vs_origin=e/d
# Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
REVOKED=${REVOKED:-100000}
WORKERS=${WORKERS:-$(nproc)}
SASGW=${SASGW:-build/gateway/sasgw}
SKORIGIN=${SKORIGIN:-build/bench/sharedkey_origin}
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

for tool in wrk nginx h2o redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "bench/proxy.sh: $tool is missing (make deps installs it)" >&2; exit 2; }
done
[ -x "$SASGW" ] || { echo "bench/proxy.sh: $SASGW is missing (make build)" >&2; exit 2; }
[ -x "$SKORIGIN" ] || { echo "bench/proxy.sh: $SKORIGIN is missing (make build)" >&2; exit 2; }

. scripts/lib-stack.sh
work=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sasgw-bench.XXXXXX")
cleanup() { rm -rf "$work"; }
# Every server is stopped on exit and on INT, TERM or HUP (and dies with this
# script if it is killed outright); KEEP=1 leaves them running instead.
stack_trap_exit cleanup
[ -z "${KEEP:-}" ] || { trap - EXIT; STACK_HOLD=0; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench/proxy.sh: nothing listens on port $1" >&2
    exit 1
}

P_ORIGIN=$(free_port) P_H2O=$(free_port) P_SECURE=$(free_port) P_SASGW=$(free_port) P_REDIS=$(free_port) P_ISSUER=$(free_port)
P_SKORIGIN=$(free_port)
OBJ=/devstoreaccount1/bench/obj.bin
mkdir -p "$work/www/devstoreaccount1/bench" "$work/nginx" "$work/redis" "$work/var"
head -c 1024 /dev/urandom >"$work/www$OBJ"

# (a) the origin, and (c) nginx secure_link in front of it, in one nginx
cat >"$work/nginx/nginx.conf" <<NGX
user $(id -un);
worker_processes $WORKERS;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    keepalive_requests 1000000;
    upstream origin { server 127.0.0.1:$P_ORIGIN; keepalive 64; }
    server {
        listen 127.0.0.1:$P_ORIGIN;
        root $work/www;
    }
    server {
        listen 127.0.0.1:$P_SECURE;
        location / {
            secure_link \$arg_md5,\$arg_expires;
            secure_link_md5 "\$secure_link_expires\$uri bench-secret";
            if (\$secure_link = "") { return 403; }
            if (\$secure_link = "0") { return 410; }
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://origin;
        }
    }
}
NGX
stack_spawn nginx "$work/nginx/stderr.log" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"

# (b) h2o's plain reverse proxy
cat >"$work/h2o.conf" <<H2O
user: $(id -un)
listen: { host: 127.0.0.1, port: $P_H2O }
num-threads: $WORKERS
pid-file: $work/h2o.pid
error-log: $work/h2o-error.log
hosts:
  default:
    paths:
      /:
        proxy.reverse.url: http://127.0.0.1:$P_ORIGIN/
H2O
stack_spawn h2o /dev/null h2o -c "$work/h2o.conf"
wait_port "$P_ORIGIN"; wait_port "$P_SECURE"; wait_port "$P_H2O"

expires=$(( $(date +%s) + 86400 ))
md5=$(printf '%s%s bench-secret' "$expires" "$OBJ" | openssl md5 -binary | openssl base64 | tr '+/' '-_' | tr -d '=')
URL_A="http://127.0.0.1:$P_ORIGIN$OBJ"
URL_B="http://127.0.0.1:$P_H2O$OBJ"
URL_C="http://127.0.0.1:$P_SECURE$OBJ?md5=$md5&expires=$expires"
curl -fsS -o /dev/null "$URL_C" || { echo "bench/proxy.sh: secure_link baseline refused its own link" >&2; exit 1; }

. bench/proxy-sasgw.sh   # starts (d), (e), (f): defines URL_D, URL_E, URL_F and SASGW_PID, loads REVOKED ids

run_wrk() { # URL -> "rps p99_ms"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$1" 2>/dev/null | awk '
        /^Requests\/sec:/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } p99 = v }
        / Non-2xx or 3xx responses:/ { bad = $5 }
        END { if (bad > 0) { print "ERR"; exit } printf "%s %s\n", rps, p99 }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

if [ -n "${KEEP:-}" ]; then # everything stays up for profiling; the URLs to aim at:
    printf 'work=%s\nURL_A=%s\nURL_B=%s\nURL_C=%s\nURL_D=%s\nURL_E=%s\nURL_F=%s\nSASGW_PID=%s\n' "$work" "$URL_A" "$URL_B" \
        "$URL_C" "$URL_D" "$URL_E" "$URL_F" "$SASGW_PID" >&2
fi

declare -A rps p99
for r in $(seq "$ROUNDS"); do
    for t in a b c d e f; do
        url_var="URL_${t^^}"
        out=$(run_wrk "${!url_var}")
        [ "$out" != ERR ] || { echo "bench/proxy.sh: target ($t) answered non-2xx" >&2; exit 1; }
        rps[$t]+="${out% *}"$'\n'; p99[$t]+="${out#* }"$'\n'
        echo "round $r ($t): rps=${out% *} p99_ms=${out#* }"
    done
done
declare -A M_RPS M_P99
for t in a b c d e f; do
    M_RPS[$t]=$(printf '%s' "${rps[$t]}" | median)
    M_P99[$t]=$(printf '%s' "${p99[$t]}" | median)
done
echo "nginx_direct_rps=${M_RPS[a]} p99_ms=${M_P99[a]}"
echo "h2o_proxy_rps=${M_RPS[b]} p99_ms=${M_P99[b]}"
echo "nginx_securelink_rps=${M_RPS[c]} p99_ms=${M_P99[c]}"
echo "sasgw_proxy_rps=${M_RPS[d]} p99_ms=${M_P99[d]} revoked_ids=$REVOKED"
echo "sasgw_resign_rps=${M_RPS[e]} p99_ms=${M_P99[e]} revoked_ids=$REVOKED"
echo "sasgw_resign_sharedkey_origin_rps=${M_RPS[f]} p99_ms=${M_P99[f]}"
echo "p99_added_over_h2o_proxy_ms=$(awk -v d="${M_P99[d]}" -v b="${M_P99[b]}" 'BEGIN { printf "%.3f", d - b }')"
sasgw_rss_with_million   # from proxy-sasgw.sh: prints rss_mb_1m_revoked=N
echo "ratio_vs_h2o_proxy=$(awk -v d="${M_RPS[d]}" -v b="${M_RPS[b]}" 'BEGIN { printf "%.3f", d / b }')"
echo "ratio_vs_nginx_securelink=$(awk -v d="${M_RPS[d]}" -v c="${M_RPS[c]}" 'BEGIN { printf "%.3f", d / c }')"
echo "ratio_resign_vs_origin=$(awk -v e="${M_RPS[e]}" -v d="${M_RPS[d]}" 'BEGIN { printf "%.3f", e / d }')"
