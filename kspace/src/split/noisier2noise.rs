//! Variable-density Noisier2Noise (Millard & Chiew, "A theoretical framework for
//! self-supervised MR image reconstruction using sub-sampling via variable density
//! Noisier2Noise", IEEE Trans. Comput. Imaging 9:707–720, 2023; reference code
//! github.com/charlesmillard/Noisier2Noise_for_recon).
//!
//! The acquisition Ω has keep probability `P = E[M_Ω]` (the mask's `prob`). A second mask Λ is
//! drawn, independently of Ω, from a variable-density family with `P̃ = E[M_Λ]` (e.g. the same
//! family at a lower acceleration). The network sees `ỹ = M_Λ M_Ω y₀`: input `Ω ∩ Λ`, with
//! keep probability `P·P̃`; the target is all of Ω.
//!
//! **Weighting.** For a bin `b` that the network does not see, independence of Ω and Λ gives
//!
//! `Pr(b ∈ Ω | b ∉ Ω∩Λ) = P(1 − P̃)/(1 − P̃P) = 1 − K`,  `K = (1 − P̃P)⁻¹(1 − P)`,
//!
//! the paper's `K`. With the loss `L = Σ_b w_b·M_Ω,b·|f_b − y_b|²` and noise-free `y = y₀` on Ω,
//!
//! `E[L | input] = Σ_{b ∈ Ω∩Λ} w_b|f_b − y₀_b|² + Σ_{b ∉ Ω∩Λ} w_b(1 − K_b)|f_b − y₀_b|²`,
//!
//! so the weight `w = 1` on the input bins and `w = (1 − K)⁻¹ = (1 − P̃P)/(P(1 − P̃))` on
//! `Ω \ Λ` makes the expected loss, and its gradient, those of the fully supervised loss
//! `Σ_b |f_b − y₀_b|²` — per k-space bin, with no bias towards the low frequencies where Ω is
//! dense (the paper's loss weighting; unweighted, an unseen bin counts `1 − K_b` times). The
//! network then predicts `y₀` directly, with no correction at inference.
//!
//! The paper's original variant instead trains `f(ỹ) ≈ E[y | ỹ]` on every bin (target `y`, zero
//! off Ω) and corrects at inference, `E[y₀ | ỹ] = (1 − K)⁻¹(E[y | ỹ] − Kỹ)`; [`noisier2noise_k`]
//! gives `K` for it.
//!
//! The network sees the whole input, so the per-bin statement needs the bins independent of
//! each other, as in Bernoulli families (`gaussian`, `gaussian1d`, `random`, `n2n`) with Ω
//! and Λ of the same kind: both 1-D (columns: the bins are columns) or both 2-D. Mixed kinds
//! are refused. A protected calibration region C ([`super::Calibration`]) joins the input:
//! `Λ' = Λ ∪ C`, `P̃' = 1` on C (exact when C does not depend on the draw, e.g. a family's
//! fixed centre given by [`super::Calibration::Size`]).

use ndarray::{Array2, Zip};

use super::{check_omega, Calibration, SplitPair};
use crate::mask::MaskFunc;
use crate::rng::MaskRng;
use crate::{KspaceError, Result, SamplingMask};

/// Draws Λ from `lambda` (for Ω's shape, advancing `rng`) and returns the Noisier2Noise pair
/// ([`noisier2noise_from`]).
pub fn noisier2noise(
    omega: &SamplingMask,
    lambda: &dyn MaskFunc,
    calibration: Calibration,
    rng: &mut MaskRng,
) -> Result<SplitPair> {
    check_omega(omega)?;
    let drawn = lambda.sample_with_rng(omega.shape(), rng)?;
    noisier2noise_from(omega, &drawn, calibration)
}

