#!/bin/bash
# The shipped scream, light (width 16): the recipe (Gram-energy layer weights, sw 40) from the content-only network, lr 3e-4.
# Resumable: rerun this script (it passes --resume when a checkpoint exists).
cd /work/train
S=/work/shared/data/styles/lengstrom_fast-style-transfer/the_scream.jpg
R=""; [ -f scream-light/checkpoint.safetensors ] && R="--resume"
nice -n 10 ./burnish train $S --out scream-light --photos /work/shared/data/photos --hold-out 25 \
  --init /work/train/identity-w16.safetensors --lr 3e-4 --width 16 --batch 2 --crop 128 --style-size 256 \
  --content-layer relu4_2 --style-layers relu1_1,relu2_1,relu3_1,relu4_1,relu5_1 --style-weight 40 --style-layer-weights gram --tv-weight 515 \
  --iterations 6000 --checkpoint-every 250 --preview-every 250 --preview /work/shared/data/photos/bsds500__test_118031.jpg \
  --max-seconds ${MAX_SECONDS:-5400} --device cpu $R
