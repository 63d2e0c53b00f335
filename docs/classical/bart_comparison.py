#!/usr/bin/env python3
"""`recon --method all` against BART (`ecalib` + `pics`) on the same undersampled k-space.

Issue 16, "Numbers to reach". Benchmark only: CI never runs this (it needs BART and Python).

Exact commands (from the repository root, release binary built first):

    cargo build --release
    target/release/recon simulate --input data/mni152_2009a_t1_1mm.nii.gz --coils 8 \
        --slices 90:96 --output /tmp/mni8.h5 --force
    python3 docs/classical/bart_comparison.py \
        --scan colin27=data/colin27_sim.h5 --scan mni152_8coil=/tmp/mni8.h5 \
        --csv docs/classical/bart_comparison.csv [--l1-sweep]

For every scan and mask (random 4x, equispaced 4x, random 8x, poisson 4x, poisson 8x; seed 0,
recon's default centre fraction) it runs

    target/release/recon --input SCAN --mask M --acceleration R --seed 0 --method all \
        --json -o WORK/SCAN_M_R.h5 --force

and records recon's PSNR / SSIM / seconds per method from the JSON. It then takes the exact
`mask` dataset recon wrote (1-D over W, or 2-D HxW), applies it to the input's `kspace`
(slices x coils x H x W) and, per slice, writes BART k-space `[H, W, 1, coils]` (H = READ,
W = PHS1) and runs

    bart ecalib -m1 ksp maps
    bart pics -S -l2 -r 0.01 -i 30 ksp maps sense
    bart pics -S -l1 -r 0.01 -i 50 ksp maps l1          # default random cycle spinning
    bart pics -S -R T:3:0:0.01 -i N ksp maps tv

(iteration counts matched to recon's defaults: 30 CG for sense, 50 FISTA for cs, 50 ADMM
iterations for tv. BART's ADMM counts `-i` in CG steps, not ADMM iterations: `-i 50` stops
after about 7 ADMM iterations of up to 10 CG steps each. So N is recon's TV cost from its
JSON, `normal_applications` (CG steps over the volume, the same steps BART takes: identical
counts were checked with `pics -d5`), divided by the slices, minus one, since BART stops after
the ADMM iteration in which its count passes N.)
For an odd H or W, `pics` returns images circularly shifted by one pixel against the centred
FFT that fastMRI and recon use (`bart fft -u` does not); the shift is measured once per scan
on a fully sampled slice (`bart_alignment`) and undone (np.roll) before any metric.
|image| is centre-cropped to the reference size (fastMRI `center_crop`), the slices are
stacked and compared with `reconstruction_rss` using fastMRI's `evaluate.py` metrics:
PSNR = 10 log10(max(gt)^2 / MSE) over the volume, SSIM = skimage `structural_similarity`
(7x7 uniform window, K1 0.01, K2 0.03, data_range = max(gt)) per slice, averaged.

Before any BART number is trusted the metric code must reproduce recon's own zero-filled PSNR
(from the JSON, within 0.01 dB) from the masked k-space (inverse centred FFT, RSS); the script
aborts otherwise. BART wall and CPU seconds (children's user + system) are measured per slice
and per command; recon's `seconds` is per volume (slices in parallel, maps included for
sense / cs / tv), so the CSV also gives it divided by the number of slices.

Columns of the CSV: scan, mask, acceleration, achieved_acceleration, method, impl (recon |
bart), psnr, ssim, nmse, seconds_volume, seconds_per_slice, cpu_seconds_per_slice, maps,
load_1min.
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
from skimage.metrics import structural_similarity

MASKS = [("random", 4), ("equispaced", 4), ("random", 8), ("poisson", 4), ("poisson", 8)]
LAMBDA = "0.01"
BART = {
    "sense": ["pics", "-S", "-l2", "-r", LAMBDA, "-i", "30"],
    "cs": ["pics", "-S", "-l1", "-r", LAMBDA, "-i", "50"],
    "tv": ["pics", "-S", "-R", f"T:3:0:{LAMBDA}", "-i", "50"],
}


def write_cfl(name, array):
    """BART .hdr/.cfl: column-major complex64, first dimension fastest."""
    dims = list(array.shape) + [1] * (16 - array.ndim)
    with open(name + ".hdr", "w") as f:
        f.write("# Dimensions\n" + " ".join(map(str, dims)) + "\n")
    np.asarray(array, np.complex64).ravel(order="F").tofile(name + ".cfl")


def read_cfl(name):
    with open(name + ".hdr") as f:
        dims = [int(x) for x in f.read().split("\n")[1].split()]
    return np.fromfile(name + ".cfl", np.complex64).reshape(dims, order="F")


def center_crop(data, shape):
    """fastMRI `center_crop` over the last two axes."""
    h0 = (data.shape[-2] - shape[0]) // 2
    w0 = (data.shape[-1] - shape[1]) // 2
    return data[..., h0 : h0 + shape[0], w0 : w0 + shape[1]]


def ifft2c(x):
    x = np.fft.ifftshift(x, axes=(-2, -1))
    x = np.fft.ifft2(x, norm="ortho")
    return np.fft.fftshift(x, axes=(-2, -1))


def metrics(gt, pred):
    """fastMRI evaluate.py: PSNR and NMSE over the volume, SSIM per slice averaged."""
    gt = gt.astype(np.float64)
    pred = pred.astype(np.float64)
    maxval = gt.max()
    mse = np.mean((gt - pred) ** 2)
    psnr = 10 * np.log10(maxval**2 / mse)
    nmse = np.sum((gt - pred) ** 2) / np.sum(gt**2)
    ssim = np.mean(
        [structural_similarity(g, p, data_range=maxval) for g, p in zip(gt, pred)]
    )
    return psnr, ssim, nmse


def timed(cmd, cwd):
    """Run a command; return (wall, cpu) seconds of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def fft2c(x):
    x = np.fft.ifftshift(x, axes=(-2, -1))
    x = np.fft.fft2(x, norm="ortho")
    return np.fft.fftshift(x, axes=(-2, -1))


