#!/usr/bin/env bash
# Installs what sasgw needs to build, run and test, and nothing that is already
# there. Safe to run again: apt-get runs only when a package is missing, and npm
# ci only when node_modules does not match package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libh2o-evloop-dev libssl-dev libyaml-dev libhiredis-dev libjansson-dev libjwt-dev libcmocka-dev libnghttp2-dev
      redis-server nginx h2o wrk nodejs npm curl python3-azure nghttp2-client)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node and npm may come from elsewhere than Debian (a newer npm, say): keep those.
if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs/}")
    missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"

if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "install-deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts these services on install; the project runs its own instances on its own ports.
    for svc in redis-server nginx h2o; do
        $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
    done
fi

# The pinned azurite and @azure/storage-blob run on node 20 (this machine kind ships 20.x;
# they declare >= 22 but are tested here on 20). Older nodes fail in odd ways: say so plainly.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
    echo "install-deps: node $(node --version 2>/dev/null || echo missing) is older than 20; the end-to-end tests need node >= 20" >&2
fi

if [ -f package-lock.json ]; then
    stamp=node_modules/.sasgw-lock.sha256
    want=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "install-deps: npm ci"
        npm ci --no-audit --no-fund --loglevel=error
        echo "$want" >"$stamp"
    fi
fi
