//! Orthogonal 2-D Daubechies wavelet transform with periodic boundaries — the sparsifying
//! transform `Ψ` of L1-wavelet compressed sensing (Lustig, Donoho & Pauly, "Sparse MRI",
//! MRM 58 (2007); BART `pics -l1`, whose default wavelet `dau2` is this 4-tap filter).
//!
//! One level along an axis of even length N (PyWavelets `dwt(x, "db2", mode="periodization")`,
//! checked against a fixture made with PyWavelets in `tests/fixtures/wavelet/`):
//!
//! `a[k] = Σ_{t=0..3} g[t] · x[(2k − 1 + t) mod N]`, `d[k] = Σ_t h[t] · x[(2k − 1 + t) mod N]`,
//!
//! `g = (1+√3, 3+√3, 3−√3, 1−√3) / (4√2)` (Daubechies 1988, the reversed `db2` decomposition
//! low-pass), `h[t] = (−1)^t g[3−t]`. The analysis matrix is orthogonal, so the inverse is
//! its transpose, `x[n] = Σ_k a[k] g[n−2k+1] + d[k] h[n−2k+1]`, and `‖Ψx‖ = ‖x‖` (Parseval).
//!
//! The 2-D transform is separable (rows, then columns) and multi-level (Mallat): level ℓ acts
//! on the top-left low-low block, leaving coefficients in place (`a` in the first half of each
//! axis, `d` in the second), so the coefficient array has the padded image's shape. Like
//! BART, the coarsest scale is kept at least [`MIN_SIZE`] = 16 samples wide: the number of
//! levels is the largest L with `⌊min(H, W) / 2^L⌋ ≥ 16`. BART transforms one level further
//! (while a band is ≥ 16 wide); on a 256² 8-coil BART phantom at Poisson 3× that extra level
//! cost 0.1–1 dB here, as every band shares one threshold, so we stop at 16.
//!
//! Sizes that 2^L does not divide (odd or prime matrices such as 233×197) are zero-padded at
//! the end of each axis to the next multiple of 2^L (`P`, an isometric embedding, `PᵀP = I`),
//! so the thresholding step is `x ← Pᵀ Ψᵀ soft_τ(Ψ P x)`. With `Ψ` orthogonal,
//! `Ψᵀ soft_τ Ψ` is firmly non-expansive, and so is `Pᵀ (·) P` of it; a firmly non-expansive
//! map is the proximal map of a convex function (Moreau 1965), so FISTA keeps its guarantees
//! for that (wavelet-sparsity) regulariser. MRI images are background at their edges, so
//! the zero border adds no edge of its own. Before this, such sizes had no levels at all and
//! `cs` was L1 on the pixels.
//!
//! Cycle spinning (Coifman & Donoho 1995; BART's random shifts, Figueiredo & Nowak 2003;
//! Guerquin-Kern et al. 2011): thresholding on one fixed dyadic grid leaves blocky
//! artefacts, so the image is rolled circularly by (sy, sx) before `Ψ` and back after `Ψᵀ`.
//! [`Wavelet2::threshold`] takes one shift (BART draws one at random in [0, 2^L]² per
//! iteration); [`Wavelet2::threshold_invariant`] averages four fixed shifts spread over every
//! scale, a fixed (proximal-average) step that keeps FISTA convergent.

use crate::{KspaceError, Result, C32};
use ndarray::{Array2, ArrayViewMut2, Axis, Zip};
use rayon::prelude::*;

/// Smallest coarse-scale size (BART's `minsize` for `pics -l1`).
pub const MIN_SIZE: usize = 16;

/// Reusable buffers of [`Wavelet2::threshold_shifts`] (from [`Wavelet2::scratch`]).
#[derive(Debug, Clone)]
pub struct ThresholdScratch {
    coefficients: Array2<C32>,
    mean: Array2<C32>,
}

/// How many grid shifts [`Wavelet2::threshold_invariant`] averages.
pub const INVARIANT_SHIFTS: usize = 4;

const S3: f32 = 1.732_050_8;
const G: [f32; 4] = [
    (1.0 + S3) / (4.0 * std::f32::consts::SQRT_2),
    (3.0 + S3) / (4.0 * std::f32::consts::SQRT_2),
    (3.0 - S3) / (4.0 * std::f32::consts::SQRT_2),
    (1.0 - S3) / (4.0 * std::f32::consts::SQRT_2),
];
const H: [f32; 4] = [G[3], -G[2], G[1], -G[0]];

/// A multi-level periodic db2 transform for one (H, W) image grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wavelet2 {
    /// The image grid.
    pub h: usize,
    pub w: usize,
    pub levels: usize,
    /// The coefficient grid: (H, W) rounded up to multiples of 2^levels (module docs).
    pub padded: (usize, usize),
}

