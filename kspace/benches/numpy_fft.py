#!/usr/bin/env python3
"""Time numpy's centred orthonormal fft2 on complex64, for comparison with `cargo bench -p kspace --bench fft`.

fft2c(x) = fftshift(fft2(ifftshift(x, axes), axes, norm="ortho"), axes) over the last two axes.
Usage: python3 kspace/benches/numpy_fft.py   (numpy runs single-threaded)
"""
import statistics
import timeit

import numpy as np

AX = (-2, -1)


def fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=AX), axes=AX, norm="ortho"), axes=AX)


def main():
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}")
    for shape in [(320, 320), (15, 640, 368)]:
        x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
        assert fft2c(x).dtype == np.complex64
        t = timeit.Timer(lambda: fft2c(x))
        n, _ = t.autorange()
        n = max(n, 3)
        runs = [r / n for r in t.repeat(repeat=15, number=n)]
        name = "x".join(map(str, shape))
        print(
            f"numpy fft2c {name:>12} complex64: best {min(runs) * 1e3:8.3f} ms, "
            f"median {statistics.median(runs) * 1e3:8.3f} ms (15 x {n} calls)"
        )


if __name__ == "__main__":
    main()
