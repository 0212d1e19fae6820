#!/bin/bash
# Trains one style network with the recipe (README "Training recipe"), resumably, at low priority.
#   tools/train-style.sh RUN STYLE_IMAGE INIT_MODEL [extra train flags...]
# Env: TRAIN_ROOT (default /work/train, holds ./burnish and the run folders), WIDTH (16), SW (40),
#      LR (3e-4), ITERATIONS (6000), MAX_SECONDS (5400).
# Rerun the same command to resume: it passes --resume when the run folder has a checkpoint.
set -e
RUN=$1; STYLE=$2; INIT=$3; shift 3
source "$(dirname "$0")/styles.sh"
cd "${TRAIN_ROOT:-/work/train}"
R=""; [ -f "$RUN/checkpoint.safetensors" ] && R="--resume"
nice -n 10 ./burnish train "$STYLE" --out "$RUN" --photos "$DATA/photos" --hold-out 25 \
  --init "$INIT" --lr "${LR:-3e-4}" --width "${WIDTH:-16}" --batch 2 --crop 128 --style-size 256 \
  --content-layer relu4_2 --style-layers relu1_1,relu2_1,relu3_1,relu4_1,relu5_1 \
  --style-weight "${SW:-40}" --style-layer-weights gram --tv-weight 515 \
  --iterations "${ITERATIONS:-6000}" --checkpoint-every 250 --preview-every 250 \
  --preview "$DATA/photos/bsds500__test_118031.jpg" \
  --max-seconds "${MAX_SECONDS:-5400}" --device cpu $R "$@"
