#!/usr/bin/env bash
# The demo stack, in the foreground (what `make run` starts after building):
#   Redis    127.0.0.1:6390,  data var/redis
#   Azurite  127.0.0.1:10000, data var/azurite (blob service, account devstoreaccount1)
#   sasgw    `sasgw serve -c conf/sasgw.yaml`: issuer 127.0.0.1:8080, proxy 127.0.0.1:8000
# On first start it initialises var/: a master key (var/master.key, mode 0600)
# and the vault (var/vault.db) holding account devstoreaccount1 with Azurite's
# well-known key, in passthrough mode to Azurite. Ctrl-C (or SIGTERM) stops
# everything. Each phase is one function; main() at the bottom runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-stack.sh

BIN=${SASGW_BINARY:-build/gateway/sasgw}
ACCOUNT=devstoreaccount1
# Azurite's well-known development key (public; never a real account's).
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
REDIS_PORT=6390
AZURITE_PORT=10000
AZURITE_URL=http://127.0.0.1:$AZURITE_PORT/$ACCOUNT
CONTAINER=demo
CONFIG=conf/sasgw.yaml
ISSUER_PORT=8080
PROXY_PORT=8000
VAULT=var/vault.db
MASTER_KEY=var/master.key
VAULT_OPTS=(--vault "$VAULT" --master-key-file "$MASTER_KEY" --audit-log var/audit.log)

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
}

# First start only: the master key and the vault with the demo account.
demo_init_vault() {
    mkdir -p var
    chmod 700 var
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
}

# Redis and Azurite, each in its own process group, stopped by the EXIT trap.
demo_start_backends() {
    stack_start_redis "$REDIS_PORT" var/redis
    stack_start_azurite "$AZURITE_PORT" var/azurite
}

# The demo container in Azurite (shared key, idempotent).
demo_prepare_storage() {
    node scripts/demo-setup.mjs "$AZURITE_URL" "$CONTAINER"
}

# sasgw itself, with the shipped configuration and policy.
demo_start_sasgw() {
    "$BIN" serve -c "$CONFIG" --check >/dev/null
    stack_spawn sasgw var/sasgw.log "$BIN" serve -c "$CONFIG"
    stack_wait_port "sasgw (issuer)" "$ISSUER_PORT" "${STACK_PIDS[-1]}" var/sasgw.log
    stack_wait_port "sasgw (proxy)" "$PROXY_PORT" "${STACK_PIDS[-1]}" var/sasgw.log
}

# Where everything listens, and something to paste.
demo_banner() {
    cat <<EOF

== sasgw demo is up (Ctrl-C stops everything)
   issuer   http://127.0.0.1:$ISSUER_PORT   POST /v1/sas, admin API, /healthz /readyz /metrics
   proxy    http://127.0.0.1:$PROXY_PORT   validates SAS tokens, forwards to Azurite
   Redis    127.0.0.1:$REDIS_PORT         data var/redis, log var/redis/redis.log
   Azurite  $AZURITE_URL   data+log var/azurite (container '$CONTAINER')
   vault    $VAULT (sealed by $MASTER_KEY), audit var/audit.log, sasgw log var/sasgw.log

   Mint a token for demo/hello.txt (principal demo-app, secret demo-secret; the policy is conf/policy.yaml):
     curl -u demo-app:demo-secret -d '{"account":"devstoreaccount1","container":"demo","blob":"hello.txt","permissions":"rw","expires_in":600}' http://127.0.0.1:$ISSUER_PORT/v1/sas

   Then, with URL set to the "url" it returns (the proxy checks the token and forwards to Azurite):
     curl -X PUT -H 'x-ms-blob-type: BlockBlob' --data-binary 'hello' "\$URL"
     curl "\$URL"
   After editing conf/policy.yaml: kill -HUP \$(pgrep -f 'sasgw serve -c $CONFIG')   (var/sasgw.log says how it went)
EOF
}

main() {
    demo_check_prereqs
    demo_check_ports
    trap stack_stop_all EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    demo_init_vault
    demo_start_backends
    demo_prepare_storage
    demo_start_sasgw
    demo_banner
    stack_wait_any
}

main "$@"
