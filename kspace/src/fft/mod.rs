//! Centred orthonormal 2-D FFTs over the last two axes (numpy's shift conventions):
//! `fft2c(x) = fftshift(fft2(ifftshift(x), norm="ortho"))`, `ifft2c(x) = fftshift(ifft2(ifftshift(x), norm="ortho"))`.
//!
//! How it is computed, per (H, W) image, with rustfft plans made once per shape:
//! 1. Row pass (contiguous axis W). For even W the shifts are folded into a ±1 modulation,
//!    `fftshift(F(ifftshift(x)))[k] = (-1)^(W/2) (-1)^k F((-1)^n x[n])[k]`: odd input samples are
//!    negated here and the output factor `(-1)^(W/2+k)` is applied in the column scatter.
//!    For odd W the row is rotated into scratch, transformed out of place and rotated back.
//!    Widths W = P·Q with Q ∈ {13, 17, 19, 23, 29, 31} and 4 | P (knee data: 368 = 16·23,
//!    372 = 12·31), for which rustfft only has scalar Q-point butterflies, use a four-step
//!    transform with AVX Q-point DFTs (`PrimeRows`, ~3× faster than rustfft there).
//! 2. Column pass (axis H) on blocks of 16 columns gathered into a contiguous scratch
//!    (`buf[b*H + i]`, 4 rows at a time), batch-transformed with one `process_with_scratch` call
//!    and scattered back. The H shifts are rotations folded into the gather/scatter indices
//!    (free for odd and even H, as the gather/scatter copies anyway; a checkerboard would cost
//!    the same); the scatter also applies `1/√(HW)` and the W modulation's output factor.
//!
//! Parallelism (rayon): [`Fft2c::forward`]/[`Fft2c::inverse`] and the free functions are
//! parallel over leading axes (coils, slices) and, when there are fewer images than threads,
//! over row chunks and column blocks within an image. [`Fft2c::forward2`], [`Fft2c::inverse2`],
//! [`Fft2c::forward_serial`] and [`Fft2c::inverse_serial`] never touch rayon: use them when the
//! caller is already parallel over slices. Scratch is thread-local and reused (no allocation per
//! row or block); only images whose rows are not contiguous are copied to a temporary array.

use crate::C32;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ArrayViewMutD, Axis, Dimension, Ix2};
use rayon::prelude::*;
use rustfft::{Fft, FftDirection, FftPlanner};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

mod prime_rows;
use prime_rows::PrimeRows;

/// Columns gathered per column-pass block (even, so the W modulation sign depends only on the
/// offset inside the block). 16 columns of 640 rows = 80 kB of scratch: stays in L2.
const BLOCK: usize = 16;

/// Below this many samples per image, splitting one image across threads costs more than it saves.
const PAR_MIN_IMAGE: usize = 128 * 128;

/// A reusable plan for centred orthonormal 2-D FFTs of one (H, W) size; cheap to share via `Arc`.
#[derive(Clone)]
pub struct Fft2c {
    h: usize,
    w: usize,
    /// Row (length W) and column (length H) transforms: index 0 forward, 1 inverse.
    row: [Arc<dyn Fft<f32>>; 2],
    col: [Arc<dyn Fft<f32>>; 2],
    /// Four-step row transform when W has a prime factor rustfft does slowly.
    prime: Option<Arc<PrimeRows>>,
    /// Scratch elements one task needs (row pass or one column block, whichever is larger).
    scratch_len: usize,
    /// `1/√(HW)`, times `(-1)^(W/2)` when W is even (the modulation's global sign).
    scale: f32,
}

impl std::fmt::Debug for Fft2c {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2c").field("h", &self.h).field("w", &self.w).finish_non_exhaustive()
    }
}

/// Hands out [`Fft2c`] plans, made once per shape and shared (like rustfft's `FftPlanner`,
/// which picks the AVX/SSE/NEON kernels at run time).
pub struct Fft2cPlanner {
    inner: Mutex<(FftPlanner<f32>, PlanCache)>,
}

type PlanCache = HashMap<(usize, usize), Arc<Fft2c>>;

