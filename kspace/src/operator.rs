//! The multi-coil Cartesian forward model shared by every reconstruction (SENSE, compressed
//! sensing, and later the unrolled networks): Pruessmann et al., "SENSE: sensitivity encoding
//! for fast MRI", MRM 42 (1999); the ESPIRiT form with several map sets, Uecker et al.,
//! MRM 71 (2014), eq. 16.
//!
//! For an image `x` of `M` map sets `(M, H, W)` (M = 1 for ordinary SENSE), maps `S`
//! `(M, C, H, W)` and a sampling pattern `P` (0/1 per k-space bin):
//!
//! - forward  `A x = P · F · Σ_m S_m x_m`   → k-space `(C, H, W)`,
//! - adjoint  `Aᴴ y = (conj(S_m,c) · F⁻¹(P · y_c))` summed over coils `c` → `(M, H, W)`,
//! - normal   `AᴴA x`, with one FFT pair per coil and no intermediate k-space array.
//!
//! `F` is the centred orthonormal 2-D FFT ([`crate::fft2c`]), so `‖A‖ ≤ 1` when
//! `Σ_{m,c} |S_{m,c}|² ≤ 1` per pixel (normalised maps), and `Aᴴ` is the exact adjoint:
//! `⟨A x, y⟩ = ⟨x, Aᴴ y⟩`. Coils are processed in parallel (rayon) with serial FFTs when there
//! are at least as many coils as threads, otherwise one coil at a time with the FFT itself
//! parallel. The FFT plan is made once (shared, cached) and the per-coil buffer is reused.

mod complex;
mod grid;
mod lines;
mod rader;
pub use grid::GridNormal;
pub use lines::{LineAxis, LineNormal};

use crate::fft::{global_planner, Fft2c};
use crate::{KspaceError, Result, SamplingMask, C32};
use ndarray::{Array2, Array3, Array4, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis, Zip};
use rayon::prelude::*;
use std::sync::Arc;

const ZERO: C32 = C32::new(0.0, 0.0);

/// `A = P·F·S` for one slice; see the module docs.
#[derive(Debug, Clone)]
pub struct SenseOperator {
    maps: Array4<C32>,
    mask: SamplingMask,
    pattern: Array2<f32>,
    plan: Arc<Fft2c>,
    /// Per-coil work buffer `(C, H, W)`, reused by every application.
    work: Array3<C32>,
    /// The 1-D normal operator when the pattern depends on one axis only ([`LineNormal`]).
    lines: Option<LineNormal>,
    /// The fused 2-D normal operator otherwise ([`GridNormal`]).
    grid: Option<GridNormal>,
}

impl SenseOperator {
    /// One map set: `maps` `(C, H, W)`, the sampled bins from `mask.keep`.
    pub fn new(maps: Array3<C32>, mask: &SamplingMask) -> Result<Self> {
        Self::with_map_sets(maps.insert_axis(Axis(0)), mask)
    }

    /// Several map sets (ESPIRiT `-m 2`): `maps` `(M, C, H, W)`; images are `(M, H, W)`.
    pub fn with_map_sets(maps: Array4<C32>, mask: &SamplingMask) -> Result<Self> {
        let (m, c, h, w) = maps.dim();
        if m == 0 || c == 0 || h == 0 || w == 0 {
            return Err(KspaceError::InvalidParameter(format!(
                "SENSE operator needs ≥ 1 map set, ≥ 1 coil and a non-empty grid, got maps {:?}",
                maps.shape()
            )));
        }
        if mask.shape() != (h, w) {
            return Err(KspaceError::Shape(format!(
                "mask {:?} does not match maps ({h}, {w})",
                mask.shape()
            )));
        }
        if maps.iter().any(|z| !z.re.is_finite() || !z.im.is_finite()) {
            return Err(KspaceError::InvalidParameter("sensitivity maps contain NaN or Inf".into()));
        }
        let pattern = mask.keep.mapv(|k| if k { 1.0 } else { 0.0 });
        let plan = global_planner().plan(h, w);
        let maps = if maps.is_standard_layout() { maps } else { maps.as_standard_layout().into_owned() };
        let lines = LineNormal::new(mask);
        let grid = if lines.is_none() { Some(GridNormal::new(mask, &maps)) } else { None };
        let work = Array3::zeros((c, h, w));
        Ok(SenseOperator { work, maps, mask: mask.clone(), pattern, plan, lines, grid })
    }

