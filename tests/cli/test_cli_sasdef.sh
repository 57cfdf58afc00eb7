#!/usr/bin/env bash
# `sasgw sasdef set|get|list|delete`: a definition round-trips through the
# vault (text and --json), list leaves templates out, replace keeps created,
# every refusal exits 1 with one sentence (bad template, bad duration, unknown
# account, missing definition), usage errors exit 2, and the writes are audited.
set -euo pipefail
bin=${SASGW_BINARY:?set SASGW_BINARY to the sasgw binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
sig='sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D'
tpl="http://127.0.0.1:10000/devstoreaccount1/photos?sv=2022-11-02&sr=c&sp=rl&$sig"
head -c 32 /dev/urandom | base64 > "$work/mk"
chmod 600 "$work/mk"
v=(--vault "$work/v.db" --master-key-file "$work/mk")
"$bin" vault init "${v[@]}" >/dev/null
"$bin" account add devstoreaccount1 "${v[@]}" --key1 "$key" >/dev/null

out=$("$bin" sasdef set devstoreaccount1 readonly --template-uri "$tpl" --sas-type service --validity PT1H --tag team=photos "${v[@]}")
[ "$out" = "SAS definition readonly set on devstoreaccount1" ] || fail "set: $out"
json=$("$bin" sasdef get devstoreaccount1 readonly --json "${v[@]}")
node -e '
const d = JSON.parse(process.argv[1]);
const want = {account: "devstoreaccount1", name: "readonly", template_uri: process.argv[2], sas_type: "service",
              validity_period: "PT1H", enabled: true, tags: {team: "photos"}};
for (const [k, v] of Object.entries(want))
    if (JSON.stringify(d[k]) !== JSON.stringify(v)) { console.error("get --json:", k, d[k]); process.exit(1); }
if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(d.created) || d.created !== d.updated) process.exit(1);
' "$json" "$tpl" || fail "get --json: $json"
created=$(node -e 'console.log(JSON.parse(process.argv[1]).created)' "$json")
"$bin" sasdef get devstoreaccount1 readonly "${v[@]}" | grep -q "^devstoreaccount1/readonly  service  validity PT1H  enabled" || fail "get text"

# replace: created kept, disabled; a second, account definition; list is sorted and has no templates
sleep 1
"$bin" sasdef set devstoreaccount1 readonly --template-uri "$tpl" --sas-type service --validity P1D --disabled "${v[@]}" >/dev/null
json=$("$bin" sasdef get devstoreaccount1 readonly --json "${v[@]}")
node -e 'const d = JSON.parse(process.argv[1]); if (d.created !== process.argv[2] || d.updated === d.created || d.enabled !== false ||
         d.validity_period !== "P1D" || Object.keys(d.tags).length !== 0) process.exit(1)' "$json" "$created" || fail "replace: $json"
"$bin" sasdef set devstoreaccount1 Acct --template-uri "http://127.0.0.1:10000/devstoreaccount1?sv=2022-11-02&ss=b&srt=co&sp=rl&$sig" \
    --sas-type account --validity PT15M "${v[@]}" >/dev/null
list=$("$bin" sasdef list devstoreaccount1 --json "${v[@]}")
node -e 'const l = JSON.parse(process.argv[1]); if (l.length !== 2 || l[0].name !== "Acct" || l[1].name !== "readonly" ||
         l.some((d) => "template_uri" in d)) process.exit(1)' "$list" || fail "list: $list"
"$bin" sasdef list devstoreaccount1 "${v[@]}" | grep -q "sig=" && fail "list text shows a template"

# refusals: exit 1, one sentence naming the problem
check() { # expected-exit expected-text args...
    local want=$1 text=$2 rc
    shift 2
    set +e
    "$bin" sasdef "$@" "${v[@]}" >"$work/out" 2>"$work/err"
    rc=$?
    set -e
    [ $rc -eq "$want" ] || fail "sasdef $*: exit $rc, want $want ($(cat "$work/err"))"
    grep -q -- "$text" "$work/err" || fail "sasdef $*: '$(cat "$work/err")' lacks '$text'"
    [ "$(wc -l < "$work/err")" -eq 1 ] || fail "sasdef $*: not one line"
    grep -q "AAAAAAAA" "$work/err" && fail "sasdef $*: the template's signature is echoed"
    return 0
}
check 1 "validityPeriod must be from 1 second to 7 days" set devstoreaccount1 x --template-uri "$tpl" --sas-type service --validity P8D
check 1 "months have no fixed length" set devstoreaccount1 x --template-uri "$tpl" --sas-type service --validity P1M
check 1 "sasType is account" set devstoreaccount1 x --template-uri "$tpl" --sas-type account --validity PT1H
check 1 "another storage account" set devstoreaccount1 x --template-uri "${tpl/devstoreaccount1/other1}" --sas-type service --validity PT1H
check 1 "not a valid SAS" set devstoreaccount1 x --template-uri "http://h/devstoreaccount1/photos?sr=c&sp=rl" --sas-type service --validity PT1H
check 1 "no account named 'nosuch'" set nosuch x --template-uri "$tpl" --sas-type service --validity PT1H
check 1 "letters and digits" set devstoreaccount1 bad-name --template-uri "$tpl" --sas-type service --validity PT1H
check 1 "no SAS definition 'nope'" get devstoreaccount1 nope
check 1 "no SAS definition 'nope'" delete devstoreaccount1 nope
check 1 "KEY=VALUE" set devstoreaccount1 x --template-uri "$tpl" --sas-type service --validity PT1H --tag novalue
check 2 "required" set devstoreaccount1 x --template-uri "$tpl"
check 2 "service or account" set devstoreaccount1 x --template-uri "$tpl" --sas-type both --validity PT1H
check 2 "missing argument" get devstoreaccount1
check 2 "unexpected argument" list devstoreaccount1 extra
check 2 "unknown subcommand" frob
"$bin" sasdef --help | grep -q "usage: sasgw sasdef" || fail "--help"

# delete, and the audit trail names each write (never the template)
"$bin" sasdef delete devstoreaccount1 readonly "${v[@]}" | grep -q "deleted" || fail "delete"
check 1 "no SAS definition 'readonly'" get devstoreaccount1 readonly
audit=$("$bin" audit tail "${v[@]}" --json)
grep -q '"op":"sasdef.put".*"object":"sasdefs/devstoreaccount1/readonly"' <<<"$audit" || fail "put not audited: $audit"
grep -q '"op":"sasdef.delete"' <<<"$audit" || fail "delete not audited"
grep -q "AAAAAAAA" <<<"$audit" && fail "the audit trail holds a template"
grep -qF "sp=rl" "$work/v.db" && fail "the template is in plaintext in the vault file"
echo ok
