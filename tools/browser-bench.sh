#!/bin/bash
# Browser vs native on this machine, the same work through the same functions (burnish-web's app
# module): the default network at 256² and 512² with burnish's kernels and with burn's ops, 50 Gatys
# evaluations at 128 px, and the first visit's load time and bytes. Writes one JSON object (stdout,
# and $1 when given); the arguments after it go to both sides (--reps N, --sizes 256,512, --no-gatys).
#   bash tools/browser-bench.sh [OUT.json] [--reps 3] [--sizes 256] [--no-gatys]
# Needs what tools/browser-test.sh installs and builds (web/pkg, Chromium, playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}"
export CUBECL_AUTOTUNE_LEVEL="${CUBECL_AUTOTUNE_LEVEL:-minimal}" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
out_file=""
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then out_file=$1; shift; fi
native=$(cargo bench --locked -q -p burnish-web --bench app -- "$@" 2>/dev/null | tail -1)
browser=$(node web/tests/bench.mjs "$@" | tail -1)
out=$(node -e '
const [n, b] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2])];
const ratio = {};
const speedup = { native: {}, browser: {} };
for (const k of Object.keys(n.network.sizes)) {
  ratio[`network_${k}`] = b.network.sizes[k].median_ms / n.network.sizes[k].median_ms;
  ratio[`network_burn_ops_${k}`] = b.network_burn_ops.sizes[k].median_ms / n.network_burn_ops.sizes[k].median_ms;
  for (const [side, r] of [["native", n], ["browser", b]]) speedup[side][k] = r.network_burn_ops.sizes[k].median_ms / r.network.sizes[k].median_ms;
}
if (n.gatys_128 && b.gatys_128) ratio.gatys_128 = b.gatys_128.seconds / n.gatys_128.seconds;
console.log(JSON.stringify({ native: n, browser: b, browser_over_native: ratio, kernels_over_burn_ops: speedup }, null, 1));
' "$native" "$browser")
echo "$out"
if [ -n "$out_file" ]; then echo "$out" > "$out_file"; fi
