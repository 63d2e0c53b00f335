#!/usr/bin/env python3
"""Issue 19's baseline: `recon denoise` (built-in blind Gaussian model) against CBM3D on the
same noisy 8-bit photos, PSNR and seconds per megapixel.

Benchmark only (needs Python, `pip install bm3d scikit-image`; CI never runs it). From the
repository root, release binary built first:

    python3 docs/denoise/cbm3d_baseline.py --csv docs/denoise/cbm3d_baseline.csv

Another model against the same CBM3D numbers (no CBM3D rerun):

    python3 docs/denoise/cbm3d_baseline.py --model M.safetensors \
        --cbm3d-from docs/denoise/cbm3d_baseline.csv --csv out.csv

Images: the four held-back photos of the README experiment (`skimage_camera`, grey;
`skimage_chelsea`, `skimage_astronaut`, RGB; `pywt_ascent`, grey; from `data/photos/` or
`../shared/data/photos/`) and a colour test set no model trained on: scikit-image's `ihc`
(512x512) and the centre 512x512 of its `retina` (neither is in `../shared/data/photos*`).

Per image and sigma (of 255): noisy = clip(round(clean + sigma * N(0, 1)), 0, 255) as 8-bit
(numpy `default_rng(seed)`, one draw per image and sigma), written as PNG; then

    recon denoise --input noisy.png --output out.png --json     (wall seconds of the command)
    bm3d.bm3d_rgb(noisy / 255, sigma / 255)   (grey: bm3d.bm3d)  (seconds of the call)

and PSNR = 10 log10(255^2 / MSE) of each result rounded to 8 bits against the clean image.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import bm3d
import numpy as np
import skimage
from skimage import io

HELD_BACK = ["skimage_camera", "skimage_chelsea", "skimage_astronaut", "pywt_ascent"]


def held_back(name):
    for folder in ("data/photos", "../shared/data/photos"):
        path = os.path.join(folder, name + ".png")
        if os.path.exists(path):
            return io.imread(path)
    sys.exit(f"{name}.png: not in data/photos or ../shared/data/photos")


def test_set():
    base = os.path.join(os.path.dirname(skimage.__file__), "data")
    retina = io.imread(os.path.join(base, "retina.jpg"))
    h, w = retina.shape[:2]
    return {"skimage_ihc": io.imread(os.path.join(base, "ihc.png")),
            "skimage_retina_512": retina[h // 2 - 256:h // 2 + 256, w // 2 - 256:w // 2 + 256]}


def psnr(clean, out):
    mse = np.mean((clean.astype(np.float64) - out.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recon", default="target/release/recon")
    ap.add_argument("--model", default=None, help="recon denoise --model (default: built-in)")
    ap.add_argument("--sigmas", default="10,25,50")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cbm3d-from", default=None,
                    help="take CBM3D's PSNR and time from this earlier CSV of the script (same seed: "
                         "the noisy images are the same, checked by their PSNR) instead of rerunning it")
    ap.add_argument("--csv", required=True)
    args = ap.parse_args()
    earlier = {}
    if args.cbm3d_from:
        with open(args.cbm3d_from) as f:
            earlier = {(r["image"], int(r["sigma"])): r for r in csv.DictReader(f)}
    images = {name: held_back(name) for name in HELD_BACK}
    images.update(test_set())
    work = tempfile.mkdtemp(prefix="cbm3d_")
    rows = []
    for sigma in [int(s) for s in args.sigmas.split(",")]:
        for name, clean in images.items():
            clean = clean[..., :3] if clean.ndim == 3 else clean
            rng = np.random.default_rng([args.seed, sigma, len(rows)])
            noisy = np.clip(np.round(clean + sigma * rng.standard_normal(clean.shape)), 0, 255).astype(np.uint8)
            noisy_path, out_path = os.path.join(work, "noisy.png"), os.path.join(work, "out.png")
            io.imsave(noisy_path, noisy, check_contrast=False)
            t0 = time.perf_counter()
            model = [] if args.model is None else ["--model", args.model]
            subprocess.run([args.recon, "denoise", "--input", noisy_path, "--output", out_path,
                            "--force", "--json", *model], check=True, capture_output=True)
            t_recon = time.perf_counter() - t0
            ours = io.imread(out_path)
            mpix = clean.shape[0] * clean.shape[1] / 1e6
            if (name, sigma) in earlier:
                old = earlier[(name, sigma)]
                if abs(float(old["psnr_noisy"]) - psnr(clean, noisy)) > 1e-3:
                    sys.exit(f"{args.cbm3d_from}: {name} sigma {sigma}: another noisy image (seed?)")
                psnr_cbm3d, t_bm3d = float(old["psnr_cbm3d"]), float(old["s_per_mpix_cbm3d"]) * mpix
            else:
                t0 = time.perf_counter()
                if clean.ndim == 3:
                    est = bm3d.bm3d_rgb(noisy / 255.0, sigma / 255.0)
                else:
                    est = bm3d.bm3d(noisy / 255.0, sigma / 255.0)
                t_bm3d = time.perf_counter() - t0
                cbm3d = np.clip(np.round(np.asarray(est) * 255.0), 0, 255).astype(np.uint8)
                psnr_cbm3d = psnr(clean, cbm3d)
            row = dict(image=name, sigma=sigma, channels=1 if clean.ndim == 2 else 3,
                       psnr_noisy=psnr(clean, noisy), psnr_cbm3d=psnr_cbm3d,
                       psnr_recon=psnr(clean, ours), s_per_mpix_cbm3d=t_bm3d / mpix,
                       s_per_mpix_recon=t_recon / mpix, load_1min=os.getloadavg()[0])
            rows.append(row)
            print(f"sigma {sigma:2d} {name:20s} noisy {row['psnr_noisy']:.2f}  CBM3D "
                  f"{row['psnr_cbm3d']:.2f} ({row['s_per_mpix_cbm3d']:.1f} s/MP)  recon "
                  f"{row['psnr_recon']:.2f} ({row['s_per_mpix_recon']:.2f} s/MP)", flush=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})


if __name__ == "__main__":
    main()
