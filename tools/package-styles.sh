#!/bin/bash
# Package trained style networks for shipping: float16 weights (embedded in the binary), a
# preview, the loss curve, the full-precision checkpoint (to resume training in a later session),
# the quality report on photos held out of training (and the ml5.js network's, where there is one)
# and the table in weights/README.md.
#   tools/package-styles.sh TRAIN_ROOT NAME=STYLE_IMAGE[=ML5_FOLDER] ...
# TRAIN_ROOT/NAME/ holds a `burnish train --hold-out 25` run on ../shared/data/photos. With no NAME,
# only the table is rewritten (from every weights/styles/*.f16.safetensors and its reports).
set -euo pipefail
root=${1:?usage: tools/package-styles.sh TRAIN_ROOT NAME=STYLE_IMAGE[=ML5_FOLDER] ...}
shift
cd "$(dirname "$0")/.."
bin=${BURNISH:-target/release/burnish}
evaluate() { BURNISH=$bin tools/quality.sh "$1" "$2" "$3"; }
mkdir -p weights/styles weights/checkpoints
for spec in "$@"; do
  IFS='=' read -r name style ml5 <<< "$spec"
  run=$root/$name
  [ -f "$run/model.safetensors" ] || { echo "missing $run/model.safetensors" >&2; exit 1; }
  $bin export "$run/model.safetensors" -o weights/styles/$name.f16.safetensors --f16
  cp "$run/checkpoint.safetensors" weights/checkpoints/$name.safetensors
  cp "$run/losses.png" weights/styles/$name-losses.png
  cp "$run/losses.csv" weights/styles/$name-losses.csv
  $bin stylize web/assets/bunny.jpg -o weights/styles/$name-preview.jpg --model weights/styles/$name.f16.safetensors --device cpu --quiet
  evaluate weights/styles/$name.f16.safetensors "$style" weights/styles/$name-quality.json
  if [ -n "${ml5:-}" ]; then
    evaluate "$ml5" "$style" weights/styles/$name-ml5-quality.json
  fi
done
table=$(mktemp)
echo "| style | image | iterations | final losses (content / style, weighted) | training time | machine | held-out structure / style distance | ml5.js network |" > $table
echo "| --- | --- | --- | --- | --- | --- | --- | --- |" >> $table
for f in weights/styles/*.f16.safetensors; do
  name=$(basename "$f" .f16.safetensors)
  python3 - "$f" "$name" >> $table <<'PY'
import json, os, struct, sys
path, name = sys.argv[1], sys.argv[2]
with open(path, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    meta = json.loads(f.read(n))['__metadata__']
c = json.loads(meta['burnish.config'])
l = c.get('final_losses', {})
d = c.get('device', {})
def quality(p):
    if not os.path.exists(p):
        return '–'
    g = json.load(open(p))['geometric_mean']['network']
    return f"{g['structure']:.3f} / {g['style_distance']:.3f}"
recipe = 'recipe' if c.get('content_layer', {}).get('conv') == 9 else 'old Gatys weights'
print(f"| {name} | `{c['style']}` | {c['iterations_done']} (batch {c['batch']}, {c['crop']}² crops, width {c['width']}, {recipe}) | "
      f"{l.get('content', 0):.3g} / {l.get('style', 0):.3g} | {c.get('training_seconds', 0) / 60:.0f} min | {d.get('name', '?')} | "
      f"{quality(f'weights/styles/{name}-quality.json')} | {quality(f'weights/styles/{name}-ml5-quality.json')} |")
PY
done
python3 - $table <<'PY'
import sys
table = open(sys.argv[1]).read()
readme = open('weights/README.md').read()
start, end = '<!-- table: written by tools/package-styles.sh -->\n', '<!-- end table -->'
i, j = readme.index(start) + len(start), readme.index(end)
open('weights/README.md', 'w').write(readme[:i] + table + readme[j:])
PY
rm $table
sed -n '/<!-- table/,/end table/p' weights/README.md
