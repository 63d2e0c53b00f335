#!/bin/bash
# The Noise2Noise claim on k-space (README): the same network and budget trained with
# `--pairs split` (SSDU splits of one fixed random 4x acquisition per slice: no fully sampled
# data) and with `--pairs full` (fully sampled targets). Run from the repository root after
# `cargo build --release`; logs in runs/claim/claim_{split,full}/.
set -e
R=$PWD
for p in split full; do
  mkdir -p runs/claim/claim_$p
  (cd runs/claim/claim_$p && "$R/target/release/recon" train --net unrolled --pairs $p --initial cs \
    --data "$R/data/colin27_t1_1mm.nii.gz" --val "$R/data/mni152_2009a_t1_1mm.nii.gz" --val-slices 4 \
    --mask random --acceleration 4 --center-fraction 0.08 --coils 8 --crop 192 --batch 1 --steps 300 \
    --lr 1e-4 --cascades 4 --width 16 --max-train-slices 120 --val-every 50 --checkpoint-every 50 \
    --out claim_$p.safetensors --force)
done
