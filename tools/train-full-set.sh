#!/bin/bash
# The full-width (32) networks: each light network widened (`--init NAME-light --width 32`: the
# same output to start with, see src/feedforward/widen.rs), then one stage of the recipe
# (tools/train-style.sh) at the light network's last style weight, then the quality report on
# the held-out photos (RUN-quality.json, RUN.jpg in TRAIN_ROOT). Rerun to resume (ITERATIONS may grow).
#   tools/train-full-set.sh [NAME...]   (default: scream wave udnie starry-night composition-vii)
set -e
here=$(cd "$(dirname "$0")" && pwd)
source "$here/styles.sh"
R=${TRAIN_ROOT:-/work/train}
# The style weight of each light network's last stage.
declare -A SWS=([scream]=60 [wave]=130 [udnie]=125 [starry-night]=125 [composition-vii]=125 [woman-with-hat]=100)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(scream wave udnie starry-night composition-vii)
for name in "${names[@]}"; do
  style=$(style_image "$name")
  WIDTH=32 SW=${SWS[$name]} ITERATIONS=${ITERATIONS:-1000} \
    bash "$here/train-style.sh" "$name" "$style" "$here/../weights/styles/$name-light.f16.safetensors"
  [ -f "$R/$name-quality.json" ] || BURNISH=$R/burnish \
    bash "$here/quality.sh" "$R/$name/model.safetensors" "$style" "$R/$name-quality.json" "$R/$name.jpg"
done
