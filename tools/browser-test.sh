#!/bin/bash
# The browser half of the test suite: installs what it needs on Debian (Chromium, the wasm32
# toolchain: rustc-web with its std sources, lld, wasm-bindgen-cli; playwright-core), builds web/
# for wasm32 + WebGPU and runs web/tests/kernels.mjs in headless Chromium, which fails unless
# burnish's WGSL kernels match their reference twins on the browser's WebGPU adapter.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in rustc-web cargo-web rust-web-src lld-22 chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH="$HOME/.cargo/bin:$PATH"
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock.
want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    echo "installing wasm-bindgen-cli $want"
    cargo install -q wasm-bindgen-cli --version "$want"
fi

(cd web && npm ci --no-audit --no-fund --silent)

export BURNISH_WASM_TARGET="${BURNISH_WASM_TARGET:-$HOME/.cache/burnish-wasm-target}"
time bash tools/build-web.sh
node web/tests/kernels.mjs "$@"
