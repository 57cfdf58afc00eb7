#!/usr/bin/env bash
# bench/proxy-h2.sh - sasgw's proxy over TLS HTTP/2 against nginx secure_link
# (issue 11). Not part of CI.
#
# Both validate a signed link and proxy over HTTP/1.1 (keep-alive) to the same
# origin, an nginx serving files and storing PUTs (WebDAV PUT); both listen
# with TLS and ALPN h2 and run WORKERS (default 2) workers: sasgw threads:
# WORKERS, nginx worker_processes WORKERS. NGINX_BUFFERING=off (default:
# proxy_request_buffering and proxy_buffering off, nginx streams both ways, as
# sasgw should) or on (nginx's defaults: a request body spooled to a temp file
# before it is sent, responses buffered); NGINX_BODY_BUFFER (1m) is nginx's
# client_body_buffer_size, which its HTTP/2 receive window follows (nginx's
# default 16k makes its h2 uploads several times slower). Targets
# alternate within each of ROUNDS rounds; medians printed as name=value:
#   1 KiB GET rps    LOADGEN=h2load (nghttp2's h2load, the default when installed) or node
#                    (bench/h2load.mjs, node http2, client-bound near 15-18k rps here):
#                    H2_THREADS (2) threads x H2_CONNS (4) connections x
#                    H2_STREAMS (16) streams in flight, DURATION seconds
#   256 MiB upload and download MB/s   curl --http2 (TLS), one transfer,
#                    BIG_MB (256) MiB, MB = 10^6 bytes as curl counts
#   peak RSS added per transfer (MiB)  VmHWM reset (/proc/PID/clear_refs)
#                    before each transfer; the largest growth of any of the
#                    server's processes (nginx: master and workers)
# Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WORKERS=${WORKERS:-2}
BIG_MB=${BIG_MB:-256}
NGINX_BUFFERING=${NGINX_BUFFERING:-off}
NGINX_BODY_BUFFER=${NGINX_BODY_BUFFER:-1m} # its HTTP/2 receive window follows it (default 16k: slow uploads)
# h2load (Debian's nghttp2-client, which scripts/install-deps.sh installs) when present, else bench/h2load.mjs
LOADGEN=${LOADGEN:-$(command -v h2load >/dev/null && echo h2load || echo node)}
H2_THREADS=${H2_THREADS:-2}
H2_CONNS=${H2_CONNS:-4}
H2_STREAMS=${H2_STREAMS:-16}
SASGW=${SASGW:-build/gateway/sasgw}
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
DURATION=${DURATION%s} # proxy.sh takes "10s"

for tool in nginx curl node openssl redis-server; do
    command -v "$tool" >/dev/null || { echo "bench/proxy-h2.sh: $tool is missing (make deps installs it)" >&2; exit 2; }
done
[ -x "$SASGW" ] || { echo "bench/proxy-h2.sh: $SASGW is missing (make build)" >&2; exit 2; }
curl --version | grep -q HTTP2 || { echo "bench/proxy-h2.sh: curl without HTTP/2" >&2; exit 2; }

. scripts/lib-stack.sh
. bench/lib-bench.sh
work=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sasgw-bench-h2.XXXXXX")
cleanup() { rm -rf "$work"; }
stack_trap_exit cleanup
[ -z "${KEEP:-}" ] || { trap - EXIT; STACK_HOLD=0; }

P_ORIGIN=$(free_port) P_SECURE=$(free_port) P_SASGW=$(free_port) P_REDIS=$(free_port) P_ISSUER=$(free_port)
OBJ=/devstoreaccount1/bench/obj.bin
BIG=/devstoreaccount1/bench/big.bin
mkdir -p "$work/www/devstoreaccount1/bench" "$work/origin" "$work/nginx" "$work/redis" "$work/var"
head -c 1024 /dev/urandom >"$work/www$OBJ"
head -c $((BIG_MB * 1048576)) /dev/urandom >"$work/www$BIG"
cp "$work/www$BIG" "$work/up.bin"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null