def bart_alignment(image, work):
    """The circular shift that puts `pics` output on the centred-FFT (numpy fftshift) grid.

    For an odd H or W, `bart pics` returns the image circularly shifted by one pixel along
    that axis against the centred FFT that fastMRI and recon use (`bart fft -u` does not: it
    matches numpy exactly). Measured, not assumed: the reference slice itself is sent through
    `pics -l2` as fully sampled single-coil k-space with unit maps, and the roll in {-1,0,1}^2
    that best matches the reference is returned (it must match to ~1e-6 relative).
    """
    ksp = fft2c(image.astype(np.complex64))[:, :, None, None]
    write_cfl(os.path.join(work, "align_ksp"), ksp)
    write_cfl(os.path.join(work, "align_ones"), np.ones(ksp.shape, np.complex64))
    timed(["bart", "pics", "-S", "-l2", "-r", "0.0001", "-i", "30",
           "align_ksp", "align_ones", "align_img"], work)
    out = np.abs(read_cfl(os.path.join(work, "align_img"))).squeeze()
    err, shift = min(
        (np.mean((np.roll(out, (dh, dw), (0, 1)) - image) ** 2), (dh, dw))
        for dh in (-1, 0, 1) for dw in (-1, 0, 1))
    if err > 1e-6 * np.mean(image.astype(np.float64) ** 2):
        sys.exit(f"bart pics does not reproduce a fully sampled slice (relative MSE {err})")
    return shift


def run_recon(recon, scan, mask, acc, out, extra=(), method="all"):
    cmd = [recon, "--input", scan, "--mask", mask, "--acceleration", str(acc), "--seed", "0",
           "--method", method, "--json", "-o", out, "--force", *extra]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout)


def bart_commands(report, n_slices):
    """BART's `pics` arguments per method, TV's `-i` set to the CG steps recon's TV took per
    slice minus one (`normal_applications` in recon's JSON; see the module docs), so that both
    run the same number of ADMM iterations. Without a recon TV run, BART's `-i 50` is kept."""
    commands = dict(BART)
    cost = next((m.get("normal_applications") for m in report["methods"] if m["method"] == "tv"), None)
    if cost:
        commands["tv"] = BART["tv"][:-1] + [str(max(1, round(cost / n_slices) - 1))]
    return commands


