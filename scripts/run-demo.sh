#!/usr/bin/env bash
# The demo stack, in the foreground (what `make run` starts after building):
#   Redis    127.0.0.1:6390,  data var/redis
#   Azurite  127.0.0.1:10000, data var/azurite (blob service, account devstoreaccount1)
#   sasgw    `sasgw serve -c conf/sasgw.yaml`: issuer 127.0.0.1:8080, proxy 127.0.0.1:8000
# On first start it initialises var/: a master key (var/master.key, mode 0600)
# and the vault (var/vault.db) holding account devstoreaccount1 with Azurite's
# well-known key, in passthrough mode to Azurite, and account media in resign
# mode over the same storage account (upstream_account devstoreaccount1 in
# conf/sasgw.yaml): its edge keys, generated then, sign its tokens, which
# Azurite itself refuses. A vault from before media existed gets it added. Ctrl-C (or SIGTERM) stops
# everything. Each phase is one function; main() at the bottom runs them.
#
# sasgw also serves the Key Vault API on https://127.0.0.1:8443. On first start
# (and whenever the certificate is missing, foreign or about to expire) var/tls/
# gets a demo CA (ca.pem, ca.key) and the listener's certificate for 127.0.0.1
# and localhost (kv.pem, kv.key), keys mode 0600; the banner names the CA to trust.
#
# Environment (for tests and for a second demo beside the first; both unset by
# default, and then conf/sasgw.yaml is used as it stands):
#   SASGW_DEMO_VAR=DIR        the state directory instead of var/ (vault, master
#                             key, audit log, Redis and Azurite data, logs)
#   SASGW_DEMO_PORT_BASE=N    issuer N, proxy N+1, Redis N+2, Azurite N+3, Key Vault N+4
#                             instead of 8080, 8000, 6390, 10000, 8443
# With either set, the script writes DIR/sasgw.yaml: conf/sasgw.yaml with those
# ports and paths, and serves that.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-stack.sh

BIN=${SASGW_BINARY:-build/gateway/sasgw}
ACCOUNT=devstoreaccount1
MEDIA=media
# Azurite's well-known development key (public; never a real account's).
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
VAR=${SASGW_DEMO_VAR:-var}
if [ -n "${SASGW_DEMO_PORT_BASE:-}" ]; then
    ISSUER_PORT=$SASGW_DEMO_PORT_BASE PROXY_PORT=$((SASGW_DEMO_PORT_BASE + 1))
    REDIS_PORT=$((SASGW_DEMO_PORT_BASE + 2)) AZURITE_PORT=$((SASGW_DEMO_PORT_BASE + 3))
    KV_PORT=$((SASGW_DEMO_PORT_BASE + 4))
else
    ISSUER_PORT=8080 PROXY_PORT=8000 REDIS_PORT=6390 AZURITE_PORT=10000 KV_PORT=8443
fi
KV_URL=https://127.0.0.1:$KV_PORT
TLS_DIR=$VAR/tls
AZURITE_URL=http://127.0.0.1:$AZURITE_PORT/$ACCOUNT
CONTAINER=demo
CONFIG=conf/sasgw.yaml
[ -z "${SASGW_DEMO_VAR:-}${SASGW_DEMO_PORT_BASE:-}" ] || CONFIG=$VAR/sasgw.yaml
VAULT=$VAR/vault.db
MASTER_KEY=$VAR/master.key
VAULT_OPTS=(--vault "$VAULT" --master-key-file "$MASTER_KEY" --audit-log "$VAR/audit.log")

# Everything this script needs is there, else say what to run.
demo_check_prereqs() {
    [ -x "$BIN" ] || { echo "error: $BIN not built; run 'make run' (or 'make build')" >&2; exit 1; }
    [ -d node_modules/@azure/storage-blob ] || { echo "error: node_modules missing; run scripts/install-deps.sh" >&2; exit 1; }
    command -v redis-server >/dev/null || { echo "error: redis-server missing; run scripts/install-deps.sh" >&2; exit 1; }
}

