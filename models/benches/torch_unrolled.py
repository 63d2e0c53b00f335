"""PyTorch counterpart of `models/benches/unrolled_step.rs` (issue 17's training-speed harness).

What: builds the unrolled network exactly as `models/src/nets/unrolled.rs` does (K cascades
x^{t+1} = x^t - eta_t * S^H F^H M (F S x^t - y) + R_t(x^t), x^0 = S^H F^H y; R_t(x) = s*U(x/s)
with s = sqrt(mean x^2 + 1e-30) per sample; U a U-Net with `levels` levels of two 3x3 convs +
LeakyReLU(0.1), 2x2 max-pool, nearest x2 upsampling, [upsampled, skip] concatenation, width
doubling per level, a linear 3x3 output conv with He gain 0.01, reflect padding to a multiple
of 2^levels), F the centred orthonormal FFT with torch.fft, and times on one 8-coil 256x256
slice:
  train: one training step (forward, k-space MSE against a second mask's samples, backward,
         Adam with betas (0.9, 0.99), eps 1e-8, lr 1e-4);
  infer: one forward pass under torch.inference_mode();
each the median of --reps repetitions after one warm-up. Prints one JSON object.

    pip install torch --index-url https://download.pytorch.org/whl/cpu
    python3 models/benches/torch_unrolled.py --reps 5 --threads 2

The project itself does not need Python; CI does not run this.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.1


def fft2c(x):
    """fftshift(fft2(ifftshift(x), norm="ortho")) over the last two axes of a complex tensor."""
    dims = (-2, -1)
    return torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(x, dim=dims), norm="ortho"), dim=dims)


def ifft2c(x):
    dims = (-2, -1)
    return torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(x, dim=dims), norm="ortho"), dim=dims)


def conv(ci, co, gain):
    c = nn.Conv2d(ci, co, 3, padding=1, bias=True)
    nn.init.normal_(c.weight, 0.0, gain / math.sqrt(9 * ci))
    nn.init.zeros_(c.bias)
    return c


class ConvBlock(nn.Module):
    def __init__(self, ci, co):
        super().__init__()
        self.conv_a, self.conv_b = conv(ci, co, math.sqrt(2)), conv(co, co, math.sqrt(2))

    def forward(self, x):
        x = F.leaky_relu(self.conv_a(x), LEAKY_SLOPE)
        return F.leaky_relu(self.conv_b(x), LEAKY_SLOPE)


class Regulariser(nn.Module):
    def __init__(self, width, levels):
        super().__init__()
        ch = [width << l for l in range(levels + 1)]
        inp = lambda l: 2 if l == 0 else ch[l - 1]
        self.down = nn.ModuleList([ConvBlock(inp(l), ch[l]) for l in range(levels)])
        self.bottom = ConvBlock(inp(levels), ch[levels])
        self.up = nn.ModuleList([ConvBlock(ch[l + 1] + ch[l], ch[l]) for l in range(levels)])
        self.out = conv(width, 2, 0.01)
        self.levels = levels

    def forward(self, x):
        n, _, h, w = x.shape
        s = torch.sqrt(x.pow(2).reshape(n, -1).mean(1) + 1e-30).reshape(n, 1, 1, 1)
        m = 1 << self.levels
        ph, pw = (-h) % m, (-w) % m
        u = x / s
        if ph or pw:
            u = F.pad(u, (0, pw, 0, ph), mode="reflect")
        skips = []
        for block in self.down:
            u = block(u)
            skips.append(u)
            u = F.max_pool2d(u, 2)
        u = self.bottom(u)
        for block, skip in reversed(list(zip(self.up, skips))):
            u = block(torch.cat([F.interpolate(u, scale_factor=2, mode="nearest"), skip], 1))
        u = self.out(u)[:, :, :h, :w]
        return u * s


class Unrolled(nn.Module):
    """x, maps: complex (N, 1, H, W), (N, C, H, W); mask: real (N, 1, H, W)."""

    def __init__(self, cascades=8, width=18, levels=3):
        super().__init__()
        self.eta = nn.Parameter(torch.ones(cascades))
        self.regs = nn.ModuleList([Regulariser(width, levels) for _ in range(cascades)])

    @staticmethod
    def forward_op(x, maps, mask):
        return fft2c(maps * x) * mask

    @staticmethod
    def adjoint_op(k, maps, mask):
        return (maps.conj() * ifft2c(k * mask)).sum(1, keepdim=True)

    def forward(self, y, mask, maps):
        x = self.adjoint_op(y, maps, mask)
        for t, reg in enumerate(self.regs):
            step = self.adjoint_op(self.forward_op(x, maps, mask) - y, maps, mask)
            r = reg(torch.view_as_real(x[:, 0]).permute(0, 3, 1, 2))  # (N, 2, H, W)
            r = torch.view_as_complex(r.permute(0, 2, 3, 1).contiguous())[:, None]
            x = x - self.eta[t] * step + r
        return x


def column_mask(size, gen):
    keep = (torch.rand(size, generator=gen) < 0.2)
    keep[size // 2 - 8: size // 2 + 8] = True
    return keep.float()[None, None, None, :].expand(1, 1, size, size).contiguous()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--coils", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    c, n = a.coils, a.size
    maps = torch.randn(1, c, n, n, dtype=torch.complex64, generator=gen) / math.sqrt(c)
    image = torch.randn(1, 1, n, n, dtype=torch.complex64, generator=gen)
    m_in, m_tgt = column_mask(n, gen), column_mask(n, gen)
    y_in = Unrolled.forward_op(image, maps, m_in)
    y_tgt = Unrolled.forward_op(image, maps, m_tgt)
    net = Unrolled()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.99), eps=1e-8)

    def train():
        opt.zero_grad(set_to_none=True)
        out = net(y_in, m_in, maps)
        k = Unrolled.forward_op(out, maps, m_tgt)
        loss = torch.view_as_real(k - y_tgt).pow(2).mean()
        loss.backward()
        opt.step()

    def infer():
        with torch.inference_mode():
            net(y_in, m_in, maps).abs().sum().item()

    results = {}
    for name, f in [("train", train), ("infer", infer)]:
        f()
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        results[name] = {"median_s": statistics.median(times), "min_s": min(times)}
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "coils": c, "size": n, "results": results}))


if __name__ == "__main__":
    main()
