//! The multi-coil SENSE forward model inside the candle graph, differentiable, on complex
//! tensors stored as `(…, 2)` real tensors (`(re, im)` in the last axis, as [`crate::fft`]).
//!
//! With an image `x` `(N, 1, H, W, 2)`, coil maps `S` `(N, C, H, W, 2)` and a 0/1 sampling
//! mask `M` `(N, 1, H, W, 1)` (broadcast over coils and re/im):
//! ```text
//! expand(x, S)      = S_c · x                     (N, C, H, W, 2)  coil images
//! reduce(z, S)      = Σ_c conj(S_c) · z_c         (N, 1, H, W, 2)
//! forward_op(x)     = A x  = M · F (S x)          k-space
//! adjoint_op(k)     = Aᴴ k = Sᴴ Fᴴ (M · k)        image
//! ```
//! `F` is the centred orthonormal 2-D DFT ([`crate::fft::fft2c`]), so this is
//! [`kspace::operator::SenseOperator`] (one map set) on batches, and `adjoint_op` is the exact
//! adjoint of `forward_op`: `⟨A x, y⟩ = ⟨x, Aᴴ y⟩`. Every function here is made of candle ops
//! and the FFT custom op, so gradients flow to `x` (and to `k`); maps and masks are data.

use candle_core::{bail, Result, Tensor, D};

use crate::fft::{fft2c, ifft2c};

/// Real and imaginary parts `(…, 1)` of a complex tensor `(…, 2)`.
pub fn re_im(x: &Tensor) -> Result<(Tensor, Tensor)> {
    if x.dims().last() != Some(&2) {
        bail!("complex tensor expected (…, 2), got shape {:?}", x.dims())
    }
    Ok((x.narrow(D::Minus1, 0, 1)?, x.narrow(D::Minus1, 1, 1)?))
}

/// The complex tensor `(…, 2)` of real and imaginary parts `(…, 1)`.
pub fn complex(re: &Tensor, im: &Tensor) -> Result<Tensor> {
    Tensor::cat(&[re, im], D::Minus1)
}

/// `a · b`, complex, with broadcasting over the leading axes:
/// `(ar·br − ai·bi, ar·bi + ai·br)`.
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let ((ar, ai), (br, bi)) = (re_im(a)?, re_im(b)?);
    let re = ar.broadcast_mul(&br)?.broadcast_sub(&ai.broadcast_mul(&bi)?)?;
    let im = ar.broadcast_mul(&bi)?.broadcast_add(&ai.broadcast_mul(&br)?)?;
    complex(&re, &im)
}

/// `conj(a) · b`, complex, with broadcasting: `(ar·br + ai·bi, ar·bi − ai·br)`.
pub fn conj_mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let ((ar, ai), (br, bi)) = (re_im(a)?, re_im(b)?);
    let re = ar.broadcast_mul(&br)?.broadcast_add(&ai.broadcast_mul(&bi)?)?;
    let im = ar.broadcast_mul(&bi)?.broadcast_sub(&ai.broadcast_mul(&br)?)?;
    complex(&re, &im)
}

/// Checks `x` `(N, 1, H, W, 2)` against maps `(N, C, H, W, 2)`.
fn check_image(what: &str, x: &Tensor, maps: &Tensor) -> Result<()> {
    let (n, c, h, w, two) = maps.dims5()?;
    let (xn, xc, xh, xw, x2) = x.dims5()?;
    if two != 2 || x2 != 2 || xc != 1 || (xn, xh, xw) != (n, h, w) || c == 0 {
        bail!(
            "{what}: image {:?} does not fit maps {:?} (want (N, 1, H, W, 2), (N, C, H, W, 2))",
            x.dims(),
            maps.dims()
        )
    }
    Ok(())
}

