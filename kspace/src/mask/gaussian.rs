//! `gaussian1d` and `gaussian`: variable-density Bernoulli sampling with a Gaussian density.
//!
//! Normalised coordinates put the k-space edge at ±1: `x = (j − W/2)/(W/2)`,
//! `y = (i − H/2)/(H/2)` (DC at 0). With `σ` = [`super::MaskParams::sigma`] (default 0.5):
//!
//! - `gaussian1d`: fastMRI's centre block (`num_low = round(W·cf)` columns from
//!   `(W − num_low + 1)//2`) is kept; every other column with probability
//!   `p_j = min(1, s·exp(−x_j²/(2σ²)))`, drawing `u = rng.uniform(size=W)` and keeping
//!   `u_j < p_j` (the same draw order as `random`).
//! - `gaussian`: a calibration box (`calib`, default `(round(H·cf), round(W·cf))`, placed like
//!   fastMRI's centre on each axis) is kept; every other bin with probability
//!   `p = min(1, s·exp(−(x² + y²)/(2σ²)))`, drawing `u = rng.uniform(size=(H, W))` row-major
//!   and keeping `u < p`.
//!
//! `s` is found by bisection so that the expected number of kept samples is exactly
//! `(number of samples)/acc`. The keep probability (1 in the centre/box, `p` elsewhere) is
//! exact.

use ndarray::Array2;

use super::cartesian::{centre_columns, check_1d, combine};
use super::{centre_range, check_shape, invalid, py_round, scale_to_sum, MaskFamily, MaskFunc, Param};
use crate::rng::MaskRng;
use crate::{Result, SamplingMask};

/// `exp(−t²/(2σ²))` at normalised position `t`.
fn gauss(t: f64, sigma: f64) -> f64 {
    (-t * t / (2.0 * sigma * sigma)).exp()
}

/// Normalised coordinate of index `i` on an axis of length `n` (DC at n/2 → 0, edge → ±1).
fn norm_coord(i: usize, n: usize) -> f64 {
    let half = (n / 2).max(1) as f64;
    (i as f64 - (n / 2) as f64) / half
}

/// The density's standard deviation when `sigma` is not set (half-widths).
const DEFAULT_SIGMA: f64 = 0.5;

/// The `gaussian1d` row of [`super::FAMILIES`].
pub(super) const GAUSSIAN_1D: MaskFamily = MaskFamily {
    name: "gaussian1d",
    description: "1-D variable density: centre + columns kept with prob min(1, s*exp(-x^2/2sigma^2))",
    params: &[Param::Acceleration, Param::CenterFraction, Param::Sigma],
    construct: |p| {
        Ok(Box::new(Gaussian1dMask::new(p.center_fraction, p.acceleration, p.sigma.unwrap_or(DEFAULT_SIGMA))))
    },
};

/// The `gaussian` row of [`super::FAMILIES`].
pub(super) const GAUSSIAN_2D: MaskFamily = MaskFamily {
    name: "gaussian",
    description: "2-D variable density: calibration box + bins kept with prob min(1, s*exp(-r^2/2sigma^2))",
    params: &[Param::Acceleration, Param::CenterFraction, Param::Calib, Param::Sigma],
    construct: |p| {
        let sigma = p.sigma.unwrap_or(DEFAULT_SIGMA);
        Ok(Box::new(Gaussian2dMask::new(p.center_fraction, p.acceleration, sigma, p.calib)))
    },
};

/// Gaussian-density random columns (1-D).
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian1dMask {
    center_fraction: f64,
    acceleration: f64,
    sigma: f64,
}

impl Gaussian1dMask {
    /// `sigma` in half-widths (validated by [`super::from_name`]).
    pub fn new(center_fraction: f64, acceleration: f64, sigma: f64) -> Self {
        Gaussian1dMask { center_fraction, acceleration, sigma }
    }
}