impl Wavelet2 {
    /// The transform for (H, W) with BART's level rule, zero-padded where 2^L does not
    /// divide a side (see module docs).
    pub fn new(h: usize, w: usize) -> Self {
        let levels = Self::max_levels(h, w, MIN_SIZE);
        let up = |n: usize| n.div_ceil(1 << levels) << levels;
        Wavelet2 { h, w, levels, padded: (up(h), up(w)) }
    }

    /// An explicit number of levels; H and W must be divisible by 2^levels (no padding).
    pub fn with_levels(h: usize, w: usize, levels: usize) -> Result<Self> {
        let f = 1usize.checked_shl(levels as u32).unwrap_or(0);
        if f == 0 || !h.is_multiple_of(f) || !w.is_multiple_of(f) {
            return Err(KspaceError::InvalidParameter(format!("{h}×{w} is not divisible by 2^{levels}")));
        }
        Ok(Wavelet2 { h, w, levels, padded: (h, w) })
    }

    /// Largest L with ⌊min(H, W) / 2^L⌋ ≥ `min_size` (at least 2).
    pub fn max_levels(h: usize, w: usize, min_size: usize) -> usize {
        let mut l = 0;
        while h.min(w) / (2 << l) >= min_size.max(2) {
            l += 1;
        }
        l
    }

    fn check(&self, x: &ArrayViewMut2<C32>, want: (usize, usize)) -> Result<()> {
        if x.dim() != want {
            return Err(KspaceError::Shape(format!("wavelet of {}×{} given {:?}", want.0, want.1, x.dim())));
        }
        Ok(())
    }

    /// `P x`: the image zero-padded to the coefficient grid.
    fn pad(&self, x: &ndarray::ArrayView2<C32>) -> Array2<C32> {
        let mut p = Array2::<C32>::zeros(self.padded);
        p.slice_mut(ndarray::s![..self.h, ..self.w]).assign(x);
        p
    }

