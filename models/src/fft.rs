//! The centred orthonormal 2-D DFT inside the candle graph, as a custom op on rustfft whose
//! backward is the adjoint FFT (no DFT matrices).
//!
//! Complex tensors are real tensors of shape `(…, H, W, 2)` holding `(re, im)` interleaved in
//! the last axis; the transform runs over the two axes before it, for every leading index
//! (batch, coil, …):
//! ```text
//! fft2c(x)  = fftshift(fft2(ifftshift(x), norm="ortho"))      (numpy, axes (-3, -2))
//! ifft2c(x) = fftshift(ifft2(ifftshift(x), norm="ortho"))
//! ```
//! identical to [`kspace::fft2c`] / [`kspace::ifft2c`] on the same complex data.
//!
//! Backward: with the orthonormal scaling, `F` is unitary, so as a real-linear map on
//! `ℝ^{2HW}` it is orthogonal and its Jacobian transpose is the real form of `Fᴴ = F⁻¹`:
//! `∂L/∂x = ifft2c(∂L/∂y)` for `y = fft2c(x)`, and `∂L/∂k = fft2c(∂L/∂x)` for `x = ifft2c(k)`.
//! The backward of each op is the other op (so second derivatives work too).
//!
//! Kernels (CPU): f32 runs on kspace's cached [`kspace::Fft2cPlanner`] (shift-folded row and
//! column passes, AVX prime-factor rows, parallel over the leading axes and within large
//! images), so a 15-coil 640×368 batch costs what `kspace::fft2c` costs plus one copy; f64
//! (gradient checks, reference computations) runs plain rustfft passes, parallel over images.
//! Any H, W ≥ 1 (odd, prime).
//!
//! Other devices: candle's `to_device` is differentiable (`Op::ToDevice`, whose backward
//! copies the gradient back), so on CUDA the wrappers copy the tensor to the CPU, transform
//! it there and copy the result back; the graph stays correct, at the cost of two transfers.

use std::sync::{Mutex, OnceLock};

use candle_core::{bail, CpuStorage, CustomOp1, DType, Device, Layout, Result, Shape, Tensor};
use kspace::{Fft2cPlanner, C32};
use ndarray::{ArrayViewMutD, IxDyn};
use rayon::prelude::*;
use rustfft::{num_complex::Complex64, FftDirection, FftPlanner};

/// Forward centred orthonormal 2-D DFT of a `(…, H, W, 2)` complex tensor (f32 or f64, any
/// device; see the module docs). Differentiable; its backward is [`ifft2c`].
pub fn fft2c(x: &Tensor) -> Result<Tensor> {
    apply(x, CentredFft { inverse: false })
}

/// Inverse centred orthonormal 2-D DFT of a `(…, H, W, 2)` complex tensor. Differentiable;
/// its backward is [`fft2c`].
pub fn ifft2c(x: &Tensor) -> Result<Tensor> {
    apply(x, CentredFft { inverse: true })
}

fn apply(x: &Tensor, op: CentredFft) -> Result<Tensor> {
    let dims = x.dims();
    if dims.len() < 3 || dims[dims.len() - 1] != 2 {
        bail!("{}: expected a complex tensor (…, H, W, 2), got shape {dims:?}", op.name())
    }
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        bail!("{}: only f32 and f64 are supported, got {:?}", op.name(), x.dtype())
    }
    if x.device().is_cpu() {
        x.contiguous()?.apply_op1(op)
    } else {
        // Differentiable round trip through host memory (see the module docs).
        let y = x.to_device(&Device::Cpu)?.contiguous()?.apply_op1(op)?;
        y.to_device(x.device())
    }
}

/// The op: `inverse` false for [`fft2c`], true for [`ifft2c`].
#[derive(Clone, Copy, Debug)]
struct CentredFft {
    inverse: bool,
}

/// The process-wide f32 planner (plans cached per (H, W)).
fn planner32() -> &'static Fft2cPlanner {
    static P: OnceLock<Fft2cPlanner> = OnceLock::new();
    P.get_or_init(Fft2cPlanner::new)
}

/// The process-wide f64 rustfft planner (it caches its plans).
fn planner64() -> &'static Mutex<FftPlanner<f64>> {
    static P: OnceLock<Mutex<FftPlanner<f64>>> = OnceLock::new();
    P.get_or_init(|| Mutex::new(FftPlanner::new()))
}

impl CustomOp1 for CentredFft {
    fn name(&self) -> &'static str {
        if self.inverse {
            "ifft2c"
        } else {
            "fft2c"
        }
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = l.dims();
        let nd = dims.len();
        if nd < 3 || dims[nd - 1] != 2 {
            bail!("{}: expected (…, H, W, 2), got {dims:?}", self.name())
        }
        let (h, w) = (dims[nd - 3], dims[nd - 2]);
        let images = dims[..nd - 3].iter().product::<usize>();
        let out = match s {
            CpuStorage::F32(v) => CpuStorage::F32(fft_f32(contiguous(v, l)?, images, h, w, self.inverse)),
            CpuStorage::F64(v) => CpuStorage::F64(fft_f64(contiguous(v, l)?, images, h, w, self.inverse)),
            _ => bail!("{}: only f32 and f64 are supported", self.name()),
        };
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // Unitary: the Jacobian transpose is the inverse transform (module docs).
        Ok(Some(apply(grad, CentredFft { inverse: !self.inverse })?))
    }
}