impl Default for Fft2cPlanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Fft2cPlanner {
    /// An empty planner; plans are built lazily by [`Fft2cPlanner::plan`].
    pub fn new() -> Self {
        Fft2cPlanner { inner: Mutex::new((FftPlanner::new(), HashMap::new())) }
    }

    /// The plan for (H, W), made on first request and reused afterwards.
    pub fn plan(&self, h: usize, w: usize) -> Arc<Fft2c> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (planner, cache) = &mut *guard;
        if let Some(p) = cache.get(&(h, w)) {
            return p.clone();
        }
        let prime = PrimeRows::new(planner, w).map(Arc::new);
        let mut mk = |n: usize, d| plan_1d(planner, n, d);
        let row = [mk(w, FftDirection::Forward), mk(w, FftDirection::Inverse)];
        let col = [mk(h, FftDirection::Forward), mk(h, FftDirection::Inverse)];
        let row_need = match &prime {
            Some(pr) => w + pr.inner.iter().map(|f| f.get_inplace_scratch_len()).max().unwrap_or(0),
            None if w % 2 == 0 => row.iter().map(|f| f.get_inplace_scratch_len()).max().unwrap_or(0),
            None => 2 * w + row.iter().map(|f| f.get_outofplace_scratch_len()).max().unwrap_or(0),
        };
        let col_need = BLOCK * h + col.iter().map(|f| f.get_inplace_scratch_len()).max().unwrap_or(0);
        let sign = if w % 2 == 0 && (w / 2) % 2 == 1 { -1.0 } else { 1.0 };
        let plan = Arc::new(Fft2c {
            h,
            w,
            row,
            col,
            prime,
            scratch_len: row_need.max(col_need),
            scale: sign / ((h * w).max(1) as f32).sqrt(),
        });
        cache.insert((h, w), plan.clone());
        plan
    }
}

impl Fft2cPlanner {
    /// A plain (uncentred, unnormalised) rustfft transform of length `n`, forward or inverse,
    /// from the same cache as the 2-D plans (for 1-D passes, e.g. the separable normal
    /// operator of `crate::operator`).
    pub fn plan_line(&self, n: usize, inverse: bool) -> Arc<dyn Fft<f32>> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let dir = if inverse { FftDirection::Inverse } else { FftDirection::Forward };
        plan_1d(&mut guard.0, n, dir)
    }
}

/// rustfft's plan for length `n`, except for a prime `n` whose `n − 1` has a prime factor
/// ≥ 13: rustfft's Rader then runs a scalar 13…31-point butterfly (233 = 1 + 8·29, an MNI152
/// axis, is 3× slower than it need be), so Bluestein's algorithm over the next power of two
/// ≥ 2n − 1 (AVX kernels) is used instead. Both are exact up to float rounding (≈ 3·10⁻⁷
/// relative at n = 233).
fn plan_1d(planner: &mut FftPlanner<f32>, n: usize, dir: FftDirection) -> Arc<dyn Fft<f32>> {
    let n = n.max(1);
    if uses_bluestein(n) {
        let inner = planner.plan_fft((2 * n - 1).next_power_of_two(), dir);
        return Arc::new(rustfft::algorithm::BluesteinsAlgorithm::new(n, inner));
    }
    planner.plan_fft(n, dir)
}

/// Whether [`plan_1d`] transforms length `n` by Bluestein's algorithm (two FFTs of the power
/// of two ≥ 2n − 1 per transform).
pub(crate) fn uses_bluestein(n: usize) -> bool {
    n > 31 && is_prime(n) && largest_prime_factor(n - 1) >= 13
}

pub(crate) fn is_prime(n: usize) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

fn largest_prime_factor(mut n: usize) -> usize {
    let (mut d, mut best) = (2, 1);
    while d * d <= n {
        while n.is_multiple_of(d) {
            (n, best) = (n / d, d);
        }
        d += 1;
    }
    if n > 1 {
        n
    } else {
        best
    }
}