    /// `buf ← S P x`: the image zero-padded to the coefficient grid and rolled by `shift`
    /// (`buf[(i + sy) mod H', (j + sx) mod W'] = (P x)[i, j]`), in one pass of row copies.
    fn shift_pad(&self, x: &Array2<C32>, shift: (usize, usize), buf: &mut Array2<C32>) {
        let (ph, pw) = self.padded;
        let (sy, sx) = (shift.0 % ph, shift.1 % pw);
        let zero = C32::new(0.0, 0.0);
        buf.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, mut row)| {
            let src = (i + ph - sy) % ph;
            let mut out = row.view_mut();
            let Some(out) = out.as_slice_mut() else { unreachable!() }; // ok: buf is a scratch Array2
            if src >= self.h {
                out.fill(zero);
                return;
            }
            let line = x.row(src);
            let line =
                line.as_slice().map(std::borrow::Cow::Borrowed).unwrap_or_else(|| line.to_vec().into());
            // Padded line p = [x row, zeros]; out[sx..] = p[..pw − sx], out[..sx] = p[pw − sx..].
            let (head, tail) = out.split_at_mut(sx);
            copy_padded(tail, &line, 0);
            copy_padded(head, &line, pw - sx);
        });
    }

    /// `x ← weight · Pᵀ S⁻¹ buf (+ x when `add`)`: the inverse of [`Wavelet2::shift_pad`],
    /// cropped back to the image grid (each row a circular run of `buf`'s row from `sx`).
    fn unshift_crop(
        &self,
        buf: &Array2<C32>,
        shift: (usize, usize),
        x: &mut Array2<C32>,
        weight: f32,
        add: bool,
    ) {
        let (ph, pw) = self.padded;
        let (sy, sx) = (shift.0 % ph, shift.1 % pw);
        let w = self.w;
        x.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, mut row)| {
            let src = buf.row((i + sy) % ph);
            let Some(src) = src.to_slice() else { unreachable!() }; // ok: buf is a scratch Array2
            let first = (pw - sx).min(w);
            let runs = src[sx..sx + first].iter().chain(&src[..w - first]);
            if add {
                row.iter_mut().zip(runs).for_each(|(v, &b)| *v = *v + b * weight);
            } else {
                row.iter_mut().zip(runs).for_each(|(v, &b)| *v = b * weight);
            }
        });
    }

    /// Forward transform in place on the coefficient grid ([`Wavelet2::padded`]): image →
    /// coefficients.
    pub fn forward(&self, x: &mut ArrayViewMut2<C32>) -> Result<()> {
        self.check(x, self.padded)?;
        let (mut h, mut w) = self.padded;
        for _ in 0..self.levels {
            let mut blk = x.slice_mut(ndarray::s![..h, ..w]);
            lines(&mut blk, Axis(1), true);
            columns(&mut blk, true);
            h /= 2;
            w /= 2;
        }
        Ok(())
    }

    /// Inverse (= transpose) in place: coefficients → image.
    pub fn inverse(&self, x: &mut ArrayViewMut2<C32>) -> Result<()> {
        self.check(x, self.padded)?;
        for l in (0..self.levels).rev() {
            let (h, w) = (self.padded.0 >> l, self.padded.1 >> l);
            let mut blk = x.slice_mut(ndarray::s![..h, ..w]);
            columns(&mut blk, false);
            lines(&mut blk, Axis(1), false);
        }
        Ok(())
    }

    /// `x ← Pᵀ S⁻¹ Ψᵀ soft_τ(Ψ S P x)`: complex soft-thresholding of all wavelet
    /// coefficients (`z ← max(|z| − τ, 0)·z/|z|`, low-pass included, as BART does) under the
    /// circular shift `S` by `shift` = (sy, sx) of the padded image (`P` = identity where no
    /// padding is needed).
    pub fn threshold(&self, x: &mut Array2<C32>, tau: f32, shift: (usize, usize)) -> Result<()> {
        self.threshold_shifts(x, tau, &[shift], &mut self.scratch())
    }

    /// The translation-invariant threshold: the average of [`Wavelet2::threshold`] over the
    /// shifts [`Wavelet2::invariant_shifts`] (cycle spinning as Coifman & Donoho,
    /// "Translation-invariant de-noising", 1995, over a fixed set of grids). An average of
    /// proximal maps is itself the proximal map of a convex function, their *proximal
    /// average* (Bauschke, Goebel, Lucet & Wang, SIAM J. Optim. 19 (2008)), so FISTA with this
    /// step solves one fixed convex problem and converges, unlike random cycle spinning.
    pub fn threshold_invariant(&self, x: &mut Array2<C32>, tau: f32) -> Result<()> {
        self.threshold_shifts(x, tau, &self.invariant_shifts(), &mut self.scratch())
    }

    /// The [`INVARIANT_SHIFTS`] = 4 grid shifts `(3k mod 2^L, 5k mod 2^L)`, k = 0..3
    /// (duplicates removed when 2^L < 4). For odd a the values `a·k mod 2^j` (k < 4) are
    /// distinct for every 2^j ≥ 4, so on each axis the four grids take four different phases
    /// of every scale from the second level on (and both phases of the first), and the two
    /// axes' shifts are decoupled. Shifting by {0, 1}² instead, which varies the finest scale
    /// only, gave 0.5–1 dB less on 1-D masks (README, issue 16).
    pub fn invariant_shifts(&self) -> Vec<(usize, usize)> {
        let period = 1usize << self.levels;
        let mut shifts: Vec<(usize, usize)> = Vec::with_capacity(INVARIANT_SHIFTS);
        for k in 0..INVARIANT_SHIFTS {
            let s = ((3 * k) % period, (5 * k) % period);
            if !shifts.contains(&s) {
                shifts.push(s);
            }
        }
        shifts
    }

    /// Buffers for [`Wavelet2::threshold_shifts`], to allocate once per solve instead of
    /// once per threshold.
    pub fn scratch(&self) -> ThresholdScratch {
        ThresholdScratch { coefficients: Array2::zeros(self.padded), mean: Array2::zeros((self.h, self.w)) }
    }

    /// `x ← mean over shifts s of Pᵀ S_s⁻¹ Ψᵀ soft_τ(Ψ S_s P x)`: [`Wavelet2::threshold`] for
    /// one shift, [`Wavelet2::threshold_invariant`] for [`Wavelet2::invariant_shifts`], with
    /// buffers from [`Wavelet2::scratch`].
    pub fn threshold_shifts(
        &self,
        x: &mut Array2<C32>,
        tau: f32,
        shifts: &[(usize, usize)],
        scratch: &mut ThresholdScratch,
    ) -> Result<()> {
        self.check(&x.view_mut(), (self.h, self.w))?;
        let ThresholdScratch { coefficients: buf, mean } = scratch;
        if buf.dim() != self.padded || mean.dim() != (self.h, self.w) {
            return Err(KspaceError::Shape(format!("scratch of another grid than {}×{}", self.h, self.w)));
        }
        let weight = 1.0 / shifts.len() as f32;
        for (k, &shift) in shifts.iter().enumerate() {
            self.shift_pad(x, shift, buf);
            self.forward(&mut buf.view_mut())?;
            buf.par_mapv_inplace(|z| soft(z, tau));
            self.inverse(&mut buf.view_mut())?;
            self.unshift_crop(buf, shift, mean, weight, k > 0);
        }
        x.assign(mean);
        Ok(())
    }

    /// `‖Ψ P x‖₁ = Σ |coefficients|` (unshifted) of an image on the (H, W) grid.
    pub fn l1_norm(&self, x: &ndarray::ArrayView2<C32>) -> Result<f64> {
        if x.dim() != (self.h, self.w) {
            return Err(KspaceError::Shape(format!("wavelet of {}×{} given {:?}", self.h, self.w, x.dim())));
        }
        let mut c = self.pad(x);
        self.forward(&mut c.view_mut())?;
        Ok(c.iter().map(|z| z.norm() as f64).sum())
    }

    /// Largest cycle-spinning shift on each axis (BART draws shifts in [0, 2^L]).
    pub fn max_shift(&self) -> usize {
        1 << self.levels
    }
}

