//! [`SamplingMask`]: which k-space bins are measured, and with what probability each was kept.

use ndarray::{Array2, Zip};

/// A drawn sampling pattern over an (H, W) k-space grid (centred: DC at (H/2, W/2)).
///
/// `keep[[i, j]]` says whether bin (i, j) is measured; `prob[[i, j]]` is the probability with
/// which the mask family keeps that bin (1 for the calibration region), so that dividing the
/// measured samples by `prob` gives an unbiased estimate of the full spectrum
/// (E[keep/prob] = 1). `columns` is `Some` for 1-D phase-encode masks (fastMRI's layout,
/// one flag per column W), `None` for 2-D patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingMask {
    pub keep: Array2<bool>,
    pub prob: Array2<f32>,
    pub columns: Option<Vec<bool>>,
}

impl SamplingMask {
    /// A 2-D mask from per-bin flags and keep probabilities (same shape).
    pub fn new(keep: Array2<bool>, prob: Array2<f32>) -> Self {
        assert_eq!(keep.dim(), prob.dim(), "keep and prob must have the same shape");
        SamplingMask { keep, prob, columns: None }
    }

    /// A 1-D phase-encode mask (one flag and probability per column) broadcast over `rows`.
    pub fn from_columns(rows: usize, keep: &[bool], prob: &[f32]) -> Self {
        assert_eq!(keep.len(), prob.len());
        let w = keep.len();
        SamplingMask {
            keep: Array2::from_shape_fn((rows, w), |(_, j)| keep[j]),
            prob: Array2::from_shape_fn((rows, w), |(_, j)| prob[j]),
            columns: Some(keep.to_vec()),
        }
    }

    /// A mask that keeps every bin (fully sampled), probability 1.
    pub fn full(shape: (usize, usize)) -> Self {
        SamplingMask { keep: Array2::from_elem(shape, true), prob: Array2::ones(shape), columns: None }
    }

    /// (H, W) of the grid.
    pub fn shape(&self) -> (usize, usize) {
        self.keep.dim()
    }

    /// Number of measured bins.
    pub fn count(&self) -> usize {
        self.keep.iter().filter(|&&k| k).count()
    }

    /// Fraction of bins measured, `count / (H·W)`.
    pub fn sampled_fraction(&self) -> f64 {
        self.count() as f64 / self.keep.len() as f64
    }

    /// Achieved acceleration `H·W / count` (∞ for an empty mask).
    pub fn acceleration(&self) -> f64 {
        self.keep.len() as f64 / self.count() as f64
    }

    /// Density-compensation weights: `1/prob` where kept, 0 elsewhere.
    pub fn weights(&self) -> Array2<f32> {
        let mut w = Array2::zeros(self.shape());
        Zip::from(&mut w).and(&self.keep).and(&self.prob).for_each(|w, &k, &p| {
            if k && p > 0.0 {
                *w = 1.0 / p;
            }
        });
        w
    }

    /// The mask as 0/1 floats (for saving, plotting, or multiplying).
    pub fn as_f32(&self) -> Array2<f32> {
        self.keep.mapv(|k| if k { 1.0 } else { 0.0 })
    }
}
