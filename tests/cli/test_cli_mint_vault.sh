#!/usr/bin/env bash
# `sasgw sas mint` without --key signs with the account's active key from the
# vault: same token as with --key, the read is audited, a rotation changes the
# key used, and a missing vault or account is a refusal (exit 1). Also: a
# vault command runs with core dumps off (RLIMIT_CORE 0, set by main()).
set -euo pipefail
bin=${SASGW_BINARY:?set SASGW_BINARY to the sasgw binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
head -c 32 /dev/urandom | base64 > "$work/mk"
chmod 600 "$work/mk"
v=(--vault "$work/v.db" --master-key-file "$work/mk")
"$bin" vault init "${v[@]}" >/dev/null
"$bin" account add devstoreaccount1 "${v[@]}" --key1 "$key" >/dev/null
args=(--account devstoreaccount1 --container c --blob b --permissions r --expiry 2030-01-01)

from_vault=$("$bin" sas mint "${args[@]}" "${v[@]}")
from_key=$("$bin" sas mint "${args[@]}" --key "$key")
[ "$from_vault" = "$from_key" ] || fail "vault key and --key sign differently: $from_vault / $from_key"
from_env=$(SASGW_VAULT="$work/v.db" SASGW_MASTER_KEY=$(cat "$work/mk") "$bin" sas mint "${args[@]}")
[ "$from_env" = "$from_key" ] || fail "SASGW_VAULT/SASGW_MASTER_KEY not honoured"
"$bin" audit tail "${v[@]}" --json | grep -q '"op":"account.key.read"' || fail "key read not audited"
grep -qF "$key" "$work"/* && fail "the key appears in plaintext in a vault file"

# after rotating key1, mint signs with the new version: the old key no longer verifies it
"$bin" account rotate devstoreaccount1 --slot key1 "${v[@]}" >/dev/null
rotated=$("$bin" sas mint "${args[@]}" "${v[@]}")
[ "$rotated" != "$from_key" ] || fail "mint still signs with the rotated-out key"
set +e
"$bin" sas verify "https://h/devstoreaccount1/c/b?$rotated" --key "$key" --at 2029-01-01T00:00:00Z >/dev/null; rc=$?
"$bin" sas mint --account nope --container c --permissions r --expiry 2030-01-01 "${v[@]}" 2>"$work/err"; rc_acct=$?
"$bin" sas mint "${args[@]}" --vault "$work/none.db" --master-key-file "$work/mk" 2>"$work/err2"; rc_vault=$?
"$bin" sas mint "${args[@]}" --key "$key" --vault "$work/v.db" >/dev/null 2>&1; rc_both=$?
set -e
[ $rc -eq 1 ] || fail "old key verified a token minted after rotation (exit $rc)"
[ $rc_acct -eq 1 ] && grep -q "no account named 'nope'" "$work/err" || fail "unknown account: exit $rc_acct, $(cat "$work/err")"
[ $rc_vault -eq 1 ] && grep -q "no vault at" "$work/err2" || fail "missing vault: exit $rc_vault, $(cat "$work/err2")"
[ $rc_both -eq 2 ] || fail "--key with --vault should be a usage error (exit $rc_both)"
# core dumps off in a vault command: `secret set` caught while it waits for the value on stdin
mkfifo "$work/in"
exec 3<>"$work/in"
"$bin" secret set s1 "${v[@]}" < "$work/in" >/dev/null 3>&- &
setter=$!
limits=
for _ in $(seq 100); do
    limits=$(awk '/^Max core file size/ {print $5, $6}' "/proc/$setter/limits" 2>/dev/null || true)
    [ "$limits" = "0 0" ] && [ "$(cat "/proc/$setter/comm" 2>/dev/null)" = sasgw ] && break
    sleep 0.02
done
printf 'value' >&3
exec 3>&-
wait "$setter" || fail "secret set failed"
[ "$limits" = "0 0" ] || fail "RLIMIT_CORE of a vault command (soft hard): $limits"
echo "ok: sas mint reads its key from the vault; vault commands run with core dumps off"