impl MaskFunc for Gaussian1dMask {
    fn name(&self) -> &str {
        "gaussian1d"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_1d(self.name(), shape, 2)?;
        let w = shape.1;
        let centre = centre_columns(w, self.center_fraction);
        let target = w as f64 / self.acceleration - centre.len() as f64;
        if target < 0.0 || centre.len() >= w {
            return Err(invalid(format!(
                "mask 'gaussian1d': the centre ({} of {w} columns) exceeds the {:.1} columns that \
                 acceleration {} allows; lower center_fraction",
                centre.len(),
                w as f64 / self.acceleration,
                self.acceleration
            )));
        }
        let outside: Vec<usize> = (0..w).filter(|j| !centre.contains(j)).collect();
        let density: Vec<f64> = outside.iter().map(|&j| gauss(norm_coord(j, w), self.sigma)).collect();
        let mut prob = vec![1.0; w];
        for (&j, p) in outside.iter().zip(scale_to_sum(&density, target)) {
            prob[j] = p;
        }
        let accel: Vec<bool> = prob.iter().map(|&p| rng.uniform() < p).collect();
        Ok(combine(shape.0, &centre, &accel, &prob))
    }
}

/// Gaussian-density random bins (2-D) with a calibration box.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian2dMask {
    center_fraction: f64,
    acceleration: f64,
    sigma: f64,
    calib: Option<(usize, usize)>,
}

impl Gaussian2dMask {
    /// `calib = None` → `(round(H·cf), round(W·cf))`.
    pub fn new(center_fraction: f64, acceleration: f64, sigma: f64, calib: Option<(usize, usize)>) -> Self {
        Gaussian2dMask { center_fraction, acceleration, sigma, calib }
    }
}

/// The calibration box rows × cols: explicit, or `round(n·cf)` per axis; must fit the budget.
pub(crate) fn calib_box(
    name: &str,
    shape: (usize, usize),
    calib: Option<(usize, usize)>,
    cf: f64,
    acc: f64,
) -> Result<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let (h, w) = shape;
    let (ch, cw) = calib.unwrap_or((py_round(h as f64 * cf) as usize, py_round(w as f64 * cf) as usize));
    if ch >= h || cw >= w {
        return Err(invalid(format!(
            "mask '{name}': calibration box {ch}×{cw} must be smaller than the grid {h}×{w}"
        )));
    }
    if (ch * cw) as f64 > (h * w) as f64 / acc {
        return Err(invalid(format!(
            "mask '{name}': calibration box {ch}×{cw} exceeds the {:.0} samples that acceleration {acc} allows",
            (h * w) as f64 / acc
        )));
    }
    Ok((centre_range(h, ch), centre_range(w, cw)))
}

impl MaskFunc for Gaussian2dMask {
    fn name(&self) -> &str {
        "gaussian"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_shape(self.name(), shape, 2, 2)?;
        let (h, w) = shape;
        let (rows, cols) =
            calib_box(self.name(), shape, self.calib, self.center_fraction, self.acceleration)?;
        let in_box = |i: usize, j: usize| rows.contains(&i) && cols.contains(&j);
        let target = (h * w) as f64 / self.acceleration - (rows.len() * cols.len()) as f64;
        let outside: Vec<(usize, usize)> =
            (0..h).flat_map(|i| (0..w).map(move |j| (i, j))).filter(|&(i, j)| !in_box(i, j)).collect();
        let density: Vec<f64> = outside
            .iter()
            .map(|&(i, j)| gauss(norm_coord(i, h), self.sigma) * gauss(norm_coord(j, w), self.sigma))
            .collect();
        let mut prob = Array2::<f64>::ones((h, w));
        for (&ij, p) in outside.iter().zip(scale_to_sum(&density, target)) {
            prob[ij] = p;
        }
        let mut keep = Array2::from_elem((h, w), false);
        for ((ij, k), &p) in keep.indexed_iter_mut().zip(prob.iter()) {
            *k = rng.uniform() < p || in_box(ij.0, ij.1);
        }
        Ok(SamplingMask::new(keep, prob.mapv(|p| p as f32)))
    }
}
