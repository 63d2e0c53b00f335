//! Parallel-imaging compressed-sensing reconstructions over one [`SenseOperator`] — the
//! classical baselines BART's `pics` provides (Uecker et al., "Berkeley Advanced Reconstruction
//! Toolbox", ISMRM 2015):
//!
//! | method | problem | solver | BART |
//! |---|---|---|---|
//! | [`sense`] | `min ‖A x − y‖² + λ‖x‖²` | conjugate gradients on `(AᴴA + λI) x = Aᴴ y` | `pics -l2 -r λ` |
//! | [`l1_wavelet`] | `min ½‖A x − y‖² + λ‖Ψ x‖₁` | FISTA, translation-invariant threshold | `pics -l1 -r λ` |
//! | [`total_variation`] | `min ½‖A x − y‖² + λ Σ ‖(∇x)ᵢⱼ‖₂` (isotropic TV) | ADMM (CG inner solves) | `pics -R T:3:0:λ` |
//!
//! **Scaling (as BART, so that the same λ means the same thing).** Before solving, the data are
//! divided by a scale `σ` estimated from the fully sampled centre ([`bart_scaling`]); the
//! solution is multiplied by `σ` afterwards (BART's `-S`). λ thus applies to data of unit
//! order, independently of the scanner's units. [`Scaling::None`] solves on the raw data.

mod cg;
mod fista;
mod tv;

pub use cg::{conjugate_gradient, sense};
pub use fista::{l1_wavelet, CycleSpinning, FinalStep};
pub use tv::{total_variation, TvOptions};

use crate::operator::SenseOperator;
use crate::{KspaceError, Result, SamplingMask, C32};
use ndarray::{Array3, ArrayView3, Axis};

/// How the data are scaled before solving (see module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scaling {
    /// BART's automatic scale from the calibration region ([`bart_scaling`]), undone at the end.
    Bart,
    /// Divide by this factor (BART `-w`), undone at the end.
    Fixed(f32),
    /// No scaling.
    None,
}

/// Options shared by the `pics` solvers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PicsOptions {
    /// Regularisation weight λ (BART `-r`; applies to the scaled data).
    pub lambda: f32,
    /// Iterations (BART `-i`, default 30).
    pub iterations: usize,
    /// Data scaling (default [`Scaling::Bart`]).
    pub scaling: Scaling,
    /// FISTA step as a fraction of `1/‖AᴴA‖` (BART's default step 0.95 for normalised maps).
    pub step: f32,
    /// How the L1-wavelet threshold moves its dyadic grid ([`CycleSpinning`]; default
    /// translation-invariant).
    pub cycle_spinning: CycleSpinning,
    /// The image FISTA returns ([`FinalStep`]; default the last data-consistency step, as
    /// BART's `pics -l1` up to v0.9).
    pub final_step: FinalStep,
    /// Seed of the random cycle-spinning shifts.
    pub seed: u32,
    /// FISTA adaptive restart (O'Donoghue & Candès 2015): restart the momentum whenever the
    /// objective increases, which makes it monotone. Costs one extra forward operator per
    /// iteration; off by default (BART has none).
    pub restart: bool,
    /// Record the objective after every iteration (in [`PicsResult::objective`]).
    pub track_objective: bool,
}

impl Default for PicsOptions {
    fn default() -> Self {
        PicsOptions {
            lambda: 0.01,
            iterations: 30,
            scaling: Scaling::Bart,
            step: 0.95,
            cycle_spinning: CycleSpinning::Invariant,
            final_step: FinalStep::DataConsistency,
            seed: 0,
            restart: false,
            track_objective: false,
        }
    }
}

/// A reconstruction and how it was obtained.
#[derive(Debug, Clone)]
pub struct PicsResult {
    /// The image `(M, H, W)` (M map sets; M = 1 for one set), in the data's units.
    pub image: Array3<C32>,
    /// The factor the data were divided by (1 for [`Scaling::None`]).
    pub scaling: f32,
    /// Iterations performed.
    pub iterations: usize,
    /// Applications of the normal operator `AᴴA` (the cost unit): one per FISTA iteration
    /// plus the final data-consistency step, one per CG step, TV's CG steps over all its ADMM
    /// iterations (what BART's `pics -i` counts for ADMM).
    pub normal_applications: usize,
    /// Objective (of the scaled problem) after each iteration, if tracked.
    pub objective: Vec<f64>,
}

