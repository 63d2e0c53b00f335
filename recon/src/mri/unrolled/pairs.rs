//! Training pairs for the unrolled network, all in k-space: the network sees the input
//! samples `y_Θ = M_Θ y` (with the slice's maps) and the loss compares its image `x̂`, taken
//! back to coil k-space, with target samples on a set Λ:
//! ```text
//! loss = Σ_k w_k · |(F S x̂)_k − y_k|² / Σ_k w_k        over k ∈ Λ (w = 0 elsewhere)
//! ```
//! How Θ, Λ and w are chosen (`--pairs`):
//! - `simulate` (fully sampled data; Noise2Noise, Lehtinen et al. 2018, in k-space): Θ and
//!   Λ are two independent masks of the family, w = 1 on Λ. Since every bin has a positive
//!   probability of being in Λ, the expected loss is minimised by the same x̂ as the loss on
//!   the full k-space (weighted per bin by its sampling probability).
//! - `split` (one acquisition Ω per slice; for fully sampled data, Ω is one mask of the
//!   family drawn once per slice from the seed, so the run sees only those samples): each
//!   step splits Ω anew with [`kspace::split`] — SSDU (Yaman et al. 2020, Θ ∪ Λ = Ω,
//!   disjoint, w = 1) or Noisier2Noise (Millard & Chiew 2023, Θ ⊂ Ω, Λ = Ω, w its
//!   weighting).
//! - `repeats`: Θ is one acquisition and Λ the other (the order drawn each step), w = 1.
//! - `full`: Θ a mask of the family, Λ every bin (the supervised baseline).
//!
//! Scaling: all k-space of a pair is divided by `max |Sᴴ Fᴴ y_Θ|`, computable at inference.

use kspace::{
    mask::{MaskFunc, MaskParams},
    rng::MaskRng,
    split::{self, SplitScheme},
    SamplingMask, C32,
};
use ndarray::{Array2, Array3};

use super::{
    config::{Pairs, SplitKind, UnrolledTrainConfig, SSDU_RHO},
    source::KSlice,
};
use crate::{mri::prep::complex_scale, ReconError, Result};

/// One training example (k-space divided by `scale`).
#[derive(Clone, Debug)]
pub struct KPair {
    /// Input samples y_Θ (C, H, W), zero outside Θ.
    pub input: Array3<C32>,
    /// Θ as 0/1.
    pub input_mask: Array2<f32>,
    /// Target samples (C, H, W), zero outside Λ.
    pub target: Array3<C32>,
    /// Loss weight per bin (0 outside Λ).
    pub weight: Array2<f32>,
    /// The first image of the cascades (`--initial cs`), in the scaled units.
    pub x0: Option<Array2<C32>>,
}

/// The masks of `cfg` (one per mask setting).
pub fn mask_funcs(cfg: &UnrolledTrainConfig) -> Result<Vec<Box<dyn MaskFunc>>> {
    Ok(cfg.params.iter().map(|p| cfg.mask.build(p)).collect::<kspace::Result<Vec<_>>>()?)
}

/// `Invalid` naming the first slice `pairs` cannot use: simulated and fully sampled targets
/// need fully sampled data, repeats a second acquisition. Checked before training starts.
pub fn check_data(pairs: Pairs, slices: &[KSlice]) -> Result<()> {
    let unusable = slices.iter().find(|s| match pairs {
        Pairs::Simulate | Pairs::Full => !s.fully_sampled,
        Pairs::Repeats => s.repeat.is_none(),
        Pairs::Split => false,
    });
    match unusable {
        None => Ok(()),
        Some(s) if pairs == Pairs::Repeats => {
            Err(ReconError::Invalid(format!("{}: no second acquisition for --pairs repeats", s.id)))
        }
        Some(s) => Err(ReconError::Invalid(format!(
            "{}: --pairs {} needs fully sampled data (this slice is undersampled): use --pairs split",
            s.id,
            pairs.name()
        ))),
    }
}

/// Attempts at drawing one mask: a family whose construction fails for one generator state
/// (the Poisson disc's bisection on its density slope can miss the acceleration by more
/// than 5 % for an unlucky draw) is drawn again from the advanced generator, so one such
/// state does not end a run; the sequence stays a pure function of the seed.
const DRAW_ATTEMPTS: usize = 8;

