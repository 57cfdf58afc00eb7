#!/usr/bin/env bash
# `sasgw sas mint|verify|inspect` and the key families (issue 12): a resign
# account's tokens are minted from the vault with its edge keys (stderr names
# the slot), verified from the vault with the same family ("key":"edge1",
# "key_version"), and never with its storage keys; --keys picks a family;
# inspect -c names the mode and the family the configuration serves.
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
"$bin" account add media "${v[@]}" --key1 "$key" --mode resign >/dev/null
"$bin" account add plain "${v[@]}" --key1 "$key" >/dev/null
args=(--account media --container c --blob b --permissions r --expiry 2030-01-01)

# edge1 version 2, its value printed once
edge=$("$bin" account rotate media --slot edge1 --show-key "${v[@]}" --redis 127.0.0.1:1 2>/dev/null | tail -1)
minted=$("$bin" sas mint "${args[@]}" "${v[@]}" 2>"$work/err")
grep -q "signed with edge1 version 2 of account media" "$work/err" || fail "mint does not name its key: $(cat "$work/err")"
[ "$minted" = "$("$bin" sas mint "${args[@]}" --key "$edge")" ] || fail "the vault mint is not signed with edge1"
[ "$minted" != "$("$bin" sas mint "${args[@]}" --key "$key")" ] || fail "a resign token signed with the storage key"
grep -qF "$edge" "$work/err" && fail "the edge key on stderr"

url="https://h/media/c/b?$minted"
out=$("$bin" sas verify "$url" "${v[@]}" --at 2029-01-01T00:00:00Z)
echo "$out" | grep -q '"valid":true' || fail "vault verify: $out"
echo "$out" | grep -q '"key":"edge1"' || fail "verify names the slot: $out"
echo "$out" | grep -q '"key_version":2' || fail "verify names the version: $out"
set +e
"$bin" sas verify "$url" "${v[@]}" --keys storage --at 2029-01-01T00:00:00Z >"$work/o1"; rc_storage=$?
"$bin" sas verify "$url" --key "$key" --at 2029-01-01T00:00:00Z >/dev/null; rc_key=$?
"$bin" sas verify "$url" --key "$key" --keys edge >/dev/null 2>&1; rc_both=$?
"$bin" sas mint "${args[@]}" "${v[@]}" --keys wrong >/dev/null 2>&1; rc_bad=$?
"$bin" sas verify "https://h/nosuch/c/b?$minted" "${v[@]}" >/dev/null 2>"$work/e2"; rc_noacct=$?
set -e
[ $rc_storage -eq 1 ] || fail "a resign token verified with the storage keys (exit $rc_storage)"
grep -q '"reason":"signature_mismatch"' "$work/o1" || fail "storage-key verify: $(cat "$work/o1")"
[ $rc_key -eq 1 ] || fail "a resign token verified with --key storage (exit $rc_key)"
[ $rc_both -eq 2 ] || fail "--keys with --key should be a usage error (exit $rc_both)"
[ $rc_bad -eq 2 ] || fail "--keys wrong should be a usage error (exit $rc_bad)"
[ $rc_noacct -eq 1 ] && grep -q "no account named 'nosuch'" "$work/e2" || fail "unknown account: $rc_noacct $(cat "$work/e2")"

# --keys storage mints with key1 (what a passthrough account uses); plain accounts use key1 by default
s=$("$bin" sas mint "${args[@]}" "${v[@]}" --keys storage 2>"$work/err")
grep -q "signed with key1 version 1" "$work/err" || fail "--keys storage: $(cat "$work/err")"
[ "$s" = "$("$bin" sas mint "${args[@]}" --key "$key")" ] || fail "--keys storage is not key1"
"$bin" sas mint --account plain --container c --permissions r --expiry 2030-01-01 "${v[@]}" 2>&1 >/dev/null | grep -q "signed with key1" ||
    fail "plain account not signed with key1"

# inspect -c: the configuration's mode and key family
cat >"$work/sasgw.yaml" <<YAML
vault: { path: $work/v.db }
policy: conf/policy.yaml
proxy:
  listen: [{ address: 127.0.0.1, port: 1 }]
  public_base_url: http://127.0.0.1:1
accounts:
  media: { mode: resign, backend: "http://127.0.0.1:10000", upstream_account: devstoreaccount1 }
  plain: { mode: passthrough, backend: "http://127.0.0.1:10000" }
YAML
out=$("$bin" sas inspect "$url" -c "$work/sasgw.yaml" --at 2029-01-01T00:00:00Z)
echo "$out" | grep -q '"mode":"resign"' && echo "$out" | grep -q '"keys":"edge"' &&
    echo "$out" | grep -q '"upstream_account":"devstoreaccount1"' || fail "inspect -c: $out"
out=$("$bin" sas inspect "https://h/plain/c/b?$minted" -c "$work/sasgw.yaml" --at 2029-01-01T00:00:00Z)
echo "$out" | grep -q '"keys":"storage"' || fail "inspect -c plain: $out"
# account list: mode, upstream_account (the name, or -c's), every slot's versions, never a key
list=$("$bin" account list --json "${v[@]}")
echo "$list" | python3 -c '
import json, sys
a = {x["name"]: x for x in json.load(sys.stdin)}
m, p = a["media"], a["plain"]
assert m["mode"] == "resign" and m["upstream_account"] == "media" and m["token_keys"] == "edge", m
assert p["mode"] == "passthrough" and p["upstream_account"] is None and p["token_keys"] == "storage", p
slots = [(k["slot"], k["version"], k["state"]) for k in m["keys"]]
assert ("edge1", 1, "retired") in slots and ("edge1", 2, "active") in slots and ("edge2", 1, "active") in slots, slots
assert all(sorted(k) == ["created", "slot", "state", "version"] for k in m["keys"])
assert not any(k["slot"].startswith("edge") for k in p["keys"])
' || fail "account list --json: $list"
echo "$list" | grep -qF "${edge:0:16}" && fail "an edge key in account list"
"$bin" account list -c "$work/sasgw.yaml" "${v[@]}" | grep -q "^media  mode=resign  backend=-  upstream_account=devstoreaccount1" ||
    fail "account list -c: $("$bin" account list -c "$work/sasgw.yaml" "${v[@]}")"
"$bin" account list "${v[@]}" | grep -q "^  edge1 version 2    active" || fail "account list: no edge1 line"
echo "ok: sas mint, verify and inspect use and name the account's key family"
