#!/bin/bash
# The README's denoising experiment: for each corruption, the same small budget with clean
# and with noisy targets (plus L2 / L1 on text and impulse noise), evaluated on held-back
# photos. Run from the repository root after `cargo build --release`; takes ~35 min on 2 cores.
set -e
R=${RECON:-target/release/recon}
mkdir -p photos/train photos/test runs
for f in ../shared/data/photos/*.png; do
  case $(basename "$f") in
    skimage_camera.png|skimage_chelsea.png|skimage_astronaut.png|pywt_ascent.png) ln -sf "$PWD/$f" photos/test/ ;;
    *) ln -sf "$PWD/$f" photos/train/ ;;
  esac
done
# The tables were made before grey photos got one noise draw in every channel (2026-12-06):
# --grey-noise independent --grey-fraction 0 keeps that recipe, so the numbers reproduce.
COMMON="--grey-noise independent --grey-fraction 0 --data photos/train --val photos/test --val-crop 128 --steps 300 --batch 4 --crop 64 --width 32 --lr 1e-3 --val-every 100 --checkpoint-every 100 --seed 0"
run() { # name train-noise targets loss test-noise
  $R denoise train --noise "$2" --targets "$3" --loss "$4" $COMMON --out "runs/$1.safetensors"
  $R denoise eval --noise "$5" --data photos/test --model "runs/$1.safetensors" --seed 0 --json > "runs/$1.eval.json"
}
run gaussian_clean gaussian:0-50 clean l2 gaussian:25
run gaussian_noisy gaussian:0-50 noisy l2 gaussian:25
run poisson_clean poisson:0.001-50 clean l2 poisson:30
run poisson_noisy poisson:0.001-50 noisy l2 poisson:30
run bernoulli_clean bernoulli:0-0.95 clean l2 bernoulli:0.5
run bernoulli_noisy bernoulli:0-0.95 noisy l2 bernoulli:0.5
run text_clean text:0-0.5 clean l1 text:0.25
run text_noisy text:0-0.5 noisy l1 text:0.25
run text_noisy_l2 text:0-0.5 noisy l2 text:0.25
run impulse_clean impulse:0-0.95 clean l0 impulse:0.7
run impulse_noisy impulse:0-0.95 noisy l0 impulse:0.7
run impulse_noisy_l2 impulse:0-0.95 noisy l2 impulse:0.7
run impulse_noisy_l1 impulse:0-0.95 noisy l1 impulse:0.7
run brown_clean brown:0-50@2 clean l2 brown:25@2
run brown_noisy brown:0-50@2 noisy l2 brown:25@2
# The README's 1000-step rows (same settings, --steps 1000):
COMMON="${COMMON/--steps 300/--steps 1000}"
COMMON="${COMMON/--val-every 100 --checkpoint-every 100/--val-every 250 --checkpoint-every 250}"
run long_impulse_noisy_l0 impulse:0-0.95 noisy l0 impulse:0.7
run long_impulse_noisy_l2 impulse:0-0.95 noisy l2 impulse:0.7
run long_impulse_noisy_l1 impulse:0-0.95 noisy l1 impulse:0.7
run long_impulse_clean_l0 impulse:0-0.95 clean l0 impulse:0.7
run long_text_noisy_l1 text:0-0.5 noisy l1 text:0.25
run long_text_noisy_l2 text:0-0.5 noisy l2 text:0.25
run long_text_clean_l1 text:0-0.5 clean l1 text:0.25
