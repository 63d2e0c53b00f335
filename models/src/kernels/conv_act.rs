//! The 3×3 convolution with its bias and LeakyReLU fused,
//! `y = act(W ⋆ x + b)`, `act(u) = u` for `u ≥ 0`, `a·u` otherwise (`a = 0`: ReLU) — every
//! layer of the U-Net but the last, and RED30's encoder.
//!
//! Why fused: on the CPU (f32, AVX2 + FMA) the activation is applied as each output tile is
//! stored, so there is no pass over the activations and no second tensor; and the backward
//! makes one pass over the output gradient that applies the activation's derivative, sums the
//! bias gradient and writes the zero-padded planes that both the input gradient and the
//! weight gradient read — instead of a LeakyReLU-gradient pass, a bias-gradient pass and two
//! layout copies. The derivative is read from the output: for `a > 0`, `y ≥ 0 ⇔ u ≥ 0`
//! (exactly the stock op's rule); for `a = 0`, `y > 0 ⇔ u > 0` (the stock ReLU takes slope 1
//! at exactly `u = 0`, this takes 0).
//!
//! Elsewhere (f64, other CPUs, CUDA, `a < 0`) it is [`conv3x3`] followed by
//! [`leaky_relu`], the same numbers.

use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use crate::kernels::conv::conv3x3;
use crate::kernels::ops::leaky_relu;

/// `leaky_relu(conv3x3(x, w, b), slope)`: x (N, ci, H, W), w (co, ci, 3, 3), b (co).
pub fn conv3x3_leaky(x: &Tensor, w: &Tensor, b: &Tensor, slope: f64) -> Result<Tensor> {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::conv::fast_f32(x, w, b) && slope >= 0. {
        crate::kernels::conv::check_shapes(x, w, b)?;
        return x.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, Conv3x3Leaky(slope as f32));
    }
    leaky_relu(&conv3x3(x, w, b)?, slope)
}

/// The fused op (CPU, f32, AVX2 + FMA only; see [`conv3x3_leaky`]).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Conv3x3Leaky(f32);

#[cfg(target_arch = "x86_64")]
mod cpu {
    use super::*;
    use crate::kernels::conv::{fast, Geom};
    use crate::kernels::cpu::slice;
    use candle_core::Storage;
    use rayon::prelude::*;