/// Checks coil data `z` `(N, C, H, W, 2)` against maps of the same shape, and the mask
/// `(N, 1, H, W, 1)` when given.
fn check_coils(what: &str, z: &Tensor, maps: &Tensor, mask: Option<&Tensor>) -> Result<()> {
    if z.dims() != maps.dims() || maps.rank() != 5 || maps.dims()[4] != 2 {
        bail!("{what}: coil data {:?} does not match maps {:?} (want (N, C, H, W, 2))", z.dims(), maps.dims())
    }
    if let Some(m) = mask {
        let d = maps.dims();
        if m.dims() != [d[0], 1, d[2], d[3], 1] {
            bail!("{what}: mask {:?} should be (N, 1, H, W, 1) = {:?}", m.dims(), [d[0], 1, d[2], d[3], 1])
        }
    }
    Ok(())
}

/// Coil images `S_c · x`: image `(N, 1, H, W, 2)` × maps `(N, C, H, W, 2)` → `(N, C, H, W, 2)`.
/// On the CPU (f32/f64) one fused pass ([`kernels`]) whose backward is [`reduce`]; elsewhere
/// [`mul`].
pub fn expand(x: &Tensor, maps: &Tensor) -> Result<Tensor> {
    check_image("expand", x, maps)?;
    if kernels::fused(&[x, maps]) {
        x.contiguous()?.apply_op2(&maps.contiguous()?, kernels::Fused::Expand)
    } else {
        mul(maps, x)
    }
}

/// Coil combination `Σ_c conj(S_c) · z_c`: `(N, C, H, W, 2)` → `(N, 1, H, W, 2)` (the adjoint
/// of [`expand`], and its backward; CPU: one fused pass).
pub fn reduce(z: &Tensor, maps: &Tensor) -> Result<Tensor> {
    check_coils("reduce", z, maps, None)?;
    if kernels::fused(&[z, maps]) {
        z.contiguous()?.apply_op2(&maps.contiguous()?, kernels::Fused::Reduce)
    } else {
        conj_mul(maps, z)?.sum_keepdim(1)
    }
}

/// `M · k` for coil data `(N, C, H, W, 2)` and a 0/1 (or real) mask `(N, 1, H, W, 1)`,
/// broadcast over coils and re/im. Self-adjoint, so its backward is itself (CPU: one pass).
pub fn apply_mask(k: &Tensor, mask: &Tensor) -> Result<Tensor> {
    if kernels::fused(&[k, mask]) && !mask.track_op() {
        k.contiguous()?.apply_op2(&mask.contiguous()?, kernels::Fused::Mask)
    } else {
        k.broadcast_mul(mask)
    }
}

/// `A x = M · F(S x)`: image `(N, 1, H, W, 2)` → masked coil k-space `(N, C, H, W, 2)`.
pub fn forward_op(x: &Tensor, maps: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let k = fft2c(&expand(x, maps)?)?;
    check_coils("forward_op", &k, maps, Some(mask))?;
    apply_mask(&k, mask)
}

/// `Aᴴ k = Σ_c conj(S_c) · F⁻¹(M · k_c)`: coil k-space `(N, C, H, W, 2)` → image
/// `(N, 1, H, W, 2)` (k outside the mask is ignored).
pub fn adjoint_op(k: &Tensor, maps: &Tensor, mask: &Tensor) -> Result<Tensor> {
    check_coils("adjoint_op", k, maps, Some(mask))?;
    reduce(&ifft2c(&apply_mask(k, mask)?)?, maps)
}

/// The complex image `(N, 1, H, W, 2)` as a two-channel real image `(N, 2, H, W)` (channel 0
/// real, 1 imaginary), the layout of the convolutional networks.
pub fn to_channels(x: &Tensor) -> Result<Tensor> {
    let (n, one, h, w, two) = x.dims5()?;
    if one != 1 || two != 2 {
        bail!("to_channels: expected (N, 1, H, W, 2), got {:?}", x.dims())
    }
    x.reshape((n, h, w, 2))?.permute((0, 3, 1, 2))?.contiguous()
}

