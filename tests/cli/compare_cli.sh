#!/bin/bash
# compare_cli.sh OLD_SASGW NEW_SASGW: runs every command line of cli_cases.txt
# (beside this script; one per line, split on spaces) with both binaries in a
# scratch directory, without the SASGW_* environment, and prints each line
# whose exit code, stdout or stderr differ, with the diff. Used to show that a
# change to option parsing leaves every --help text and message as it was.
set -u
here=$(cd "$(dirname "$0")" && pwd)
old=$(realpath "$1") new=$(realpath "$2")
run() {
    local d rc
    d=$(mktemp -d)
    (cd "$d" && env -u SASGW_VAULT -u SASGW_MASTER_KEY -u SASGW_PASSPHRASE -u SASGW_AUDIT_LOG timeout 5 "$@" </dev/null 2>&1; echo "exit $?")
    rm -rf "$d"
}
n=0 differ=0
while IFS= read -r line; do
    [ -z "$line" ] && continue
    n=$((n + 1))
    # shellcheck disable=SC2086
    if ! out=$(diff <(run "$old" $line) <(run "$new" $line)); then
        differ=$((differ + 1))
        printf '=== sasgw %s\n%s\n' "$line" "$out"
    fi
done <"$here/cli_cases.txt"
echo "$n command lines, $differ differ"