/// `dst[t] = p[start + t]` for the zero-padded line `p = [line, 0, 0, …]`.
fn copy_padded(dst: &mut [C32], line: &[C32], start: usize) {
    let n = line.len().saturating_sub(start).min(dst.len());
    if n > 0 {
        dst[..n].copy_from_slice(&line[start..start + n]);
    }
    dst[n..].fill(C32::new(0.0, 0.0));
}

/// Complex soft-thresholding `max(|z| − τ, 0) · z / |z|`. `|z|` is `√(re² + im²)`, not
/// `hypot` (which guards against overflow the scaled data never reach and was the slowest
/// part of the threshold), and the root is taken only for the coefficients that survive.
#[inline]
pub fn soft(z: C32, tau: f32) -> C32 {
    let a2 = z.re * z.re + z.im * z.im;
    if a2 > tau * tau {
        let a = a2.sqrt();
        z * ((a - tau) / a)
    } else {
        C32::new(0.0, 0.0)
    }
}

/// Circular shift: `out[i, j] = x[(i − dy) mod H, (j − dx) mod W]`.
pub fn roll(x: &mut Array2<C32>, dy: isize, dx: isize) {
    let (h, w) = x.dim();
    if h == 0 || w == 0 || (dy.rem_euclid(h as isize) == 0 && dx.rem_euclid(w as isize) == 0) {
        return;
    }
    let src = x.clone();
    let (dy, dx) = (dy.rem_euclid(h as isize) as usize, dx.rem_euclid(w as isize) as usize);
    x.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, mut row)| {
        let s = src.row((i + h - dy) % h);
        for j in 0..w {
            row[j] = s[(j + w - dx) % w];
        }
    });
}

/// One analysis (or synthesis) level along the columns of `blk` (axis 0), computed as
/// combinations of whole rows: the same sums as [`lines`] along axis 0, in the same order
/// (so bit-identical), but contiguous in memory instead of strided by the row length.
fn columns(blk: &mut ArrayViewMut2<C32>, fwd: bool) {
    let n = blk.nrows();
    let half = n / 2;
    let src = blk.to_owned();
    let (mut top, mut bottom) = blk.view_mut().split_at(Axis(0), half);
    let zero = C32::new(0.0, 0.0);
    if fwd {
        // a[k] = Σ_t g[t] x[(2k − 1 + t) mod N], d[k] = Σ_t h[t] x[...] (module docs).
        Zip::indexed(top.rows_mut()).and(bottom.rows_mut()).par_for_each(|k, mut a, mut d| {
            a.fill(zero);
            d.fill(zero);
            for (t, &i) in taps(k, n).iter().enumerate() {
                let row = src.row(i);
                Zip::from(&mut a).and(&mut d).and(&row).for_each(|a, d, &v| {
                    *a += v * G[t];
                    *d += v * H[t];
                });
            }
        });
    } else {
        // x[i] = Σ over the (k, t) with (2k − 1 + t) mod N = i of g[t] a[k] + h[t] d[k], added
        // in increasing k as the scatter in `synthesis` does.
        let (a, d) = src.view().split_at(Axis(0), half);
        let mut out = Array2::<C32>::zeros(src.raw_dim());
        Zip::indexed(out.rows_mut()).par_for_each(|i, mut row| {
            let mut terms: [(usize, usize); 2] = [(0, 0); 2];
            let mut m = 0;
            for t in 0..4 {
                let r = (i + 1 + 2 * n - t) % n;
                if r % 2 == 0 {
                    terms[m] = (r / 2, t);
                    m += 1;
                }
            }
            terms.sort_unstable();
            for &(k, t) in &terms {
                Zip::from(&mut row)
                    .and(a.row(k))
                    .and(d.row(k))
                    .for_each(|o, &a, &d| *o += a * G[t] + d * H[t]);
            }
        });
        top.assign(&out.slice(ndarray::s![..half, ..]));
        bottom.assign(&out.slice(ndarray::s![half.., ..]));
    }
}

