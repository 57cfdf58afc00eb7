#!/usr/bin/env bash
# The demo. For now the signer through the CLI: mint a SAS for Azurite's
# well-known account and verify it. Grows into the whole stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/gateway/sasgw
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
echo "== sasgw sas mint (devstoreaccount1, container demo, blob hello.txt, rw, 1 h)"
sas=$("$bin" sas mint --account devstoreaccount1 --key "$key" --container demo --blob hello.txt \
      --permissions rw --expiry "$exp" --protocol https)
echo "$sas"
url="https://127.0.0.1:10000/devstoreaccount1/demo/hello.txt?$sas"
echo "== sasgw sas verify (GET)"
"$bin" sas verify "$url" --key "$key" --method GET
echo "== sasgw sas verify (DELETE: refused, no d)"
"$bin" sas verify "$url" --key "$key" --method DELETE || true
echo "== sasgw sas inspect"
"$bin" sas inspect "$url"
