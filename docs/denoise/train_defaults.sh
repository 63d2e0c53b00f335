#!/bin/bash
# The built-in denoisers of `recon denoise` (data/models/denoise_{gaussian,poisson,bernoulli}
# .safetensors): width-48 RGB U-Nets trained with noisy targets only. Run from the repository
# root after `cargo build --release`; needs ../shared/data/photos_train (76 photos) and
# ../shared/data/photos (12 more for training, 4 held back for validation). Times are for the
# 2-core development machine (data/README.md has them per stage). Each stage checkpoints every
# 250 steps: an interrupted stage continues with the same command plus --resume.
#
#   STAGE=1|2|3|poisson|bernoulli|clean1 docs/denoise/train_defaults.sh
set -e
R=${RECON:-target/release/recon}
HELD_BACK="skimage_camera|skimage_chelsea|skimage_astronaut|pywt_ascent"
DATA="--data ../shared/data/photos_train $(ls ../shared/data/photos/*.png | grep -v -E "$HELD_BACK")"
VAL="--val ../shared/data/photos/skimage_camera.png ../shared/data/photos/skimage_chelsea.png \
  ../shared/data/photos/skimage_astronaut.png ../shared/data/photos/pywt_ascent.png --val-crop 128"
COMMON="$DATA $VAL --targets noisy --net unet --width 48 --batch 4 --crop 128 --lr 3e-4 \
  --val-every 250 --checkpoint-every 250"
case "$STAGE" in
  1) # Gaussian, stage 1: steps 0-5250 of a 12,000-step schedule (all at the full lr), each
     # channel of a grey photo corrupted on its own (the recipe before grey photos got one
     # noise draw in every channel).
    $R denoise train --noise gaussian:0-50 $COMMON --loss l2 --steps 12000 --seed 1 \
      --grey-noise independent --grey-fraction 0 --stop-after 5250 \
      --out runs/denoise48/gaussian_w48.safetensors ;;
  clean1) # The clean-target comparison of stage 1 (issue 19): the same command, seed and
     # schedule with --targets clean, stopped at the same step.
    $R denoise train --noise gaussian:0-50 ${COMMON/--targets noisy/--targets clean} --loss l2 \
      --steps 12000 --seed 1 --grey-noise independent --grey-fraction 0 --stop-after 5250 \
      --out runs/denoise48/gaussian_w48_clean.safetensors ;;
  2) # Gaussian, stage 2: 6000 steps from stage 1's weights (fresh Adam state, cos² ramp-down
     # over the last 30 %), grey photos and a fifth of the colour crops (turned grey) with one
     # noise draw in every channel.
    $R denoise train --noise gaussian:0-50 $COMMON --loss l2 --steps 6000 --seed 2 \
      --init runs/denoise48/gaussian_w48.safetensors \
      --out runs/denoise48/gaussian_w48_grey.safetensors \
      --export data/models/denoise_gaussian.safetensors --force ;;
  3) # Gaussian, stage 3: 7000 more steps from stage 2's weights with stage 2's recipe (fresh
     # Adam state, full lr, cos² ramp-down over the last 30 %). Stage 1's curve was still
     # rising 0.3-0.4 dB per 1000 steps when it stopped.
    $R denoise train --noise gaussian:0-50 $COMMON --loss l2 --steps 7000 --seed 5 \
      --init runs/denoise48/gaussian_w48_grey.safetensors \
      --out runs/denoise48/gaussian_w48_s3.safetensors \
      --export data/models/denoise_gaussian.safetensors --force ;;
  poisson) # Poisson (λ 0.001-50, validated at the paper's λ = 30), fine-tuned from the Gaussian.
    $R denoise train --noise poisson:0.001-50 $COMMON --loss l2 --steps 1000 --seed 3 \
      --init data/models/denoise_gaussian.safetensors \
      --out runs/denoise48/poisson_w48.safetensors \
      --export data/models/denoise_poisson.safetensors --force ;;
  bernoulli) # Bernoulli (p 0-0.95, validated at p = 0.5), the L2 loss masked to the target's
     # kept pixels, fine-tuned from the Gaussian.
    $R denoise train --noise bernoulli:0-0.95 $COMMON --loss l2 --steps 1000 --seed 4 \
      --init data/models/denoise_gaussian.safetensors \
      --out runs/denoise48/bernoulli_w48.safetensors \
      --export data/models/denoise_bernoulli.safetensors --force ;;
  *) echo "set STAGE=1, 2, 3, poisson, bernoulli or clean1" >&2; exit 2 ;;
esac
