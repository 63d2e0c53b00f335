#!/usr/bin/env python3
"""Regenerate the numpy references for kspace/tests/psf_numpy.rs (run from anywhere; numpy only).

Two masks, drawn here and saved with their references so that numpy and Rust analyse the same
pattern:
  * psf_random1d.txt: a 32 x 24 1-D mask (the same on every row, i.e. a set of kept phase-encode
    columns): 4 centre columns always, the others kept with a variable density p(j), RandomState(7).
  * psf_poisson2d.txt: a 40 x 40 variable-density Poisson-disc mask (dart throwing, minimum
    distance growing from 1.2 to 4.2 bins from the centre to the corner, RandomState(11)) with a
    fully sampled 6 x 6 calibration box; its `prob` is a nominal density 1 / (1 + (|k| / 8)^2)
    (1 in the box), used only for the density-compensated statistics.

Each reference implements, independently of the Rust code, the formulas kspace/src/analysis.rs
documents:
  PSF = |ifft2c(w)| / |ifft2c(w)|[H/2, W/2],  ifft2c(x) = fftshift(ifft2(ifftshift(x))),
  w = keep (plain) or keep / p (compensated);
  geometry: `row` if keep and prob are the same on every row (and not on every column),
  `column` for the transpose, else `plane`;
  side lobes: every pixel outside the 3 x 3 block around (H/2, W/2), on the centre row only
  (row) / centre column only (column); PSR = max, incoherence = sqrt(mean |PSF|^2).

File format (text): `shape H W`, `geometry G`, `stats PSR INCOHERENCE PSR_COMP INCOHERENCE_COMP`,
then `keep` and H lines of W 0/1, `prob` and H lines of W values, `psf` and H lines of W
values (the plain PSF). Values in float64, written with 9 significant digits.
"""
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "kspace" / "tests" / "fixtures" / "psf"
RADIUS = 1  # main-lobe half-width: the 3 x 3 block


def ifft2c(x):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x)))


def psf(w):
    a = np.abs(ifft2c(w.astype(np.complex128)))
    h, wd = w.shape
    return a / a[h // 2, wd // 2]


def geometry(keep, prob):
    rows = all(np.array_equal(keep[i], keep[0]) and np.array_equal(prob[i], prob[0]) for i in range(keep.shape[0]))
    cols = all(np.array_equal(keep[:, j], keep[:, 0]) and np.array_equal(prob[:, j], prob[:, 0])
               for j in range(keep.shape[1]))
    if rows and not cols:
        return "row"
    if cols and not rows:
        return "column"
    return "plane"


def sidelobes(p, geom):
    h, w = p.shape
    ci, cj = h // 2, w // 2
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    outside = (np.abs(ii - ci) > RADIUS) | (np.abs(jj - cj) > RADIUS)
    if geom == "row":
        outside &= ii == ci
    elif geom == "column":
        outside &= jj == cj
    v = p[outside]
    return float(v.max()), float(np.sqrt(np.mean(v ** 2)))


def random1d(h=32, w=24, seed=7):
    rng = np.random.RandomState(seed)
    j = np.arange(w)
    p = np.clip(0.15 + 0.7 * np.exp(-((j - w // 2) ** 2) / (2 * 4.0 ** 2)), 0.0, 1.0)
    centre = np.arange((w - 4 + 1) // 2, (w - 4 + 1) // 2 + 4)
    p[centre] = 1.0
    cols = rng.uniform(size=w) < p
    return np.tile(cols, (h, 1)), np.tile(p, (h, 1)).astype(np.float32)


def poisson2d(h=40, w=40, seed=11):
    rng = np.random.RandomState(seed)
    ii, jj = np.meshgrid(np.arange(h) - h // 2, np.arange(w) - w // 2, indexing="ij")
    r = np.hypot(ii, jj)
    min_dist = 1.2 + 3.0 * r / r.max()
    keep = np.zeros((h, w), bool)
    points = []
    for flat in rng.permutation(h * w):
        i, j = divmod(int(flat), w)
        if all((i - a) ** 2 + (j - b) ** 2 >= min_dist[i, j] ** 2 for a, b in points):
            points.append((i, j))
            keep[i, j] = True
    box = (slice((h - 6 + 1) // 2, (h - 6 + 1) // 2 + 6), slice((w - 6 + 1) // 2, (w - 6 + 1) // 2 + 6))
    keep[box] = True
    prob = 1.0 / (1.0 + (r / 8.0) ** 2)
    prob[box] = 1.0
    return keep, prob.astype(np.float32)


def write(name, keep, prob):
    geom = geometry(keep, prob)
    plain = psf(keep.astype(float))
    comp = psf(np.where(keep, 1.0 / prob.astype(np.float64), 0.0))
    stats = sidelobes(plain, geom) + sidelobes(comp, geom)
    lines = [f"shape {keep.shape[0]} {keep.shape[1]}", f"geometry {geom}",
             "stats " + " ".join(f"{s:.9g}" for s in stats), "keep"]
    lines += [" ".join(str(int(k)) for k in row) for row in keep]
    lines.append("prob")
    lines += [" ".join(f"{float(v):.9g}" for v in row) for row in prob]
    lines.append("psf")
    lines += [" ".join(f"{v:.9g}" for v in row) for row in plain]
    (OUT / name).write_text("\n".join(lines) + "\n")
    print(f"{name}: {keep.shape}, {geom}, kept {keep.sum()}, PSR {stats[0]:.5f}, incoherence {stats[1]:.5f}, "
          f"compensated {stats[2]:.5f} / {stats[3]:.5f}")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    write("psf_random1d.txt", *random1d())
    write("psf_poisson2d.txt", *poisson2d())