/// The Noisier2Noise pair of the acquisition `omega` and a drawn second mask `lambda` (module
/// doc): input `Ω ∩ (Λ ∪ C)` with probability `P·P̃'`, target Ω, weight 1 on the input and
/// `(1 − P̃P)/(P(1 − P̃))` on the rest of Ω. Errors: an empty Ω, shapes that differ, Ω and Λ
/// of different kinds (1-D and 2-D), an empty input, or probabilities that contradict the
/// draw (`P = 0` on a measured bin, `P̃ = 1` on a bin Λ left out).
pub fn noisier2noise_from(
    omega: &SamplingMask,
    lambda: &SamplingMask,
    calibration: Calibration,
) -> Result<SplitPair> {
    check_omega(omega)?;
    if lambda.shape() != omega.shape() || lambda.prob.dim() != omega.shape() {
        return Err(KspaceError::Shape(format!(
            "Noisier2Noise: Λ is {:?} but the acquisition is {:?}",
            lambda.shape(),
            omega.shape()
        )));
    }
    if omega.columns.is_some() != lambda.columns.is_some() {
        let kind = |m: &SamplingMask| if m.columns.is_some() { "1-D (columns)" } else { "2-D" };
        return Err(KspaceError::InvalidParameter(format!(
            "Noisier2Noise: the acquisition is {} but Λ is {}; its weighting needs both masks of the \
             same kind (pick a {} family for Λ)",
            kind(omega),
            kind(lambda),
            kind(omega)
        )));
    }
    let protected = calibration.protected(omega)?;
    let lam = Zip::from(&lambda.keep).and(&protected).map_collect(|&l, &c| l || c);
    let p_tilde = Zip::from(&lambda.prob).and(&protected).map_collect(|&p, &c| if c { 1.0 } else { p });
    let keep = Zip::from(&omega.keep).and(&lam).map_collect(|&o, &l| o && l);
    if !keep.iter().any(|&k| k) {
        return Err(KspaceError::InvalidParameter(
            "Noisier2Noise: Ω ∩ Λ is empty (Λ shares no bin with the acquisition): draw Λ again or \
             use a denser Λ family"
                .into(),
        ));
    }
    let mut weight = Array2::<f32>::zeros(omega.shape());
    for ((ij, w), &o) in weight.indexed_iter_mut().zip(omega.keep.iter()) {
        if !o {
            continue;
        }
        if keep[ij] {
            *w = 1.0;
            continue;
        }
        let (p, pt) = (omega.prob[ij] as f64, p_tilde[ij] as f64);
        let v = (1.0 - pt * p) / (p * (1.0 - pt));
        if !(p > 0.0 && pt < 1.0 && v.is_finite()) {
            return Err(KspaceError::InvalidParameter(format!(
                "Noisier2Noise: bin ({}, {}) is measured with P = {p} and left out of Λ with P̃ = {pt}: \
                 the masks' probabilities contradict the draw",
                ij.0, ij.1
            )));
        }
        *w = v as f32;
    }
    let prob = Zip::from(&omega.prob).and(&p_tilde).map_collect(|&p, &pt| p * pt);
    let columns = omega.columns.as_ref().map(|_| (0..keep.ncols()).map(|j| keep[[0, j]]).collect());
    let input = SamplingMask { keep, prob, columns };
    Ok(SplitPair { input, target: omega.keep.clone(), weight })
}

/// The paper's `K = (1 − P̃P)⁻¹(1 − P)` per bin (`P` the acquisition's, `P̃` Λ's keep
/// probability); 0 where `P̃P = 1` (the bin is always seen). Shapes must agree.
pub fn noisier2noise_k(p: &Array2<f32>, p_tilde: &Array2<f32>) -> Result<Array2<f32>> {
    if p.dim() != p_tilde.dim() {
        return Err(KspaceError::Shape(format!("P is {:?} but P̃ is {:?}", p.dim(), p_tilde.dim())));
    }
    Ok(Zip::from(p).and(p_tilde).map_collect(|&p, &pt| {
        let d = 1.0 - pt as f64 * p as f64;
        if d <= 0.0 {
            0.0
        } else {
            ((1.0 - p as f64) / d) as f32
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_and_weight_follow_the_paper() {
        let p = Array2::from_shape_vec((1, 4), vec![0.25, 0.5, 1.0, 0.5]).unwrap();
        let pt = Array2::from_shape_vec((1, 4), vec![0.5, 0.5, 0.3, 1.0]).unwrap();
        let k = noisier2noise_k(&p, &pt).unwrap();
        // K = (1 − P)/(1 − P̃P): 0.75/0.875, 0.5/0.75, 0, 0.5/0.5.
        let want = [0.75 / 0.875, 0.5 / 0.75, 0.0, 1.0];
        for (got, want) in k.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{k:?}");
        }
        // (1 − K)⁻¹ = (1 − P̃P)/(P(1 − P̃)) for a measured bin left out of Λ.
        let omega = SamplingMask::new(Array2::from_elem((1, 4), true), p);
        let lambda =
            SamplingMask::new(Array2::from_shape_vec((1, 4), vec![false, true, false, true]).unwrap(), pt);
        let pair = noisier2noise_from(&omega, &lambda, Calibration::Off).unwrap();
        let w = [0.875 / (0.25 * 0.5), 1.0, 0.7 / 0.7, 1.0];
        for (got, want) in pair.weight.iter().zip(w) {
            assert!((got - want).abs() < 1e-5, "{:?}", pair.weight);
        }
    }
}