    /// Coils C.
    pub fn coils(&self) -> usize {
        self.maps.dim().1
    }

    /// Map sets M.
    pub fn map_sets(&self) -> usize {
        self.maps.dim().0
    }

    /// Grid (H, W).
    pub fn grid(&self) -> (usize, usize) {
        let (_, _, h, w) = self.maps.dim();
        (h, w)
    }

    /// Shape of an image `(M, H, W)`.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        let (m, _, h, w) = self.maps.dim();
        (m, h, w)
    }

    /// Shape of k-space `(C, H, W)`.
    pub fn kspace_shape(&self) -> (usize, usize, usize) {
        let (_, c, h, w) = self.maps.dim();
        (c, h, w)
    }

    /// The sensitivity maps `(M, C, H, W)`.
    pub fn maps(&self) -> &Array4<C32> {
        &self.maps
    }

    /// The mask the operator samples with.
    pub fn mask(&self) -> &SamplingMask {
        &self.mask
    }

    /// The sampling pattern `P` (1 sampled, 0 not).
    pub fn pattern(&self) -> &Array2<f32> {
        &self.pattern
    }

    fn check(&self, what: &str, got: &[usize], want: (usize, usize, usize)) -> Result<()> {
        if got != [want.0, want.1, want.2] {
            return Err(KspaceError::Shape(format!("{what}: got {got:?}, expected {want:?}")));
        }
        Ok(())
    }

    /// `y = A x`: k-space `(C, H, W)` of image `x` `(M, H, W)`.
    pub fn forward(&mut self, x: &ArrayView3<C32>, y: &mut ArrayViewMut3<C32>) -> Result<()> {
        self.check("forward image", x.shape(), self.image_shape())?;
        self.check("forward k-space", y.shape(), self.kspace_shape())?;
        let (maps, pat, plan) = (&self.maps, &self.pattern, &*self.plan);
        for_each_coil(y.view_mut(), |c, mut yc, par| {
            coil_image(maps, c, x, &mut yc);
            fft(plan, &mut yc, true, par);
            Zip::from(&mut yc).and(pat).for_each(|v, &p| *v *= p);
        });
        Ok(())
    }

    /// `x = Aᴴ y`: image `(M, H, W)` of k-space `y` `(C, H, W)` (y outside `P` is ignored).
    pub fn adjoint(&mut self, y: &ArrayView3<C32>, x: &mut ArrayViewMut3<C32>) -> Result<()> {
        self.check("adjoint k-space", y.shape(), self.kspace_shape())?;
        self.check("adjoint image", x.shape(), self.image_shape())?;
        let (pat, plan) = (&self.pattern, &*self.plan);
        self.work.assign(y);
        for_each_coil(self.work.view_mut(), |_, mut wc, par| {
            Zip::from(&mut wc).and(pat).for_each(|v, &p| *v *= p);
            fft(plan, &mut wc, false, par);
        });
        combine_coils(&self.maps, &self.work, x);
        Ok(())
    }

    /// `x_out = (AᴴA + λ I) x` (λ = 0: the normal operator). Only one coil image per coil is
    /// held, never the k-space. For a pattern that depends on one axis only, 1-D FFTs along
    /// that axis ([`LineNormal`]); otherwise, with at least as many coils as threads, one fused
    /// pass per coil ([`GridNormal`]). Both equal the 2-D form up to float rounding.
    pub fn normal(&mut self, x: &ArrayView3<C32>, lambda: f32, out: &mut ArrayViewMut3<C32>) -> Result<()> {
        self.check("normal image", x.shape(), self.image_shape())?;
        self.check("normal output", out.shape(), self.image_shape())?;
        if let Some(lines) = &self.lines {
            if lines.apply(&self.maps, x, lambda, out) {
                return Ok(());
            }
        }
        let nc = self.coils();
        if let (Some(grid), Some(s), Some(xs)) = (&mut self.grid, self.maps.as_slice(), x.as_slice()) {
            if let (true, Some(o)) = (nc >= rayon::current_num_threads(), out.as_slice_mut()) {
                grid.apply(s, xs, self.maps.dim().0, lambda, o);
                return Ok(());
            }
        }
        self.normal_2d(x, lambda, out)
    }

    /// Whether [`SenseOperator::normal`] runs 1-D FFTs (and along which axis).
    pub fn line_axis(&self) -> Option<LineAxis> {
        self.lines.as_ref().map(|l| l.axis())
    }

    /// [`SenseOperator::normal`] with 2-D FFTs whatever the pattern (the reference the 1-D
    /// form is tested against).
    pub fn normal_2d(
        &mut self,
        x: &ArrayView3<C32>,
        lambda: f32,
        out: &mut ArrayViewMut3<C32>,
    ) -> Result<()> {
        self.check("normal image", x.shape(), self.image_shape())?;
        self.check("normal output", out.shape(), self.image_shape())?;
        let (maps, pat, plan) = (&self.maps, &self.pattern, &*self.plan);
        for_each_coil(self.work.view_mut(), |c, mut wc, par| {
            coil_image(maps, c, x, &mut wc);
            fft(plan, &mut wc, true, par);
            Zip::from(&mut wc).and(pat).for_each(|v, &p| *v *= p);
            fft(plan, &mut wc, false, par);
        });
        combine_coils(&self.maps, &self.work, out);
        if lambda != 0.0 {
            Zip::from(out).and(x).par_for_each(|o, &v| *o += v * lambda);
        }
        Ok(())
    }

    /// Allocating conveniences around [`SenseOperator::forward`] / [`SenseOperator::adjoint`].
    pub fn apply(&mut self, x: &ArrayView3<C32>) -> Result<Array3<C32>> {
        let mut y = Array3::zeros(self.kspace_shape());
        self.forward(x, &mut y.view_mut())?;
        Ok(y)
    }

    /// `Aᴴ y`, allocated.
    pub fn apply_adjoint(&mut self, y: &ArrayView3<C32>) -> Result<Array3<C32>> {
        let mut x = Array3::zeros(self.image_shape());
        self.adjoint(y, &mut x.view_mut())?;
        Ok(x)
    }

    /// The largest eigenvalue of `AᴴA` (`‖A‖²`) by `iters` power iterations from a fixed
    /// pseudo-random start: the Lipschitz constant of the data term's gradient, which sets the
    /// FISTA step `1/L` (BART `pics -e`).
    pub fn max_eigenvalue(&mut self, iters: usize) -> Result<f32> {
        let shape = self.image_shape();
        let mut x = Array3::from_shape_fn(shape, |(m, i, j)| {
            let h = (m * 7919 + i * 104729 + j * 1299709) as u32;
            let v = h.wrapping_mul(2654435761);
            C32::new((v >> 16) as f32 / 65536.0 - 0.5, (v & 0xffff) as f32 / 65536.0 - 0.5)
        });
        let mut ax = Array3::zeros(shape);
        let mut lam = 0.0f32;
        for _ in 0..iters.max(1) {
            let n = norm(&x.view());
            if n == 0.0 {
                return Ok(0.0);
            }
            x.mapv_inplace(|z| z / n);
            self.normal(&x.view(), 0.0, &mut ax.view_mut())?;
            lam = dot(&x.view(), &ax.view()).re as f32;
            std::mem::swap(&mut x, &mut ax);
        }
        Ok(lam)
    }
}

