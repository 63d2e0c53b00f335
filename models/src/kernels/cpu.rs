//! Fused CPU kernels (f32 / f64) for the elementwise and resampling ops of the networks,
//! wrapped as candle custom ops with explicit backward passes.
//!
//! candle 0.11.1 builds these from many full-size elementwise passes on the CPU (LeakyReLU,
//! for instance, is `max(x, 0) + slope·min(x, 0)` with a backward of about fifteen passes),
//! which dominated the step time. Each kernel here is a single pass. The composite
//! versions in [`crate::kernels::ops`] compute the same functions and are used on other devices.

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, WithDType};
use rayon::prelude::*;

/// A new buffer of `planes` blocks of `len` elements, block `p` filled by `fill(p, block)`,
/// blocks in parallel (groups of at least 64 Ki elements per task, so small tensors stay on
/// one thread). Every kernel here is one memory-bound pass; on two cores this halves it.
pub(crate) fn par_planes<T: WithDType>(
    planes: usize,
    len: usize,
    fill: impl Fn(usize, &mut [T]) + Sync,
) -> Vec<T> {
    let mut out = vec![T::from_f64(0.); planes * len];
    if len > 0 {
        let min = (65536 / len).max(1);
        out.par_chunks_mut(len).with_min_len(min).enumerate().for_each(|(p, d)| fill(p, d));
    }
    out
}

/// The contiguous part of a storage described by `l`.
pub(crate) fn slice<'a, T>(v: &'a [T], l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("custom CPU kernel needs a contiguous layout, got {l:?}"),
    }
}

/// Dispatches a generic kernel over the f32 / f64 variants of one storage.
macro_rules! map1 {
    ($s:expr, $l:expr, $f:expr) => {
        match $s {
            CpuStorage::F32(v) => CpuStorage::F32($f(crate::kernels::cpu::slice(v, $l)?)),
            CpuStorage::F64(v) => CpuStorage::F64($f(crate::kernels::cpu::slice(v, $l)?)),
            _ => candle_core::bail!("custom CPU kernel: only f32 and f64"),
        }
    };
}

/// Same, over two storages of the same dtype.
macro_rules! map2 {
    ($s1:expr, $l1:expr, $s2:expr, $l2:expr, $f:expr) => {
        match ($s1, $s2) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                CpuStorage::F32($f(crate::kernels::cpu::slice(a, $l1)?, crate::kernels::cpu::slice(b, $l2)?))
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                CpuStorage::F64($f(crate::kernels::cpu::slice(a, $l1)?, crate::kernels::cpu::slice(b, $l2)?))
            }
            _ => candle_core::bail!("custom CPU kernel: only f32 and f64, both the same"),
        }
    };
}
pub(crate) use {map1, map2};

// ---------------------------------------------------------------- LeakyReLU

/// `f(x) = x` for `x ≥ 0`, `slope·x` otherwise; backward `g·(x ≥ 0 ? 1 : slope)`.
pub(crate) struct LeakyRelu(pub f64);
struct LeakyReluGrad(f64);

/// Elements per parallel block of the elementwise kernels.
const BLOCK: usize = 16384;

fn leaky<T: WithDType>(x: &[T], a: f64) -> Vec<T> {
    let (a, zero) = (T::from_f64(a), T::from_f64(0.));
    let mut y = par_planes(x.len().div_ceil(BLOCK), BLOCK, |p, d: &mut [T]| {
        for (d, &v) in d.iter_mut().zip(&x[(p * BLOCK).min(x.len())..]) {
            *d = if v >= zero { v } else { a * v };
        }
    });
    y.truncate(x.len());
    y
}

fn leaky_grad<T: WithDType>(g: &[T], x: &[T], a: f64) -> Vec<T> {
    let (a, zero) = (T::from_f64(a), T::from_f64(0.));
    let mut dx = par_planes(g.len().div_ceil(BLOCK), BLOCK, |p, d: &mut [T]| {
        let at = (p * BLOCK).min(g.len());
        for ((d, &g), &x) in d.iter_mut().zip(&g[at..]).zip(&x[at..]) {
            *d = if x >= zero { g } else { a * g };
        }
    });
    dx.truncate(g.len());
    dx
}

impl CustomOp1 for LeakyRelu {
    fn name(&self) -> &'static str {
        "leaky-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        Ok((map1!(s, l, |x| leaky(x, self.0)), l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op2_no_bwd(&arg.contiguous()?, &LeakyReluGrad(self.0))?))
    }
}

impl CustomOp2 for LeakyReluGrad {
    fn name(&self) -> &'static str {
        "leaky-relu-grad"
    }

    fn cpu_fwd(
        &self,
        g: &CpuStorage,
        gl: &Layout,
        x: &CpuStorage,
        xl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        Ok((map2!(g, gl, x, xl, |g, x| leaky_grad(g, x, self.0)), gl.shape().clone()))
    }
}

// ---------------------------------------------------------------- 2×2 max-pool

/// 2×2 / stride-2 max-pool of an (N, C, H, W) tensor, H and W even. Backward: the gradient
/// of each window goes to its maximum; k tied maxima get `g/k` each.
pub(crate) struct MaxPool2;
struct MaxPool2Grad;

