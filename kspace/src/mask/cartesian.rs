//! Shared pieces of the 1-D phase-encode (fastMRI `subsample.py`) families: the centre block,
//! combining it with the acceleration lines, and keep probabilities averaged over offsets.

use std::ops::Range;

use super::{
    centre_range, check_shape, integer_acceleration, invalid, py_round, MaskFunc, MaskParams, Param,
};
use crate::{Result, SamplingMask};

/// What the equispaced and magic families read: the offset besides R and the centre.
pub(crate) const OFFSET_PARAMS: &[Param] = &[Param::Acceleration, Param::CenterFraction, Param::Offset];

/// Builds `equispaced` or `magic` (`name`), which step through the columns by an integer
/// acceleration, with their constructor `new(center_fraction, acceleration, offset)`.
pub(crate) fn integer_family<M: MaskFunc + 'static>(
    name: &str,
    p: &MaskParams,
    new: fn(f64, usize, Option<usize>) -> Result<M>,
) -> Result<Box<dyn MaskFunc>> {
    Ok(Box::new(new(p.center_fraction, integer_acceleration(name, p.acceleration)?, p.offset)?))
}

/// fastMRI's low-frequency block over `w` columns: `num_low = round(w · cf)` (Python's
/// half-to-even `round`) columns starting at `(w − num_low + 1) // 2`.
pub(crate) fn centre_columns(w: usize, center_fraction: f64) -> Range<usize> {
    let num_low = py_round(w as f64 * center_fraction).max(0.0) as usize;
    centre_range(w, num_low.min(w))
}

/// Validates a 1-D shape: at least one row and `min_w` columns.
pub(crate) fn check_1d(name: &str, shape: (usize, usize), min_w: usize) -> Result<()> {
    check_shape(name, shape, 1, min_w.max(2))
}

/// fastMRI's `torch.max(center_mask, accel_mask)` broadcast over the rows, with keep
/// probability 1 on the centre and `accel_prob[j]` elsewhere.
pub(crate) fn combine(
    rows: usize,
    centre: &Range<usize>,
    accel: &[bool],
    accel_prob: &[f64],
) -> SamplingMask {
    let keep: Vec<bool> = accel.iter().enumerate().map(|(j, &a)| a || centre.contains(&j)).collect();
    let prob: Vec<f32> = accel_prob
        .iter()
        .enumerate()
        .map(|(j, &p)| if centre.contains(&j) { 1.0 } else { p as f32 })
        .collect();
    SamplingMask::from_columns(rows, &keep, &prob)
}

/// The probability that each column is in `accel(offset)` when the offset is uniform on
/// `0..n_offsets` (exact: the fraction of offsets whose pattern contains the column).
pub(crate) fn offset_average(w: usize, n_offsets: usize, accel: impl Fn(usize) -> Vec<bool>) -> Vec<f64> {
    let mut count = vec![0usize; w];
    for o in 0..n_offsets {
        for (c, k) in count.iter_mut().zip(accel(o)) {
            *c += k as usize;
        }
    }
    count.iter().map(|&c| c as f64 / n_offsets as f64).collect()
}

/// The offset: the fixed one if given (must be `< n_offsets`), else fastMRI's
/// `rng.randint(0, high=n_offsets)`.
pub(crate) fn pick_offset(
    name: &str,
    fixed: Option<usize>,
    n_offsets: usize,
    rng: &mut crate::rng::MaskRng,
) -> Result<usize> {
    if n_offsets == 0 {
        return Err(invalid(format!("mask '{name}': no valid offset (spacing rounds to 0)")));
    }
    match fixed {
        Some(o) if o >= n_offsets => {
            Err(invalid(format!("mask '{name}': offset {o} must be below the spacing {n_offsets}")))
        }
        Some(o) => Ok(o),
        None => Ok(rng.randint(0, n_offsets as i64)? as usize),
    }
}

/// `np.arange(start, stop, step)` for an integer start/stop and a float step, exactly as numpy
/// fills it: length `ceil((stop − start)/step)`, `v₀ = start`, `v₁ = start + step`, then
/// `vᵢ = v₀ + i·(v₁ − v₀)`.
pub(crate) fn np_arange(start: i64, stop: i64, step: f64) -> Vec<f64> {
    let len = ((stop - start) as f64 / step).ceil();
    if len.is_nan() || len <= 0.0 {
        return Vec::new();
    }
    let len = len as usize;
    let v0 = start as f64;
    let v1 = v0 + step;
    let delta = v1 - v0;
    (0..len)
        .map(|i| match i {
            0 => v0,
            1 => v1,
            _ => v0 + i as f64 * delta,
        })
        .collect()
}

/// `np.fft.fftshift` of a 1-D array: element `i` moves to `(i + n/2) mod n`.
pub(crate) fn fftshift_1d<T: Copy + Default>(x: &[T]) -> Vec<T> {
    let n = x.len();
    let mut out = vec![T::default(); n];
    for (i, &v) in x.iter().enumerate() {
        out[(i + n / 2) % n] = v;
    }
    out
}
