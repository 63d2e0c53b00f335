//! Centred orthonormal 2-D FFTs over the last two axes (numpy's shift conventions):
//! `fft2c(x) = fftshift(fft2(ifftshift(x), norm="ortho"))`, `ifft2c` likewise.
//!
//! PLACEHOLDER implementation (simple and correct); the optimised planner replaces it.

use crate::C32;
use ndarray::{Array2, ArrayD, ArrayViewMut2, ArrayViewMutD, Axis, Dimension};
use rustfft::{Fft, FftDirection, FftPlanner};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A reusable plan for centred orthonormal 2-D FFTs of one (H, W) size.
#[derive(Clone)]
pub struct Fft2c {
    h: usize,
    w: usize,
    row_fwd: Arc<dyn Fft<f32>>,
    row_inv: Arc<dyn Fft<f32>>,
    col_fwd: Arc<dyn Fft<f32>>,
    col_inv: Arc<dyn Fft<f32>>,
}

/// Hands out [`Fft2c`] plans, made once per shape and shared (like rustfft's `FftPlanner`).
pub struct Fft2cPlanner {
    inner: Mutex<(FftPlanner<f32>, HashMap<(usize, usize), Arc<Fft2c>>)>,
}

impl Default for Fft2cPlanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Fft2cPlanner {
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
        let plan = Arc::new(Fft2c {
            h,
            w,
            row_fwd: planner.plan_fft(w, FftDirection::Forward),
            row_inv: planner.plan_fft(w, FftDirection::Inverse),
            col_fwd: planner.plan_fft(h, FftDirection::Forward),
            col_inv: planner.plan_fft(h, FftDirection::Inverse),
        });
        cache.insert((h, w), plan.clone());
        plan
    }
}

fn global_planner() -> &'static Fft2cPlanner {
    static PLANNER: std::sync::OnceLock<Fft2cPlanner> = std::sync::OnceLock::new();
    PLANNER.get_or_init(Fft2cPlanner::new)
}

impl Fft2c {
    /// Grid size (H, W) this plan transforms.
    pub fn shape(&self) -> (usize, usize) {
        (self.h, self.w)
    }

    /// Forward centred orthonormal FFT of every (H, W) image in `x`, in place.
    pub fn forward(&self, x: &mut ArrayViewMutD<C32>) {
        self.apply(x, true)
    }

    /// Inverse centred orthonormal FFT of every (H, W) image in `x`, in place.
    pub fn inverse(&self, x: &mut ArrayViewMutD<C32>) {
        self.apply(x, false)
    }

    /// Transform one 2-D image in place.
    pub fn forward2(&self, x: &mut ArrayViewMut2<C32>) {
        self.apply2(x, true)
    }

    /// Inverse-transform one 2-D image in place.
    pub fn inverse2(&self, x: &mut ArrayViewMut2<C32>) {
        self.apply2(x, false)
    }

    fn apply(&self, x: &mut ArrayViewMutD<C32>, forward: bool) {
        let nd = x.ndim();
        assert!(nd >= 2, "fft2c needs at least 2 axes");
        assert_eq!((x.shape()[nd - 2], x.shape()[nd - 1]), (self.h, self.w), "plan/array shape mismatch");
        let lead: usize = x.shape()[..nd - 2].iter().product();
        let mut v = x.view_mut().into_shape_with_order((lead, self.h, self.w)).ok();
        match v.as_mut() {
            Some(v) => v.axis_iter_mut(Axis(0)).for_each(|mut s| self.apply2(&mut s, forward)),
            None => {
                // Non-contiguous view: go image by image through the leading axes.
                let idx: Vec<_> = ndarray::indices(&x.shape()[..nd - 2]).into_iter().collect();
                for i in idx {
                    let mut s = x.view_mut();
                    for (ax, &k) in i.slice().iter().enumerate() {
                        s.collapse_axis(Axis(ax), k);
                    }
                    let mut s2 = s.into_dimensionality::<ndarray::Ix2>().unwrap_or_else(|_| unreachable!());
                    let _ = ();
                    self.apply2(&mut s2, forward);
                }
            }
        }
    }

    fn apply2(&self, x: &mut ArrayViewMut2<C32>, forward: bool) {
        let (h, w) = (self.h, self.w);
        let scale = 1.0 / ((h * w) as f32).sqrt();
        let mut tmp: Array2<C32> = ifftshift2(&x.view());
        let (rf, cf) = if forward { (&self.row_fwd, &self.col_fwd) } else { (&self.row_inv, &self.col_inv) };
        for mut row in tmp.rows_mut() {
            let mut r = row.to_vec();
            rf.process(&mut r);
            row.iter_mut().zip(r).for_each(|(a, b)| *a = b);
        }
        for mut col in tmp.columns_mut() {
            let mut c = col.to_vec();
            cf.process(&mut c);
            col.iter_mut().zip(c).for_each(|(a, b)| *a = b * scale);
        }
        x.assign(&fftshift2(&tmp.view()));
    }
}

/// `fftshift` over the last two axes of a 2-D array (index 0 moves to n/2), numpy's convention.
pub fn fftshift2<T: Clone>(x: &ndarray::ArrayView2<T>) -> Array2<T> {
    roll2(x, x.nrows() / 2, x.ncols() / 2)
}

/// `ifftshift` (inverse of [`fftshift2`]; differs from it for odd sizes).
pub fn ifftshift2<T: Clone>(x: &ndarray::ArrayView2<T>) -> Array2<T> {
    roll2(x, x.nrows().div_ceil(2), x.ncols().div_ceil(2))
}

fn roll2<T: Clone>(x: &ndarray::ArrayView2<T>, sh: usize, sw: usize) -> Array2<T> {
    let (h, w) = x.dim();
    Array2::from_shape_fn((h, w), |(i, j)| x[[(i + h - sh) % h, (j + w - sw) % w]].clone())
}

/// Forward centred FFT over the last two axes, in place (plan from the shared planner).
pub fn fft2c_inplace<D: Dimension>(x: &mut ndarray::ArrayViewMut<C32, D>) {
    let mut d = x.view_mut().into_dyn();
    let nd = d.ndim();
    global_planner().plan(d.shape()[nd - 2], d.shape()[nd - 1]).forward(&mut d)
}

/// Inverse centred FFT over the last two axes, in place.
pub fn ifft2c_inplace<D: Dimension>(x: &mut ndarray::ArrayViewMut<C32, D>) {
    let mut d = x.view_mut().into_dyn();
    let nd = d.ndim();
    global_planner().plan(d.shape()[nd - 2], d.shape()[nd - 1]).inverse(&mut d)
}

/// Forward centred orthonormal FFT over the last two axes: `fftshift(fft2(ifftshift(x)))/√(HW)`.
pub fn fft2c<S, D>(x: &ndarray::ArrayBase<S, D>) -> ndarray::Array<C32, D>
where
    S: ndarray::Data<Elem = C32>,
    D: Dimension,
{
    let mut y = x.to_owned();
    fft2c_inplace(&mut y.view_mut());
    y
}

/// Inverse centred orthonormal FFT over the last two axes.
pub fn ifft2c<S, D>(x: &ndarray::ArrayBase<S, D>) -> ndarray::Array<C32, D>
where
    S: ndarray::Data<Elem = C32>,
    D: Dimension,
{
    let mut y = x.to_owned();
    ifft2c_inplace(&mut y.view_mut());
    y
}

#[allow(dead_code)]
fn _assert_dyn(_: ArrayD<C32>) {}
