//! `poisson`: variable-density Poisson-disc sampling with a fully sampled calibration box —
//! SigPy's `mri.poisson(shape, accel, calib, seed)` algorithm (Bridson 2007 with a
//! position-dependent radius), what BART `poisson` gives.
//!
//! - Calibration box `calib` (default `(round(H·cf), round(W·cf))`), placed like fastMRI's
//!   centre on each axis, fully sampled.
//! - Distance outside the box, normalised per axis: `x = max(|j − W/2| − cw/2, 0)/max_j(·)`,
//!   `y` likewise, `r = √(x² + y²)` (1 at the middle of each edge).
//! - Exclusion radii `rx = max(1, (1 + s·r)·W/max(H, W))`, `ry = max(1, (1 + s·r)·H/max(H, W))`;
//!   a candidate q is rejected if a sampled bin b has `((q−b)ₓ/rx(b))² + ((q−b)ᵧ/ry(b))² < 1`.
//! - Bridson: start at `(randint(0, W), randint(0, H))` (drawn again while inside the box,
//!   where a start would end the run at once); repeatedly pick an active point
//!   (`randint(0, n_active)`), try up to 30 candidates at distance `√(3u + 1)·(rx, ry)`, angle
//!   `2πu'`; add the first accepted one, else retire the point. Corners `r ≥ 1` are dropped.
//! - The slope `s` is bisected on `[0, max(H, W)]` (each trial restarts from the same generator
//!   state, as SigPy reseeds) until the kept count is within 0.2 % of `H·W/acc`; the closest
//!   trial is returned, and an error if it misses by more than 5 % (e.g. acc too low: radius 1
//!   everywhere caps the density).
//!
//! Keep probability (an estimate, not exact): a Poisson disc of exclusion ellipse
//! `rx × ry` has local density ∝ `1/(rx·ry)`, so `p = min(1, κ/(rx·ry))` for `r < 1`, 0 in the
//! cropped corners, 1 in the box, with κ bisected so that `Σ p` equals the number of kept bins
//! (the mean of `p` is the sampled fraction).

use ndarray::Array2;

use super::gaussian::calib_box;
use super::{bisect, check_shape, invalid, MaskFamily, MaskFunc, Param};
use crate::rng::MaskRng;
use crate::{Result, SamplingMask};

/// Candidates tried around an active point before retiring it (SigPy's `max_attempts`).
const MAX_ATTEMPTS: usize = 30;

/// The `poisson` row of [`super::FAMILIES`].
pub(super) const FAMILY: MaskFamily = MaskFamily {
    name: "poisson",
    description: "2-D variable-density Poisson disc (SigPy/BART), radius ~ 1+s*r, calibration box",
    params: &[Param::Acceleration, Param::CenterFraction, Param::Calib],
    construct: |p| Ok(Box::new(PoissonMask::new(p.center_fraction, p.acceleration, p.calib))),
};

/// Variable-density Poisson disc with a calibration box.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonMask {
    center_fraction: f64,
    acceleration: f64,
    calib: Option<(usize, usize)>,
}

impl PoissonMask {
    /// `calib = None` → `(round(H·cf), round(W·cf))`.
    pub fn new(center_fraction: f64, acceleration: f64, calib: Option<(usize, usize)>) -> Self {
        PoissonMask { center_fraction, acceleration, calib }
    }
}

/// The geometry shared by all slope trials.
struct Grid {
    h: usize,
    w: usize,
    r: Array2<f64>,
    calib: (std::ops::Range<usize>, std::ops::Range<usize>),
}

impl Grid {
    fn new(h: usize, w: usize, calib: (std::ops::Range<usize>, std::ops::Range<usize>)) -> Result<Self> {
        let axis = |n: usize, c: usize| -> Vec<f64> {
            (0..n).map(|i| ((i as f64 - (n / 2) as f64).abs() - c as f64 / 2.0).max(0.0)).collect()
        };
        let ys = axis(h, calib.0.len());
        let xs = axis(w, calib.1.len());
        let ymax = ys.iter().cloned().fold(0.0, f64::max);
        let xmax = xs.iter().cloned().fold(0.0, f64::max);
        if ymax <= 0.0 || xmax <= 0.0 {
            return Err(invalid("mask 'poisson': the calibration box leaves no room to sample"));
        }
        let r =
            Array2::from_shape_fn((h, w), |(i, j)| ((ys[i] / ymax).powi(2) + (xs[j] / xmax).powi(2)).sqrt());
        Ok(Grid { h, w, r, calib })
    }

    fn radii(&self, slope: f64) -> (Array2<f64>, Array2<f64>) {
        let m = self.h.max(self.w) as f64;
        let rx = self.r.mapv(|r| ((1.0 + r * slope) * self.w as f64 / m).max(1.0));
        let ry = self.r.mapv(|r| ((1.0 + r * slope) * self.h as f64 / m).max(1.0));
        (rx, ry)
    }

    /// Bridson's first active point, `(randint(0, W), randint(0, H))`, drawn again while it
    /// falls in the calibration box. Every candidate around a point inside the fully sampled
    /// box is within one radius of a sampled bin, so such a start ends the run at once with
    /// only the box sampled — for every slope, so the bisection fails ("cannot reach
    /// acceleration", 6 % of seeds with a 16×16 box on 64×64; SigPy's `_poisson` has the same
    /// flaw). Terminates: `Grid::new` ensured the box leaves room outside it.
    fn start(&self, rng: &mut MaskRng) -> Result<(usize, usize)> {
        loop {
            let (x, y) = (rng.randint(0, self.w as i64)? as usize, rng.randint(0, self.h as i64)? as usize);
            if !(self.calib.0.contains(&y) && self.calib.1.contains(&x)) {
                return Ok((x, y));
            }
        }
    }

