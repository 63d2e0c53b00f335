//! `magic` and `magic_fraction`: fastMRI's `MagicMaskFunc` and `MagicMaskFractionFunc`
//! (Defazio 2019, "Offset sampling improves deep learning based accelerated MRI
//! reconstructions by exploiting symmetry", arXiv:1912.01101).
//!
//! An equispaced pattern whose negative-frequency half is shifted so that, with conjugate
//! symmetry, the two halves interleave. For spacing `a` and offset `o`
//! (`rng.randint(0, a)` unless fixed):
//!
//! - `o` even: `pos = o + 1`, `neg = o + 2`; `o` odd: `pos = o + 2`, `neg = o − 1`;
//! - `P = zeros((W + 1)//2)`, `P[pos::a] = 1`; `N = zeros(W − (W + 1)//2)`, `N[neg::a] = 1`;
//! - accel = `fftshift(concat(P, flip(N)))`, then OR the centre block
//!   (`num_low` columns from `(W − num_low + 1)//2`).
//!
//! `magic`: `a = acc` (integer), `num_low = round(W·cf)`; like `equispaced` it keeps more than
//! `W/acc` columns. `magic_fraction`: `target = round(W/acc)`,
//! `num_low = clamp(round(W·cf), 1, target)`, `a = round(W/(target − num_low))` (needs
//! `target > num_low`).
//!
//! Keep probability: 1 in the centre, elsewhere the exact fraction of the `a` offsets whose
//! pattern contains the column (also when the offset is fixed).

use super::cartesian::{
    centre_columns, check_1d, combine, fftshift_1d, integer_family, offset_average, pick_offset,
    OFFSET_PARAMS,
};
use super::{centre_range, invalid, py_round, MaskFamily, MaskFunc};
use crate::rng::MaskRng;
use crate::{Result, SamplingMask};

/// The Defazio offset pattern over `w` columns with spacing `a` and offset `o` (no centre).
fn magic_accel(w: usize, a: usize, o: usize) -> Vec<bool> {
    let (pos, neg) = if o % 2 == 0 { (o + 1, o + 2) } else { (o + 2, o - 1) };
    let poslen = w.div_ceil(2);
    let neglen = w - poslen;
    let mut m: Vec<bool> = (0..poslen).map(|i| i >= pos && (i - pos) % a == 0).collect();
    m.extend((0..neglen).rev().map(|i| i >= neg && (i - neg) % a == 0));
    fftshift_1d(&m)
}

/// Centre OR magic pattern, with the probability averaged over offsets.
fn sample_magic(
    name: &str,
    shape: (usize, usize),
    centre: std::ops::Range<usize>,
    a: usize,
    fixed: Option<usize>,
    rng: &mut MaskRng,
) -> Result<SamplingMask> {
    let w = shape.1;
    let offset = pick_offset(name, fixed, a, rng)?;
    let prob = offset_average(w, a, |o| magic_accel(w, a, o));
    Ok(combine(shape.0, &centre, &magic_accel(w, a, offset), &prob))
}

/// The `magic` row of [`super::FAMILIES`].
pub(super) const MAGIC: MaskFamily = MaskFamily {
    name: "magic",
    description:
        "fastMRI 1-D: Defazio offset sampling, equispaced with a shifted conjugate half (integer acc)",
    params: OFFSET_PARAMS,
    construct: |p| integer_family("magic", p, MagicMask::new),
};

/// The `magic_fraction` row of [`super::FAMILIES`].
pub(super) const MAGIC_FRACTION: MaskFamily = MaskFamily {
    name: "magic_fraction",
    description: "fastMRI 1-D: magic with spacing adjusted to hit 1/acc",
    params: OFFSET_PARAMS,
    construct: |p| Ok(Box::new(MagicFractionMask::new(p.center_fraction, p.acceleration, p.offset))),
};

/// fastMRI's magic (offset) 1-D mask with an integer acceleration.
#[derive(Debug, Clone, PartialEq)]
pub struct MagicMask {
    center_fraction: f64,
    acceleration: usize,
    offset: Option<usize>,
}

impl MagicMask {
    /// Errors if a fixed `offset ≥ acceleration`.
    pub fn new(center_fraction: f64, acceleration: usize, offset: Option<usize>) -> Result<Self> {
        if let Some(o) = offset.filter(|&o| o >= acceleration) {
            return Err(invalid(format!(
                "mask 'magic': offset {o} must be below the acceleration {acceleration}"
            )));
        }
        Ok(MagicMask { center_fraction, acceleration, offset })
    }
}

impl MaskFunc for MagicMask {
    fn name(&self) -> &str {
        "magic"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_1d(self.name(), shape, 2)?;
        let centre = centre_columns(shape.1, self.center_fraction);
        sample_magic(self.name(), shape, centre, self.acceleration, self.offset, rng)
    }
}

/// fastMRI's magic mask with spacing and centre adjusted to ≈ W/acc columns.
#[derive(Debug, Clone, PartialEq)]
pub struct MagicFractionMask {
    center_fraction: f64,
    acceleration: f64,
    offset: Option<usize>,
}

impl MagicFractionMask {
    /// Any `acceleration > 1` (validated by [`super::from_name`]).
    pub fn new(center_fraction: f64, acceleration: f64, offset: Option<usize>) -> Self {
        MagicFractionMask { center_fraction, acceleration, offset }
    }
}

impl MaskFunc for MagicFractionMask {
    fn name(&self) -> &str {
        "magic_fraction"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_1d(self.name(), shape, 2)?;
        let w = shape.1;
        let target = py_round(w as f64 / self.acceleration) as usize;
        let num_low = (py_round(w as f64 * self.center_fraction) as usize).min(target).max(1);
        if target <= num_low {
            return Err(invalid(format!(
                "mask 'magic_fraction': {w} columns at acceleration {} leave no columns outside the \
                 {num_low}-column centre",
                self.acceleration
            )));
        }
        let a = py_round(w as f64 / (target - num_low) as f64) as usize;
        if a == 0 {
            return Err(invalid("mask 'magic_fraction': spacing rounds to 0"));
        }
        sample_magic(self.name(), shape, centre_range(w, num_low), a, self.offset, rng)
    }
}