def bart_volume(kspace, work, shift, commands=BART):
    """ecalib + pics per slice; returns {method: |image| volume}, {method: [wall, cpu]}.

    `shift` (from `bart_alignment`) is undone on every image (np.roll over H, W)."""
    images = {m: [] for m in commands}
    times = {m: [0.0, 0.0] for m in list(commands) + ["ecalib"]}
    for s in range(kspace.shape[0]):
        write_cfl(os.path.join(work, "ksp"), kspace[s].transpose(1, 2, 0)[:, :, None, :])
        wall, cpu = timed(["bart", "ecalib", "-m1", "ksp", "maps"], work)
        times["ecalib"][0] += wall
        times["ecalib"][1] += cpu
        for method, args in commands.items():
            wall, cpu = timed(["bart"] + args + ["ksp", "maps", method], work)
            times[method][0] += wall
            times[method][1] += cpu
            image = np.abs(read_cfl(os.path.join(work, method))).squeeze()
            images[method].append(np.roll(image, shift, (0, 1)))
    return {m: np.stack(v) for m, v in images.items()}, times


def l1_sweep(kspace, gt, work, shift, settings):
    """BART `pics -S -l1` over (lambda, iterations) pairs: is the gap to recon's CS BART's λ?"""
    images = {st: [] for st in settings}
    for s in range(kspace.shape[0]):
        write_cfl(os.path.join(work, "ksp"), kspace[s].transpose(1, 2, 0)[:, :, None, :])
        timed(["bart", "ecalib", "-m1", "ksp", "maps"], work)
        for lam, iters in settings:
            timed(["bart", "pics", "-S", "-l1", "-r", lam, "-i", iters, "ksp", "maps", "sw"], work)
            image = np.abs(read_cfl(os.path.join(work, "sw"))).squeeze()
            images[(lam, iters)].append(np.roll(image, shift, (0, 1)))
    return {st: metrics(gt, center_crop(np.stack(v), gt.shape[-2:])) for st, v in images.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scan", action="append", required=True, help="NAME=PATH.h5")
    ap.add_argument("--recon", default="target/release/recon")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--l1-sweep", action="store_true",
                    help="also print BART pics -l1 at random 4x for lambda 0.001-0.03 and "
                         "200 iterations (not written to the CSV)")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--model", default=None,
                    help="recon --model for the network row (default: the built-in model)")
    ap.add_argument("--adapt", type=int, default=0,
                    help="also run the network with --adapt N (row method network_adapt)")
    ap.add_argument("--masks", default=None,
                    help="MASK:R,... instead of the default five (e.g. random:4,n2n:4)")
    args = ap.parse_args()
    masks = MASKS if args.masks is None else [
        (m.split(":")[0], int(m.split(":")[1])) for m in args.masks.split(",")]
    extra = [] if args.model is None else ["--model", args.model]
    work = args.work or tempfile.mkdtemp(prefix="bart_comparison_")
    os.makedirs(work, exist_ok=True)
    rows = []
    for spec in args.scan:
        name, path = spec.split("=", 1)
        with h5py.File(path, "r") as f:
            kspace = f["kspace"][()]
            gt = f["reconstruction_rss"][()]
        if kspace.ndim != 4:
            sys.exit(f"{path}: multi-coil k-space (slices, coils, H, W) expected")
        n_slices = kspace.shape[0]
        if gt.shape[-2:] != kspace.shape[-2:]:
            sys.exit(f"{path}: the alignment check needs a reference of the k-space size")
        shift = bart_alignment(gt[n_slices // 2], work)
        print(f"{name}: k-space {kspace.shape}, pics output rolled by {shift}", flush=True)
        for mask_name, acc in masks:
            first = len(rows)
            out = os.path.join(work, f"{name}_{mask_name}_{acc}.h5")
            load = os.getloadavg()[0]
            report = run_recon(args.recon, path, mask_name, acc, out, extra)
            if args.adapt > 0:
                adapted = run_recon(args.recon, path, mask_name, acc, out + ".adapt.h5",
                                    extra + ["--adapt", str(args.adapt)], method="network")
                for m in adapted["metrics"]:
                    if m["method"] == "network":
                        report["metrics"].append(dict(m, method="network_adapt"))
                        report["methods"].append(dict(
                            method="network_adapt",
                            seconds=next(t["seconds"] for t in adapted["methods"]
                                         if t["method"] == "network")))
            with h5py.File(out, "r") as f:
                mask = f["mask"][()].astype(np.float32)
            achieved = report["mask"]["achieved_acceleration"]
            seconds = {m["method"]: m["seconds"] for m in report["methods"]}
            for m in report["metrics"]:
                sec = seconds.get(m["method"])
                rows.append(dict(scan=name, mask=mask_name, acceleration=acc,
                                 achieved_acceleration=round(achieved, 3),
                                 method=m["method"], impl="recon", psnr=m["psnr"],
                                 ssim=m["ssim"], nmse=m["nmse"], seconds_volume=sec,
                                 seconds_per_slice=None if sec is None else sec / n_slices,
                                 cpu_seconds_per_slice=None, maps=report.get("maps"),
                                 load_1min=load))
            # The exact mask recon used: (W,) broadcasts over H, (H, W) as it is.
            masked = (kspace * mask).astype(np.complex64) + 0.0
            zf = center_crop(np.sqrt((np.abs(ifft2c(masked)) ** 2).sum(1)), gt.shape[-2:])
            psnr_zf = metrics(gt, zf)[0]
            ours_zf = next(m["psnr"] for m in report["metrics"] if m["method"] == "zero_filled")
            if abs(psnr_zf - ours_zf) > 0.01:
                sys.exit(f"{name} {mask_name} {acc}x: zero-filled PSNR {psnr_zf:.4f} here, "
                         f"{ours_zf:.4f} in recon's JSON: the metric or mask does not match")
            load = os.getloadavg()[0]
            commands = bart_commands(report, n_slices)
            images, times = bart_volume(masked, work, shift, commands)
            for method, image in images.items():
                psnr, ssim, nmse = metrics(gt, center_crop(image, gt.shape[-2:]))
                wall, cpu = times[method]
                rows.append(dict(scan=name, mask=mask_name, acceleration=acc,
                                 achieved_acceleration=round(achieved, 3), method=method,
                                 impl="bart", psnr=psnr, ssim=ssim, nmse=nmse,
                                 seconds_volume=wall + times["ecalib"][0],
                                 seconds_per_slice=wall / n_slices,
                                 cpu_seconds_per_slice=cpu / n_slices,
                                 maps="ecalib -m1" if method != "tv" else
                                 f"ecalib -m1; pics -i {commands['tv'][-1]}", load_1min=load))
            rows.append(dict(scan=name, mask=mask_name, acceleration=acc,
                             achieved_acceleration=round(achieved, 3), method="ecalib",
                             impl="bart", psnr=None, ssim=None, nmse=None,
                             seconds_volume=times["ecalib"][0],
                             seconds_per_slice=times["ecalib"][0] / n_slices,
                             cpu_seconds_per_slice=times["ecalib"][1] / n_slices,
                             maps="ecalib -m1", load_1min=load))
            summary = "  ".join(
                f"{r['method']}:{r['impl'][0]}={r['psnr']:.2f}"
                for r in rows[first:] if r["psnr"] is not None)
            if args.l1_sweep and (mask_name, acc) == ("random", 4):
                settings = [("0.001", "50"), ("0.003", "50"), ("0.01", "50"), ("0.03", "50"),
                            ("0.01", "200")]
                for (lam, iters), (psnr, ssim, _) in l1_sweep(
                        masked, gt, work, shift, settings).items():
                    print(f"{name} random 4x: bart pics -S -l1 -r {lam} -i {iters}: "
                          f"PSNR {psnr:.2f} dB, SSIM {ssim:.4f}", flush=True)
            print(f"{name} {mask_name} {acc}x (zero-filled check {psnr_zf:.4f} vs "
                  f"{ours_zf:.4f}): {summary}", flush=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


if __name__ == "__main__":
    main()
