#!/usr/bin/env python3
"""The sweep of `recon study` written as the Python loop a researcher would write by hand.

Issue 18, "Numbers to reach": the study of 4 mask families (random, equispaced, poisson,
n2n) x 4 accelerations (2, 4, 6, 8) x 3 methods (zero-filled, SENSE, L1-wavelet CS) x 3 seeds
on the sample scan, timed against

    recon study --input-dir SCANS --masks random,equispaced,poisson,n2n \
        --accelerations 2,4,6,8 --methods zero-filled,sense,cs --seeds 0..3 --output-dir OUT

Benchmark only: CI never runs this (it needs numpy, h5py, scikit-image and BART).

    python3 docs/study/python_sweep.py --scan data/colin27_sim.h5 [--csv out.csv]

Per (mask, acceleration, seed) it draws the mask with numpy, written after fastMRI's
`subsample.py` (its code needs torch, which is not installable here):

* random: `RandomMaskFunc` — a fully sampled centre of round(W * cf) columns (cf = 0.32 / R,
  placed at (W - n + 1) // 2) and the other columns kept with probability
  (W / R - n) / (W - n), from `np.random.RandomState(seed)` (which first draws the index of
  the (centre fraction, acceleration) pair, as fastMRI does);
* equispaced: `EquispacedMaskFunc` — every R-th column from a random offset, plus the centre;
* poisson: BART's own variable-density Poisson disc (`bart poisson -v -e -C 24`, R split as
  sqrt(R) per axis), as a BART user would draw it;
* n2n: the Noise2Noise paper's 2-D mask — each k-space sample kept with probability
  exp(-lambda r) (r = distance to DC in bins), lambda solved for a mean of 1 / R.

Then, for the volume (6 slices), the zero-filled image (numpy inverse centred FFT, RSS), and
per slice, through files (`.cfl`/`.hdr`, as the BART docs do):

    bart ecalib -m1 ksp maps                  (n2n: bart caldir 24 ksp maps, see MAPS)
    bart pics -S -l2 -r 0.01 -i 30 ksp maps sense
    bart pics -S -l1 -r 0.01 -i 50 ksp maps cs

(recon's defaults: lambda 0.01, 30 CG iterations, 50 FISTA iterations). Metrics are fastMRI's
(`docs/classical/bart_comparison.py`'s `metrics`, whose helpers this script imports: the cfl
reader and writer, the centre crop and the one-pixel alignment of `pics` output for odd
sizes). The wall time covers the whole loop (masks, files, BART, metrics), as `recon study`'s
covers its whole sweep; reconstructions per second = cells (mask x acceleration x seed x
method) / wall seconds.
"""

import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "classical"))
from bart_comparison import BART, bart_alignment, center_crop, ifft2c, metrics, read_cfl, write_cfl  # noqa: E402

MASKS = ["random", "equispaced", "poisson", "n2n"]
# `bart ecalib` needs a fully sampled centre (it aborts on n2n's mask, which has none:
# "casorati_dims: Assertion failed"); there the loop uses BART's direct low-resolution
# calibration from the central 24x24, as recon falls back to its low-resolution maps.
MAPS = {False: ["ecalib", "-m1"], True: ["caldir", "24"]}
ACCELERATIONS = [2, 4, 6, 8]
SEEDS = [0, 1, 2]


def centre_band(width, cf):
    """fastMRI's fully sampled centre: round(W * cf) columns from (W - n + 1) // 2."""
    n = int(round(width * cf))
    start = (width - n + 1) // 2
    return n, slice(start, start + n)


def random_mask(shape, acc, seed):
    """After fastMRI's RandomMaskFunc (one centre fraction, one acceleration)."""
    width = shape[1]
    rng = np.random.RandomState(seed)
    rng.randint(0, 1)  # fastMRI draws which (centre fraction, acceleration) pair first
    n, band = centre_band(width, 0.32 / acc)
    prob = (width / acc - n) / (width - n)
    cols = rng.uniform(size=width) < prob
    cols[band] = True
    return np.broadcast_to(cols, shape).copy()