/// The inverse of [`to_channels`]: `(N, 2, H, W)` → `(N, 1, H, W, 2)`.
pub fn from_channels(x: &Tensor) -> Result<Tensor> {
    let (n, two, h, w) = x.dims4()?;
    if two != 2 {
        bail!("from_channels: expected (N, 2, H, W), got {:?}", x.dims())
    }
    x.permute((0, 2, 3, 1))?.contiguous()?.reshape((n, 1, h, w, 2))
}

/// Fused CPU kernels (f32 / f64) of [`expand`], [`reduce`] and [`apply_mask`] as candle custom
/// ops: one parallel pass each instead of candle's single-threaded strided elementwise ops on
/// the re/im views (about ten passes per complex product). `Expand` and `Reduce` are each
/// other's adjoint, hence each other's backward; the mask is its own.
mod kernels {
    use candle_core::{bail, CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor, WithDType};
    use rayon::prelude::*;

    /// Complex samples per parallel task.
    const CHUNK: usize = 16384;

    /// Whether the fused CPU kernels apply: all on the CPU, all f32 or all f64.
    pub(super) fn fused(ts: &[&Tensor]) -> bool {
        let dt = ts[0].dtype();
        matches!(dt, DType::F32 | DType::F64) && ts.iter().all(|t| t.device().is_cpu() && t.dtype() == dt)
    }