impl PicsResult {
    /// The image of the first map set `(H, W)` (what `pics` writes for `ecalib -m1` maps).
    pub fn first_map_set(&self) -> ndarray::ArrayView2<'_, C32> {
        self.image.index_axis(Axis(0), 0)
    }
}

/// BART's data scale (`estimate_scaling` in `sense/optcom.c`): take the fully sampled centre
/// (at most 32×32; [`crate::coils::calibration_region`]), its root-sum-of-squares image
/// `r = RSS(F⁻¹ y_cal)` on that small grid, and the median, 90th percentile and maximum of `|r|`.
/// The scale is `p90` — or `max` when `max − p90 ≥ 2 (p90 − median)` (a few bright pixels) —
/// divided by `√(H/h_cal · W/w_cal)` to undo the smaller grid's orthonormal FFT gain.
/// Returns 1 when the data are all zero.
pub fn bart_scaling(kspace: &ArrayView3<C32>, mask: &SamplingMask) -> f32 {
    let (c, h, w) = kspace.dim();
    let (ch, cw) = crate::coils::calibration_region(mask).unwrap_or((1, 1));
    let (ch, cw) = (ch.min(32).min(h), cw.min(32).min(w));
    let (r0, c0) = (h / 2 - ch / 2, w / 2 - cw / 2);
    let mut cal = Array3::<C32>::zeros((c, ch, cw));
    cal.assign(&kspace.slice(ndarray::s![.., r0..r0 + ch, c0..c0 + cw]));
    let img = crate::ifft2c(&cal);
    let rss = img.map_axis(Axis(0), |l| l.iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt());
    let mut v: Vec<f32> = rss.iter().cloned().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 1.0;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    let rescale = ((h as f32 / ch as f32) * (w as f32 / cw as f32)).sqrt();
    let (median, p90, max) =
        (v[n / 2] / rescale, v[((n as f64 * 0.9) as usize).min(n - 1)] / rescale, v[n - 1] / rescale);
    let s = if (max - p90) < 2.0 * (p90 - median) { p90 } else { max };
    if s > 0.0 && s.is_finite() {
        s
    } else {
        1.0
    }
}

/// Checks the data and returns `(Aᴴ y / σ, y / σ, σ)` for the chosen scaling.
pub(crate) fn prepare(
    op: &mut SenseOperator,
    kspace: &ArrayView3<C32>,
    scaling: Scaling,
) -> Result<(Array3<C32>, Array3<C32>, f32)> {
    let mask = op.mask().clone();
    if kspace.shape() != [op.kspace_shape().0, op.kspace_shape().1, op.kspace_shape().2] {
        return Err(KspaceError::Shape(format!(
            "k-space {:?} does not match the operator's {:?}",
            kspace.shape(),
            op.kspace_shape()
        )));
    }
    // Only measured samples matter; a non-finite one would poison every iterate.
    let bad = ndarray::Zip::from(kspace.lanes(Axis(0)))
        .and(&mask.keep)
        .fold(false, |acc, l, &k| acc || (k && l.iter().any(|z| !z.re.is_finite() || !z.im.is_finite())));
    if bad {
        return Err(KspaceError::InvalidParameter("k-space contains NaN or Inf at sampled positions".into()));
    }
    let sigma = match scaling {
        Scaling::Bart => bart_scaling(kspace, &mask),
        Scaling::Fixed(s) if s > 0.0 && s.is_finite() => s,
        Scaling::Fixed(s) => {
            return Err(KspaceError::InvalidParameter(format!("data scaling must be > 0, got {s}")))
        }
        Scaling::None => 1.0,
    };
    let mut y = kspace.to_owned();
    ndarray::Zip::from(y.lanes_mut(Axis(0)))
        .and(&mask.keep)
        .par_for_each(|mut l, &k| l.mapv_inplace(|z| if k { z / sigma } else { C32::new(0.0, 0.0) }));
    let aty = op.apply_adjoint(&y.view())?;
    Ok((aty, y, sigma))
}

/// `½‖A x − y‖²` (f64).
pub(crate) fn data_term(op: &mut SenseOperator, x: &ArrayView3<C32>, y: &ArrayView3<C32>) -> Result<f64> {
    let ax = op.apply(x)?;
    Ok(0.5 * ax.iter().zip(y.iter()).map(|(a, b)| (a - b).norm_sqr() as f64).sum::<f64>())
}

pub(crate) fn check_lambda(lambda: f32) -> Result<()> {
    if !(lambda >= 0.0 && lambda.is_finite()) {
        return Err(KspaceError::InvalidParameter(format!("λ must be finite and ≥ 0, got {lambda}")));
    }
    Ok(())
}