# Refuse to start over someone else's servers.
demo_check_ports() {
    stack_require_free_port "Redis" "$REDIS_PORT"
    stack_require_free_port "Azurite (blob)" "$AZURITE_PORT"
    stack_require_free_port "the sasgw issuer" "$ISSUER_PORT"
    stack_require_free_port "the sasgw proxy" "$PROXY_PORT"
    stack_require_free_port "the sasgw Key Vault API" "$KV_PORT"
}

# The configuration for SASGW_DEMO_VAR / SASGW_DEMO_PORT_BASE: conf/sasgw.yaml
# with the ports and the var/ paths replaced (written on every start).
demo_write_config() {
    [ "$CONFIG" != conf/sasgw.yaml ] || return 0
    local var=${VAR//[|&\\]/\\&}
    sed -e "s|^\(      port:\) 8080\b|\1 $ISSUER_PORT|" -e "s|^\(      port:\) 8000\b|\1 $PROXY_PORT|" \
        -e "s|127\.0\.0\.1:8000\b|127.0.0.1:$PROXY_PORT|" -e "s|127\.0\.0\.1:10000\b|127.0.0.1:$AZURITE_PORT|" \
        -e "s|^\(  port:\) 6390\b|\1 $REDIS_PORT|" -e "s|\bvar/|$var/|g" \
        -e "s|^\(      port:\) 8443\b|\1 $KV_PORT|" -e "s|127\.0\.0\.1:8443\b|127.0.0.1:$KV_PORT|" conf/sasgw.yaml >"$CONFIG"
    local port
    for port in "$ISSUER_PORT" "$PROXY_PORT" "$REDIS_PORT" "$AZURITE_PORT" "$KV_PORT"; do
        grep -q "\b$port\b" "$CONFIG" || { echo "error: $CONFIG: port $port not set (conf/sasgw.yaml changed shape?)" >&2; exit 1; }
    done
}

# First start only: the master key and the vault with the demo account.
demo_init_vault() {
    mkdir -p "$VAR"
    chmod 700 "$VAR"
    if [ ! -f "$MASTER_KEY" ]; then
        (umask 077 && head -c 32 /dev/urandom | base64 >"$MASTER_KEY")
        chmod 600 "$MASTER_KEY"
        echo "== created $MASTER_KEY (mode 0600; it unseals the vault: keep it)"
    fi
    if [ ! -f "$VAULT" ]; then
        "$BIN" vault init "${VAULT_OPTS[@]}"
        "$BIN" account add "$ACCOUNT" --key1 "$KEY" --backend "http://127.0.0.1:$AZURITE_PORT" --mode passthrough "${VAULT_OPTS[@]}"
        echo "== created $VAULT with account $ACCOUNT (Azurite's well-known key, passthrough)"
    fi
    local accounts
    accounts=$("$BIN" account list --json "${VAULT_OPTS[@]}")
    if ! grep -q "\"name\": \"$MEDIA\"" <<<"$accounts"; then
        "$BIN" account add "$MEDIA" --key1 "$KEY" --backend "http://127.0.0.1:$AZURITE_PORT" --mode resign "${VAULT_OPTS[@]}"
        echo "== added account $MEDIA to $VAULT (resign over $ACCOUNT; its edge keys edge1/edge2 are new and only sasgw knows them)"
    fi
}

# First start only (and when the certificate is missing or about to expire):
# the demo CA and the Key Vault listener's certificate (lib-stack.sh).
demo_init_tls() {
    command -v openssl >/dev/null || { echo "error: openssl missing; run scripts/install-deps.sh" >&2; exit 1; }
    stack_make_demo_tls "$TLS_DIR"
}

# Redis and Azurite, each in its own process group, stopped by the EXIT trap
# (and by their death signal if this script is killed outright).
demo_start_backends() {
    stack_start_redis "$REDIS_PORT" "$VAR/redis"
    stack_start_azurite "$AZURITE_PORT" "$VAR/azurite"
}

# The demo container in Azurite (shared key, idempotent).
demo_prepare_storage() {
    node scripts/demo-setup.mjs "$AZURITE_URL" "$CONTAINER"
}

# sasgw itself, with the shipped configuration and policy.
demo_start_sasgw() {
    "$BIN" serve -c "$CONFIG" --check >/dev/null
    stack_spawn sasgw "$VAR/sasgw.log" "$BIN" serve -c "$CONFIG" --die-with-parent
    stack_wait_port "sasgw (issuer)" "$ISSUER_PORT" "${STACK_PIDS[-1]}" "$VAR/sasgw.log"
    stack_wait_port "sasgw (proxy)" "$PROXY_PORT" "${STACK_PIDS[-1]}" "$VAR/sasgw.log"
    stack_wait_port "sasgw (Key Vault)" "$KV_PORT" "${STACK_PIDS[-1]}" "$VAR/sasgw.log"
}

# Where everything listens, and something to paste.
demo_banner() {
    local ca=$TLS_DIR/ca.pem
    [[ $ca == /* ]] || ca=$PWD/$ca
    cat <<EOF

== sasgw demo is up (Ctrl-C stops everything)
   issuer   http://127.0.0.1:$ISSUER_PORT   POST /v1/sas, admin API, /healthz /readyz /metrics
   proxy    http://127.0.0.1:$PROXY_PORT   validates SAS tokens, forwards to Azurite
   Redis    127.0.0.1:$REDIS_PORT         data $VAR/redis, log $VAR/redis/redis.log
   Azurite  $AZURITE_URL   data+log $VAR/azurite (container '$CONTAINER')
   vault    $VAULT (sealed by $MASTER_KEY), audit $VAR/audit.log, sasgw log $VAR/sasgw.log
   Key Vault API  $KV_URL   (TLS; trust the demo CA $ca)
     export NODE_EXTRA_CA_CERTS=$ca REQUESTS_CA_BUNDLE=$ca
     A demo JWT for demo-app with the vault's audience (what the SDK credential returns; README "Key Vault SDKs"):
       node scripts/demo-jwt.mjs demo-app $KV_URL
     curl --cacert $ca -H "Authorization: Bearer \$(node scripts/demo-jwt.mjs demo-app $KV_URL)" \\
          -X PUT -H 'content-type: application/json' -d '{"value":"hello"}' "$KV_URL/secrets/demo-hello?api-version=7.6"

   Mint a token for demo/hello.txt (principal demo-app, secret demo-secret; the policy is conf/policy.yaml):
     curl -u demo-app:demo-secret -d '{"account":"devstoreaccount1","container":"demo","blob":"hello.txt","permissions":"rw","expires_in":600}' http://127.0.0.1:$ISSUER_PORT/v1/sas

   Then, with URL set to the "url" it returns (the proxy checks the token and forwards to Azurite):
     curl -X PUT -H 'x-ms-blob-type: BlockBlob' --data-binary 'hello' "\$URL"
     curl "\$URL"

   Account $MEDIA (resign mode over $ACCOUNT): its tokens are signed with edge keys Azurite never sees, so
   the proxy is the only door (a revoked token is refused everywhere). Mint one the same way:
     curl -u demo-app:demo-secret -d '{"account":"$MEDIA","container":"demo","blob":"hello.txt","permissions":"rw","expires_in":600}' http://127.0.0.1:$ISSUER_PORT/v1/sas
   "key" says edge1; its "url" works through the proxy, while the same token straight at Azurite is refused:
     curl -s -o /dev/null -w '%{http_code}\\n' "$AZURITE_URL/demo/hello.txt?\${URL#*\?}"    # 403
   After editing conf/policy.yaml: kill -HUP \$(pgrep -f 'sasgw serve -c $CONFIG')   ($VAR/sasgw.log says how it went)
EOF
}

main() {
    stack_trap_exit
    demo_check_prereqs
    demo_check_ports
    demo_init_vault
    demo_init_tls
    demo_write_config
    demo_start_backends
    demo_prepare_storage
    demo_start_sasgw
    demo_banner
    stack_wait_any
}

main "$@"