    fn data<'a, T>(v: &'a [T], l: &Layout) -> Result<&'a [T]> {
        match l.contiguous_offsets() {
            Some((a, b)) => Ok(&v[a..b]),
            None => bail!("sense kernel: non-contiguous layout {l:?}"),
        }
    }

    /// `(N, C, H·W)` of a `(N, C, H, W, ·)` layout.
    fn ncp(l: &Layout) -> (usize, usize, usize) {
        let d = l.dims();
        (d[0], d[1], d[2] * d[3])
    }

    /// Runs a generic kernel on two storages of the same float dtype.
    macro_rules! dispatch {
        ($s1:expr, $l1:expr, $s2:expr, $l2:expr, $f:ident, $($arg:expr),*) => {
            match ($s1, $s2) {
                (CpuStorage::F32(a), CpuStorage::F32(b)) => CpuStorage::F32($f(data(a, $l1)?, data(b, $l2)?, $($arg),*)),
                (CpuStorage::F64(a), CpuStorage::F64(b)) => CpuStorage::F64($f(data(a, $l1)?, data(b, $l2)?, $($arg),*)),
                _ => bail!("sense kernel: f32 or f64, both the same"),
            }
        };
    }

    /// `z[b, c] = s[b, c] · x[b]` per complex sample.
    fn expand<T: WithDType>(x: &[T], s: &[T], c: usize, p: usize) -> Vec<T> {
        let mut z = vec![T::zero(); s.len()];
        z.par_chunks_mut(2 * p).enumerate().for_each(|(bc, zp)| {
            let (sp, xp) = (&s[bc * 2 * p..], &x[bc / c * 2 * p..]);
            zp.par_chunks_mut(2 * CHUNK).enumerate().for_each(|(j, zc)| {
                let o = j * 2 * CHUNK;
                let pairs = sp[o..].chunks_exact(2).zip(xp[o..].chunks_exact(2));
                for (z, (s, x)) in zc.chunks_exact_mut(2).zip(pairs) {
                    z[0] = s[0] * x[0] - s[1] * x[1];
                    z[1] = s[0] * x[1] + s[1] * x[0];
                }
            })
        });
        z
    }

    /// `x[b] = Σ_c conj(s[b, c]) · z[b, c]` per complex sample.
    fn reduce<T: WithDType>(z: &[T], s: &[T], c: usize, p: usize) -> Vec<T> {
        let mut x = vec![T::zero(); z.len() / c];
        x.par_chunks_mut(2 * p).enumerate().for_each(|(b, xp)| {
            xp.par_chunks_mut(2 * CHUNK).enumerate().for_each(|(j, xc)| {
                for ci in 0..c {
                    let o = (b * c + ci) * 2 * p + j * 2 * CHUNK;
                    let pairs = s[o..].chunks_exact(2).zip(z[o..].chunks_exact(2));
                    for (x, (s, z)) in xc.chunks_exact_mut(2).zip(pairs) {
                        x[0] += s[0] * z[0] + s[1] * z[1];
                        x[1] += s[0] * z[1] - s[1] * z[0];
                    }
                }
            })
        });
        x
    }

    /// `y[b, c] = m[b] · k[b, c]` (m real, one value per sample).
    fn mask<T: WithDType>(k: &[T], m: &[T], c: usize, p: usize) -> Vec<T> {
        let mut y = vec![T::zero(); k.len()];
        y.par_chunks_mut(2 * p).enumerate().for_each(|(bc, yp)| {
            let (kp, mp) = (&k[bc * 2 * p..], &m[bc / c * p..]);
            for ((y, k), &m) in yp.chunks_exact_mut(2).zip(kp.chunks_exact(2)).zip(mp) {
                y[0] = k[0] * m;
                y[1] = k[1] * m;
            }
        });
        y
    }

    /// The three fused ops; see [`super::expand`], [`super::reduce`], [`super::apply_mask`].
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Fused {
        /// (x (N,1,H,W,2), maps (N,C,H,W,2)) → (N,C,H,W,2).
        Expand,
        /// (z (N,C,H,W,2), maps (N,C,H,W,2)) → (N,1,H,W,2).
        Reduce,
        /// (k (N,C,H,W,2), mask (N,1,H,W,1)) → (N,C,H,W,2).
        Mask,
    }

    impl CustomOp2 for Fused {
        fn name(&self) -> &'static str {
            match self {
                Self::Expand => "sense-expand",
                Self::Reduce => "sense-reduce",
                Self::Mask => "sense-mask",
            }
        }

        fn cpu_fwd(
            &self,
            s1: &CpuStorage,
            l1: &Layout,
            s2: &CpuStorage,
            l2: &Layout,
        ) -> Result<(CpuStorage, Shape)> {
            // The coil data's (N, C, H·W): the maps for Expand / Reduce, the k-space for Mask.
            let (n, c, p) = ncp(if matches!(self, Self::Mask) { l1 } else { l2 });
            let d = l1.dims();
            Ok(match self {
                Self::Expand => (dispatch!(s1, l1, s2, l2, expand, c, p), l2.shape().clone()),
                Self::Reduce => (dispatch!(s1, l1, s2, l2, reduce, c, p), Shape::from((n, 1, d[2], d[3], 2))),
                Self::Mask => (dispatch!(s1, l1, s2, l2, mask, c, p), l1.shape().clone()),
            })
        }

        fn bwd(
            &self,
            a: &Tensor,
            b: &Tensor,
            _: &Tensor,
            g: &Tensor,
        ) -> Result<(Option<Tensor>, Option<Tensor>)> {
            // Expand z_c = s_c·x: d/dx = Σ_c conj(s_c)·g_c, d/ds_c = conj(x)·g_c.
            // Reduce x = Σ_c conj(s_c)·z_c: d/dz_c = s_c·g, d/ds_c = conj(g)·z_c.
            // The maps' gradient only when they are trained; the mask is data.
            Ok(match self {
                Self::Expand => {
                    let dmaps = if b.track_op() { Some(super::conj_mul(a, g)?) } else { None };
                    (Some(super::reduce(g, b)?), dmaps)
                }
                Self::Reduce => {
                    let dmaps = if b.track_op() { Some(super::conj_mul(g, a)?) } else { None };
                    (Some(super::expand(g, b)?), dmaps)
                }
                Self::Mask => (Some(super::apply_mask(g, b)?), None),
            })
        }
    }
}