nginx_temp_paths() { # DIR: the temp paths of an nginx in DIR
    printf '    client_body_temp_path %s/body;\n    proxy_temp_path %s/proxy;\n    fastcgi_temp_path %s/fcgi;\n' "$1" "$1" "$1"
    printf '    uwsgi_temp_path %s/uwsgi;\n    scgi_temp_path %s/scgi;\n' "$1" "$1"
}

# the origin: files under www, PUTs stored there
cat >"$work/origin/nginx.conf" <<NGX
user $(id -un);
worker_processes $WORKERS;
daemon off;
pid $work/origin/nginx.pid;
error_log $work/origin/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
$(nginx_temp_paths "$work/origin")
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$P_ORIGIN;
        root $work/www;
        client_max_body_size 0;
        dav_methods PUT;
        create_full_put_path on;
    }
}
NGX
stack_spawn origin "$work/origin/stderr.log" nginx -p "$work/origin" -c "$work/origin/nginx.conf"

# nginx secure_link (MD5) over TLS h2, proxying to the origin
cat >"$work/nginx/nginx.conf" <<NGX
user $(id -un);
worker_processes $WORKERS;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
$(nginx_temp_paths "$work/nginx")
    keepalive_requests 1000000;
    upstream origin { server 127.0.0.1:$P_ORIGIN; keepalive 64; }
    server {
        listen 127.0.0.1:$P_SECURE ssl http2;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        client_max_body_size 0;
        client_body_buffer_size $NGINX_BODY_BUFFER;
        location / {
            secure_link \$arg_md5,\$arg_expires;
            secure_link_md5 "\$secure_link_expires\$uri bench-secret";
            if (\$secure_link = "") { return 403; }
            if (\$secure_link = "0") { return 410; }
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering $NGINX_BUFFERING;
            proxy_buffering $NGINX_BUFFERING;
            proxy_pass http://origin;
        }
    }
}
NGX
stack_spawn nginx "$work/nginx/stderr.log" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
NGINX_PID=${STACK_PIDS[-1]}
wait_port "$P_ORIGIN"; wait_port "$P_SECURE"

# sasgw: origin mode to the same origin, TLS h2 proxy listener
stack_spawn redis "$work/redis/redis.log" redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$work/redis" --loglevel warning
wait_port "$P_REDIS"
head -c 32 /dev/urandom | base64 >"$work/var/master.key"
chmod 600 "$work/var/master.key"
cp conf/policy.yaml conf/demo-jwks.json conf/demo-jwt-private.pem conf/demo-jwt-es256.pem "$work/var/"
vault_opts=(--vault "$work/var/vault.db" --master-key-file "$work/var/master.key" --audit-log "$work/var/audit.log")
"$SASGW" vault init "${vault_opts[@]}" >/dev/null
"$SASGW" account add devstoreaccount1 --key1 "$KEY" --backend "http://127.0.0.1:$P_ORIGIN" --mode origin "${vault_opts[@]}" >/dev/null
cat >"$work/sasgw.yaml" <<YAML
vault:
  path: $work/var/vault.db
  master_key_file: $work/var/master.key
policy: $work/var/policy.yaml
threads: $WORKERS
issuer:
  listen:
    - address: 127.0.0.1
      port: $P_ISSUER
proxy:
  listen:
    - address: 127.0.0.1
      port: $P_SASGW
      tls: { certificate: $work/cert.pem, key: $work/key.pem }
      http2: true
  public_base_url: https://127.0.0.1:$P_SASGW
  http2_max_body: 1073741824
redis:
  host: 127.0.0.1
  port: $P_REDIS
audit:
  path: $work/var/audit.log
YAML
stack_spawn sasgw "$work/sasgw.log" "$SASGW" serve -c "$work/sasgw.yaml"
SASGW_PID=${STACK_PIDS[-1]}
wait_port "$P_SASGW"
for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_ISSUER/readyz")" = 200 ] && break
    sleep 0.1
done

