//! `equispaced` and `equispaced_fraction`: fastMRI's `EquiSpacedMaskFunc` and
//! `EquispacedMaskFractionFunc`.
//!
//! Both keep fastMRI's centre block (`num_low = round(W·cf)` columns from
//! `(W − num_low + 1) // 2`) plus equally spaced columns from an offset drawn as
//! `rng.randint(0, n_offsets)` (or fixed by [`super::MaskParams::offset`]):
//!
//! - `equispaced` (integer `acc`): columns `offset, offset + acc, …` (`mask[offset::acc]`),
//!   `n_offsets = acc`. Every non-centre column is kept by exactly one offset (`j mod acc`), so
//!   its keep probability is exactly `1/acc`; the kept fraction is
//!   `(num_low + (W − num_low)/acc)/W`, i.e. *more* than `1/acc` — fastMRI's documented
//!   behaviour ("acceleration will be greater than the true acceleration rate").
//! - `equispaced_fraction`: spacing `a' = acc·(num_low − W)/(num_low·acc − W)` so that
//!   `num_low + (W − num_low)/a' = W/acc`; columns `around(np.arange(offset, W − 1, a'))`
//!   (numpy's arange fill and half-to-even rounding reproduced exactly),
//!   `n_offsets = round(a')`. Needs `num_low·acc < W`.
//!
//! Keep probability (both): 1 in the centre, elsewhere the exact fraction of the `n_offsets`
//! offsets whose pattern contains the column. It is the same whether or not the offset is
//! fixed: it is the family's sampling density, what `1/p` compensation should divide by.

use super::cartesian::{
    centre_columns, check_1d, combine, integer_family, np_arange, offset_average, pick_offset, OFFSET_PARAMS,
};
use super::{invalid, py_round, MaskFamily, MaskFunc};
use crate::rng::MaskRng;
use crate::{Result, SamplingMask};

/// The `equispaced` row of [`super::FAMILIES`].
pub(super) const EQUISPACED: MaskFamily = MaskFamily {
    name: "equispaced",
    description: "fastMRI 1-D: centre columns + every acc-th column from a random offset (integer acc)",
    params: OFFSET_PARAMS,
    construct: |p| integer_family("equispaced", p, EquispacedMask::new),
};

/// The `equispaced_fraction` row of [`super::FAMILIES`].
pub(super) const EQUISPACED_FRACTION: MaskFamily = MaskFamily {
    name: "equispaced_fraction",
    description: "fastMRI 1-D: centre + equispaced columns with spacing adjusted to hit 1/acc",
    params: OFFSET_PARAMS,
    construct: |p| Ok(Box::new(EquispacedFractionMask::new(p.center_fraction, p.acceleration, p.offset))),
};

/// fastMRI's equispaced 1-D mask with an integer acceleration.
#[derive(Debug, Clone, PartialEq)]
pub struct EquispacedMask {
    center_fraction: f64,
    acceleration: usize,
    offset: Option<usize>,
}

impl EquispacedMask {
    /// Errors if a fixed `offset ≥ acceleration`.
    pub fn new(center_fraction: f64, acceleration: usize, offset: Option<usize>) -> Result<Self> {
        if let Some(o) = offset.filter(|&o| o >= acceleration) {
            return Err(invalid(format!(
                "mask 'equispaced': offset {o} must be below the acceleration {acceleration}"
            )));
        }
        Ok(EquispacedMask { center_fraction, acceleration, offset })
    }

    fn accel(&self, w: usize, offset: usize) -> Vec<bool> {
        (0..w).map(|j| j >= offset && (j - offset) % self.acceleration == 0).collect()
    }
}

impl MaskFunc for EquispacedMask {
    fn name(&self) -> &str {
        "equispaced"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_1d(self.name(), shape, 2)?;
        let w = shape.1;
        let centre = centre_columns(w, self.center_fraction);
        let offset = pick_offset(self.name(), self.offset, self.acceleration, rng)?;
        let prob = offset_average(w, self.acceleration, |o| self.accel(w, o));
        Ok(combine(shape.0, &centre, &self.accel(w, offset), &prob))
    }
}

/// fastMRI's equispaced mask with the spacing adjusted so the kept fraction is ≈ 1/acc.
#[derive(Debug, Clone, PartialEq)]
pub struct EquispacedFractionMask {
    center_fraction: f64,
    acceleration: f64,
    offset: Option<usize>,
}

impl EquispacedFractionMask {
    /// Any `acceleration > 1` (validated by [`super::from_name`]).
    pub fn new(center_fraction: f64, acceleration: f64, offset: Option<usize>) -> Self {
        EquispacedFractionMask { center_fraction, acceleration, offset }
    }
}

/// `around(np.arange(offset, w − 1, spacing))` as column flags.
fn fraction_accel(w: usize, spacing: f64, offset: usize) -> Vec<bool> {
    let mut mask = vec![false; w];
    for v in np_arange(offset as i64, w as i64 - 1, spacing) {
        let j = v.round_ties_even() as usize;
        if j < w {
            mask[j] = true;
        }
    }
    mask
}

impl MaskFunc for EquispacedFractionMask {
    fn name(&self) -> &str {
        "equispaced_fraction"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_1d(self.name(), shape, 2)?;
        let w = shape.1;
        let centre = centre_columns(w, self.center_fraction);
        let nl = centre.len() as f64;
        let acc = self.acceleration;
        if nl * acc >= w as f64 {
            return Err(invalid(format!(
                "mask 'equispaced_fraction': the centre ({nl} of {w} columns) leaves nothing to sample at \
                 acceleration {acc}; lower center_fraction"
            )));
        }
        // fastMRI: (acceleration * (num_low - num_cols)) / (num_low * acceleration - num_cols).
        let spacing = (acc * (nl - w as f64)) / (nl * acc - w as f64);
        let n_offsets = py_round(spacing) as usize;
        let offset = pick_offset(self.name(), self.offset, n_offsets, rng)?;
        let prob = offset_average(w, n_offsets, |o| fraction_accel(w, spacing, o));
        Ok(combine(shape.0, &centre, &fraction_accel(w, spacing, offset), &prob))
    }
}
