#!/bin/bash
# A sheet of photos (rows) stylized by several networks (columns), labelled: how
# tests/evidence/feedforward.jpg is made (shipped networks next to the imported ml5.js ones).
#   tools/compare-styles.sh OUT.jpg SIZE PHOTO_DIR MODEL[=LABEL] ...
# MODEL is anything `burnish stylize --model` takes (a shipped name, a file, an ml5.js folder).
# Needs ImageMagick (montage). BURNISH overrides the binary (default target/release/burnish).
set -euo pipefail
out=${1:?usage: tools/compare-styles.sh OUT.jpg SIZE PHOTO_DIR MODEL[=LABEL] ...}
size=${2:?size}
photos=${3:?photo folder}
shift 3
bin=${BURNISH:-target/release/burnish}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/photo"
for f in "$photos"/*; do
  convert "$f" -resize "${size}x${size}>" "$work/photo/$(basename "${f%.*}").png"
done
cols=(photo)
labels=(photo)
i=0
for spec in "$@"; do
  model=${spec%%=*}
  label=${spec#*=}
  [ "$label" = "$spec" ] && label=$(basename "$model")
  i=$((i + 1))
  $bin stylize "$work/photo" -o "$work/m$i" --model "$model" --size "$size" --device cpu --quiet
  cols+=("m$i")
  labels+=("$label")
done
args=()
for f in "$work"/photo/*.png; do
  name=$(basename "$f")
  for j in "${!cols[@]}"; do
    args+=(-label "${labels[$j]}" "$work/${cols[$j]}/$name")
  done
done
montage "${args[@]}" -tile "${#cols[@]}x" -geometry "${size}x${size}+4+4" -font DejaVu-Sans -pointsize 14 -background white "$work/sheet.jpg"
mv "$work/sheet.jpg" "$out"
echo "wrote $out"
