#!/usr/bin/env bash
# The demo stack, in the foreground (what `make run` starts after building):
#   Redis    127.0.0.1:6390,  data var/redis
#   Azurite  127.0.0.1:10000, data var/azurite (blob service, account devstoreaccount1)
# then the signer through the CLI: a SAS minted by sasgw uploads "hello" to
# Azurite with curl, and is verified and inspected offline. Ctrl-C (or SIGTERM)
# stops everything. Each phase is one function; main() at the bottom runs them.
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

# The signer: mint a write SAS, upload "hello" with curl directly to Azurite,
# then mint a read SAS and verify and inspect it offline.
demo_show_signer() {
    local exp wsas rsas url
    exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
    echo "== sasgw sas mint: blob $CONTAINER/hello.txt, permissions cw, 1 h"
    wsas=$("$BIN" sas mint --account "$ACCOUNT" --key "$KEY" --container "$CONTAINER" --blob hello.txt \
           --permissions cw --expiry "$exp")
    echo "$wsas"
    echo "== curl PUT through that SAS, straight to Azurite"
    printf 'hello\n' | curl -sS --fail-with-body -X PUT -H 'x-ms-blob-type: BlockBlob' --data-binary @- \
        -o /dev/null -w 'HTTP %{http_code}\n' "$AZURITE_URL/$CONTAINER/hello.txt?$wsas"

    rsas=$("$BIN" sas mint --account "$ACCOUNT" --key "$KEY" --container "$CONTAINER" --blob hello.txt \
           --permissions r --expiry "$exp")
    url="$AZURITE_URL/$CONTAINER/hello.txt?$rsas"
    echo "== sasgw sas verify (GET with a read SAS)"
    "$BIN" sas verify "$url" --key "$KEY" --method GET
    echo "== sasgw sas verify (DELETE: refused, no d)"
    "$BIN" sas verify "$url" --key "$KEY" --method DELETE || true
    echo "== sasgw sas inspect"
    "$BIN" sas inspect "$url"
    DEMO_READ_URL=$url
}

# Where everything listens, and something to paste.
demo_banner() {
    cat <<EOF

== sasgw demo is up (Ctrl-C stops everything)
   Redis    127.0.0.1:$REDIS_PORT    data var/redis, log var/redis/redis.log
   Azurite  $AZURITE_URL   data+log var/azurite (container '$CONTAINER')

   Read the blob with the SAS sasgw minted (valid 1 h):
     curl '$DEMO_READ_URL'
EOF
}

main() {
    demo_check_prereqs
    demo_check_ports
    trap stack_stop_all EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    demo_start_backends
    demo_prepare_storage
    demo_show_signer
    demo_banner
    stack_wait_any
}

main "$@"
