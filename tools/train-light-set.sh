#!/bin/bash
# The light networks of the paintings that have no earlier recipe run: each one stage of the recipe
# (tools/train-style.sh), 1,000 iterations at style weight 125 (env SW), warm-started from the shipped
# scream-light (weights/styles/scream-light.f16.safetensors), then the quality report on the
# held-out photos (RUN-quality.json, RUN.jpg in TRAIN_ROOT). Rerun to resume (ITERATIONS may grow).
# Shipped so far: starry-night-light (1,000 iterations) and composition-vii-light
# (ITERATIONS=600, the session's time); shipwreck-light (sw 125: hatching over every photo, not
# shipped); woman-with-hat-light (SW=100). Style images: tools/styles.sh.
#   tools/train-light-set.sh [NAME...]   (default: starry-night-light composition-vii-light shipwreck-light)
set -e
here=$(cd "$(dirname "$0")" && pwd)
source "$here/styles.sh"
R=${TRAIN_ROOT:-/work/train}
INIT=$here/../weights/styles/scream-light.f16.safetensors
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(starry-night-light composition-vii-light shipwreck-light)
for name in "${names[@]}"; do
  style=$(style_image "$name")
  SW=${SW:-125} ITERATIONS=${ITERATIONS:-1000} bash "$here/train-style.sh" "$name" "$style" "$INIT"
  [ -f "$R/$name-quality.json" ] || BURNISH=$R/burnish \
    bash "$here/quality.sh" "$R/$name/model.safetensors" "$style" "$R/$name-quality.json" "$R/$name.jpg"
done