/// The data of a contiguous layout (the wrappers make the input contiguous).
fn contiguous<'a, T>(v: &'a [T], l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("centred FFT: non-contiguous layout {l:?}"),
    }
}

/// f32 through kspace's planner: copy into complex samples, transform in place, hand the
/// buffer back as interleaved floats (no second copy).
fn fft_f32(x: &[f32], images: usize, h: usize, w: usize, inverse: bool) -> Vec<f32> {
    let mut buf: Vec<C32> = x.chunks_exact(2).map(|p| C32::new(p[0], p[1])).collect();
    if !buf.is_empty() {
        let mut view = ArrayViewMutD::from_shape(IxDyn(&[images, h, w]), &mut buf[..])
            .expect("buffer length is images·H·W");
        let plan = planner32().plan(h, w);
        if inverse {
            plan.inverse(&mut view)
        } else {
            plan.forward(&mut view)
        }
    }
    interleaved(buf)
}

/// A complex buffer reinterpreted as `(re, im)` floats, without copying.
fn interleaved(v: Vec<C32>) -> Vec<f32> {
    let mut v = std::mem::ManuallyDrop::new(v);
    let (ptr, len, cap) = (v.as_mut_ptr(), v.len(), v.capacity());
    // SAFETY: `Complex<f32>` is `#[repr(C)] { re: f32, im: f32 }`: the alignment of f32 and
    // the size of two, so the allocation holds exactly 2·cap floats and is freed with the
    // same layout; the original vector is not dropped.
    unsafe { Vec::from_raw_parts(ptr.cast::<f32>(), 2 * len, 2 * cap) }
}