expiry=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
mint() { "$SASGW" sas mint --account devstoreaccount1 --key "$KEY" --container bench --blob "$1" --permissions "$2" --expiry "$expiry"; }
link() { # PATH -> nginx secure_link query
    local exp md5
    exp=$(( $(date +%s) + 86400 ))
    md5=$(printf '%s%s bench-secret' "$exp" "$1" | openssl md5 -binary | openssl base64 | tr '+/' '-_' | tr -d '=')
    printf 'md5=%s&expires=%s' "$md5" "$exp"
}
UP_S=/devstoreaccount1/bench/up-sasgw.bin UP_N=/devstoreaccount1/bench/up-nginx.bin
declare -A GET_URL BIG_URL UP_URL
GET_URL[sasgw]="https://127.0.0.1:$P_SASGW$OBJ?$(mint obj.bin r)"
BIG_URL[sasgw]="https://127.0.0.1:$P_SASGW$BIG?$(mint big.bin r)"
UP_URL[sasgw]="https://127.0.0.1:$P_SASGW$UP_S?$(mint up-sasgw.bin cw)"
GET_URL[nginx]="https://127.0.0.1:$P_SECURE$OBJ?$(link "$OBJ")"
BIG_URL[nginx]="https://127.0.0.1:$P_SECURE$BIG?$(link "$BIG")"
UP_URL[nginx]="https://127.0.0.1:$P_SECURE$UP_N?$(link "$UP_N")"

for t in sasgw nginx; do
    v=$(curl -sk --http2 -o /dev/null -w '%{http_code} %{http_version}' "${GET_URL[$t]}")
    [ "$v" = "200 2" ] || { echo "bench/proxy-h2.sh: $t answered '$v' to its own link over h2" >&2; tail -5 "$work/sasgw.log" >&2; exit 1; }
done

server_pids() { # TARGET -> the pids whose memory counts
    if [ "$1" = sasgw ]; then echo "$SASGW_PID"; else echo "$NGINX_PID"; ps -o pid= --ppid "$NGINX_PID"; fi
}
peak_reset() { # TARGET: resets VmHWM of its processes, remembers their RSS
    declare -gA RSS0=()
    local p
    for p in $(server_pids "$1"); do
        echo 5 >"/proc/$p/clear_refs"
        RSS0[$p]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")
    done
}
peak_added_mb() { # TARGET: the largest VmHWM growth (MiB) of its processes since peak_reset
    local p hwm max=0
    for p in $(server_pids "$1"); do
        hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status")
        max=$(awk -v h="$hwm" -v r="${RSS0[$p]:-$hwm}" -v m="$max" 'BEGIN { d = (h - r) / 1024; print (d > m ? d : m) }')
    done
    printf '%.1f' "$max"
}

run_get() { # TARGET -> rps
    local out
    if [ "$LOADGEN" = h2load ]; then
        out=$(h2load -D "$DURATION" -t "$H2_THREADS" -c "$H2_CONNS" -m "$H2_STREAMS" "${GET_URL[$1]}" 2>&1)
        local rps codes
        rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
        codes=$(sed -n 's/^status codes: //p' <<<"$out")
        case $codes in *" 0 3xx, 0 4xx, 0 5xx") ;; *) echo "bench/proxy-h2.sh: $1 GET load (h2load): ${out##*requests:}" >&2; exit 1 ;; esac
        grep -q ' 0 failed, 0 errored' <<<"$out" || { echo "bench/proxy-h2.sh: $1 GET load (h2load) failed: $(grep '^requests:' <<<"$out")" >&2; exit 1; }
        printf '%.0f\n' "$rps"
        return
    fi
    out=$(node bench/h2load.mjs "${GET_URL[$1]}" "$DURATION" "$H2_THREADS" "$H2_CONNS" "$H2_STREAMS")
    case $out in *" bad=0 errors=0") ;; *) echo "bench/proxy-h2.sh: $1 GET load: $out" >&2; exit 1 ;; esac
    out=${out#rps=}
    echo "${out%% *}"
}
run_down() { # TARGET -> "MB/s rss_added_MiB"
    local out code speed size
    peak_reset "$1"
    out=$(curl -sk --http2 -o /dev/null -w '%{http_code} %{speed_download} %{size_download}' "${BIG_URL[$1]}")
    read -r code speed size <<<"$out"
    if [ "$code" != 200 ] || [ "$size" != $((BIG_MB * 1048576)) ]; then echo "bench/proxy-h2.sh: $1 download: $out" >&2; exit 1; fi
    echo "$(awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1e6 }') $(peak_added_mb "$1")"
}
run_up() { # TARGET -> "MB/s rss_added_MiB"
    local out code speed
    peak_reset "$1"
    out=$(curl -sk --http2 -T "$work/up.bin" -o /dev/null -w '%{http_code} %{speed_upload}' "${UP_URL[$1]}")
    read -r code speed <<<"$out"
    case $code in 200|201|204) ;; *) echo "bench/proxy-h2.sh: $1 upload answered $out" >&2; tail -3 "$work/sasgw.log" >&2; exit 1 ;; esac
    echo "$(awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1e6 }') $(peak_added_mb "$1")"
}

