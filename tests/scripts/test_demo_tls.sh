#!/usr/bin/env bash
# test_demo_tls.sh - issue 13: scripts/run-demo.sh serves the Key Vault API over
# TLS. On first start it creates DIR/tls (0700): a demo CA and a certificate
# for 127.0.0.1/localhost that verifies against it, keys 0600; the banner
# names the Key Vault URL (port base+4), the CA to trust (NODE_EXTRA_CA_CERTS,
# REQUESTS_CA_BUNDLE) and how to get a demo JWT. Over that TLS listener: the
# 401 challenge, and @azure/keyvault-secrets with the README's credential sets
# a secret and reads a SAS definition as a fresh SAS (python3-azure reads it too). A second start keeps
# the CA and the certificate; a certificate the CA does not sign is made
# again. Each run ends with SIGTERM and leaves no port behind.
set -euo pipefail
src=${SASGW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$(realpath "${SASGW_BINARY:-$src/build/gateway/sasgw}")
. "$src/tests/scripts/lib-signals.sh"
work=$(mktemp -d /tmp/sasgw-demo-tls-XXXXXX)
leader=
cleanup() {
    [ -z "$leader" ] || kill -TERM -- "-$leader" 2>/dev/null || true
    [ -z "$leader" ] || sig_wait_leader 10 "$leader" || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ ! -f "$work/run.log" ] || sed 's/^/    /' "$work/run.log" >&2; exit 1; }
base=$(sig_free_base 5)
kv=https://127.0.0.1:$((base + 4))
var=$work/var
tls=$var/tls

# start: the demo in its own session; waits for /readyz and the Key Vault port
start() {
    SASGW_DEMO_VAR=$var SASGW_DEMO_PORT_BASE=$base SASGW_BINARY=$bin \
        setsid env --default-signal=INT,QUIT "$src/scripts/run-demo.sh" >"$work/run.log" 2>&1 </dev/null &
    leader=$!
    local deadline=$((SECONDS + 90))
    until curl -fsS -o /dev/null "http://127.0.0.1:$base/readyz" 2>/dev/null && stack_port_open $((base + 4)) &&
        grep -q "Ctrl-C stops everything" "$work/run.log"; do
        kill -0 "$leader" 2>/dev/null || fail "the demo exited while starting"
        [ "$SECONDS" -lt "$deadline" ] || fail "the demo did not become ready"
        sleep 0.2
    done
}
stop() {
    kill -TERM -- "-$leader"
    sig_wait_leader 15 "$leader" || fail "the demo did not stop on SIGTERM"
    leader=
    local p
    for p in $(seq "$base" $((base + 4))); do
        ! stack_port_open "$p" || fail "port $p still listens after SIGTERM"
    done
}

start
# the files and their modes
[ "$(stat -c %a "$tls")" = 700 ] || fail "$tls is not mode 0700"
for f in ca.key kv.key; do [ "$(stat -c %a "$tls/$f")" = 600 ] || fail "$tls/$f is not mode 0600"; done
openssl verify -CAfile "$tls/ca.pem" "$tls/kv.pem" >/dev/null || fail "kv.pem does not verify against ca.pem"
openssl x509 -in "$tls/kv.pem" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1" || fail "kv.pem lacks IP:127.0.0.1"
openssl x509 -in "$tls/kv.pem" -noout -ext subjectAltName | grep -q "DNS:localhost" || fail "kv.pem lacks DNS:localhost"
grep -q "created the demo CA $tls/ca.pem" "$work/run.log" || fail "the banner does not say the CA was made"
# the banner
grep -qF "Key Vault API  $kv" "$work/run.log" || fail "the banner lacks the Key Vault URL"
grep -qF "export NODE_EXTRA_CA_CERTS=$tls/ca.pem REQUESTS_CA_BUNDLE=$tls/ca.pem" "$work/run.log" || fail "the banner lacks the CA to trust"
grep -qF "node scripts/demo-jwt.mjs demo-app $kv" "$work/run.log" || fail "the banner lacks how to get a demo JWT"
# TLS with that CA (and only with it), the challenge
code=$(curl -sS -o "$work/401" -w '%{http_code}' -D "$work/h" --cacert "$tls/ca.pem" "$kv/secrets/demo-x?api-version=7.6") ||
    fail "TLS to $kv failed with the demo CA"
