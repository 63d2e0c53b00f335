//! `n2n`: the Noise2Noise paper's 2-D Bernoulli k-space mask (Lehtinen et al. 2018, MRI
//! experiment; NVlabs/noise2noise `corrupt_data`).
//!
//! Keep probability `p(r) = exp(−λ r)`, `r = √((i − H/2)² + (j − W/2)²)` the distance in bins
//! from DC, so `p = 1` at DC. λ is either
//! - from `p_edge`: `λ = −ln(p_edge)/r_edge`, `r_edge = (min(H, W) − 1)/2` (the paper:
//!   `p_edge = 0.025`, `r_edge = 127` on 255² → mean p = 0.10477, ≈ 9.5× acceleration), or
//! - solved by bisection so that the mean of `p` over the grid is `1/acc`.
//!
//! Conjugate symmetry: bin k pairs with its DFT mirror −k. On the centred grid that is
//! `i ↦ (2·(H/2) − i) mod H` per axis: `H − 1 − i` for odd H; `H − i` (mod H) for even H, where
//! the most negative frequency row/column `i = 0` (−H/2 ≡ +H/2) is its own mirror. The draw is
//! the paper's: `u = rng.uniform(size=(H, W))` row-major, `a = u² < p`, `keep = a & a[mirror]`,
//! so a pair is kept with probability `√p·√p = p` exactly. Bins that are their own mirror (DC;
//! for even sizes also the Nyquist points (0,0), (0,W/2), (H/2,0)) use `a = u < p` instead, so
//! they too are kept with probability exactly `p` (DC: always). For odd sizes this is
//! bit-for-bit the paper's mask for the same `RandomState`; `keep[k] = keep[−k]` makes the
//! zero-filled image of a real image real. No calibration region (only DC is certain).

use std::sync::Mutex;

use ndarray::Array2;

use super::{bisect, check_shape, MaskFamily, MaskFunc, Param};
use crate::rng::MaskRng;
use crate::{Result, SamplingMask};

/// The `n2n` row of [`super::FAMILIES`].
pub(super) const FAMILY: MaskFamily = MaskFamily {
    name: "n2n",
    description: "Noise2Noise 2-D Bernoulli, p = exp(-lambda*r), conjugate-symmetric, DC kept",
    params: &[Param::Acceleration, Param::PEdge],
    construct: |p| Ok(Box::new(N2nMask::new(p.acceleration, p.p_edge))),
};

/// The Noise2Noise exponential-density, conjugate-symmetric Bernoulli mask.
#[derive(Debug)]
pub struct N2nMask {
    acceleration: f64,
    p_edge: Option<f64>,
    /// λ already solved for `acceleration`, per shape (the bisection costs ~100 passes of
    /// `exp` over the grid; training draws many masks of one shape).
    solved: Mutex<Vec<((usize, usize), f64)>>,
}

impl N2nMask {
    /// λ from `p_edge` if given, else solved for `acceleration` (validated by
    /// [`super::from_name`]).
    pub fn new(acceleration: f64, p_edge: Option<f64>) -> Self {
        N2nMask { acceleration, p_edge, solved: Mutex::new(Vec::new()) }
    }

    /// The decay rate λ (per bin) used on `shape`.
    pub fn lambda(&self, shape: (usize, usize)) -> f64 {
        let (h, w) = shape;
        match self.p_edge {
            Some(pe) => -pe.ln() / ((h.min(w) as f64 - 1.0) / 2.0),
            None => {
                let mut solved = self.solved.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(&(_, lam)) = solved.iter().find(|(s, _)| *s == shape) {
                    return lam;
                }
                let r = radii(shape);
                let mean = |lam: f64| r.iter().map(|&r| (-lam * r).exp()).sum::<f64>() / r.len() as f64;
                // mean(λ) decreases from 1 (λ = 0); bisect on −mean, increasing in λ.
                let mut hi = 1.0;
                while mean(hi) > 1.0 / self.acceleration && hi < 1e6 {
                    hi *= 2.0;
                }
                let lam = bisect(0.0, hi, -1.0 / self.acceleration, |lam| -mean(lam));
                solved.push((shape, lam));
                lam
            }
        }
    }
}

/// Distance in bins from DC `(H/2, W/2)` for every bin, row-major.
fn radii((h, w): (usize, usize)) -> Array2<f64> {
    Array2::from_shape_fn((h, w), |(i, j)| {
        let di = i as f64 - (h / 2) as f64;
        let dj = j as f64 - (w / 2) as f64;
        (di * di + dj * dj).sqrt()
    })
}

/// The DFT mirror of index `i` on a centred axis of length `n`: `(2·(n/2) − i) mod n`.
pub(crate) fn mirror(i: usize, n: usize) -> usize {
    (2 * (n / 2) + n - i) % n
}

impl MaskFunc for N2nMask {
    fn name(&self) -> &str {
        "n2n"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_shape(self.name(), shape, 3, 3)?;
        let (h, w) = shape;
        if (h * w) as f64 <= self.acceleration && self.p_edge.is_none() {
            return Err(super::invalid(format!(
                "mask 'n2n': acceleration {} needs more than {h}×{w} bins",
                self.acceleration
            )));
        }
        let lam = self.lambda(shape);
        let prob = radii(shape).mapv(|r| (-lam * r).exp());
        let mut half = Array2::from_elem((h, w), false);
        for ((ij, a), &p) in half.indexed_iter_mut().zip(prob.iter()) {
            let u = rng.uniform();
            let own_mirror = mirror(ij.0, h) == ij.0 && mirror(ij.1, w) == ij.1;
            *a = if own_mirror { u < p } else { u * u < p };
        }
        let keep = Array2::from_shape_fn((h, w), |(i, j)| half[[i, j]] && half[[mirror(i, h), mirror(j, w)]]);
        Ok(SamplingMask::new(keep, prob.mapv(|p| p as f32)))
    }
}
