#!/usr/bin/env bash
# Installs what Glimpse needs on a Debian/Ubuntu machine, then the pinned npm packages.
#   scripts/setup.sh          for the main job (npm start): dataset-fashion-mnist, and clang-16 +
#                             lld-16 that build the WebAssembly SIMD kernels on npm ci
#   scripts/setup.sh --test   for the tests (npm test) too: chromium, python3-torch, python3-pytest
#                             the pip/setuptools/wheel that `pip install ./python` uses, and
#                             redis-server (the multi-node tests start their own), and
#                             libopenblas0-pthread: Debian's torch otherwise links the reference
#                             BLAS (~2 GFLOP/s on a 512² matmul here vs ~27 with OpenBLAS), which
#                             would slow the PyTorch peers' dense layers and flatter Glimpse
# apt-get runs through sudo only when this is not root (a root-only machine has no sudo), and only
# for packages that are missing. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(dataset-fashion-mnist clang-16 lld-16)
case "${1:-}" in
  --test) packages+=(chromium python3-torch python3-pytest python3-pip python3-setuptools python3-wheel redis-server libopenblas0-pthread) ;;
  '') ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: not a Debian-like system; install these (or their equivalents) yourself: ${missing[*]}" >&2
  else
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
      sudo=(sudo)
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
  fi
fi

npm ci --no-audit --no-fund
