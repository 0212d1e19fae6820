#!/bin/bash
# Builds web/ (burnish-web) for wasm32 + WebGPU, runs wasm-bindgen into web/pkg and puts the
# weights the app fetches beside it. Serve the result with: node web/serve.mjs
# Needs Debian's rustc-web (its std sources, for -Z build-std), lld and wasm-bindgen-cli equal to
# the wasm-bindgen version in Cargo.lock; see web/README.md. Uses its own target dir (a native
# build must not see build-std).
set -euo pipefail
cd "$(dirname "$0")/.."

# What the build needs, installed when missing (Debian): rustc-web with its std sources, lld,
# wasm-bindgen-cli equal to the lock file's wasm-bindgen; node for web/serve.mjs.
need=()
for pkg in rustc-web cargo-web rust-web-src lld-22; do
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
want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    echo "installing wasm-bindgen-cli $want"
    cargo install -q wasm-bindgen-cli --version "$want"
fi
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=${WASM_LD:-$(ls /usr/bin/wasm-ld* | head -1)}
export CARGO_TARGET_DIR=${BURNISH_WASM_TARGET:-$HOME/.cache/burnish-wasm-target}
export RUSTFLAGS='--cfg getrandom_backend="wasm_js"'
/usr/bin/cargo build --release --locked -p burnish-web --lib --target wasm32-unknown-unknown -Z build-std=std,panic_abort
wasm-bindgen --target web --remove-name-section --out-dir web/pkg "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/burnish_web.wasm"
# The weights the app fetches (and caches): the shipped style networks with their previews, and
# VGG19 for the optimisation modes.
mkdir -p web/pkg/styles web/pkg/weights
cp -u weights/styles/*.f16.safetensors weights/styles/*-preview.jpg web/pkg/styles/
cp -u weights/vgg19-imagenet-conv.f16.safetensors web/pkg/weights/
ls -la web/pkg