[ "$code" = 401 ] && grep -qi "^www-authenticate: Bearer authorization=" "$work/h" || fail "no 401 challenge ($code)"
curl -sS -o /dev/null "$kv/secrets?api-version=7.6" 2>/dev/null && fail "TLS verified without the demo CA"
# the README's client: a secret, then a SAS definition read as a fresh SAS
cat >"$work/client.mjs" <<JS
import { SecretClient } from '@azure/keyvault-secrets';
import { demoJwt } from '$src/scripts/demo-jwt.mjs';
const credential = { async getToken(scopes) {
    return { token: demoJwt('demo-app', [scopes].flat()[0].replace(/\/\.default\$/, '')), expiresOnTimestamp: Date.now() + 3600000 };
} };
const client = new SecretClient('$kv', credential, { serviceVersion: '7.6', disableChallengeResourceVerification: true });
await client.setSecret('demo-tls', 'over tls');
const s = await client.getSecret('demo-tls');
const sas = await client.getSecret('devstoreaccount1-readonly');
console.log(JSON.stringify({ value: s.value, contentType: sas.properties.contentType, sr: new URLSearchParams(sas.value).get('sr') }));
JS
sig='sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D'
curl -fsS --cacert "$tls/ca.pem" -X PUT -H 'content-type: application/json' \
    -H "Authorization: Bearer $(node "$src/scripts/demo-jwt.mjs" demo-app "$kv")" \
    -d "{\"sasType\":\"service\",\"validityPeriod\":\"PT5M\",\"templateUri\":\"http://127.0.0.1:$((base + 1))/devstoreaccount1/demo?sv=2022-11-02&sr=c&sp=rl&$sig\"}" \
    "$kv/storage/devstoreaccount1/sas/readonly?api-version=7.6" >/dev/null || fail "PUT /storage/devstoreaccount1/sas/readonly"
out=$(cd "$src" && NODE_EXTRA_CA_CERTS=$tls/ca.pem node --input-type=module -e "$(cat "$work/client.mjs")" 2>&1) ||
    fail "the SDK client failed: $out"
[ "$out" = '{"value":"over tls","contentType":"application/vnd.ms-sastoken-storage","sr":"c"}' ] || fail "SDK client: $out"
# ... and Debian's python3-azure (api 7.3) with the README's credential, trusting REQUESTS_CA_BUNDLE
py=$(cd "$src" && KV_URL=$kv REQUESTS_CA_BUNDLE=$tls/ca.pem /usr/bin/python3 - 2>&1 <<'PY'
import os, time, urllib.parse
import jwt
from azure.core.credentials import AccessToken
from azure.keyvault.secrets import SecretClient

class DemoCredential:
    def get_token(self, *scopes, **kwargs):
        now = int(time.time())
        claims = {"iss": "https://demo.issuer.local/", "sub": "demo-app", "aud": scopes[0].removesuffix("/.default"),
                  "iat": now, "exp": now + 3600}
        token = jwt.encode(claims, open("conf/demo-jwt-private.pem").read(), algorithm="RS256", headers={"kid": "demo-rs256"})
        return AccessToken(token, now + 3600)

client = SecretClient(os.environ["KV_URL"], DemoCredential(), api_version="7.3", verify_challenge_resource=False)
sas = client.get_secret("devstoreaccount1-readonly")
print(sas.properties.content_type, urllib.parse.parse_qs(sas.value)["sp"][0])
PY
) || fail "the python client failed: $py"
[ "$py" = "application/vnd.ms-sastoken-storage rl" ] || fail "python client: $py"
fp=$(openssl x509 -in "$tls/ca.pem" -noout -fingerprint -sha256)
kvfp=$(openssl x509 -in "$tls/kv.pem" -noout -fingerprint -sha256)
stop
echo "ok: first start (TLS material made, SDK over TLS)"

# a second start keeps both
start
grep -q "created the demo CA\|created $tls/kv.pem" "$work/run.log" && fail "the second start made TLS material again"
[ "$(openssl x509 -in "$tls/ca.pem" -noout -fingerprint -sha256)" = "$fp" ] || fail "the CA changed"
[ "$(openssl x509 -in "$tls/kv.pem" -noout -fingerprint -sha256)" = "$kvfp" ] || fail "the certificate changed"
stop
echo "ok: second start keeps the CA and the certificate"

# a certificate the CA does not sign is made again (the CA stays)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/kv.key" -out "$tls/kv.pem" -days 1 \
    -subj /CN=stranger >/dev/null 2>&1
start
grep -q "created $tls/kv.pem" "$work/run.log" || fail "a foreign certificate was kept"
openssl verify -CAfile "$tls/ca.pem" "$tls/kv.pem" >/dev/null || fail "the new certificate does not verify"
[ "$(openssl x509 -in "$tls/ca.pem" -noout -fingerprint -sha256)" = "$fp" ] || fail "the CA changed"
curl -fsS -o /dev/null --cacert "$tls/ca.pem" "http://127.0.0.1:$base/healthz" || fail "healthz"
stop
echo "ok: a certificate the CA does not sign is replaced"
