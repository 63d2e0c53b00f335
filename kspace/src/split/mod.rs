//! Self-supervised training pairs from ONE undersampled acquisition.
//!
//! An acquisition measured the bins Ω (a [`SamplingMask`]; `y = M_Ω y₀` with `y₀` the full
//! k-space). A network cannot be compared with `y₀`, which nobody has; instead the measured
//! samples are split into an *input* set, which the network sees, and a *target* set, on which
//! its k-space prediction is scored. Each draw gives a [`SplitPair`]:
//!
//! - the network input is `y ⊙ input.keep` ([`SplitPair::input_data`]);
//! - the loss is `Σ_c Σ_b weight_b · target_b · |(A x)_{c,b} − y_{c,b}|²`
//!   ([`SplitPair::weighted_loss`]), `A = M·F·S` the forward model of the network's image `x`.
//!
//! Two schemes, drawn anew at every training step from a [`MaskRng`]:
//!
//! - [`ssdu()`] — SSDU (Yaman et al., "Self-supervised learning of physics-guided
//!   reconstruction neural networks without fully sampled reference data", MRM 84(6) 2020):
//!   a loss set `Λ ⊂ Ω` of `round(ρ|Ω|)` samples (ρ = 0.4), chosen uniformly or with a Gaussian
//!   weight around DC, never from a 4×4 block at DC; input `Θ = Ω \ Λ`, target `Λ`,
//!   weight 1. For 1-D (column) acquisitions whole columns are chosen, so that the input keeps
//!   the 1-D structure the network sees at inference.
//! - [`noisier2noise()`] — variable-density Noisier2Noise (Millard & Chiew, "A theoretical
//!   framework for self-supervised MR image reconstruction using sub-sampling via variable
//!   density Noisier2Noise", IEEE TCI 9, 2023): a second, independent mask `Λ` from a mask
//!   family; input `Ω ∩ Λ`, target all of `Ω`, and the per-bin weight
//!   `w = (1 − K)⁻¹` with `K = (1 − P̃P)⁻¹(1 − P)` on `Ω \ Λ` (`P = E[M_Ω]`, `P̃ = E[M_Λ]`),
//!   which makes the expected loss the fully supervised one (see [`noisier2noise()`]).
//!
//! [`SplitScheme`] holds either, for a trainer that picks one by name. [`acquired_density`]
//! estimates `P` for an acquired mask whose family is unknown (files store only the flags).

mod noisier2noise;
mod ssdu;

pub use noisier2noise::{noisier2noise, noisier2noise_from, noisier2noise_k};
pub use ssdu::{ssdu, Selection, SsduOptions};

use ndarray::{Array2, Array3, Zip};

use crate::mask::MaskFunc;
use crate::rng::MaskRng;
use crate::{KspaceError, Result, SamplingMask, C32};

/// One self-supervised training pair drawn from an acquisition Ω (see the module doc).
///
/// Invariants: all three arrays have Ω's shape; `input.keep ⊂ Ω`, `target ⊂ Ω`,
/// `weight > 0` exactly on `target` (0 elsewhere), `input.count() > 0` and
/// `target` non-empty.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPair {
    /// The bins the network sees, with the probability that a bin is in the input (for density
    /// compensation of the zero-filled input); `columns` is `Some` when the input is 1-D.
    pub input: SamplingMask,
    /// The bins the loss compares the prediction with the measured data on.
    pub target: Array2<bool>,
    /// Per-bin loss weight: 1 on SSDU's loss set; Noisier2Noise's `(1 − K)⁻¹` on `Ω \ Λ` and 1
    /// on the input bins; 0 off the target.
    pub weight: Array2<f32>,
}

impl SplitPair {
    /// `(H, W)`.
    pub fn shape(&self) -> (usize, usize) {
        self.target.dim()
    }

    /// Number of target bins.
    pub fn target_count(&self) -> usize {
        self.target.iter().filter(|&&t| t).count()
    }

    /// The network's input data `y ⊙ input` for coil k-space `y` of shape `(C, H, W)`.
    pub fn input_data(&self, y: &Array3<C32>) -> Result<Array3<C32>> {
        self.check_kspace(y, "data")?;
        let mut out = y.clone();
        for mut coil in out.outer_iter_mut() {
            Zip::from(&mut coil).and(&self.input.keep).for_each(|v, &k| {
                if !k {
                    *v = C32::new(0.0, 0.0);
                }
            });
        }
        Ok(out)
    }

    /// The k-space loss `Σ_c Σ_b weight_b·target_b·|prediction − data|²` (f64 sum), the
    /// reference a trainer's differentiable loss must equal.
    pub fn weighted_loss(&self, prediction: &Array3<C32>, data: &Array3<C32>) -> Result<f64> {
        self.check_kspace(prediction, "prediction")?;
        self.check_kspace(data, "data")?;
        if prediction.dim() != data.dim() {
            return Err(KspaceError::Shape(format!(
                "prediction {:?} and data {:?} differ",
                prediction.dim(),
                data.dim()
            )));
        }
        let mut sum = 0.0f64;
        for (p, d) in prediction.outer_iter().zip(data.outer_iter()) {
            Zip::from(&p).and(&d).and(&self.weight).and(&self.target).for_each(|p, d, &w, &t| {
                if t {
                    sum += w as f64 * (*p - *d).norm_sqr() as f64;
                }
            });
        }
        Ok(sum)
    }