/// One analysis (or synthesis) level along `axis` of every line of `blk`, in parallel.
fn lines(blk: &mut ArrayViewMut2<C32>, axis: Axis, fwd: bool) {
    let n = blk.len_of(axis);
    let other = Axis(1 - axis.index());
    blk.axis_iter_mut(other).into_par_iter().for_each_init(
        || (vec![C32::new(0.0, 0.0); n], vec![C32::new(0.0, 0.0); n]),
        |(inp, out), mut line| {
            inp.iter_mut().zip(line.iter()).for_each(|(d, s)| *d = *s);
            if fwd {
                analysis(inp, out)
            } else {
                synthesis(inp, out)
            }
            line.iter_mut().zip(out.iter()).for_each(|(d, s)| *d = *s);
        },
    );
}

/// The four sample indices `(2k − 1 + t) mod N`, t = 0..3, of output k. Only k = 0 and
/// k = N/2 − 1 wrap around; the others need no (slow, integer-division) modulo, which was
/// most of the transform's time. Same indices, same summation order: identical results.
#[inline(always)]
fn taps(k: usize, n: usize) -> [usize; 4] {
    if k == 0 || 2 * k + 2 >= n {
        [(2 * k + n - 1) % n, (2 * k) % n, (2 * k + 1) % n, (2 * k + 2) % n]
    } else {
        [2 * k - 1, 2 * k, 2 * k + 1, 2 * k + 2]
    }
}

/// `out[..N/2] = a`, `out[N/2..] = d` (module docs' formula).
fn analysis(x: &[C32], out: &mut [C32]) {
    let n = x.len();
    let half = n / 2;
    for k in 0..half {
        let (mut a, mut d) = (C32::new(0.0, 0.0), C32::new(0.0, 0.0));
        for (t, &i) in taps(k, n).iter().enumerate() {
            let v = x[i];
            a += v * G[t];
            d += v * H[t];
        }
        out[k] = a;
        out[half + k] = d;
    }
}

/// The transpose of [`analysis`]: `x[(2k − 1 + t) mod N] += g[t] a[k] + h[t] d[k]`.
fn synthesis(c: &[C32], out: &mut [C32]) {
    let n = c.len();
    let half = n / 2;
    out.iter_mut().for_each(|v| *v = C32::new(0.0, 0.0));
    for k in 0..half {
        let (a, d) = (c[k], c[half + k]);
        for (t, &i) in taps(k, n).iter().enumerate() {
            out[i] += a * G[t] + d * H[t];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row-copy shift and crop equal their element formulas on a padded odd grid, for
    /// shifts that wrap the padding, and undo each other.
    #[test]
    fn shift_pad_and_unshift_crop_follow_their_formulas() {
        let wav = Wavelet2::new(37, 45);
        let (ph, pw) = wav.padded;
        assert!(ph > 37 && pw > 45, "{:?}", wav.padded);
        let x = Array2::from_shape_fn((37, 45), |(i, j)| C32::new(i as f32 + 0.5, j as f32 * 0.25 - 3.0));
        for shift in [(0, 0), (3, 5), (7, 13), (ph - 1, pw - 1), (ph + 2, 2 * pw + 1)] {
            let (sy, sx) = (shift.0 % ph, shift.1 % pw);
            let mut buf = Array2::from_elem(wav.padded, C32::new(9.0, 9.0));
            wav.shift_pad(&x, shift, &mut buf);
            for ((i, j), &v) in buf.indexed_iter() {
                let (si, sj) = ((i + ph - sy) % ph, (j + pw - sx) % pw);
                let want = if si < 37 && sj < 45 { x[[si, sj]] } else { C32::new(0.0, 0.0) };
                assert_eq!(v, want, "shift {shift:?} at ({i}, {j})");
            }
            let mut back = Array2::from_elem((37, 45), C32::new(1.0, 0.0));
            wav.unshift_crop(&buf, shift, &mut back, 0.5, true);
            let want = x.mapv(|z| z * 0.5 + C32::new(1.0, 0.0));
            assert_eq!(back, want, "shift {shift:?}");
            wav.unshift_crop(&buf, shift, &mut back, 1.0, false);
            assert_eq!(back, x, "shift {shift:?}");
        }
    }
}