fn pool_dims(l: &Layout) -> Result<(usize, usize, usize)> {
    let (n, c, h, w) = l.shape().dims4()?;
    if h % 2 != 0 || w % 2 != 0 {
        bail!("max_pool2x2 needs even H and W, got {h}x{w}")
    }
    Ok((n * c, h, w))
}

fn pool<T: WithDType>(x: &[T], planes: usize, h: usize, w: usize) -> Vec<T> {
    let (ho, wo) = (h / 2, w / 2);
    par_planes(planes, ho * wo, |p, y| {
        let xp = &x[p * h * w..(p + 1) * h * w];
        for i in 0..ho {
            let (r0, r1) = (&xp[2 * i * w..(2 * i + 1) * w], &xp[(2 * i + 1) * w..(2 * i + 2) * w]);
            for (j, y) in y[i * wo..][..wo].iter_mut().enumerate() {
                *y = max(max(r0[2 * j], r0[2 * j + 1]), max(r1[2 * j], r1[2 * j + 1]));
            }
        }
    })
}

fn max<T: PartialOrd>(a: T, b: T) -> T {
    if b > a {
        b
    } else {
        a
    }
}

fn pool_grad<T: WithDType>(g: &[T], x: &[T], planes: usize, h: usize, w: usize) -> Vec<T> {
    let (ho, wo) = (h / 2, w / 2);
    par_planes(planes, h * w, |p, dx| {
        let x = &x[p * h * w..][..h * w];
        for i in 0..ho {
            for j in 0..wo {
                let idx = [
                    2 * i * w + 2 * j,
                    2 * i * w + 2 * j + 1,
                    (2 * i + 1) * w + 2 * j,
                    (2 * i + 1) * w + 2 * j + 1,
                ];
                let m = idx.iter().map(|&k| x[k]).fold(x[idx[0]], max);
                let ties = idx.iter().filter(|&&k| x[k] == m).count();
                let share = g[(p * ho + i) * wo + j] / T::from_f64(ties as f64);
                for &k in &idx {
                    if x[k] == m {
                        dx[k] = share;
                    }
                }
            }
        }
    })
}

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "max-pool-2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (planes, h, w) = pool_dims(l)?;
        let (n, c, _, _) = l.shape().dims4()?;
        Ok((map1!(s, l, |x| pool(x, planes, h, w)), Shape::from((n, c, h / 2, w / 2))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op2_no_bwd(&arg.contiguous()?, &MaxPool2Grad)?))
    }
}

impl CustomOp2 for MaxPool2Grad {
    fn name(&self) -> &'static str {
        "max-pool-2x2-grad"
    }

    fn cpu_fwd(
        &self,
        g: &CpuStorage,
        gl: &Layout,
        x: &CpuStorage,
        xl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (planes, h, w) = pool_dims(xl)?;
        Ok((map2!(g, gl, x, xl, |g, x| pool_grad(g, x, planes, h, w)), xl.shape().clone()))
    }
}

// ---------------------------------------------------------------- nearest ×2 upsampling

/// Nearest ×2 upsampling; backward sums each 2×2 block of the incoming gradient.
pub(crate) struct Upsample2;
struct Upsample2Grad;

fn upsample<T: WithDType>(x: &[T], planes: usize, h: usize, w: usize) -> Vec<T> {
    par_planes(planes, 4 * h * w, |p, y| {
        for i in 0..h {
            let row = &x[(p * h + i) * w..(p * h + i + 1) * w];
            for k in 0..2 {
                for (d, &v) in y[(2 * i + k) * 2 * w..][..2 * w].chunks_exact_mut(2).zip(row) {
                    d[0] = v;
                    d[1] = v;
                }
            }
        }
    })
}

fn upsample_grad<T: WithDType>(g: &[T], planes: usize, h: usize, w: usize) -> Vec<T> {
    let w2 = 2 * w;
    par_planes(planes, h * w, |p, dx| {
        for i in 0..h {
            let r0 = &g[(p * 2 * h + 2 * i) * w2..][..w2];
            let r1 = &g[(p * 2 * h + 2 * i + 1) * w2..][..w2];
            for (j, d) in dx[i * w..][..w].iter_mut().enumerate() {
                *d = (r0[2 * j] + r0[2 * j + 1]) + (r1[2 * j] + r1[2 * j + 1]);
            }
        }
    })
}

impl CustomOp1 for Upsample2 {
    fn name(&self) -> &'static str {
        "upsample-nearest-2x"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = l.shape().dims4()?;
        Ok((map1!(s, l, |x| upsample(x, n * c, h, w)), Shape::from((n, c, 2 * h, 2 * w))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&Upsample2Grad)?))
    }
}

impl CustomOp1 for Upsample2Grad {
    fn name(&self) -> &'static str {
        "upsample-nearest-2x-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h2, w2) = l.shape().dims4()?;
        let (h, w) = (h2 / 2, w2 / 2);
        Ok((map1!(s, l, |g| upsample_grad(g, n * c, h, w)), Shape::from((n, c, h, w))))
    }
}
