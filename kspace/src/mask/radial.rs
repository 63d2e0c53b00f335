//! `radial`: golden-angle radial spokes rasterised onto the Cartesian grid.
//!
//! Spoke n (full diameter through DC) has angle `θₙ = θ₀ + n·Δ`, `Δ = π(√5 − 1)/2 ≈ 111.25°`
//! (the golden angle for full spokes, Winkelmann et al. 2007), `θ₀ = π·rng.uniform()`. Its
//! points `t·((H/2)·sin θ, (W/2)·cos θ)`, `t ∈ [−1, 1]` in `2·max(H, W) + 1` steps (≤ ½ bin
//! apart), are rounded to the nearest bin around DC `(H/2, W/2)`; spokes span the ellipse
//! inscribed in the grid. Spokes are added until the union of n spokes reaches `T = H·W/acc`
//! bins (`cₙ₋₁ < T ≤ cₙ`); then the n-th spoke is kept if `rng.uniform() < (T − cₙ₋₁)/(cₙ − cₙ₋₁)`,
//! else dropped, so the expected kept count is exactly `T` (randomised rounding of the spoke
//! count; the first spoke is always kept). DC is on every spoke, so always kept; no calibration
//! box.
//!
//! Keep probability (a rotation-averaged estimate, not exact): n spokes cross a circle of
//! radius ρ bins 2n times over its 2πρ circumference, so the density is ≈ `n/(πρ)`. Here
//! `p = min(1, κ/ρ)` with `ρ` the bin's radius (axes rescaled to the geometric-mean
//! half-width `√(H/2 · W/2)`), 1 at DC, 0 outside the ellipse (with half a bin of slack), and κ
//! bisected so that `Σ p` equals the number kept (κ ≈ 0.9·n/π: a rasterised line hits
//! `max(|cos θ|, |sin θ|)` bins per unit length).

use ndarray::Array2;

use super::{bisect, check_shape, invalid, MaskFamily, MaskFunc, Param};
use crate::rng::MaskRng;
use crate::{Result, SamplingMask};

/// The `radial` row of [`super::FAMILIES`].
pub(super) const FAMILY: MaskFamily = MaskFamily {
    name: "radial",
    description: "2-D golden-angle radial spokes rasterised on the grid, spoke count set by acc",
    params: &[Param::Acceleration],
    construct: |p| Ok(Box::new(RadialMask::new(p.acceleration))),
};

/// Golden-angle radial spokes.
#[derive(Debug, Clone, PartialEq)]
pub struct RadialMask {
    acceleration: f64,
}

impl RadialMask {
    /// `acceleration > 1` (validated by [`super::from_name`]).
    pub fn new(acceleration: f64) -> Self {
        RadialMask { acceleration }
    }
}

/// The distinct bins hit by the spoke at angle `theta`.
fn spoke(h: usize, w: usize, theta: f64) -> Vec<(usize, usize)> {
    let steps = 2 * h.max(w);
    let (ci, cj) = ((h / 2) as f64, (w / 2) as f64);
    let (s, c) = theta.sin_cos();
    let mut bins: Vec<(usize, usize)> = Vec::with_capacity(steps + 1);
    for m in 0..=steps {
        let t = -1.0 + 2.0 * m as f64 / steps as f64;
        let i = ci + (t * s * h as f64 / 2.0).round();
        let j = cj + (t * c * w as f64 / 2.0).round();
        if i >= 0.0 && i < h as f64 && j >= 0.0 && j < w as f64 {
            bins.push((i as usize, j as usize));
        }
    }
    bins.sort_unstable();
    bins.dedup();
    bins
}

impl MaskFunc for RadialMask {
    fn name(&self) -> &str {
        "radial"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_shape(self.name(), shape, 4, 4)?;
        let (h, w) = shape;
        let target = (h * w) as f64 / self.acceleration;
        let golden = std::f64::consts::PI * (5f64.sqrt() - 1.0) / 2.0;
        let theta0 = std::f64::consts::PI * rng.uniform();
        let mut hits = Array2::<u32>::zeros((h, w));
        let mut count = 0usize;
        let mut last: Vec<(usize, usize)> = Vec::new();
        let mut prev_count = 0usize;
        let max_spokes = 8 * h.max(w);
        let mut n = 0;
        while (count as f64) < target {
            if n == max_spokes {
                return Err(invalid(format!(
                    "mask 'radial': spokes cover at most {:.1}% of {h}×{w}; acceleration {} is too low",
                    100.0 * count as f64 / (h * w) as f64,
                    self.acceleration
                )));
            }
            prev_count = count;
            last = spoke(h, w, theta0 + n as f64 * golden);
            for &ij in &last {
                hits[ij] += 1;
                count += (hits[ij] == 1) as usize;
            }
            n += 1;
        }
        // Keep the n-th spoke with the probability that makes E[count] = target (always the
        // first one, so DC is kept even when one spoke already exceeds the target).
        let q = (target - prev_count as f64) / (count - prev_count).max(1) as f64;
        if rng.uniform() >= q && n > 1 {
            for &ij in &last {
                hits[ij] -= 1;
            }
            count = prev_count;
        }
        let keep = hits.mapv(|c| c > 0);
        Ok(SamplingMask::new(keep, density(h, w, count)))
    }
}

/// `p = min(1, κ/ρ)` inside the (slackened) ellipse, 0 outside, `Σ p = count`.
fn density(h: usize, w: usize, count: usize) -> Array2<f32> {
    let (hh, hw) = ((h as f64 / 2.0).max(0.5), (w as f64 / 2.0).max(0.5));
    let g = (hh * hw).sqrt();
    let inv_r = Array2::from_shape_fn((h, w), |(i, j)| {
        let di = i as f64 - (h / 2) as f64;
        let dj = j as f64 - (w / 2) as f64;
        let (si, sj) = ((di.abs() - 0.5).max(0.0) / hh, (dj.abs() - 0.5).max(0.0) / hw);
        if si * si + sj * sj > 1.0 {
            0.0
        } else {
            let rho = ((di / hh).powi(2) + (dj / hw).powi(2)).sqrt() * g;
            if rho == 0.0 {
                f64::INFINITY
            } else {
                1.0 / rho
            }
        }
    });
    let total = |k: f64| inv_r.iter().map(|&d| (k * d).min(1.0)).sum::<f64>();
    let kappa = bisect(0.0, 4.0 * (h * w) as f64, count as f64, total);
    inv_r.mapv(|d| (kappa * d).min(1.0) as f32)
}
