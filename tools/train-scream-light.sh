#!/bin/bash
# The shipped scream-light (width 16), in two stages of the recipe from the content-only network:
#   1. 1,000 iterations at style weight 40 from checkpoints/identity-w16.safetensors (lr 3e-4);
#   2. 1,000 more at style weight 60 from stage 1's network (what ships).
# Each stage resumes when rerun (tools/train-style.sh passes --resume when its run has a
# checkpoint). TRAIN_ROOT (default /work/train) must hold ./burnish and identity-w16.safetensors.
set -e
here=$(cd "$(dirname "$0")" && pwd)
source "$here/styles.sh"
S=$(style_image scream)
R=${TRAIN_ROOT:-/work/train}
SW=40 ITERATIONS=1000 bash "$here/train-style.sh" scream-light-stage1 $S "$R/identity-w16.safetensors"
SW=60 ITERATIONS=1000 bash "$here/train-style.sh" scream-light $S "$R/scream-light-stage1/model.safetensors"