/// `⟨a, b⟩ = Σ conj(a)·b` (f64 accumulation).
pub fn dot(a: &ArrayView3<C32>, b: &ArrayView3<C32>) -> num_complex::Complex64 {
    Zip::from(a).and(b).par_fold(
        || num_complex::Complex64::new(0.0, 0.0),
        |acc, x, y| {
            let p = x.conj() * y;
            acc + num_complex::Complex64::new(p.re as f64, p.im as f64)
        },
        |a, b| a + b,
    )
}

/// `‖a‖₂` (f64 accumulation).
pub fn norm(a: &ArrayView3<C32>) -> f32 {
    a.as_slice_memory_order()
        .map(|s| s.par_iter().map(|z| z.norm_sqr() as f64).sum::<f64>())
        .unwrap_or_else(|| a.iter().map(|z| z.norm_sqr() as f64).sum::<f64>())
        .sqrt() as f32
}

/// Run `f(c, image_c, fft_parallel)` for every coil image of `buf` `(C, H, W)`: coils in
/// parallel when there are enough of them, else sequential with a parallel FFT inside.
fn for_each_coil<F>(mut buf: ArrayViewMut3<C32>, f: F)
where
    F: Fn(usize, ArrayViewMut2<C32>, bool) + Sync,
{
    let c = buf.len_of(Axis(0));
    if c >= rayon::current_num_threads() {
        buf.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, v)| f(i, v, false));
    } else {
        buf.axis_iter_mut(Axis(0)).enumerate().for_each(|(i, v)| f(i, v, true));
    }
}