/// f64 with plain rustfft passes per image, images in parallel:
/// gather with `ifftshift` on both axes, row FFTs, transpose, column FFTs, scatter with
/// `fftshift` on both axes and the `1/√(HW)` scale.
fn fft_f64(x: &[f64], images: usize, h: usize, w: usize, inverse: bool) -> Vec<f64> {
    let len = h * w;
    let mut out = vec![0f64; 2 * images * len];
    if len == 0 || images == 0 {
        return out;
    }
    let dir = if inverse { FftDirection::Inverse } else { FftDirection::Forward };
    let (row, col) = {
        let mut p = planner64().lock().unwrap_or_else(|e| e.into_inner());
        (p.plan_fft(w, dir), p.plan_fft(h, dir))
    };
    let scale = 1.0 / (len as f64).sqrt();
    out.par_chunks_mut(2 * len).zip(x.par_chunks(2 * len)).for_each(|(dst, src)| {
        let at = |i: usize, j: usize| {
            let k = 2 * (i * w + j);
            Complex64::new(src[k], src[k + 1])
        };
        // a[i, j] = x[(i + H/2) % H, (j + W/2) % W]  (ifftshift), rows contiguous.
        let mut a: Vec<Complex64> =
            (0..len).map(|ij| at((ij / w + h / 2) % h, (ij % w + w / 2) % w)).collect();
        row.process(&mut a);
        // t[j, i] = a[i, j]: columns contiguous.
        let mut t: Vec<Complex64> = (0..len).map(|ji| a[(ji % h) * w + ji / h]).collect();
        col.process(&mut t);
        // y[(k + H/2) % H, (l + W/2) % W] = t[l, k] / √(HW)  (fftshift).
        for (lk, v) in t.iter().enumerate() {
            let (l, k) = (lk / h, lk % h);
            let d = 2 * (((k + h / 2) % h) * w + (l + w / 2) % w);
            dst[d] = v.re * scale;
            dst[d + 1] = v.im * scale;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;
    use ndarray::{Array, IxDyn};

    /// Seeded values in [−1, 1).
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2. - 1.
            })
            .collect()
    }

    fn random(shape: &[usize], seed: u64) -> Tensor {
        Tensor::from_vec(values(shape.iter().product(), seed), shape, &Device::Cpu).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f64> {
        t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap()
    }

    fn max_diff(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max)
    }

    const SHAPES: [&[usize]; 6] =
        [&[1, 1, 2], &[1, 5, 2], &[2, 3, 4, 6, 2], &[3, 5, 7, 2], &[1, 2, 13, 8, 2], &[2, 11, 17, 2]];

    /// Same numbers as `kspace::fft2c` / `ifft2c` (f32 and f64 kernels), odd and even sizes,
    /// batch and coil axes.
    #[test]
    fn equals_kspace_fft2c() {
        for (i, shape) in SHAPES.iter().enumerate() {
            let x = random(shape, i as u64);
            let v = flat(&x);
            let z: Vec<C32> = v.chunks_exact(2).map(|p| C32::new(p[0] as f32, p[1] as f32)).collect();
            let za = Array::from_shape_vec(IxDyn(&shape[..shape.len() - 1]), z).unwrap();
            for inverse in [false, true] {
                let want = if inverse { kspace::ifft2c(&za) } else { kspace::fft2c(&za) };
                let want: Vec<f64> = want.iter().flat_map(|c| [c.re as f64, c.im as f64]).collect();
                let f = |t: &Tensor| if inverse { ifft2c(t) } else { fft2c(t) }.unwrap();
                for dt in [DType::F32, DType::F64] {
                    let got = flat(&f(&x.to_dtype(dt).unwrap()));
                    let err = max_diff(&got, &want);
                    assert!(err < 2e-5, "{shape:?} inverse={inverse} {dt:?}: max error {err}");
                }
            }
        }
    }

    /// `ifft2c(fft2c(x)) = x`, `fft2c(ifft2c(x)) = x` and `‖fft2c(x)‖ = ‖x‖` (f64).
    #[test]
    fn round_trip_and_parseval() {
        for (i, shape) in SHAPES.iter().enumerate() {
            let x = random(shape, 100 + i as u64);
            let v = flat(&x);
            assert!(max_diff(&flat(&ifft2c(&fft2c(&x).unwrap()).unwrap()), &v) < 1e-12);
            assert!(max_diff(&flat(&fft2c(&ifft2c(&x).unwrap()).unwrap()), &v) < 1e-12);
            let norm = |t: &[f64]| t.iter().map(|a| a * a).sum::<f64>();
            let k = flat(&fft2c(&x).unwrap());
            assert!((norm(&k) - norm(&v)).abs() < 1e-12 * norm(&v), "{shape:?}");
        }
    }

    /// The custom op on a non-contiguous input (a transposed view) equals it on a copy.
    #[test]
    fn non_contiguous_input() {
        let x = random(&[5, 3, 4, 2], 7).transpose(0, 1).unwrap(); // (3, 5, 4, 2), strided
        assert!(!x.is_contiguous());
        let a = flat(&fft2c(&x).unwrap());
        let b = flat(&fft2c(&x.contiguous().unwrap()).unwrap());
        assert_eq!(a, b);
    }

    /// Central finite differences of `loss(x)` against the backward pass, every entry (f64).
    fn check_gradient(shape: &[usize], seed: u64, loss: impl Fn(&Tensor) -> Tensor) {
        let x0 = flat(&random(shape, seed));
        let x = Var::from_tensor(&Tensor::from_vec(x0.clone(), shape, &Device::Cpu).unwrap()).unwrap();
        let grads = loss(x.as_tensor()).backward().unwrap();
        let g = flat(grads.get(x.as_tensor()).expect("gradient of x"));
        let eval = |v: Vec<f64>| {
            loss(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap()).to_scalar::<f64>().unwrap()
        };
        let eps = 1e-5;
        for i in 0..x0.len() {
            let (mut p, mut m) = (x0.clone(), x0.clone());
            p[i] += eps;
            m[i] -= eps;
            let fd = (eval(p) - eval(m)) / (2. * eps);
            assert!(
                (fd - g[i]).abs() < 1e-7 * (1. + fd.abs()),
                "{shape:?} entry {i}: backward {} vs fd {fd}",
                g[i]
            );
        }
    }

    /// Gradient checks of both ops on a linear projection `Σ w ⊙ f(x)` and a nonlinear loss
    /// `Σ w ⊙ f(x)²` (a weighted, non-Parseval quadratic), odd and even sizes, two images.
    #[test]
    fn gradients_match_finite_differences() {
        for (s, shape) in [&[2, 3, 5, 2][..], &[1, 4, 4, 2], &[2, 1, 7, 2]].into_iter().enumerate() {
            let w = random(shape, 50 + s as u64);
            for inverse in [false, true] {
                let f = |t: &Tensor| if inverse { ifft2c(t) } else { fft2c(t) }.unwrap();
                check_gradient(shape, s as u64, |x| (f(x) * &w).unwrap().sum_all().unwrap());
                check_gradient(shape, 9 + s as u64, |x| {
                    (f(x).sqr().unwrap() * &w).unwrap().sum_all().unwrap()
                });
            }
        }
    }

    #[test]
    fn rejects_non_complex_shapes() {
        let x = Tensor::zeros((2, 3, 3), DType::F32, &Device::Cpu).unwrap();
        assert!(fft2c(&x).unwrap_err().to_string().contains("(…, H, W, 2)"));
        let x = Tensor::zeros((3, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(ifft2c(&x).is_err());
        let x = Tensor::zeros((2, 2, 2), DType::U32, &Device::Cpu).unwrap();
        assert!(fft2c(&x).unwrap_err().to_string().contains("f32 and f64"));
    }
}
