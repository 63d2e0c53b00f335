#!/usr/bin/env python3
"""Seconds per slice: `recon --method sense|cs|tv` against BART `pics -l2|-l1|-R T`.

Issue 16, "at least 3x faster than BART per slice at equal iterations". Benchmark only (needs
BART and Python; CI never runs it). From the repository root, release binary built first:

    target/release/recon simulate --input data/mni152_2009a_t1_1mm.nii.gz --coils 8 \
        --slices 90:96 --output /tmp/mni8.h5 --force
    python3 docs/classical/speed.py --scan /tmp/mni8.h5 --repeats 3

`--methods sense,cs,cs-random,tv` adds `recon --method cs --cycle-spinning random`: BART's own
cycle spinning (one random shift per iteration) where the default `cs` averages four.

Per mask (random 4x, equispaced 4x, random 8x, poisson 4x, poisson 8x; seed 0) it takes the
exact mask recon applies (`recon --method cs -o X.h5` writes it), writes `--bart-slices`
slices of the masked k-space as BART `[H, W, 1, coils]` and their `bart ecalib -m1` maps once,
then, `--repeats` times and interleaved so that both see the same load:

    recon --input SCAN --mask M --acceleration R --seed 0 --method METHOD --json -o X.h5
        -> the method's `seconds` (maps + solver, whole volume, slices in parallel) / slices,
           and its `maps_seconds` (the maps pass): `seconds - maps_seconds` is the solver
           alone, the like-for-like figure against `pics` (whose `ecalib` is separate)
    bart pics -S -l2 -r 0.01 -i 30 ksp maps out        (per slice; wall seconds)
    bart pics -S -l1 -r 0.01 -i 50 ksp maps out
    bart pics -S -R T:3:0:0.01 -i N ksp maps out     (N: recon's TV CG steps per slice − 1)
    bart pics -S -R T:3:0:0.01 -i 50 ksp maps out    (the column "BART -i 50")

(iterations as recon's defaults: 30 CG for sense, 50 FISTA / ADMM for cs / tv. BART's ADMM
counts `-i` in CG steps: `-i 50` is about 7 ADMM iterations, so TV is timed at equal ADMM
iterations with N from recon's JSON (`normal_applications`; bart_comparison.py's
`bart_commands`), and also at BART's `-i 50` for reference. BART with its
default threads; `--single-thread` runs both on one thread, RAYON_NUM_THREADS=1 and
OMP_NUM_THREADS=1, which is what survives a loaded machine: BART's OpenMP threads slow down
several-fold when other jobs share the cores). Each figure is the minimum over the repeats; the 1-minute load average is
printed beside it. recon's figure includes its map estimation; BART's excludes `ecalib`
(timed separately: the last column).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bart_comparison import MASKS, bart_commands, timed, write_cfl  # noqa: E402

BART = {
    "sense": ["pics", "-S", "-l2", "-r", "0.01", "-i", "30"],
    "cs": ["pics", "-S", "-l1", "-r", "0.01", "-i", "50"],
    "tv": ["pics", "-S", "-R", "T:3:0:0.01", "-i", "50"],
}


def recon_seconds(recon, scan, mask, acc, method, out):
    # "cs-random": `--method cs --cycle-spinning random`, BART's own algorithm (one random grid
    # shift per iteration; recon's default averages four fixed shifts, 4x the wavelet work).
    extra = ["--cycle-spinning", "random"] if method == "cs-random" else []
    method = method.removesuffix("-random")
    cmd = [recon, "--input", scan, "--mask", mask, "--acceleration", str(acc), "--seed", "0",
           "--method", method, "--json", "-o", out, "--force"] + extra
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    report = json.loads(res.stdout)
    timing = next(m for m in report["methods"] if m["method"] == method)
    return (timing["seconds"], timing.get("maps_seconds") or 0.0), report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scan", required=True, help="multi-coil .h5 (slices, coils, H, W)")
    ap.add_argument("--recon", default="target/release/recon")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bart-slices", type=int, default=2,
                    help="slices BART is timed on (evenly spread; per-slice times are alike)")
    ap.add_argument("--methods", default="sense,cs,tv",
                    help="of sense, cs, cs-random (recon --cycle-spinning random), tv")
    ap.add_argument("--single-thread", action="store_true",
                    help="recon and BART on one thread each (RAYON_NUM_THREADS / OMP_NUM_THREADS=1)")
    ap.add_argument("--masks", default=None, help="e.g. random:4,poisson:4 (default: all five)")
    args = ap.parse_args()
    if args.single_thread:
        os.environ["RAYON_NUM_THREADS"] = "1"
        os.environ["OMP_NUM_THREADS"] = "1"
    masks = MASKS if not args.masks else [
        (m.split(":")[0], int(m.split(":")[1])) for m in args.masks.split(",")]
    methods = args.methods.split(",")
    work = tempfile.mkdtemp(prefix="recon_speed_")
    with h5py.File(args.scan, "r") as f:
        kspace = f["kspace"][()]
    n_slices = kspace.shape[0]
    picks = np.linspace(0, n_slices - 1, min(args.bart_slices, n_slices)).round().astype(int)
    threads = "one thread each" if args.single_thread else "default threads"
    print(f"{args.scan}: k-space {kspace.shape}, {os.cpu_count()} CPUs, {threads}; seconds per slice, "
          "min over repeats (load = 1-minute average at that run)")
    print("| mask | " + " | ".join(f"{m} recon (solver) \\| BART (×)" for m in methods)
          + (" | BART tv -i 50" if "tv" in methods else "") + " | BART ecalib | load |")
    print("|---|" + "---|" * (len(methods) + 2 + ("tv" in methods)))
    for mask_name, acc in masks:
        out = os.path.join(work, "r.h5")
        _, report = recon_seconds(args.recon, args.scan, mask_name, acc, "cs", out)
        with h5py.File(out, "r") as f:
            mask = f["mask"][()].astype(np.float32)
        masked = (kspace * mask).astype(np.complex64)
        ecalib = []
        for s in picks:
            write_cfl(os.path.join(work, f"ksp{s}"), masked[s].transpose(1, 2, 0)[:, :, None, :])
            ecalib.append(timed(["bart", "ecalib", "-m1", f"ksp{s}", f"maps{s}"], work)[0])
        # per method: [recon maps + solver, recon solver alone, BART pics]
        best = {m: [np.inf, np.inf, np.inf] for m in methods}
        tv50 = np.inf
        loads = []
        for _ in range(args.repeats):
            for m in methods:
                loads.append(os.getloadavg()[0])
                (sec, maps_sec), rep = recon_seconds(args.recon, args.scan, mask_name, acc, m, out)
                best[m][0] = min(best[m][0], sec / n_slices)
                best[m][1] = min(best[m][1], (sec - maps_sec) / n_slices)
                command = bart_commands(rep, n_slices)[m.removesuffix("-random")]
                wall = sum(timed(["bart"] + command + [f"ksp{s}", f"maps{s}", "out"], work)[0]
                           for s in picks)
                best[m][2] = min(best[m][2], wall / len(picks))
                if m == "tv":
                    wall = sum(timed(["bart"] + BART[m] + [f"ksp{s}", f"maps{s}", "out"], work)[0]
                               for s in picks)
                    tv50 = min(tv50, wall / len(picks))
        cells = [f"{r:.2f} ({s:.2f}) \\| {b:.2f} ({b / r:.1f}×, solver {b / s:.1f}×)"
                 for r, s, b in best.values()]
        if "tv" in methods:
            cells.append(f"{tv50:.2f} ({tv50 / best['tv'][1]:.1f}× recon's solver)")
        print(f"| {mask_name} {acc}× ({report['maps'].split(' (')[0]}) | " + " | ".join(cells)
              + f" | {np.mean(ecalib):.2f} | {min(loads):.1f}–{max(loads):.1f} |", flush=True)


if __name__ == "__main__":
    main()