    /// One Bridson run (SigPy's `_poisson` followed by the corner crop).
    fn draw(&self, slope: f64, rng: &mut MaskRng) -> Result<Array2<bool>> {
        let (h, w) = (self.h, self.w);
        let (rx, ry) = self.radii(slope);
        let mut mask = Array2::from_elem((h, w), false);
        for i in self.calib.0.clone() {
            for j in self.calib.1.clone() {
                mask[[i, j]] = true;
            }
        }
        let mut active: Vec<(usize, usize)> = Vec::with_capacity(h * w);
        active.push(self.start(rng)?);
        while !active.is_empty() && active.len() < h * w {
            let k = rng.randint(0, active.len() as i64)? as usize;
            let (px, py) = active[k];
            let (prx, pry) = (rx[[py, px]], ry[[py, px]]);
            let mut found = None;
            for _ in 0..MAX_ATTEMPTS {
                let v = (rng.uniform() * 3.0 + 1.0).sqrt();
                let t = 2.0 * std::f64::consts::PI * rng.uniform();
                let qx = px as f64 + v * prx * t.cos();
                let qy = py as f64 + v * pry * t.sin();
                if !(qx >= 0.0 && qx < w as f64 && qy >= 0.0 && qy < h as f64) {
                    continue;
                }
                let (x0, x1) = (((qx - prx) as i64).max(0) as usize, ((qx + prx + 1.0) as usize).min(w));
                let (y0, y1) = (((qy - pry) as i64).max(0) as usize, ((qy + pry + 1.0) as usize).min(h));
                let clash = (x0..x1).any(|x| {
                    (y0..y1).any(|y| {
                        mask[[y, x]]
                            && ((qx - x as f64) / rx[[y, x]]).powi(2) + ((qy - y as f64) / ry[[y, x]]).powi(2)
                                < 1.0
                    })
                });
                if !clash {
                    found = Some((qx as usize, qy as usize));
                    break;
                }
            }
            match found {
                Some((x, y)) => {
                    mask[[y, x]] = true;
                    active.push((x, y));
                }
                None => {
                    active.swap_remove(k);
                }
            }
        }
        for (m, &r) in mask.iter_mut().zip(self.r.iter()) {
            *m &= r < 1.0;
        }
        Ok(mask)
    }
}

fn count(m: &Array2<bool>) -> usize {
    m.iter().filter(|&&k| k).count()
}

impl MaskFunc for PoissonMask {
    fn name(&self) -> &str {
        "poisson"
    }

    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
        check_shape(self.name(), shape, 4, 4)?;
        let (h, w) = shape;
        let calib = calib_box(self.name(), shape, self.calib, self.center_fraction, self.acceleration)?;
        let grid = Grid::new(h, w, calib)?;
        let target = (h * w) as f64 / self.acceleration;
        let start = rng.clone();
        // (|count − target|, mask, generator after the draw, slope)
        let mut best: Option<(f64, Array2<bool>, MaskRng, f64)> = None;
        let (mut lo, mut hi) = (0.0, h.max(w) as f64);
        for _ in 0..40 {
            let slope = 0.5 * (lo + hi);
            let mut trial_rng = start.clone();
            let mask = grid.draw(slope, &mut trial_rng)?;
            let n = count(&mask) as f64;
            let err = (n - target).abs();
            if best.as_ref().is_none_or(|b| err < b.0) {
                best = Some((err, mask, trial_rng, slope));
            }
            if err <= 0.002 * target {
                break;
            }
            // Too many samples → larger radii → larger slope.
            if n > target {
                lo = slope;
            } else {
                hi = slope;
            }
        }
        let (err, keep, end_rng, slope) = best.expect("at least one trial");
        if err > 0.05 * target {
            return Err(invalid(format!(
                "mask 'poisson': cannot reach acceleration {} on {h}×{w} (closest: {:.2})",
                self.acceleration,
                (h * w) as f64 / count(&keep) as f64
            )));
        }
        *rng = end_rng;
        let prob = density(&grid, slope, &keep);
        Ok(SamplingMask::new(keep, prob))
    }
}

/// `p = min(1, κ/(rx·ry))` inside the ellipse, 1 in the box, 0 in the corners, with
/// `Σ p = number kept`.
fn density(grid: &Grid, slope: f64, keep: &Array2<bool>) -> Array2<f32> {
    let (rx, ry) = grid.radii(slope);
    let in_box = |i: usize, j: usize| grid.calib.0.contains(&i) && grid.calib.1.contains(&j);
    let base = Array2::from_shape_fn((grid.h, grid.w), |(i, j)| {
        if in_box(i, j) {
            f64::INFINITY
        } else if grid.r[[i, j]] < 1.0 {
            1.0 / (rx[[i, j]] * ry[[i, j]])
        } else {
            0.0
        }
    });
    let total = |k: f64| base.iter().map(|&d| (k * d).min(1.0)).sum::<f64>();
    let kappa = bisect(0.0, 1e3 * (grid.h * grid.w) as f64, count(keep) as f64, total);
    base.mapv(|d| (kappa * d).min(1.0) as f32)
}