    fn f32_data<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
        match s {
            CpuStorage::F32(v) => slice(v, l),
            _ => bail!("conv3x3-leaky: {what} is not f32"),
        }
    }

    /// Runs `f` on the contiguous f32 data of a CPU tensor.
    fn with_f32<R>(t: &Tensor, what: &str, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
        let (s, l) = t.storage_and_layout();
        match &*s {
            Storage::Cpu(c) => f(f32_data(c, l, what)?),
            _ => bail!("conv3x3-leaky: {what} is not on the CPU"),
        }
    }

    /// `∂y/∂u` of the activation, read from the output `y` (see the module docs).
    #[inline]
    fn slope_at(y: f32, a: f32) -> f32 {
        let on = if a > 0. { y >= 0. } else { y > 0. };
        if on {
            1.
        } else {
            a
        }
    }

    /// One pass over the output gradient: `gz = gy · act'(y)` written into zero-padded
    /// planes (`co` per image, one image every `g.padded_len(co)`), and the bias gradient
    /// `db[o] = Σ_{n,i,j} gz[n, o, i, j]` (summed per row, then over rows and images in
    /// order, so it does not depend on the thread count).
    pub(super) fn act_grad_padded(gy: &[f32], y: &[f32], co: usize, g: Geom, a: f32) -> (Vec<f32>, Vec<f32>) {
        let (hw, wp, plane, stride) = (g.h * g.w, g.wp(), g.plane(), g.padded_len(co));
        let mut gp = vec![0f32; g.n * stride];
        let sums: Vec<Vec<f64>> = gp
            .par_chunks_mut(stride)
            .enumerate()
            .map(|(img, d)| {
                d[..co * plane]
                    .par_chunks_mut(plane)
                    .enumerate()
                    .map(|(c, dp)| {
                        let base = (img * co + c) * hw;
                        let mut s = 0f64;
                        for r in 0..g.h {
                            let (gr, yr) = (&gy[base + r * g.w..][..g.w], &y[base + r * g.w..][..g.w]);
                            let dst = &mut dp[(r + 1) * wp + 1..][..g.w];
                            let mut lanes = [0f32; 8];
                            for (k, ((d, &gv), &yv)) in dst.iter_mut().zip(gr).zip(yr).enumerate() {
                                *d = gv * slope_at(yv, a);
                                lanes[k % 8] += *d;
                            }
                            s += lanes.iter().map(|&v| v as f64).sum::<f64>();
                        }
                        s
                    })
                    .collect()
            })
            .collect();
        let db = (0..co).map(|c| sums.iter().map(|s| s[c]).sum::<f64>() as f32).collect();
        (gp, db)
    }

    /// The padded gradient copied onto the grid layout (planes of `grid_len8`, junk zero),
    /// for widths where the padded planes cannot be read as the grid directly.
    fn padded_to_grid(gp: &[f32], co: usize, g: Geom) -> (Vec<f32>, usize) {
        let (lr, wp, stride) = (fast::grid_len8(g), g.wp(), g.padded_len(co));
        let mut gg = vec![0f32; g.n * co * lr];
        for (i, d) in gg.chunks_mut(co * lr).enumerate() {
            for c in 0..co {
                for r in 0..g.h {
                    let src = &gp[i * stride + c * g.plane() + (r + 1) * wp + 1..][..g.w];
                    d[c * lr + r * wp..][..g.w].copy_from_slice(src);
                }
            }
        }
        (gg, lr)
    }

    impl CustomOp3 for Conv3x3Leaky {
        fn name(&self) -> &'static str {
            "conv3x3-leaky"
        }

        fn cpu_fwd(
            &self,
            x: &CpuStorage,
            xl: &Layout,
            w: &CpuStorage,
            wl: &Layout,
            b: &CpuStorage,
            bl: &Layout,
        ) -> Result<(CpuStorage, Shape)> {
            let (n, ci, h, wd) = xl.shape().dims4()?;
            let co = wl.shape().dims4()?.0;
            let g = Geom { n, h, w: wd };
            let (x, w, b) = (f32_data(x, xl, "input")?, f32_data(w, wl, "weight")?, f32_data(b, bl, "bias")?);
            let y = fast::forward(x, w, b, ci, co, g, Some(self.0));
            Ok((CpuStorage::F32(y), Shape::from((n, co, h, wd))))
        }

        fn bwd(
            &self,
            x: &Tensor,
            w: &Tensor,
            b: &Tensor,
            y: &Tensor,
            gy: &Tensor,
        ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
            let (need_x, need_w, need_b) = (x.track_op(), w.track_op(), b.track_op());
            if !(need_x || need_w || need_b) {
                return Ok((None, None, None));
            }
            let gy = gy.contiguous()?;
            let (n, co, h, wd) = gy.dims4()?;
            let ci = x.dim(1)?;
            let (g, dev) = (Geom { n, h, w: wd }, gy.device().clone());
            let (gp, db) = with_f32(&gy, "gradient", |gv| {
                with_f32(y, "output", |yv| Ok(act_grad_padded(gv, yv, co, g, self.0)))
            })?;
            let stride = g.padded_len(co);
            let dx = if need_x {
                let v = with_f32(w, "weight", |wv| Ok(fast::input_grad_padded(&gp, stride, wv, ci, co, g)))?;
                Some(Tensor::from_vec(v, (n, ci, h, wd), &dev)?)
            } else {
                None
            };
            let dw = if need_w {
                let v = with_f32(x, "input", |xv| {
                    Ok(if fast::padded_is_grid(g) {
                        fast::weight_grad_grid(&gp[g.wp() + 1..], stride, g.plane(), xv, ci, co, g)
                    } else {
                        let (gg, lr) = padded_to_grid(&gp, co, g);
                        fast::weight_grad_grid(&gg, co * lr, lr, xv, ci, co, g)
                    })
                })?;
                Some(Tensor::from_vec(v, (co, ci, 3, 3), &dev)?)
            } else {
                None
            };
            let db = if need_b { Some(Tensor::from_vec(db, co, &dev)?) } else { None };
            Ok((dx, dw, db))
        }
    }
}
