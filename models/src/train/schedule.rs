//! Learning-rate and Adam-β1 schedules of the Noise2Noise code.
//!
//! With `t` the time (in the schedule's unit, see [`Schedule::steps_per_unit`]), `T` the
//! training length, `T_up` the ramp-up and `L` the ramp-down length:
//! ```text
//! rampup(t)   = exp(−5·(1 − t/T_up)²)        for t < T_up, else 1
//! u           = (t − (T − L)) / L             position inside the ramp-down, in [0, 1)
//! rampdown(t) = 1                             for t < T − L, else
//!   CosineSquared: (½ + ½·cos(π·u))²          (N2N image code, last 30 % of iterations)
//!   Gaussian:      exp(−(½·(t − (T − L)))² / L) = exp(−(L/4)·u²)
//!                                             (N2N MRI code; t, L in epochs, L = 30)
//! lr(t)       = lr_max · rampup(t) · rampdown(t)
//! β1(t)       = rampdown(t)·β1 + (1 − rampdown(t))·β1_end   (MRI: 0.9 → 0.5)
//! ```
//! The Gaussian form is not scale-free (it depends on L in its unit), which is why the MRI
//! schedule runs in epochs: with `steps_per_unit` = steps per epoch, `t = ⌊step / k⌋` and the
//! values are constant within an epoch, as in the original code.

use serde::{Deserialize, Serialize};

/// Shape of the ramp-down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RampDown {
    /// No ramp-down.
    None,
    /// `(½ + ½·cos(π·u))²`.
    CosineSquared,
    /// `exp(−(½·(t − (T − L)))² / L)`.
    Gaussian,
}

/// Learning rate and β1 for one optimiser step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepParams {
    pub lr: f64,
    pub beta1: f64,
}

/// A learning-rate / β1 schedule; see the module documentation for the formulas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Peak learning rate.
    pub lr_max: f64,
    /// Training length `T`, in units.
    pub total: u64,
    /// Ramp-up length `T_up`, in units (0: none).
    pub rampup: u64,
    /// Ramp-down length `L`, in units (0: none).
    pub rampdown: u64,
    pub rampdown_shape: RampDown,
    /// β1 outside the ramp-down.
    pub beta1: f64,
    /// β1 reached at the end of the ramp-down (equal to `beta1` for a constant β1).
    pub beta1_end: f64,
    /// Optimiser steps per schedule unit: 1 when the schedule counts steps, the number of
    /// steps per epoch when it counts epochs.
    pub steps_per_unit: u64,
}

impl Schedule {
    /// The N2N MRI schedule: `epochs` epochs (300 in the paper) of `steps_per_epoch`
    /// steps, lr_max 1e-3, ramp-up 10 epochs, Gaussian ramp-down over the last 30 epochs
    /// with β1 0.9 → 0.5.
    pub fn n2n_mri(epochs: u64, steps_per_epoch: u64) -> Self {
        Self {
            lr_max: 1e-3,
            total: epochs,
            rampup: 10.min(epochs),
            rampdown: 30.min(epochs),
            rampdown_shape: RampDown::Gaussian,
            beta1: 0.9,
            beta1_end: 0.5,
            steps_per_unit: steps_per_epoch.max(1),
        }
    }

    /// The N2N image-noise schedule: `total_steps` steps at `lr_max` (3e-4 in the code),
    /// no ramp-up, cosine² ramp-down over the last `rampdown_fraction` (0.3) of the steps,
    /// constant β1 0.9.
    pub fn n2n_images(total_steps: u64, lr_max: f64, rampdown_fraction: f64) -> Self {
        Self {
            lr_max,
            total: total_steps,
            rampup: 0,
            rampdown: (total_steps as f64 * rampdown_fraction.clamp(0., 1.)).round() as u64,
            rampdown_shape: RampDown::CosineSquared,
            beta1: 0.9,
            beta1_end: 0.9,
            steps_per_unit: 1,
        }
    }

    /// A constant learning rate and β1.
    pub fn constant(lr: f64, beta1: f64) -> Self {
        Self {
            lr_max: lr,
            total: u64::MAX,
            rampup: 0,
            rampdown: 0,
            rampdown_shape: RampDown::None,
            beta1,
            beta1_end: beta1,
            steps_per_unit: 1,
        }
    }

    /// Total optimiser steps (`total · steps_per_unit`).
    pub fn total_steps(&self) -> u64 {
        self.total.saturating_mul(self.steps_per_unit)
    }

    /// `exp(−5·(1 − t/T_up)²)` for `t < T_up`, else 1.
    pub fn rampup_value(&self, t: f64) -> f64 {
        if self.rampup > 0 && t < self.rampup as f64 {
            let p = 1.0 - t.max(0.) / self.rampup as f64;
            (-5.0 * p * p).exp()
        } else {
            1.0
        }
    }

    /// The ramp-down factor in [0, 1] at time `t`.
    pub fn rampdown_value(&self, t: f64) -> f64 {
        let l = self.rampdown as f64;
        let start = self.total as f64 - l;
        if self.rampdown == 0 || t < start {
            return 1.0;
        }
        match self.rampdown_shape {
            RampDown::None => 1.0,
            RampDown::CosineSquared => {
                let u = ((t - start) / l).min(1.0);
                let c = 0.5 + 0.5 * (std::f64::consts::PI * u).cos();
                c * c
            }
            RampDown::Gaussian => {
                let e = 0.5 * (t - start);
                (-(e * e) / l).exp()
            }
        }
    }

    /// Learning rate and β1 at optimiser step `step` (0-based).
    pub fn at(&self, step: u64) -> StepParams {
        let t = (step / self.steps_per_unit.max(1)) as f64;
        let down = self.rampdown_value(t);
        StepParams {
            lr: self.lr_max * self.rampup_value(t) * down,
            beta1: down * self.beta1 + (1.0 - down) * self.beta1_end,
        }
    }
}