    fn check_kspace(&self, y: &Array3<C32>, what: &str) -> Result<()> {
        let (_, h, w) = y.dim();
        if (h, w) != self.shape() {
            return Err(KspaceError::Shape(format!(
                "{what} is {h}×{w} but the split is {}×{}",
                self.shape().0,
                self.shape().1
            )));
        }
        Ok(())
    }
}

/// Which bins of Ω must stay in the input. SSDU protects a small block around DC (its
/// default, [`ssdu()`]) so that the loss set still covers the low frequencies; Noisier2Noise
/// keeps the whole calibration (ACS) region in the input, where its target (all of Ω) still
/// scores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calibration {
    /// The largest fully sampled centred window of Ω ([`crate::coils::calibration_region`]).
    Detect,
    /// The centred window of `(rows, cols)` bins (rows `H/2 − rows/2 ..`, cols likewise);
    /// the measured bins inside it are kept.
    Size(usize, usize),
    /// Nothing is protected (the papers' plain schemes).
    Off,
}

impl Calibration {
    /// The protected bins: measured bins of `omega` inside the window.
    pub fn protected(&self, omega: &SamplingMask) -> Result<Array2<bool>> {
        let (h, w) = omega.shape();
        let (rows, cols) = match *self {
            Calibration::Off => (0, 0),
            Calibration::Detect => crate::coils::calibration_region(omega).unwrap_or((0, 0)),
            Calibration::Size(r, c) => {
                if r > h || c > w {
                    return Err(KspaceError::InvalidParameter(format!(
                        "calibration region {r}×{c} is larger than the {h}×{w} grid"
                    )));
                }
                (r, c)
            }
        };
        let (r0, c0) = (h / 2 - rows / 2, w / 2 - cols / 2);
        Ok(Array2::from_shape_fn((h, w), |(i, j)| {
            omega.keep[[i, j]] && (r0..r0 + rows).contains(&i) && (c0..c0 + cols).contains(&j)
        }))
    }
}

/// A split scheme with its parameters, for trainers that choose one by name.
#[derive(Debug)]
pub enum SplitScheme {
    /// [`ssdu()`] with these options.
    Ssdu(SsduOptions),
    /// [`noisier2noise()`] with Λ drawn from `lambda`, protecting `calibration`.
    Noisier2Noise { lambda: Box<dyn MaskFunc>, calibration: Calibration },
}

impl SplitScheme {
    /// Draws one pair from the acquisition `omega`, advancing `rng`.
    pub fn draw(&self, omega: &SamplingMask, rng: &mut MaskRng) -> Result<SplitPair> {
        match self {
            SplitScheme::Ssdu(o) => ssdu(omega, o, rng),
            SplitScheme::Noisier2Noise { lambda, calibration } => {
                noisier2noise(omega, lambda.as_ref(), *calibration, rng)
            }
        }
    }
}

/// An estimate of the keep probability `P = E[M_Ω]` for an acquired mask whose family is not
/// known (a fastMRI file stores only the flags; readers then set `prob = 1`): 1 on the
/// calibration region ([`crate::coils::calibration_region`]) and, elsewhere, the fraction
/// of the remaining bins (columns, for a 1-D mask) that were measured,
/// `q = |Ω \ C| / (H·W − |C|)` — exact for fastMRI's `random` family, the average density of
/// the others. `keep` and `columns` are unchanged. A fully sampled mask gets `prob = 1`.
pub fn acquired_density(mask: &SamplingMask) -> Result<SamplingMask> {
    check_omega(mask)?;
    let calib = Calibration::Detect.protected(mask)?;
    let (h, w) = mask.shape();
    let prob = match &mask.columns {
        Some(cols) => {
            let in_calib: Vec<bool> = (0..w).map(|j| calib[[0, j]]).collect();
            let outside = in_calib.iter().filter(|&&c| !c).count();
            let kept = cols.iter().zip(&in_calib).filter(|(&k, &c)| k && !c).count();
            let q = if outside == 0 { 1.0 } else { kept as f32 / outside as f32 };
            Array2::from_shape_fn((h, w), |(_, j)| if in_calib[j] { 1.0 } else { q })
        }
        None => {
            let n_calib = calib.iter().filter(|&&c| c).count();
            let outside = h * w - n_calib;
            let kept = mask.count() - n_calib;
            let q = if outside == 0 { 1.0 } else { kept as f32 / outside as f32 };
            calib.mapv(|c| if c { 1.0 } else { q })
        }
    };
    Ok(SamplingMask { keep: mask.keep.clone(), prob, columns: mask.columns.clone() })
}

/// Refuses an acquisition the splits cannot use: inconsistent shapes, probabilities outside
/// [0, 1], or nothing measured.
pub(crate) fn check_omega(omega: &SamplingMask) -> Result<()> {
    let (h, w) = omega.shape();
    if omega.prob.dim() != (h, w) {
        return Err(KspaceError::Shape(format!(
            "mask keep is {h}×{w} but prob is {}×{}",
            omega.prob.dim().0,
            omega.prob.dim().1
        )));
    }
    if let Some(cols) = &omega.columns {
        if cols.len() != w || (0..h).any(|i| (0..w).any(|j| omega.keep[[i, j]] != cols[j])) {
            return Err(KspaceError::Shape("mask columns disagree with its keep flags".into()));
        }
    }
    if let Some(p) = omega.prob.iter().find(|p| !(p.is_finite() && (0.0..=1.0).contains(*p))) {
        return Err(KspaceError::InvalidParameter(format!("mask probability {p} is not in [0, 1]")));
    }
    if omega.count() == 0 {
        return Err(KspaceError::InvalidParameter(
            "the acquisition samples nothing: no pair can be split from an empty mask".into(),
        ));
    }
    Ok(())
}
