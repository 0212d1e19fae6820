#!/bin/bash
# The quality report every shipped network is judged by: `burnish evaluate` on the first 16 photos
# of the held-out split (`--held-out 25`, as the training runs hold them out), at 256 px, on the CPU.
#   tools/quality.sh MODEL STYLE_IMAGE REPORT.json [SHEET.jpg]
# Env: BURNISH (the binary; default target/release/burnish), PHOTOS (default the shared photos,
# tools/styles.sh).
set -euo pipefail
model=$1; style=$2; report=$3; sheet=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/styles.sh"
photos=${PHOTOS:-$DATA/photos}
extra=(); [ -n "$sheet" ] && extra=(--sheet "$sheet")
nice -n 10 "${BURNISH:-$here/../target/release/burnish}" evaluate "$model" --style "$style" --photos "$photos" \
  --held-out 25 --limit 16 --size 256 --report "$report" --device cpu --quiet "${extra[@]}"
