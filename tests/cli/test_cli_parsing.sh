#!/usr/bin/env bash
# The option parsing every sasgw command shares (gateway/cli/cli_args.c), through
# the binary: "--" ends the options (a secret named "-x" can be read), a
# once-only option given twice is a usage error (exit 2) in each command
# family's own words, --name=VALUE works for serve too, a repeatable option
# (--tag) keeps every value, and an unknown "-x" is an unknown option.
set -euo pipefail
bin=${SASGW_BINARY:?set SASGW_BINARY to the sasgw binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

head -c 32 /dev/urandom | base64 > "$work/mk"
chmod 600 "$work/mk"
v=(--vault "$work/v.db" --master-key-file "$work/mk")
"$bin" vault init "${v[@]}" >/dev/null

# expect RC SENTENCE CMD...: runs sasgw CMD, wants exit RC and SENTENCE on stderr
expect() {
    local want=$1 sentence=$2 rc=0
    shift 2
    "$bin" "$@" >"$work/out" 2>"$work/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "sasgw $*: exit $rc, want $want: $(cat "$work/err")"
    grep -qF -- "$sentence" "$work/err" || fail "sasgw $*: stderr lacks '$sentence': $(cat "$work/err")"
}

# "--": a name that looks like an option
"$bin" secret set "${v[@]}" --value s3cret --tag a=1 --tag=b=2 -- -x >/dev/null
[ "$("$bin" secret get "${v[@]}" -- -x)" = s3cret ] || fail "secret -x not read back after --"
"$bin" secret list "${v[@]}" --json | tr -d " \n" | grep -q "\"tags\":{\"a\":\"1\",\"b\":\"2\"}" || fail "--tag values lost"
expect 2 "sasgw secret get: unknown option '-x' (see 'sasgw secret get --help')." secret get "${v[@]}" -x
expect 2 "sasgw secret get: missing argument" secret get "${v[@]}" --

# a once-only option given twice, also as alias and name
expect 2 "sasgw secret get: option '--vault' given twice (see 'sasgw secret get --help')." secret get "${v[@]}" --vault "$work/v.db" a
expect 2 "sasgw account rotate: option '--config' given twice" account rotate a --slot key1 -c x --config y "${v[@]}"
expect 2 "sasgw revoke: option '--token' given twice (see 'sasgw revoke --help')." revoke --token a --token b
expect 2 "sasgw sas verify: --at given twice" sas verify http://h/a/c --key AAAA --at 2026-01-01T00:00:00Z --at 2026-01-01T00:00:00Z
expect 2 "sasgw serve: -c given twice" serve -c a -c b

# serve: --config=FILE and --threads=N
cp conf/sasgw.yaml "$work/s.yaml" 2>/dev/null || fail "run from the source tree (conf/sasgw.yaml)"
expect 2 "sasgw serve: --threads takes a number from 1 to" serve --config="$work/s.yaml" --threads=0 --check
echo ok