/// The process-wide planner behind the free functions.
pub(crate) fn global_planner() -> &'static Fft2cPlanner {
    static PLANNER: OnceLock<Fft2cPlanner> = OnceLock::new();
    PLANNER.get_or_init(Fft2cPlanner::new)
}

thread_local! {
    /// Per-thread scratch, grown to the largest plan used on this thread and reused.
    static SCRATCH: RefCell<Vec<C32>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with at least `len` scratch elements (thread-local; a fresh buffer if re-entered).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [C32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            if v.len() < len {
                v.resize(len, C32::default());
            }
            f(&mut v[..len])
        }
        Err(_) => f(&mut vec![C32::default(); len]),
    })
}

/// The (first, end, shifted index of first) row segments of an axis of length `n` under the
/// rotation `i = (r - n/2) mod n`, which is both the `ifftshift` gather and `fftshift` scatter.
fn shift_segments(n: usize) -> [(usize, usize, usize); 2] {
    let s = n - n / 2;
    [(0, n - s, s), (n - s, n, 0)]
}

impl Fft2c {
    /// Grid size (H, W) this plan transforms.
    pub fn shape(&self) -> (usize, usize) {
        (self.h, self.w)
    }

    /// Forward centred orthonormal FFT of every (H, W) image in `x` (last two axes), in place.
    /// Parallel (rayon) over leading axes and within images.
    pub fn forward(&self, x: &mut ArrayViewMutD<C32>) {
        self.apply(x, 0, true)
    }

    /// Inverse centred orthonormal FFT of every (H, W) image in `x`, in place. Parallel.
    pub fn inverse(&self, x: &mut ArrayViewMutD<C32>) {
        self.apply(x, 1, true)
    }

    /// Like [`Fft2c::forward`] but on the calling thread only (for callers already parallel).
    pub fn forward_serial(&self, x: &mut ArrayViewMutD<C32>) {
        self.apply(x, 0, false)
    }

    /// Like [`Fft2c::inverse`] but on the calling thread only.
    pub fn inverse_serial(&self, x: &mut ArrayViewMutD<C32>) {
        self.apply(x, 1, false)
    }

    /// Forward-transform one 2-D image in place, serially (no rayon).
    pub fn forward2(&self, x: &mut ArrayViewMut2<C32>) {
        self.image(x.view_mut(), 0, false)
    }

    /// Inverse-transform one 2-D image in place, serially (no rayon).
    pub fn inverse2(&self, x: &mut ArrayViewMut2<C32>) {
        self.image(x.view_mut(), 1, false)
    }

    /// Split `x` into its (H, W) images and transform them, in parallel if `par`.
    fn apply(&self, x: &mut ArrayViewMutD<C32>, dir: usize, par: bool) {
        let nd = x.ndim();
        assert!(nd >= 2, "fft2c needs at least 2 axes, got {}", nd);
        let (h, w) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        assert_eq!((h, w), (self.h, self.w), "plan/array shape mismatch");
        if x.is_empty() {
            return;
        }
        let mut images = Vec::with_capacity(x.len() / (h * w));
        split_images(x.view_mut(), &mut images);
        let threads = rayon::current_num_threads();
        if !par || threads <= 1 {
            images.into_iter().for_each(|v| self.image(v, dir, false));
            return;
        }
        // Whole images per thread while there are at least as many as threads; the remainder
        // (fewer than `threads`) is split within each image so that no thread idles.
        let split = images.len() - images.len() % threads;
        let rest = images.split_off(split);
        let min_len = (PAR_MIN_IMAGE / (h * w)).max(1); // several small images per task
        images.into_par_iter().with_min_len(min_len).for_each(|v| self.image(v, dir, false));
        let inner = self.h * self.w >= PAR_MIN_IMAGE;
        rest.into_iter().for_each(|v| self.image(v, dir, inner));
    }

