//! Training losses. Each returns a scalar (rank-0) tensor, differentiable w.r.t. `pred`.
//!
//! With noisy targets the loss chooses the statistic the network learns (Noise2Noise §2):
//! L2 → mean, L1 → median, annealed "L0" → mode.

use candle_core::{bail, DType, Result, Tensor};
use serde::{Deserialize, Serialize};

/// The constant inside the annealed L0 loss that keeps `|d|^(γ−1)` finite at `d = 0`.
pub const L0_EPS: f64 = 1e-8;

/// Mean squared error `mean((f − y)²)`.
pub fn l2(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    pred.sub(target)?.sqr()?.mean_all()
}

/// Mean absolute error `mean(|f − y|)` (derivative sign(f − y), taken as +1 at 0).
pub fn l1(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    pred.sub(target)?.abs()?.mean_all()
}

/// Annealed "L0": `mean((|f − y| + 1e-8)^γ)`. γ = 2 is L2 up to the 1e-8 (difference
/// `2·1e-8·mean|d| + 1e-16`), γ = 1 is L1 (+1e-8), γ → 0 approaches the mode. The paper
/// anneals γ from 2 to 0 over training ([`gamma_schedule`]).
pub fn l0_annealed(pred: &Tensor, target: &Tensor, gamma: f64) -> Result<Tensor> {
    if gamma.is_nan() || gamma < 0. {
        bail!("l0_annealed: gamma must be ≥ 0, got {gamma}")
    }
    pred.sub(target)?.abs()?.affine(1., L0_EPS)?.powf(gamma)?.mean_all()
}

/// Linear annealing of the L0 exponent: `γ = max(0, 2·(1 − step/total))`.
pub fn gamma_schedule(step: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.;
    }
    (2.0 * (1.0 - step as f64 / total as f64)).max(0.)
}

/// L2 over valid pixels only: `Σ m·(f − y)² / Σ m`, with `mask` 1 where the target is valid
/// and 0 elsewhere. `mask` may broadcast to `pred`'s shape (e.g. (N,1,H,W) for (N,C,H,W));
/// the count is taken after broadcasting, so the result is the mean over valid *values*.
/// An all-zero mask gives 0 (not NaN).
pub fn masked_l2(pred: &Tensor, target: &Tensor, mask: &Tensor) -> Result<Tensor> {
    masked_mean(&pred.sub(target)?.sqr()?, mask)
}

/// `Σ m·e / max(Σ m, 1)` with `mask` broadcast to `e`'s shape.
fn masked_mean(e: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(e.dtype())?.broadcast_as(e.shape())?;
    let count = m.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    e.mul(&m)?.sum_all()?.affine(1.0 / count.max(1.0), 0.)
}

/// A loss chosen by name, for configs: `"l2"`, `"l1"`, `"l0"` (annealed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    L2,
    L1,
    /// Annealed L0 with γ from [`gamma_schedule`].
    L0,
}

impl Loss {
    pub fn by_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "l2" | "mse" => Some(Self::L2),
            "l1" | "mae" => Some(Self::L1),
            "l0" => Some(Self::L0),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::L2 => "l2",
            Self::L1 => "l1",
            Self::L0 => "l0",
        }
    }

    /// The loss at optimiser step `step` of `total` (only L0 depends on them). With a
    /// `mask`, the mean is over valid pixels only (masked L2 / L1 / L0).
    pub fn compute(
        &self,
        pred: &Tensor,
        target: &Tensor,
        mask: Option<&Tensor>,
        step: u64,
        total: u64,
    ) -> Result<Tensor> {
        let d = pred.sub(target)?;
        let e = match self {
            Self::L2 => d.sqr()?,
            Self::L1 => d.abs()?,
            Self::L0 => d.abs()?.affine(1., L0_EPS)?.powf(gamma_schedule(step, total))?,
        };
        match mask {
            Some(m) => masked_mean(&e, m),
            None => e.mean_all(),
        }
    }
}
