#!/bin/bash
# The browser half of the test suite: installs what it needs on Debian (Chromium, the wasm32
# toolchain: rustc-web with its std sources, lld, wasm-bindgen-cli; playwright-core), builds web/
# for wasm32 + WebGPU and runs two pages in headless Chromium (web/tests/page.mjs):
#   check.html    burnish's WGSL kernels against their reference twins on the browser's adapter;
#   stylize.html  the shipped scream-light network against the native CLI's output for the same photo;
# then the app itself (web/tests/app.mjs: index.html's photo, texture, webcam and offline modes).
# BURNISH_WEB_EVIDENCE=DIR writes each page's report and screenshot to DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium and playwright-core for the tests; tools/build-web.sh installs the wasm toolchain and node.
if ! dpkg -s chromium >/dev/null 2>&1; then
    echo "installing: chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

time bash tools/build-web.sh
(cd web && npm ci --no-audit --no-fund --silent)

# Test data: the model, a photo and the native CLI's result (CPU backend) for stylize.html and the
# app's photo mode; a still for Chromium's fake camera (y4m) for the app's webcam mode.
mkdir -p web/pkg/testdata
cp weights/styles/scream-light.f16.safetensors tests/fixtures/city_96x64.png web/pkg/testdata/
rm -f web/pkg/testdata/city_96x64_scream-light_native.png web/pkg/testdata/camera.y4m
cargo run --release --locked --quiet --bin burnish -- stylize tests/fixtures/city_96x64.png --model scream-light \
    --device cpu -o web/pkg/testdata/city_96x64_scream-light_native.png
ffmpeg -loglevel error -i tests/fixtures/city_96x64.png -pix_fmt yuv420p -frames:v 1 web/pkg/testdata/camera.y4m

extra=()
for page in check stylize; do
    if [ -n "${BURNISH_WEB_EVIDENCE:-}" ]; then
        extra=(--report "$BURNISH_WEB_EVIDENCE/browser-$page.json" --screenshot "$BURNISH_WEB_EVIDENCE/browser-$page.png")
    fi
    node web/tests/page.mjs "$page.html" "${extra[@]}"
done
# The app: no-WebGPU message, photo mode vs the native CLI, texture synthesis, webcam, offline reload.
if [ -n "${BURNISH_WEB_EVIDENCE:-}" ]; then
    extra=(--report "$BURNISH_WEB_EVIDENCE/browser-app.json" --evidence "$BURNISH_WEB_EVIDENCE")
fi
node web/tests/app.mjs "${extra[@]}"