/// One mask of a uniformly drawn setting.
fn draw(masks: &[Box<dyn MaskFunc>], shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask> {
    let i = ((rng.uniform() * masks.len() as f64) as usize).min(masks.len() - 1);
    let mut attempt = 1;
    loop {
        match masks[i].sample_with_rng(shape, rng) {
            Err(_) if attempt < DRAW_ATTEMPTS => {
                rng.next_u32();
                attempt += 1;
            }
            r => return Ok(r?),
        }
    }
}

/// The fixed acquisition Ω of slice `index` under `split` pairs: the slice's own mask, or
/// for fully sampled data one mask drawn from `(seed, index)`.
pub fn acquisition(s: &KSlice, index: usize, masks: &[Box<dyn MaskFunc>], seed: u64) -> Result<SamplingMask> {
    if !s.fully_sampled {
        // A file stores only which bins were measured; the split needs their probability.
        return Ok(split::acquired_density(&s.acquired)?);
    }
    let key = [seed as u32, (seed >> 32) as u32, index as u32, 0xAC0];
    draw(masks, s.acquired.shape(), &mut MaskRng::from_words(key))
}

/// The split of `--pairs split`: SSDU with ρ (default 0.4; Gaussian selection, whole lines
/// for 1-D acquisitions, a 4×4 block at DC kept in the input, as in the paper), or
/// Noisier2Noise with Λ̃ from the same family as the first mask setting, at acceleration
/// `1/(1 − ρ)` when ρ is given (so a fraction ρ of Ω leaves the input on average) and at half
/// that setting's acceleration otherwise. Measured (README, "The Noise2Noise claim on
/// k-space"): at random 4×, ρ = 0.4 (Λ̃ at 1.67×) came 0.30 dB below fully sampled targets on
/// validation where the default (2×) came 0.57 dB below.
pub fn split_scheme(cfg: &UnrolledTrainConfig) -> Result<SplitScheme> {
    Ok(match cfg.split {
        SplitKind::Ssdu => {
            SplitScheme::Ssdu(split::SsduOptions { rho: cfg.rho.unwrap_or(SSDU_RHO), ..Default::default() })
        }
        SplitKind::Noisier2Noise => {
            let first = &cfg.params[0];
            let acceleration = match cfg.rho {
                Some(rho) => 1.0 / (1.0 - rho),
                None => first.acceleration / 2.0,
            }
            .max(1.0);
            let params = MaskParams { acceleration, center_fraction: first.center_fraction, ..first.clone() };
            let lambda = cfg.mask.build(&params).map_err(|e| {
                ReconError::Invalid(format!(
                    "--split noisier2noise draws its second mask ({}) at acceleration {acceleration:.3} \
                     (--split-rho ρ: 1/(1 − ρ)): {e}",
                    cfg.mask.name
                ))
            })?;
            SplitScheme::Noisier2Noise { lambda, calibration: split::Calibration::Detect }
        }
    })
}

/// `k` with every coil multiplied by `keep` (0/1 or weights).
pub fn masked(k: &Array3<C32>, keep: &Array2<f32>) -> Array3<C32> {
    let mut out = k.clone();
    for mut coil in out.outer_iter_mut() {
        coil.zip_mut_with(keep, |z, &m| *z *= m);
    }
    out
}

/// The pair of one slice for `cfg.pairs` (see the module documentation). `omega` is the
/// slice's fixed acquisition and `scheme` the split under `split` ([`acquisition`],
/// [`split_scheme`]).
pub fn make_pair(
    s: &KSlice,
    omega: Option<&SamplingMask>,
    scheme: Option<&SplitScheme>,
    cfg: &UnrolledTrainConfig,
    masks: &[Box<dyn MaskFunc>],
    rng: &mut MaskRng,
) -> Result<KPair> {
    let shape = s.acquired.shape();
    let need_full = |what: &str| {
        ReconError::Invalid(format!(
            "{}: --pairs {what} needs fully sampled data (this slice is undersampled): use --pairs split",
            s.id
        ))
    };
    let k = &s.kspace;
    let (theta, lambda, weight, input_k, target_k) = match cfg.pairs {
        Pairs::Simulate | Pairs::Full => {
            if !s.fully_sampled {
                return Err(need_full(cfg.pairs.name()));
            }
            let a = draw(masks, shape, rng)?;
            if cfg.pairs == Pairs::Full {
                (a, Array2::ones(shape), Array2::ones(shape), k, k)
            } else {
                let b = draw(masks, shape, rng)?.as_f32();
                (a, b.clone(), b, k, k)
            }
        }
        Pairs::Split => {
            let (omega, scheme) = omega
                .zip(scheme)
                .ok_or_else(|| ReconError::Failed("split pairs without an acquisition or a scheme".into()))?;
            let p = scheme.draw(omega, rng)?;
            (p.input, p.target.mapv(|b| if b { 1.0 } else { 0.0 }), p.weight, k, k)
        }
        Pairs::Repeats => {
            let (k2, m2) = s.repeat.as_ref().ok_or_else(|| {
                ReconError::Invalid(format!("{}: no second acquisition for --pairs repeats", s.id))
            })?;
            if rng.uniform() < 0.5 {
                (s.acquired.clone(), m2.as_f32(), m2.as_f32(), k, k2)
            } else {
                (m2.clone(), s.acquired.as_f32(), s.acquired.as_f32(), k2, k)
            }
        }
    };
    let input_mask = theta.as_f32();
    let input = masked(input_k, &input_mask);
    let scale = input_scale(&input, &s.maps)?;
    let input = input.mapv(|z| z / scale);
    let x0 = cfg.initial.image(&input, &theta, &s.maps)?;
    let target = masked(target_k, &lambda);
    Ok(KPair { input, input_mask, target: target.mapv(|z| z / scale), weight: &weight * &lambda, x0 })
}

/// `max |Sᴴ Fᴴ y|`: the scale every pair and inference divides by.
pub fn input_scale(y: &Array3<C32>, maps: &Array3<C32>) -> Result<f32> {
    let images = kspace::ifft2c(y);
    Ok(complex_scale(&kspace::coils::combine(&images, maps)?))
}