if [ -n "${KEEP:-}" ]; then
    printf 'work=%s\nsasgw=%s\nnginx=%s\nSASGW_PID=%s NGINX_PID=%s\n' "$work" "${GET_URL[sasgw]}" "${GET_URL[nginx]}" "$SASGW_PID" "$NGINX_PID" >&2
fi

declare -A get up down uprss downrss
for r in $(seq "$ROUNDS"); do
    # alternate which target goes first
    if [ $((r % 2)) = 1 ]; then order="sasgw nginx"; else order="nginx sasgw"; fi
    for t in $order; do
        g=$(run_get "$t")
        u=$(run_up "$t")
        d=$(run_down "$t")
        get[$t]+="$g"$'\n'; up[$t]+="${u% *}"$'\n'; uprss[$t]+="${u#* }"$'\n'; down[$t]+="${d% *}"$'\n'; downrss[$t]+="${d#* }"$'\n'
        echo "round $r ($t): get_rps=$g upload_mbps=${u% *} upload_rss_added_mb=${u#* } download_mbps=${d% *} download_rss_added_mb=${d#* }"
    done
done
declare -A M_GET M_UP M_DOWN M_UPRSS M_DOWNRSS
for t in sasgw nginx; do
    M_GET[$t]=$(printf '%s' "${get[$t]}" | median)
    M_UP[$t]=$(printf '%s' "${up[$t]}" | median)
    M_DOWN[$t]=$(printf '%s' "${down[$t]}" | median)
    M_UPRSS[$t]=$(printf '%s' "${uprss[$t]}" | median)
    M_DOWNRSS[$t]=$(printf '%s' "${downrss[$t]}" | median)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "load_generator=$([ "$LOADGEN" = h2load ] && echo h2load || echo bench/h2load.mjs) threads=$H2_THREADS conns=$H2_CONNS streams=$H2_STREAMS duration_s=$DURATION rounds=$ROUNDS workers=$WORKERS big_mib=$BIG_MB nginx_buffering=$NGINX_BUFFERING nginx_body_buffer=$NGINX_BODY_BUFFER"
for t in sasgw nginx; do
    echo "${t}_h2_get_rps=${M_GET[$t]}"
    echo "${t}_h2_upload_mbps=${M_UP[$t]}"
    echo "${t}_h2_download_mbps=${M_DOWN[$t]}"
    echo "${t}_h2_upload_rss_added_mb=${M_UPRSS[$t]}"
    echo "${t}_h2_download_rss_added_mb=${M_DOWNRSS[$t]}"
done
echo "ratio_h2_get_vs_nginx=$(ratio "${M_GET[sasgw]}" "${M_GET[nginx]}")"
echo "ratio_h2_upload_vs_nginx=$(ratio "${M_UP[sasgw]}" "${M_UP[nginx]}")"
echo "ratio_h2_download_vs_nginx=$(ratio "${M_DOWN[sasgw]}" "${M_DOWN[nginx]}")"