    /// Transform one image; rows must be contiguous for the fast path, otherwise copy.
    fn image(&self, mut x: ArrayViewMut2<C32>, dir: usize, par: bool) {
        if x.is_empty() {
            return;
        }
        if self.w > 1 && x.strides()[1] != 1 {
            let mut tmp = Array2::from_shape_fn(x.raw_dim(), |ij| x[ij]);
            self.image(tmp.view_mut(), dir, par);
            x.assign(&tmp);
            return;
        }
        if par {
            let rows_per_task = self.h.div_ceil(4 * rayon::current_num_threads()).max(1);
            x.axis_chunks_iter_mut(Axis(0), rows_per_task)
                .into_par_iter()
                .for_each(|mut rows| with_scratch(self.scratch_len, |s| self.rows(&mut rows, dir, s)));
            x.axis_chunks_iter_mut(Axis(1), BLOCK)
                .into_par_iter()
                .for_each(|mut blk| with_scratch(self.scratch_len, |s| self.columns(&mut blk, dir, s)));
        } else {
            with_scratch(self.scratch_len, |s| {
                self.rows(&mut x, dir, s);
                for mut blk in x.axis_chunks_iter_mut(Axis(1), BLOCK) {
                    self.columns(&mut blk, dir, s);
                }
            });
        }
    }

    /// Row pass over `x` (rows contiguous): shift-folded length-W FFT of every row.
    fn rows(&self, x: &mut ArrayViewMut2<C32>, dir: usize, s: &mut [C32]) {
        let (w, fft) = (self.w, &*self.row[dir]);
        let half = w / 2;
        for row in x.rows_mut() {
            let r = row.into_slice().expect("contiguous row");
            if let Some(pr) = &self.prime {
                // Even W: the input modulation (-1)^n is folded into the twiddles.
                pr.process(r, dir, s);
            } else if w % 2 == 0 {
                // Input modulation (-1)^n; the output's (-1)^(k+W/2) is applied in `columns`.
                for p in r.chunks_exact_mut(2) {
                    p[1] = -p[1];
                }
                fft.process_with_scratch(r, s);
            } else {
                // ifftshift: a[n] = r[(n + W/2) % W]; fftshift: r[(k + W/2) % W] = b[k].
                let (a, rest) = s.split_at_mut(w);
                let (b, sc) = rest.split_at_mut(w);
                a[..w - half].copy_from_slice(&r[half..]);
                a[w - half..].copy_from_slice(&r[..half]);
                fft.process_outofplace_with_scratch(a, b, sc);
                r[half..].copy_from_slice(&b[..w - half]);
                r[..half].copy_from_slice(&b[w - half..]);
            }
        }
    }

    /// Column pass over a block of at most [`BLOCK`] columns (starting at an even column):
    /// gather with the H `ifftshift`, batch FFT, scatter with the H `fftshift` and scaling.
    fn columns(&self, x: &mut ArrayViewMut2<C32>, dir: usize, s: &mut [C32]) {
        let (h, bw, rs) = (self.h, x.ncols(), x.strides()[0]);
        let (buf, sc) = s.split_at_mut(BLOCK * h);
        let buf = &mut buf[..bw * h];
        let base = x.as_mut_ptr();
        // SAFETY: `x` is a mutable view of h rows whose `bw` elements are contiguous (checked in
        // `image`), so distinct r give disjoint in-bounds slices; `x` is not used while they live.
        let row = |r: usize| unsafe { std::slice::from_raw_parts_mut(base.offset(r as isize * rs), bw) };
        for (r0, r1, i0) in shift_segments(h) {
            let mut r = r0;
            while r + 4 <= r1 {
                let (i, a, b, c, d) = (i0 + r - r0, row(r), row(r + 1), row(r + 2), row(r + 3));
                for (j, col) in buf.chunks_exact_mut(h).enumerate() {
                    col[i..i + 4].copy_from_slice(&[a[j], b[j], c[j], d[j]]);
                }
                r += 4;
            }
            for r in r..r1 {
                let (i, a) = (i0 + r - r0, row(r));
                buf.chunks_exact_mut(h).zip(a.iter()).for_each(|(col, &v)| col[i] = v);
            }
        }
        self.col[dir].process_with_scratch(buf, sc);
        // Per-column factor: 1/√(HW), times (-1)^(W/2 + j) for even W (BLOCK is even, so j ≡ b).
        let mut f = [self.scale; BLOCK];
        if self.w % 2 == 0 {
            f.iter_mut().skip(1).step_by(2).for_each(|v| *v = -*v);
        }
        for (r0, r1, k0) in shift_segments(h) {
            let mut r = r0;
            while r + 4 <= r1 {
                let (k, a, b, c, d) = (k0 + r - r0, row(r), row(r + 1), row(r + 2), row(r + 3));
                for (j, col) in buf.chunks_exact(h).enumerate() {
                    let (v, f) = (&col[k..k + 4], f[j]);
                    (a[j], b[j], c[j], d[j]) = (v[0] * f, v[1] * f, v[2] * f, v[3] * f);
                }
                r += 4;
            }
            for r in r..r1 {
                let (k, a) = (k0 + r - r0, row(r));
                for (j, (col, d)) in buf.chunks_exact(h).zip(a.iter_mut()).enumerate() {
                    *d = col[k] * f[j];
                }
            }
        }
    }
}

