# bench/proxy-sasgw.sh - targets (d), (e) and (f) of bench/proxy.sh, sourced by
# it: sasgw's validating proxy in origin mode in front of the nginx origin
# (devstoreaccount1), in resign mode in front of the same nginx (media) and in
# resign mode in front of bench/sharedkey_origin (mediask; both resign
# accounts sign upstream as devstoreaccount1 with the bench key), with
# $REVOKED random ids in the revocation list. Uses what proxy.sh defines
# ($work, $SASGW, $SKORIGIN, $KEY, free_port, wait_port, $P_SASGW, $P_REDIS,
# $P_ISSUER, $P_ORIGIN, $P_SKORIGIN, $OBJ, $REVOKED, $WORKERS, lib-stack.sh).
# Defines URL_D, URL_E, URL_F, SASGW_PID and sasgw_rss_with_million().

# Writes RESP "ZADD sasgw:revoked <expiry> <id>" commands for N random token ids on stdout.
revoked_ids_resp() {
    python3 - "$1" <<'PY'
import base64, os, sys, time
n = int(sys.argv[1]); exp = str(int(time.time()) + 30 * 86400).encode()
out = sys.stdout.buffer
for _ in range(n):
    tid = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b'=')
    out.write(b'*4\r\n$4\r\nZADD\r\n$13\r\nsasgw:revoked\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' % (len(exp), exp, len(tid), tid))
PY
}

stack_spawn redis "$work/redis/redis.log" redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$work/redis" --loglevel warning
wait_port "$P_REDIS"
revoked_ids_resp "$REVOKED" | redis-cli -p "$P_REDIS" --pipe >/dev/null

# the vault: devstoreaccount1 with the bench key, origin mode to the nginx origin
head -c 32 /dev/urandom | base64 >"$work/var/master.key"
chmod 600 "$work/var/master.key"
cp conf/policy.yaml conf/demo-jwks.json conf/demo-jwt-private.pem conf/demo-jwt-es256.pem "$work/var/"
vault_opts=(--vault "$work/var/vault.db" --master-key-file "$work/var/master.key" --audit-log "$work/var/audit.log")
"$SASGW" vault init "${vault_opts[@]}" >/dev/null
"$SASGW" account add devstoreaccount1 --key1 "$KEY" --backend "http://127.0.0.1:$P_ORIGIN" --mode origin "${vault_opts[@]}" >/dev/null
# resign: edge keys generated, key1 = the bench key, which the Shared Key origin checks
"$SASGW" account add media --key1 "$KEY" --backend "http://127.0.0.1:$P_ORIGIN" --mode resign "${vault_opts[@]}" >/dev/null
"$SASGW" account add mediask --key1 "$KEY" --backend "http://127.0.0.1:$P_SKORIGIN" --mode resign "${vault_opts[@]}" >/dev/null
stack_spawn sharedkey_origin "$work/sharedkey_origin.log" "$SKORIGIN" --port "$P_SKORIGIN" --account devstoreaccount1 --size 1024 \
    --threads "$WORKERS" --key "$KEY"
wait_port "$P_SKORIGIN"

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
  public_base_url: http://127.0.0.1:$P_SASGW
accounts:
  media: { mode: resign, backend: "http://127.0.0.1:$P_ORIGIN", upstream_account: devstoreaccount1 }
  mediask: { mode: resign, backend: "http://127.0.0.1:$P_SKORIGIN", upstream_account: devstoreaccount1 }
redis:
  host: 127.0.0.1
  port: $P_REDIS
audit:
  path: $work/var/audit.log
YAML

start_sasgw() {
    stack_spawn sasgw "$work/sasgw.log" "$SASGW" serve -c "$work/sasgw.yaml"
    SASGW_PID=${STACK_PIDS[-1]}
    wait_port "$P_SASGW"
    for _ in $(seq 200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_ISSUER/readyz")" = 200 ] && return 0
        sleep 0.1
    done
    echo "bench/proxy-sasgw.sh: sasgw not ready:" >&2
    tail -20 "$work/sasgw.log" >&2
    exit 1
}
start_sasgw

sas=$("$SASGW" sas mint --account devstoreaccount1 --key "$KEY" --container bench --blob obj.bin --permissions r \
    --expiry "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)")
URL_D="http://127.0.0.1:$P_SASGW$OBJ?$sas"
curl -fsS -o /dev/null "$URL_D" || { echo "bench/proxy-sasgw.sh: sasgw refused its own SAS" >&2; tail -5 "$work/sasgw.log" >&2; exit 1; }
# resign: tokens signed with the accounts' edge keys, from the vault
for acct in media mediask; do
    sas=$(SASGW_AUDIT_LOG="$work/var/audit.log" "$SASGW" sas mint --account "$acct" --container bench --blob obj.bin \
        --permissions r --expiry "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" --vault "$work/var/vault.db" \
        --master-key-file "$work/var/master.key" 2>/dev/null)
    url="http://127.0.0.1:$P_SASGW/$acct/bench/obj.bin?$sas"
    curl -fsS -o /dev/null "$url" || { echo "bench/proxy-sasgw.sh: resign account $acct refused or failed upstream" >&2; exit 1; }
    if [ "$acct" = media ]; then URL_E=$url; else URL_F=$url; fi
done

# Loads ids up to 1,000,000 in all, makes the proxy reload the whole list (its
# subscriber connection is killed, it reconnects and reloads), and prints
# sasgw's resident set size.
sasgw_rss_with_million() {
    local have
    have=$(redis-cli -p "$P_REDIS" ZCARD sasgw:revoked)
    revoked_ids_resp $((1000000 - have)) | redis-cli -p "$P_REDIS" --pipe >/dev/null
    local before
    before=$(grep -c 'revocation: loaded' "$work/sasgw.log" || true)
    redis-cli -p "$P_REDIS" CLIENT KILL TYPE pubsub >/dev/null
    for _ in $(seq 300); do
        [ "$(grep -c 'revocation: loaded' "$work/sasgw.log" || true)" -gt "$before" ] && break
        sleep 0.1
    done
    curl -fsS -o /dev/null "$URL_D" || echo "bench/proxy-sasgw.sh: sasgw refused after the reload" >&2
    grep 'revocation: loaded' "$work/sasgw.log" | tail -1 >&2
    echo "rss_mb_1m_revoked=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SASGW_PID/status")"
}
