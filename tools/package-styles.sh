#!/bin/bash
# Package trained style networks for shipping: float16 weights (embedded in the binary), a
# preview, the loss curve, the full-precision checkpoint (to resume training in a later
# session) and a table for weights/README.md.
#   tools/package-styles.sh TRAIN_ROOT   (TRAIN_ROOT/NAME/ holds a `burnish train` run for each style)
set -euo pipefail
root=${1:?usage: tools/package-styles.sh TRAIN_ROOT}
cd "$(dirname "$0")/.."
bin=${BURNISH:-target/release/burnish}
mkdir -p weights/styles weights/checkpoints
table=weights/styles/TABLE.md
echo "| style | image | iterations | final losses (content / style, weighted) | training time | machine |" > $table
echo "| --- | --- | --- | --- | --- | --- |" >> $table
for name in scream wave starry-night composition-vii; do
  run=$root/$name
  [ -f "$run/model.safetensors" ] || { echo "missing $run/model.safetensors" >&2; exit 1; }
  $bin export "$run/model.safetensors" -o weights/styles/$name.f16.safetensors --f16
  cp "$run/checkpoint.safetensors" weights/checkpoints/$name.safetensors
  cp "$run/losses.png" weights/styles/$name-losses.png
  cp "$run/losses.csv" weights/styles/$name-losses.csv
  $bin stylize web/assets/bunny.jpg -o weights/styles/$name-preview.jpg --model weights/styles/$name.f16.safetensors --device cpu --quiet
  python3 - "$run/model.safetensors" "$name" >> $table <<'PY'
import json, struct, sys
path, name = sys.argv[1], sys.argv[2]
with open(path, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    meta = json.loads(f.read(n))['__metadata__']
c = json.loads(meta['burnish.config'])
l = c.get('final_losses', {})
d = c.get('device', {})
print(f"| {name} | `{c['style']}` | {c['iterations_done']} (batch {c['batch']}, {c['crop']}² crops, width {c['width']}) | "
      f"{l.get('content', 0):.3g} / {l.get('style', 0):.3g} | {c.get('training_seconds', 0) / 60:.0f} min | {d.get('name', '?')} |")
PY
done
python3 - $table <<'PY'
import re, sys
table = open(sys.argv[1]).read()
readme = open('weights/README.md').read()
start, end = '<!-- table: written by tools/package-styles.sh -->\n', '<!-- end table -->'
i, j = readme.index(start) + len(start), readme.index(end)
open('weights/README.md', 'w').write(readme[:i] + table + readme[j:])
PY
rm $table
cat weights/README.md | sed -n '/<!-- table/,/end table/p'
