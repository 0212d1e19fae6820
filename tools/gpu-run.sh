#!/bin/bash
# Runs on a lent GPU machine (see README "Measuring on a GPU"): unpacks the Vulkan loader carried in
# .gl/ and the release binaries carried xz-compressed in .dev/ (both made by tools/gpu-bundle.sh),
# then runs the steps named on the command line, writing JSON, logs and pictures into $OUT.
#   bash tools/gpu-run.sh conv conv-direct ffshort demo
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR=/tmp RUST_BACKTRACE=1
B=/tmp/burnish-bin
mkdir -p $B
for x in .dev/*.xz; do n=$(basename "$x" .xz); xz -dc "$x" > $B/$n && chmod +x $B/$n; done
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1
lscpu | grep "Model name" >> "$OUT/gpu.txt"
step() { echo "== $1 $(date +%T)"; }
for s in "$@"; do
  case "$s" in
    kernels) step kernels; timeout 200 $B/kernels --device wgpu --reps 50 2>&1 | tee -a "$OUT/kernels.jsonl" ;;
    kvar) # the Gram kernel's k-split policy (src/loss/kernels/wgsl.rs), a few settings around the default
      for v in "BURNISH_GRAM_MIN_CHUNKS=32" "BURNISH_GRAM_MIN_CHUNKS=100000" "BURNISH_GRAM_GROUPS=1024" "BURNISH_GRAM_GROUPS=64"; do
        step "kvar $v"; env $v timeout 60 $B/kernels --device wgpu --reps 50 --skip-eval 2>&1 | tee -a "$OUT/kernels-policy.jsonl"
      done ;;
    kfinal) # the kernels three times in a row (the first process on a fresh machine ran slower), then a Gatys evaluation
      for i in 1 2 3; do step "kernels $i"; timeout 60 $B/kernels --device wgpu --reps 50 --skip-eval 2>&1 | tee -a "$OUT/kernels-final.jsonl"; done
      step "kernels eval"; timeout 90 $B/kernels --device wgpu --reps 40 --only-c 0 2>&1 | tee -a "$OUT/kernels-final.jsonl" ;;
    ff) step ff; timeout 200 $B/feedforward --device wgpu --layout johnson --reps 10 --gatys-sizes 256x256 2>&1 | tee -a "$OUT/feedforward.jsonl" ;;
    ffshort) step ffshort; timeout 150 $B/feedforward --device wgpu --layout johnson --reps 5 --sizes 256x256,1920x1080 --gatys-sizes 256x256 2>&1 | tee -a "$OUT/feedforward.jsonl" ;;
    ffml5) step ffml5; timeout 150 $B/feedforward --device wgpu --layout ml5 --reps 10 --gatys-sizes 256x256 --no-train 2>&1 | tee -a "$OUT/feedforward.jsonl" ;;
    conv) # the convolution and instance-norm kernels vs burn's ops: layers, network at four sizes, training pass (batch 4, 256²), Gatys
      step conv; timeout 240 $B/conv --device wgpu --reps 10 2>&1 | tee -a "$OUT/conv.jsonl" ;;
    conv-direct) # layers and the network through the direct forward kernel (the CPU adapters' choice) instead of the GEMM one
      step conv-direct; timeout 120 $B/conv --device wgpu --reps 10 --forward direct --no-train --no-gatys --sizes 256x256,1280x720 2>&1 | tee -a "$OUT/conv-direct.jsonl" ;;
    conv-fusion) # the same with burn's fusion on (gpu-bundle.sh --fusion)
      step conv-fusion; timeout 240 $B/conv-fusion --device wgpu --reps 10 2>&1 | tee -a "$OUT/conv-fusion.jsonl" ;;
    ff-fusion) step ff-fusion; timeout 150 $B/feedforward-fusion --device wgpu --layout johnson --reps 5 --sizes 256x256,1280x720 --gatys-sizes 256x256 2>&1 | tee -a "$OUT/feedforward-fusion.jsonl" ;;
    live) step live; timeout 120 $B/live --device wgpu --seconds 10 2>&1 | tee -a "$OUT/live.jsonl" ;;
    demo) step demo; timeout 150 $B/burnish demo --device wgpu -o "$OUT/demo.png" --report "$OUT/demo.json" 2>&1 | tail -5 ;;
    demo-nok) step demo-nok; timeout 150 $B/burnish demo --device wgpu --no-kernels -o /tmp/demo-nok.png --report "$OUT/demo-nokernels.json" 2>&1 | tail -5 ;;
    *) echo "unknown step $s" ;;
  esac
done
step done
