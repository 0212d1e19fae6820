#!/bin/bash
# Prepares here (x86-64, no GPU needed) what tools/gpu-run.sh runs on a lent GPU machine:
#   .gl/   the Vulkan loader's Debian package (the GPU machine has the NVIDIA driver, not the loader);
#   .dev/  release binaries, stripped and xz-compressed, one per TARGET: burnish, or a benchmark
#          (kernels, feedforward, conv, live), or conv-fusion / feedforward-fusion (built with burn's
#          fusion). Each is about 17-22 MiB compressed (burn, cubecl and wgpu are 69 MB of code), so
#          three fit the 64 MiB upload: by default burnish, conv and feedforward.
# The binaries embed VGG19 and the shipped styles; to fit they are built from a copy of the
# committed source (git archive HEAD) whose VGG19 file has every layer after conv3_1 zeroed and
# whose style networks but The Scream's two are zeroed: no GPU step depends on those weights'
# values (the arithmetic is the same), and this checkout's files are never touched. Then, with the
# `run` tool: carry [".gl", ".dev"] and run e.g.
#   bash tools/gpu-run.sh conv conv-direct ffshort demo
#   bash tools/gpu-bundle.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(burnish conv feedforward)
plain=()
fused=()
for t in "${targets[@]}"; do
    case "$t" in
        burnish) plain+=(--bin burnish) ;;
        kernels | feedforward | conv | live) plain+=(--bench "$t") ;;
        conv-fusion | feedforward-fusion) fused+=(--bench "${t%-fusion}") ;;
        *) echo "unknown target $t (burnish, kernels, feedforward, conv, live, conv-fusion, feedforward-fusion)" >&2; exit 2 ;;
    esac
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/burnish-target}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/src
mkdir -p "$src"
git archive HEAD | tar -x -C "$src"
# Zeroes the data of every tensor whose layer (the name before the first dot) is not listed, in
# place: VGG19 keeps conv1_1..conv3_1; the style networks but The Scream's two keep nothing.
zero_weights() {
    python3 - "$@" <<'EOF'
import json, struct, sys
path, keep = sys.argv[1], set(sys.argv[2:])
with open(path, 'r+b') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    for name, t in header.items():
        if name == '__metadata__' or name.split('.')[0] in keep:
            continue
        a, b = t['data_offsets']
        f.seek(8 + n + a)
        f.write(bytes(b - a))
EOF
}
zero_weights "$src/weights/vgg19-imagenet-conv.f16.safetensors" conv1_1 conv1_2 conv2_1 conv2_2 conv3_1
for f in "$src"/weights/styles/*.f16.safetensors; do
    case "$(basename "$f")" in
        scream.f16.safetensors | scream-light.f16.safetensors) ;;
        *) zero_weights "$f" ;;
    esac
done

# Builds `cargo build` targets in the copy; strips and xz-compresses each executable into .dev/<name><suffix>.xz.
build() {
    local suffix=$1
    shift
    (cd "$src" && cargo build --release --locked "$@" --message-format=json-render-diagnostics) |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"], m["executable"])' |
        while read -r name exe; do
            echo "  .dev/$name$suffix.xz"
            strip -o "$work/$name" "$exe"
            xz -T2 -6 -c "$work/$name" > "$root/.dev/$name$suffix.xz"
        done
}
rm -rf .dev .gl
mkdir -p .dev .gl
[ ${#plain[@]} -eq 0 ] || build "" "${plain[@]}"
[ ${#fused[@]} -eq 0 ] || build -fusion --features fusion "${fused[@]}"
(cd .gl && apt-get download -qq libvulkan1)
du -ch .gl/* .dev/* | tail -n +1
total=$(du -cb .gl .dev | tail -1 | cut -f1)
if [ "$total" -gt $((60 * 1024 * 1024)) ]; then
    echo "the bundle is $((total / 1024 / 1024)) MiB: over the 64 MiB upload with the source; name fewer targets" >&2
    exit 1
fi
