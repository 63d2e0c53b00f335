#!/usr/bin/env python3
"""Is the Poisson-4x gap between `recon --method cs` and BART `pics -l1` the problem or the path?

Benchmark only (needs BART, numpy, h5py; CI never runs it). For one slice of a scan, with the
exact mask recon applied, it runs `recon --method cs` and `bart ecalib -m1` + `bart pics -S -l1
-r 0.01` at several iteration counts, with random cycle spinning (both programs' default) and
without it (`recon --no-cycle-spinning`, `bart pics -n`), and prints the slice's PSNR against
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
    a = ap.parse_args()
    its = [int(i) for i in a.iterations.split(",")]
    for scan in a.scan:
        with tempfile.TemporaryDirectory() as w:
            ref = h5py.File(scan)["reconstruction_rss"][a.slice]
            rows = []
            for spin in (True, False):
                for it in its:
                    out = os.path.join(w, f"r{it}{spin}.h5")
                    cmd = [RECON, "--input", scan, "--mask", a.mask, "--acceleration", a.acceleration,
                           "--seed", "0", "--method", "cs", "--iterations", str(it), "-o", out]
                    subprocess.run(cmd + ([] if spin else ["--no-cycle-spinning"]), check=True,
                                   capture_output=True)
                    ours = psnr(h5py.File(out)["reconstruction"][a.slice], ref)
                    if not os.path.exists(os.path.join(w, "ksp.cfl")):
                        mask = h5py.File(out)["mask"][()]
                        ksp = h5py.File(scan)["kspace"][a.slice] * mask
                        write_cfl(os.path.join(w, "ksp"), ksp.transpose(1, 2, 0)[:, :, None, :])
                        subprocess.run(["bart", "ecalib", "-m1", "ksp", "maps"], cwd=w, check=True,
                                       capture_output=True)
                    flags = [] if spin else ["-n"]
                    subprocess.run(["bart", "pics", *flags, "-S", "-l1", "-r", "0.01", "-i", str(it),
                                    "ksp", "maps", "l1"], cwd=w, check=True, capture_output=True)
                    x = np.abs(read_cfl(os.path.join(w, "l1"))).squeeze()
                    bart = max(psnr(np.roll(x, (p, q), (0, 1)), ref) for p in (-1, 0, 1) for q in (-1, 0, 1))
                    rows.append((spin, it, ours, bart))
            print(f"{scan} slice {a.slice}, {a.mask} {a.acceleration}x, lambda 0.01")
            print("cycle spinning | iterations | recon cs PSNR | BART pics -l1 PSNR")
            for spin, it, ours, bart in rows:
                print(f"{'yes' if spin else 'no':>14} | {it:>10} | {ours:13.2f} | {bart:18.2f}")


if __name__ == "__main__":
    main()