def equispaced_mask(shape, acc, seed):
    """After fastMRI's EquispacedMaskFunc: every acc-th column from a random offset."""
    width = shape[1]
    rng = np.random.RandomState(seed)
    rng.randint(0, 1)
    n, band = centre_band(width, 0.32 / acc)
    offset = rng.randint(0, acc)
    cols = np.zeros(width, bool)
    cols[offset::acc] = True
    cols[band] = True
    return np.broadcast_to(cols, shape).copy()


def poisson_mask(shape, acc, seed, work):
    """BART's variable-density Poisson disc with a 24x24 calibration box."""
    a = f"{math.sqrt(acc):.6f}"
    subprocess.run(["bart", "poisson", "-Y", str(shape[0]), "-Z", str(shape[1]), "-y", a, "-z", a,
                    "-C", "24", "-v", "-e", "-s", str(seed), "pmask"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    return np.abs(read_cfl(os.path.join(work, "pmask"))).reshape(shape) > 0


def n2n_mask(shape, acc, seed):
    """Noise2Noise (Lehtinen et al. 2018): keep each sample with probability exp(-lambda r)."""
    h, w = shape
    r = np.hypot(*np.meshgrid(np.arange(h) - h // 2, np.arange(w) - w // 2, indexing="ij"))
    lo, hi = 0.0, 10.0
    for _ in range(100):  # bisection on the mean keep probability
        lam = (lo + hi) / 2
        lo, hi = (lam, hi) if np.exp(-lam * r).mean() > 1 / acc else (lo, lam)
    return np.random.RandomState(seed).uniform(size=shape) < np.exp(-lam * r)


def draw(family, shape, acc, seed, work):
    if family == "poisson":
        return poisson_mask(shape, acc, seed, work)
    return {"random": random_mask, "equispaced": equispaced_mask, "n2n": n2n_mask}[family](shape, acc, seed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scan", default="data/colin27_sim.h5")
    ap.add_argument("--csv", help="write one row per cell here")
    a = ap.parse_args()
    with h5py.File(a.scan, "r") as f:
        kspace = f["kspace"][()]
        gt = f["reconstruction_rss"][()]
    shape = kspace.shape[-2:]
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        shift = bart_alignment(gt[0], work)
        for family in MASKS:
            for acc in ACCELERATIONS:
                for seed in SEEDS:
                    mask = draw(family, shape, acc, seed, work)
                    masked = kspace * mask
                    zf = np.sqrt((np.abs(ifft2c(masked)) ** 2).sum(axis=1))
                    images = {"zero_filled": center_crop(zf, gt.shape[-2:])}
                    slices = {m: [] for m in ("sense", "cs")}
                    for s in range(masked.shape[0]):
                        write_cfl(os.path.join(work, "ksp"), masked[s].transpose(1, 2, 0)[:, :, None, :])
                        subprocess.run(["bart"] + MAPS[family == "n2n"] + ["ksp", "maps"], cwd=work,
                                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for m in slices:
                            subprocess.run(["bart"] + BART[m] + ["ksp", "maps", m], cwd=work, check=True,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                            img = np.abs(read_cfl(os.path.join(work, m))).squeeze()
                            slices[m].append(np.roll(img, shift, (0, 1)))
                    for m, v in slices.items():
                        images[m] = center_crop(np.stack(v), gt.shape[-2:])
                    achieved = mask.size / mask.sum()
                    for m, img in images.items():
                        psnr, ssim, nmse = metrics(gt, img)
                        rows.append([family, acc, seed, m, f"{achieved:.4f}", psnr, ssim, nmse])
                    print(f"{family} {acc}x seed {seed}: " + ", ".join(
                        f"{r[3]} {r[5]:.2f} dB" for r in rows[-3:]), file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["mask", "acceleration", "seed", "method", "achieved_acceleration", "psnr", "ssim", "nmse"])
            w.writerows(rows)
    print(f"python loop: {len(rows)} reconstructions in {seconds:.1f} s "
          f"({len(rows) / seconds:.3f} reconstructions/s)")


if __name__ == "__main__":
    main()