/// Push every (H, W) image of `x` (any strides, negative included) onto `out`, in order.
fn split_images<'a>(x: ArrayViewMutD<'a, C32>, out: &mut Vec<ArrayViewMut2<'a, C32>>) {
    if x.ndim() == 2 {
        out.push(x.into_dimensionality::<Ix2>().expect("two axes"));
        return;
    }
    let mut rest = x;
    while rest.len_of(Axis(0)) > 0 {
        let (first, tail) = rest.split_at(Axis(0), 1);
        split_images(first.index_axis_move(Axis(0), 0), out);
        rest = tail;
    }
}

/// `fftshift` of a 2-D array (index 0 moves to n/2 on each axis), numpy's convention.
pub fn fftshift2<T: Clone>(x: &ArrayView2<T>) -> Array2<T> {
    roll2(x, x.nrows() / 2, x.ncols() / 2)
}

/// `ifftshift` of a 2-D array (index n/2 moves to 0; the inverse of [`fftshift2`], which it
/// differs from for odd sizes).
pub fn ifftshift2<T: Clone>(x: &ArrayView2<T>) -> Array2<T> {
    roll2(x, x.nrows().div_ceil(2), x.ncols().div_ceil(2))
}

/// `y[(i + sh) % h, (j + sw) % w] = x[i, j]`, as four quadrant copies.
fn roll2<T: Clone>(x: &ArrayView2<T>, sh: usize, sw: usize) -> Array2<T> {
    let (h, w) = x.dim();
    let mut y = x.to_owned();
    if h == 0 || w == 0 {
        return y;
    }
    let (sh, sw) = (sh % h, sw % w);
    use ndarray::s;
    y.slice_mut(s![sh.., sw..]).assign(&x.slice(s![..h - sh, ..w - sw]));
    y.slice_mut(s![sh.., ..sw]).assign(&x.slice(s![..h - sh, w - sw..]));
    y.slice_mut(s![..sh, sw..]).assign(&x.slice(s![h - sh.., ..w - sw]));
    y.slice_mut(s![..sh, ..sw]).assign(&x.slice(s![h - sh.., w - sw..]));
    y
}

/// Forward centred FFT over the last two axes, in place (shared planner; parallel).
pub fn fft2c_inplace<D: Dimension>(x: &mut ndarray::ArrayViewMut<C32, D>) {
    let mut d = x.view_mut().into_dyn();
    let nd = d.ndim();
    assert!(nd >= 2, "fft2c needs at least 2 axes, got {}", nd);
    global_planner().plan(d.shape()[nd - 2], d.shape()[nd - 1]).forward(&mut d)
}

/// Inverse centred FFT over the last two axes, in place (shared planner; parallel).
pub fn ifft2c_inplace<D: Dimension>(x: &mut ndarray::ArrayViewMut<C32, D>) {
    let mut d = x.view_mut().into_dyn();
    let nd = d.ndim();
    assert!(nd >= 2, "ifft2c needs at least 2 axes, got {}", nd);
    global_planner().plan(d.shape()[nd - 2], d.shape()[nd - 1]).inverse(&mut d)
}

