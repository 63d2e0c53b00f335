//! Differentiable building blocks with backward passes we have checked against finite
//! differences (see `tests/grad.rs`).
//!
//! Why not candle's own ops: in candle 0.11.1
//! - `Tensor::max_pool2d`'s backward scales the gradient by the *fraction* of maxima in the
//!   window (1/4 for a unique maximum) instead of routing it to the maximum;
//! - `Tensor::upsample_nearest2d`'s backward *overwrites* the argument's accumulated gradient
//!   (`*sum_grad = conv_sum`) instead of adding to it, so any other path into the same tensor
//!   loses its gradient.
//!
//! Both are rebuilt here: on the CPU as single-pass custom kernels with explicit backward
//! passes (`cpu.rs`), elsewhere from reshape / broadcast / reductions / elementwise
//! ops whose backward passes in `candle-core/src/backprop.rs` are plain sums and products
//! (the `*_composite` functions, also gradient-checked on the CPU).

use candle_core::{bail, DType, Result, Tensor};

/// 2×2 max-pool with stride 2 on an NCHW tensor with even H and W:
/// `y[n,c,i,j] = max(x[n,c,2i..2i+2, 2j..2j+2])`.
///
/// Backward: the gradient goes to the window's maximum; k tied maxima get `g/k` each (a
/// valid subgradient, like `torch.amax`). Ties are common here: zero biases at
/// initialisation and constant padded regions give equal values. candle's own `max`
/// backward (`Reduce(Max)`) would hand the *full* gradient to every tied element, which
/// over-counts a k-way tie k-fold.
///
/// On the CPU (f32/f64) this is a single-pass custom kernel; elsewhere it is
/// [`max_pool2x2_composite`], the same function built from candle ops.
pub fn max_pool2x2(x: &Tensor) -> Result<Tensor> {
    if is_cpu_float(x) {
        x.contiguous()?.apply_op1(crate::kernels::cpu::MaxPool2)
    } else {
        max_pool2x2_composite(x)
    }
}

/// [`max_pool2x2`] from candle ops (any device). Forward on the view (N,C,H/2,2,W/2,2):
/// `m = max over the two size-2 axes`. Gradient: a detached weight `w = [x == m] / count`
/// and `s = Σ w·x`; the value returned is `m + (s − detach(s))`, exactly `m` forward, with
/// the backward of `s` (gradient `w·g`: even split among ties).
pub fn max_pool2x2_composite(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if h % 2 != 0 || w % 2 != 0 {
        bail!("max_pool2x2 needs even H and W, got {h}x{w}")
    }
    let x6 = x.reshape((n, c, h / 2, 2, w / 2, 2))?;
    let xd = x6.detach();
    let m = xd.max_keepdim(5)?.max_keepdim(3)?;
    if !x.track_op() {
        return m.reshape((n, c, h / 2, w / 2));
    }
    let mask = xd.broadcast_eq(&m)?.to_dtype(x.dtype())?;
    let count = mask.sum_keepdim(5)?.sum_keepdim(3)?;
    let weights = mask.broadcast_div(&count)?;
    let s = x6.mul(&weights)?.sum_keepdim(5)?.sum_keepdim(3)?;
    let y = m.add(&s.sub(&s.detach())?)?;
    y.reshape((n, c, h / 2, w / 2))
}

/// Nearest-neighbour ×2 upsampling of an NCHW tensor: `y[n,c,i,j] = x[n,c,i/2,j/2]`;
/// backward `∂L/∂x[i,j] = Σ_{a,b∈{0,1}} g[2i+a, 2j+b]`, added to any gradient the argument
/// already has. CPU (f32/f64): single-pass kernel; elsewhere
/// [`upsample_nearest2x_composite`].
pub fn upsample_nearest2x(x: &Tensor) -> Result<Tensor> {
    if is_cpu_float(x) {
        x.contiguous()?.apply_op1(crate::kernels::cpu::Upsample2)
    } else {
        upsample_nearest2x_composite(x)
    }
}

/// [`upsample_nearest2x`] from candle ops (any device): reshape (N,C,H,1,W,1) → broadcast
/// (N,C,H,2,W,2) → reshape (N,C,2H,2W); the backward of a broadcast sums the four copies.
pub fn upsample_nearest2x_composite(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    x.reshape((n, c, h, 1, w, 1))?.broadcast_as((n, c, h, 2, w, 2))?.reshape((n, c, 2 * h, 2 * w))
}

/// LeakyReLU: `f(x) = x` for `x ≥ 0`, `slope·x` otherwise (the paper uses slope 0.1);
/// derivative `1` for `x ≥ 0`, `slope` otherwise. CPU (f32/f64): fused kernel; elsewhere
/// [`leaky_relu_composite`].
pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    if is_cpu_float(x) {
        x.contiguous()?.apply_op1(crate::kernels::cpu::LeakyRelu(slope))
    } else {
        leaky_relu_composite(x, slope)
    }
}

/// `slope·x + (1 − slope)·relu(x)` (candle's relu backward uses `x ≥ 0`, so the derivative
/// at exactly 0 is 1, as in the kernel).
pub fn leaky_relu_composite(x: &Tensor, slope: f64) -> Result<Tensor> {
    x.affine(slope, 0.)?.add(&x.relu()?.affine(1. - slope, 0.)?)
}

fn is_cpu_float(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)
}

/// How [`pad_bottom_right`] fills the added rows/columns.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// Mirror without repeating the edge (numpy `reflect`): `… x2 x1 | x0 x1 x2 …`,
    /// periodic with period 2(n−1) when the pad exceeds the size.
    Reflect,
    /// A constant value (0 for zero padding; −0.5 is the background of [−0.5, 0.5] images).
    Constant(f64),
}

/// Index of the numpy-`reflect` extension of a length-`n` axis at position `i ≥ 0`.
pub fn reflect_index(i: usize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i % period;
    if m < n {
        m
    } else {
        period - m
    }
}

/// Pads an NCHW tensor with `ph` rows at the bottom and `pw` columns at the right (the
/// top-left pixel stays at the origin, as in the Noise2Noise code). Differentiable: reflect
/// is an `index_select` (backward: `index_add`), constant is a zero pad of `x − v` plus `v`.
pub fn pad_bottom_right(x: &Tensor, ph: usize, pw: usize, fill: PadMode) -> Result<Tensor> {
    if ph == 0 && pw == 0 {
        return Ok(x.clone());
    }
    let (_, _, h, w) = x.dims4()?;
    match fill {
        PadMode::Reflect => {
            let mut y = x.clone();
            for (dim, n, p) in [(2, h, ph), (3, w, pw)] {
                if p > 0 {
                    let idx: Vec<u32> = (0..n + p).map(|i| reflect_index(i, n) as u32).collect();
                    let idx = Tensor::from_vec(idx, n + p, x.device())?;
                    y = y.index_select(&idx, dim)?;
                }
            }
            Ok(y)
        }
        PadMode::Constant(v) => {
            let y = if v == 0. { x.clone() } else { x.affine(1., -v)? };
            let y = y.pad_with_zeros(2, 0, ph)?.pad_with_zeros(3, 0, pw)?;
            if v == 0. {
                Ok(y)
            } else {
                y.affine(1., v)
            }
        }
    }
}

/// The smallest multiple of `m` that is ≥ `n`.
pub fn round_up(n: usize, m: usize) -> usize {
    n.div_ceil(m) * m
}
