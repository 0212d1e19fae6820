#!/bin/bash
# The shipped udnie-light (width 16), in two stages of the recipe warm-started from the shipped
# scream-light (weights/README.md):
#   1. 250 iterations at style weight 100 from weights/styles/scream-light.f16.safetensors;
#   2. 1,000 more at style weight 125 from stage 1's network (what ships; 160 kept less of the
#      photo than the ml5.js Udnie does, 250 far less).
# Each stage resumes when rerun. TRAIN_ROOT (default /work/train) must hold ./burnish.
set -e
here=$(cd "$(dirname "$0")" && pwd)
source "$here/styles.sh"
S=$(style_image udnie)
R=${TRAIN_ROOT:-/work/train}
SW=100 ITERATIONS=250 bash "$here/train-style.sh" udnie-light-stage1 "$S" "$here/../weights/styles/scream-light.f16.safetensors"
SW=125 ITERATIONS=1000 bash "$here/train-style.sh" udnie-light "$S" "$R/udnie-light-stage1/model.safetensors"