/// Forward centred orthonormal FFT over the last two axes,
/// `fftshift(fft2(ifftshift(x), norm="ortho"))`, returned as a new standard-layout array.
pub fn fft2c<S, D>(x: &ndarray::ArrayBase<S, D>) -> ndarray::Array<C32, D>
where
    S: ndarray::Data<Elem = C32>,
    D: Dimension,
{
    let mut y = x.as_standard_layout().into_owned();
    fft2c_inplace(&mut y.view_mut());
    y
}

/// Inverse centred orthonormal FFT over the last two axes,
/// `fftshift(ifft2(ifftshift(x), norm="ortho"))`, returned as a new standard-layout array.
pub fn ifft2c<S, D>(x: &ndarray::ArrayBase<S, D>) -> ndarray::Array<C32, D>
where
    S: ndarray::Data<Elem = C32>,
    D: Dimension,
{
    let mut y = x.as_standard_layout().into_owned();
    ifft2c_inplace(&mut y.view_mut());
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prime lengths planned with Bluestein (233 = 1 + 8·29, 53 = 1 + 4·13) and with rustfft's
    /// own choice (197, 37) equal the direct DFT, both directions.
    #[test]
    fn prime_lengths_match_the_direct_dft() {
        assert!(is_prime(233) && largest_prime_factor(232) == 29 && largest_prime_factor(196) == 7);
        let planner = Fft2cPlanner::new();
        for n in [37usize, 53, 197, 233] {
            let x: Vec<C32> =
                (0..n).map(|i| C32::new((i as f32 * 0.37).sin(), (i as f32 * 0.11).cos())).collect();
            for (inverse, sign) in [(false, -1.0f64), (true, 1.0)] {
                let mut got = x.clone();
                planner.plan_line(n, inverse).process(&mut got);
                for (k, g) in got.iter().enumerate() {
                    let want = x.iter().enumerate().fold((0.0f64, 0.0f64), |(re, im), (j, v)| {
                        let t = sign * 2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                        let (c, s) = (t.cos(), t.sin());
                        (re + v.re as f64 * c - v.im as f64 * s, im + v.re as f64 * s + v.im as f64 * c)
                    });
                    let err = ((g.re as f64 - want.0).powi(2) + (g.im as f64 - want.1).powi(2)).sqrt();
                    assert!(err < 1e-4 * (n as f64).sqrt(), "n={n} inverse={inverse} k={k}: {err}");
                }
            }
        }
    }

    /// The four-step row transform equals rustfft on the (-1)^n-modulated row, both directions.
    #[test]
    fn prime_rows_match_rustfft() {
        let mut planner = FftPlanner::new();
        assert!(PrimeRows::new(&mut planner, 46).is_none() && PrimeRows::new(&mut planner, 320).is_none());
        for w in [52, 68, 76, 92, 116, 124, 184, 368, 372, 1472] {
            let Some(pr) = PrimeRows::new(&mut planner, w) else { return }; // no AVX2+FMA: unused
            let x: Vec<C32> =
                (0..w).map(|i| C32::new((i as f32 * 0.37).sin(), (i as f32 * 0.11).cos())).collect();
            for (dir, d) in [FftDirection::Forward, FftDirection::Inverse].into_iter().enumerate() {
                let mut want: Vec<C32> =
                    x.iter().enumerate().map(|(n, &v)| if n % 2 == 1 { -v } else { v }).collect();
                planner.plan_fft(w, d).process(&mut want);
                let (mut got, mut s) =
                    (x.clone(), vec![C32::default(); w + pr.inner[dir].get_inplace_scratch_len()]);
                pr.process(&mut got, dir, &mut s);
                let err = got.iter().zip(&want).map(|(a, b)| (a - b).norm_sqr()).sum::<f32>().sqrt();
                let norm = want.iter().map(|b| b.norm_sqr()).sum::<f32>().sqrt();
                assert!(err < 1e-5 * norm, "w={w} dir={dir}: error {err} vs norm {norm}");
            }
        }
    }
}
