//! `random`: fastMRI's `RandomMaskFunc`.
//!
//! Over W columns: the centre block of `num_low = round(W·cf)` columns starting at
//! `(W − num_low + 1) // 2` is kept, and, with `u = rng.uniform(size=W)` (one draw per column,
//! centre included, in column order), every column with `u[j] < prob` where
//!
//! `prob = (W/acc − num_low) / (W − num_low)`,
//!
//! so the expected number of kept columns is exactly `W/acc`. Keep probability: 1 in the centre,
//! `prob` elsewhere (exact). Same seed → same mask as fastMRI's
//! `RandomMaskFunc([cf], [acc])(shape, seed=seed)`.

use super::cartesian::{centre_columns, check_1d, combine};
use super::{invalid, MaskFamily, MaskFunc, Param};
use crate::rng::MaskRng;
use crate::{Result, SamplingMask};

/// The `random` row of [`super::FAMILIES`].
pub(super) const FAMILY: MaskFamily = MaskFamily {
    name: "random",
    description: "fastMRI 1-D: centre columns + each other column kept with prob (W/acc - nlow)/(W - nlow)",
    params: &[Param::Acceleration, Param::CenterFraction],
    construct: |p| Ok(Box::new(RandomMask::new(p.center_fraction, p.acceleration))),
};

/// fastMRI's random 1-D column mask (see the module docs for the formula).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomMask {
    center_fraction: f64,
    acceleration: f64,
}

impl RandomMask {
    /// `center_fraction ∈ [0, 1)`, `acceleration > 1` (validated by [`super::from_name`]).
    pub fn new(center_fraction: f64, acceleration: f64) -> Self {
        RandomMask { center_fraction, acceleration }
    }
}

impl MaskFunc for RandomMask {
    fn name(&self) -> &str {
        "random"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_1d(self.name(), shape, 2)?;
        let w = shape.1;
        let centre = centre_columns(w, self.center_fraction);
        let num_low = centre.len();
        let target = w as f64 / self.acceleration;
        if num_low >= w || num_low as f64 > target {
            return Err(invalid(format!(
                "mask 'random': the centre ({num_low} of {w} columns) exceeds the {target:.1} columns that \
                 acceleration {} allows; lower center_fraction",
                self.acceleration
            )));
        }
        let prob = (w as f64 / self.acceleration - num_low as f64) / (w as f64 - num_low as f64);
        let accel: Vec<bool> = (0..w).map(|_| rng.uniform() < prob).collect();
        Ok(combine(shape.0, &centre, &accel, &vec![prob; w]))
    }
}
