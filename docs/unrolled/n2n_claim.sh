#!/bin/bash
# The Noise2Noise claim on k-space (README): the same network, budget and data trained with
# fully sampled targets (`full`), with two independent masks of fully sampled data
# (`simulate`), and from one fixed random 4x acquisition per slice alone (`split`: SSDU, and
# Noisier2Noise with `--split noisier2noise`; no fully sampled data). Run from the repository
# root after `cargo build --release`; logs in runs/claim/claim_NAME/. About 8 minutes per run
# on the 2-core development machine.
set -e
R=$PWD
run() {
  local name=$1; shift
  mkdir -p runs/claim/claim_$name
  (cd runs/claim/claim_$name && "$R/target/release/recon" train --net unrolled --initial cs "$@" \
    --data "$R/data/colin27_t1_1mm.nii.gz" --val "$R/data/mni152_2009a_t1_1mm.nii.gz" --val-slices 4 \
    --mask random --acceleration 4 --center-fraction 0.08 --coils 8 --crop 192 --batch 1 --steps 300 \
    --lr 1e-4 --cascades 4 --width 16 --max-train-slices 120 --val-every 50 --checkpoint-every 50 \
    --out claim_$name.safetensors --force)
}
run full --pairs full
run simulate --pairs simulate
run split --pairs split
run noisier2noise --pairs split --split noisier2noise
run noisier2noise_rho04 --pairs split --split noisier2noise --split-rho 0.4
run split_rho02 --pairs split --split-rho 0.2
