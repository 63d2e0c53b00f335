"""PyTorch counterpart of `models/examples/unet_speed.rs` (issue 5's benchmark harness).

What: builds the Noise2Noise U-Net exactly as `models/src/nets/unet.rs` does (18 3x3 "same"
convolutions with bias, LeakyReLU(0.1) after all but the last, 2x2 max-pool, nearest x2
upsampling, the upsampled tensor first in every concatenation, width 48, reflect padding to
a multiple of 32) and times, at batch 4:
  train-3x128, train-1x256: one training step (forward, MSE against a random target,
      backward, Adam with betas (0.9, 0.99), eps 1e-8, lr 1e-4);
  infer-3x128, infer-1x256: one forward pass under torch.inference_mode();
each the median of --reps repetitions after one warm-up, with the peak resident memory
(ru_maxrss) of the process and, as import_mib, what it already was after `import torch`.

Why a fresh process per case: ru_maxrss is a high-water mark, so an earlier, larger case
would hide a smaller one's peak. Without --case the script re-runs itself once per case and
prints one JSON object {"torch": version, "threads": n, "results": [...]} on stdout
(progress goes to stderr). With --case NAME it measures that case only and prints its
JSON result. The Rust harness runs it; the project itself does not need Python.

    python3 models/benches/torch_unet.py --reps 5 --threads 2
"""

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# Resident memory right after `import torch` (hundreds of MiB of libraries), reported with
# every case so that the working set, peak minus this, can be compared too.
IMPORT_MIB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

BATCH = 4
CASES = {
    # name: (training step?, channels, size)
    "train-3x128": (True, 3, 128),
    "infer-3x128": (False, 3, 128),
    "train-1x256": (True, 1, 256),
    "infer-1x256": (False, 1, 256),
}
LEAKY_SLOPE = 0.1


class UNet(nn.Module):
    """The U-Net of models/src/nets/unet.rs, same layer names, order, widths and init."""

    def __init__(self, cin, cout, width=48):
        super().__init__()
        e, d = width, 2 * width
        d1a, d1b = -(-4 * width // 3), -(-2 * width // 3)  # ceil(4w/3), ceil(2w/3)
        layers = [
            ("enc_conv0", cin, e), ("enc_conv1", e, e), ("enc_conv2", e, e),
            ("enc_conv3", e, e), ("enc_conv4", e, e), ("enc_conv5", e, e),
            ("enc_conv6", e, e),
            ("dec_conv5a", e + e, d), ("dec_conv5b", d, d),
            ("dec_conv4a", d + e, d), ("dec_conv4b", d, d),
            ("dec_conv3a", d + e, d), ("dec_conv3b", d, d),
            ("dec_conv2a", d + e, d), ("dec_conv2b", d, d),
            ("dec_conv1a", d + cin, d1a), ("dec_conv1b", d1a, d1b),
            ("dec_conv1", d1b, cout),
        ]
        self.convs = nn.ModuleList()
        for i, (_, ci, co) in enumerate(layers):
            conv = nn.Conv2d(ci, co, 3, padding=1, bias=True)
            gain = 1.0 if i == len(layers) - 1 else 2.0  # He-normal: var = gain / (9 c_in)
            nn.init.normal_(conv.weight, 0.0, math.sqrt(gain / (9 * ci)))
            nn.init.zeros_(conv.bias)
            self.convs.append(conv)

    def forward(self, x):
        h, w = x.shape[-2:]
        ph, pw = (-h) % 32, (-w) % 32
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        c = self.convs

        def conv_lr(i, t):
            return F.leaky_relu(c[i](t), LEAKY_SLOPE)

        n = conv_lr(1, conv_lr(0, x))
        pool1 = F.max_pool2d(n, 2)
        pool2 = F.max_pool2d(conv_lr(2, pool1), 2)
        pool3 = F.max_pool2d(conv_lr(3, pool2), 2)
        pool4 = F.max_pool2d(conv_lr(4, pool3), 2)
        pool5 = F.max_pool2d(conv_lr(5, pool4), 2)
        n = conv_lr(6, pool5)
        for skip, i in ((pool4, 7), (pool3, 9), (pool2, 11), (pool1, 13), (x, 15)):
            n = torch.cat([F.interpolate(n, scale_factor=2, mode="nearest"), skip], dim=1)
            n = conv_lr(i + 1, conv_lr(i, n))
        return c[17](n)[..., :h, :w]


def peak_mib():
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(name, reps):
    """Measures one case in this process; returns its result dict."""
    train, c, s = CASES[name]
    torch.manual_seed(1)
    net = UNet(c, c)
    x = torch.randn(BATCH, c, s, s) * 0.3
    times = []
    if train:
        y = torch.randn(BATCH, c, s, s) * 0.3
        opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
        for i in range(reps + 1):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(net(x), y)
            loss.backward()
            opt.step()
            if i > 0:
                times.append(time.perf_counter() - t0)
    else:
        net.eval()
        with torch.inference_mode():
            for i in range(reps + 1):
                t0 = time.perf_counter()
                out = net(x)
                del out
                if i > 0:
                    times.append(time.perf_counter() - t0)
    return {"case": name, "median_s": statistics.median(times), "times_s": times, "peak_mib": peak_mib(), "import_mib": IMPORT_MIB}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions after one warm-up")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--case", choices=sorted(CASES), help="measure only this case, in this process")
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    torch.set_num_threads(args.threads)
    if args.case:
        print(json.dumps(run_case(args.case, args.reps)))
        return
    results = []
    for name in CASES:
        cmd = [sys.executable, __file__, "--case", name, "--reps", str(args.reps), "--threads", str(args.threads)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.exit(f"torch_unet.py: case {name} failed with status {proc.returncode}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"torch {name}: {r['median_s']:.3f} s, peak {r['peak_mib']:.0f} MiB", file=sys.stderr)
        results.append(r)
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "results": results}))


if __name__ == "__main__":
    main()
