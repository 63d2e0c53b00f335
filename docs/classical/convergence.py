#!/usr/bin/env python3
"""Is the Poisson-4x gap between `recon --method cs` and BART `pics -l1` the problem or the path?

Benchmark only (needs BART, numpy, h5py; CI never runs it). For one slice of a scan, with the
exact mask recon applied, it runs `recon --method cs` and `bart ecalib -m1` + `bart pics -S -l1
-r 0.01` at several iteration counts: recon's translation-invariant threshold (its default)
and random cycle spinning against BART's default (random shifts), and no shifts
(`recon --cycle-spinning none`, `bart pics -n`); it prints the slice's PSNR against
`reconstruction_rss` (fastMRI's PSNR on one slice, data range = the slice's maximum).

    cargo build --release
    target/release/recon simulate --input data/mni152_2009a_t1_1mm.nii.gz --coils 8 \
        --slices 90:96 --output /tmp/mni8.h5 --force
    python3 docs/classical/convergence.py --scan data/colin27_sim.h5 --scan /tmp/mni8.h5

BART returns odd-size images shifted by one pixel against the centred FFT (see
bart_comparison.py); the best of the nine one-pixel rolls is taken, which can only favour BART.
"""

import argparse
import os
import subprocess
import tempfile

import h5py
import numpy as np

RECON = "target/release/recon"


def write_cfl(name, a):
    a = np.asarray(a, dtype=np.complex64)
    with open(name + ".hdr", "w") as h:
        h.write("# Dimensions\n" + " ".join(str(d) for d in a.shape) + "\n")
    a.T.tofile(name + ".cfl")


def read_cfl(name):
    dims = [int(x) for x in open(name + ".hdr").read().split("\n")[1].split()]
    return np.fromfile(name + ".cfl", dtype=np.complex64).reshape(dims, order="F")


def psnr(x, ref):
    return 10 * np.log10(ref.max() ** 2 / np.mean((np.abs(x) - ref) ** 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scan", action="append", required=True)
    ap.add_argument("--slice", type=int, default=3)
    ap.add_argument("--mask", default="poisson")
    ap.add_argument("--acceleration", default="4")
    ap.add_argument("--iterations", default="50,200,1000")
    ap.add_argument("--final-step", default="data-consistency", choices=["data-consistency", "threshold"])
    a = ap.parse_args()
    its = [int(i) for i in a.iterations.split(",")]
    for scan in a.scan:
        with tempfile.TemporaryDirectory() as w:
            ref = h5py.File(scan)["reconstruction_rss"][a.slice]
            rows = []
            bart_cache = {}
            for mode in ("invariant", "random", "none"):
                for it in its:
                    out = os.path.join(w, f"r{it}{mode}.h5")
                    cmd = [RECON, "--input", scan, "--mask", a.mask, "--acceleration", a.acceleration,
                           "--seed", "0", "--method", "cs", "--iterations", str(it), "-o", out,
                           "--cycle-spinning", mode, "--final-step", a.final_step]
                    subprocess.run(cmd, check=True, capture_output=True)
                    ours = psnr(h5py.File(out)["reconstruction"][a.slice], ref)
                    if not os.path.exists(os.path.join(w, "ksp.cfl")):
                        mask = h5py.File(out)["mask"][()]
                        ksp = h5py.File(scan)["kspace"][a.slice] * mask
                        write_cfl(os.path.join(w, "ksp"), ksp.transpose(1, 2, 0)[:, :, None, :])
                        subprocess.run(["bart", "ecalib", "-m1", "ksp", "maps"], cwd=w, check=True,
                                       capture_output=True)
                    flags = ("-n",) if mode == "none" else ()
                    if (flags, it) not in bart_cache:
                        subprocess.run(["bart", "pics", *flags, "-S", "-l1", "-r", "0.01", "-i", str(it),
                                        "ksp", "maps", "l1"], cwd=w, check=True, capture_output=True)
                        x = np.abs(read_cfl(os.path.join(w, "l1"))).squeeze()
                        bart_cache[(flags, it)] = max(psnr(np.roll(x, (p, q), (0, 1)), ref)
                                                      for p in (-1, 0, 1) for q in (-1, 0, 1))
                    rows.append((mode, it, ours, bart_cache[(flags, it)], " ".join(flags) or "(default)"))
            print(f"{scan} slice {a.slice}, {a.mask} {a.acceleration}x, lambda 0.01, "
                  f"recon --final-step {a.final_step}")
            print("recon --cycle-spinning | iterations | recon cs PSNR | BART pics -l1 flags | BART PSNR")
            for mode, it, ours, bart, flags in rows:
                print(f"{mode:>22} | {it:>10} | {ours:13.2f} | {flags:>19} | {bart:9.2f}")


if __name__ == "__main__":
    main()
