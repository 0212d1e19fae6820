#!/bin/bash
# The light networks of the paintings that have no earlier recipe run: each one stage of the recipe
# (tools/train-style.sh), 1,000 iterations at style weight 125, warm-started from the shipped
# scream-light (weights/styles/scream-light.f16.safetensors), then the quality report on the
# held-out photos (RUN-quality.json, RUN.jpg in TRAIN_ROOT). Rerun to resume (ITERATIONS may grow).
# Shipped so far: starry-night-light (1,000 iterations) and composition-vii-light
# (ITERATIONS=600, the session's time); shipwreck-light was started, not finished.
#   tools/train-light-set.sh [NAME...]   (default: starry-night-light composition-vii-light shipwreck-light)
set -e
here=$(cd "$(dirname "$0")" && pwd)
R=${TRAIN_ROOT:-/work/train}
S=$here/../../shared/data/styles
[ -d "$S" ] || S=/work/shared/data/styles
declare -A STYLE=(
  [starry-night-light]=$S/jcjohnson_fast-neural-style/starry_night.jpg
  [composition-vii-light]=$S/jcjohnson_fast-neural-style/composition_vii.jpg
  [shipwreck-light]=$S/lengstrom_fast-style-transfer/the_shipwreck_of_the_minotaur.jpg
)
INIT=$here/../weights/styles/scream-light.f16.safetensors
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(starry-night-light composition-vii-light shipwreck-light)
for name in "${names[@]}"; do
  SW=${SW:-125} ITERATIONS=${ITERATIONS:-1000} bash "$here/train-style.sh" "$name" "${STYLE[$name]}" "$INIT"
  [ -f "$R/$name-quality.json" ] || BURNISH=$R/burnish PHOTOS=$(dirname "$S")/photos \
    bash "$here/quality.sh" "$R/$name/model.safetensors" "${STYLE[$name]}" "$R/$name-quality.json" "$R/$name.jpg"
done