/// `dst = Σ_m S_{m,c} · x_m` for coil `c`.
fn coil_image(maps: &Array4<C32>, c: usize, x: &ArrayView3<C32>, dst: &mut ArrayViewMut2<C32>) {
    Zip::from(&mut *dst)
        .and(&maps.index_axis(Axis(0), 0).index_axis(Axis(0), c))
        .and(&x.index_axis(Axis(0), 0))
        .for_each(|d, &s, &v| *d = s * v);
    for m in 1..maps.dim().0 {
        let s = maps.index_axis(Axis(0), m);
        Zip::from(&mut *dst)
            .and(&s.index_axis(Axis(0), c))
            .and(&x.index_axis(Axis(0), m))
            .for_each(|d, &s, &v| *d += s * v);
    }
}

fn fft(plan: &Fft2c, x: &mut ArrayViewMut2<C32>, forward: bool, par: bool) {
    match (forward, par) {
        (true, false) => plan.forward2(x),
        (false, false) => plan.inverse2(x),
        (true, true) => plan.forward(&mut x.view_mut().into_dyn()),
        (false, true) => plan.inverse(&mut x.view_mut().into_dyn()),
    }
}

/// `out_m = Σ_c conj(S_{m,c}) · work_c`, parallel over rows.
fn combine_coils(maps: &Array4<C32>, work: &Array3<C32>, out: &mut ArrayViewMut3<C32>) {
    let (nm, nc, _, _) = maps.dim();
    for m in 0..nm {
        let sm = maps.index_axis(Axis(0), m);
        let mut om = out.index_axis_mut(Axis(0), m);
        om.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, mut row)| {
            row.fill(ZERO);
            for c in 0..nc {
                let (s, w) = (sm.slice(ndarray::s![c, i, ..]), work.slice(ndarray::s![c, i, ..]));
                Zip::from(&mut row).and(&s).and(&w).for_each(|o, s, w| *o += s.conj() * w);
            }
        });
    }
}

/// Helpers shared by the tests of the normal operator's fast forms.
#[cfg(test)]
pub(crate) mod testing {
    use super::SenseOperator;
    use crate::C32;
    use ndarray::Array3;

    /// Deterministic pseudo-random complex values in [−0.5, 0.5)².
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<C32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                C32::new((s >> 40) as f32 / 16_777_216.0 - 0.5, (s & 0xffffff) as f32 / 16_777_216.0 - 0.5)
            })
            .collect()
    }

    /// `op.normal` equals `op.normal_2d` on `x` to 2·10⁻⁶ relative, for λ = 0 and λ = 0.3.
    pub(crate) fn assert_normal_matches_2d(op: &mut SenseOperator, x: &Array3<C32>, what: &str) {
        for lambda in [0.0, 0.3] {
            let (mut a, mut b) = (Array3::zeros(x.raw_dim()), Array3::zeros(x.raw_dim()));
            op.normal(&x.view(), lambda, &mut a.view_mut()).unwrap();
            op.normal_2d(&x.view(), lambda, &mut b.view_mut()).unwrap();
            let err = (&a - &b).iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt();
            let nb = b.iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt();
            assert!(nb > 0.0 && err <= 2e-6 * nb, "{what} λ={lambda}: {err} vs {nb}");
        }
    }
}
