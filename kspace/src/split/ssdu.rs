//! SSDU: self-supervision via data undersampling (Yaman, Hosseini, Moeller, Ellermann,
//! Uğurbil, Akçakaya, MRM 84(6):3172–3191, 2020).
//!
//! The acquired set Ω is split into a loss set `Λ ⊂ Ω` and the network input `Θ = Ω \ Λ`
//! (disjoint, `Θ ∪ Λ = Ω`). With `n = |Ω|` (bins, or columns for line-wise splits):
//!
//! - `|Λ| = round(ρ·n)`, `ρ ∈ (0, 1)` (the paper's `ρ = |Λ|/|Ω| = 0.4`);
//! - bins of a protected centre ([`super::Calibration`]) are never put in Λ: by default the
//!   paper's 4×4 block around DC (its reference code's `small_acs_block`; for line-wise splits
//!   the 4 columns it touches), not the whole calibration region. Protecting the whole region
//!   leaves its low frequencies out of every loss set, so nothing supervises them: trained
//!   that way (unrolled network, random 4×, 15 calibration lines of 192), validation PSNR
//!   rose above the CS start for 50 steps and then fell 8 dB below it as the unsupervised low
//!   frequencies drifted; with the 4×4 block it stays above (README, "The Noise2Noise claim on
//!   k-space");
//! - *uniform* selection draws Λ uniformly among the other bins; *Gaussian* selection draws
//!   them with weight `g(i, j) = exp(−(i − H/2)²/(2σ_H²) − (j − W/2)²/(2σ_W²))`,
//!   `σ_H = f·(H − 1)`, `σ_W = f·(W − 1)` (the reference code, github.com/byaman14/SSDU
//!   `masks/ssdu_masks.py`, uses `(n − 1)/std_scale` with `std_scale = 4` by default and
//!   recommends 2 to 4: `f = 0.25` here, 0.25–0.5), so that Λ concentrates near DC; the
//!   authors' released model uses Gaussian selection, the default here.
//!
//! Both are sequential sampling without replacement, drawn in one pass with exponential keys
//! (Efraimidis & Spirakis 2006): each candidate `b` gets `E_b = −ln(1 − u_b)`,
//! `u_b = rng.uniform()` in row-major order, and the `|Λ|` smallest `ln E_b − ln g_b` are taken
//! (the same law as drawing one candidate at a time with probability ∝ `g` among those left).
//!
//! *Line-wise* (1-D acquisitions, `SamplingMask::columns` set, [`SsduOptions::line_wise`]):
//! the units are whole columns, `n` the number of measured columns, `g` over `j` only, and the
//! protected columns are those the protected window touches.
//!
//! The input's keep probability is `P·(1 − |Λ|/m)` outside the protected region (`m` the
//! number of candidates; exact for uniform selection, the average for Gaussian) and `P`
//! inside. Loss weight: 1 on Λ.

use ndarray::Array2;

use super::{check_omega, Calibration, SplitPair};
use crate::rng::MaskRng;
use crate::{KspaceError, Result, SamplingMask};

/// How the loss set Λ is drawn among the candidate bins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// Uniformly at random.
    Uniform,
    /// With a Gaussian weight around DC, standard deviation `std_fraction·(n − 1)` along each
    /// axis of length `n` (the paper's code: `(n − 1)/std_scale`, `std_scale = 4`).
    Gaussian { std_fraction: f64 },
}

/// SSDU parameters ([`ssdu`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SsduOptions {
    /// `|Λ|/|Ω|`, in (0, 1); the paper's 0.4.
    pub rho: f64,
    /// Uniform or Gaussian selection (default Gaussian, `std_fraction = 0.25`).
    pub selection: Selection,
    /// The region that stays in the input (default the paper's 4×4 block,
    /// [`Calibration::Size`]`(4, 4)`; see the module documentation for why not
    /// [`Calibration::Detect`]).
    pub calibration: Calibration,
    /// For a 1-D (column) acquisition, choose whole columns (default true).
    pub line_wise: bool,
}

impl Default for SsduOptions {
    fn default() -> Self {
        SsduOptions {
            rho: 0.4,
            selection: Selection::Gaussian { std_fraction: 0.25 },
            calibration: Calibration::Size(4, 4),
            line_wise: true,
        }
    }
}

/// Splits the acquisition `omega` into SSDU's input `Θ = Ω \ Λ` and loss set Λ (module doc),
/// drawing from `rng`. Errors: an empty `omega`, `ρ ∉ (0, 1)`, a non-positive
/// `std_fraction`, a calibration region larger than the grid, or too few candidates outside
/// the calibration region for `round(ρ·|Ω|) ≥ 1` samples with a non-empty input.
pub fn ssdu(omega: &SamplingMask, opts: &SsduOptions, rng: &mut MaskRng) -> Result<SplitPair> {
    check_omega(omega)?;
    let rho = opts.rho;
    if !(rho.is_finite() && rho > 0.0 && rho < 1.0) {
        return Err(KspaceError::InvalidParameter(format!("SSDU rho must be in (0, 1), got {rho}")));
    }
    if let Selection::Gaussian { std_fraction: f } = opts.selection {
        if !(f.is_finite() && f > 0.0) {
            return Err(KspaceError::InvalidParameter(format!(
                "SSDU Gaussian std_fraction must be a positive number, got {f}"
            )));
        }
    }
    let protected = opts.calibration.protected(omega)?;
    let (h, w) = omega.shape();
    match (&omega.columns, opts.line_wise) {
        (Some(cols), true) => {
            let calib: Vec<bool> = (0..w).map(|j| (0..h).any(|i| protected[[i, j]])).collect();
            let units: Vec<usize> = (0..w).filter(|&j| cols[j]).collect();
            let penalty = |j: usize| gaussian_penalty(opts.selection, j, w);
            let (lambda, keep_prob) = choose(&units, &calib, rho, penalty, rng)?;
            let target_cols: Vec<bool> = (0..w).map(|j| lambda.binary_search(&j).is_ok()).collect();
            let input_cols: Vec<bool> = (0..w).map(|j| cols[j] && !target_cols[j]).collect();
            let prob: Vec<f32> =
                (0..w).map(|j| omega.prob[[0, j]] * if calib[j] { 1.0 } else { keep_prob as f32 }).collect();
            let target = Array2::from_shape_fn((h, w), |(_, j)| target_cols[j]);
            Ok(pair(SamplingMask::from_columns(h, &input_cols, &prob), target))
        }
        _ => {
            let flat_calib: Vec<bool> = protected.iter().copied().collect();
            let units: Vec<usize> = (0..h * w).filter(|&b| omega.keep[[b / w, b % w]]).collect();
            let penalty = |b: usize| {
                gaussian_penalty(opts.selection, b / w, h) + gaussian_penalty(opts.selection, b % w, w)
            };
            let (lambda, keep_prob) = choose(&units, &flat_calib, rho, penalty, rng)?;
            let mut target = Array2::from_elem((h, w), false);
            for b in lambda {
                target[[b / w, b % w]] = true;
            }
            let keep = Array2::from_shape_fn((h, w), |ij| omega.keep[ij] && !target[ij]);
            let prob = Array2::from_shape_fn((h, w), |ij| {
                omega.prob[ij] * if protected[ij] { 1.0 } else { keep_prob as f32 }
            });
            Ok(pair(SamplingMask::new(keep, prob), target))
        }
    }
}

/// The pair with weight 1 on the target.
fn pair(input: SamplingMask, target: Array2<bool>) -> SplitPair {
    let weight = target.mapv(|t| if t { 1.0 } else { 0.0 });
    SplitPair { input, target, weight }
}

/// `−ln g` along one axis: `(i − n/2)²/(2σ²)`, `σ = f·(n − 1)`; 0 for uniform selection.
fn gaussian_penalty(selection: Selection, i: usize, n: usize) -> f64 {
    match selection {
        Selection::Uniform => 0.0,
        Selection::Gaussian { std_fraction } => {
            let sigma = (std_fraction * (n.max(2) - 1) as f64).max(f64::MIN_POSITIVE);
            let d = i as f64 - (n / 2) as f64;
            d * d / (2.0 * sigma * sigma)
        }
    }
}

/// Draws `round(ρ·|units|)` of the `units` not flagged in `calib` with weight `exp(−penalty)`
/// (exponential keys, module doc); returns them and `1 − |Λ|/m`, the probability that a
/// candidate stays in the input.
fn choose(
    units: &[usize],
    calib: &[bool],
    rho: f64,
    penalty: impl Fn(usize) -> f64,
    rng: &mut MaskRng,
) -> Result<(Vec<usize>, f64)> {
    let n = units.len();
    let k = (rho * n as f64).round() as usize;
    let candidates: Vec<usize> = units.iter().copied().filter(|&u| !calib[u]).collect();
    let m = candidates.len();
    if k == 0 {
        return Err(KspaceError::InvalidParameter(format!(
            "SSDU: rho = {rho} of {n} measured samples rounds to an empty loss set"
        )));
    }
    if k > m || k == n {
        return Err(KspaceError::InvalidParameter(format!(
            "SSDU: a loss set of {k} (rho = {rho} of {n} measured samples) needs {k} samples outside \
             the calibration region and leaves the input non-empty, but only {m} are outside it \
             (for nearly fully sampled data give a small Calibration::Size)"
        )));
    }
    let mut keyed: Vec<(f64, usize)> = candidates
        .iter()
        .map(|&u| {
            let e = -(1.0 - rng.uniform()).ln();
            (e.ln() + penalty(u), u)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = keyed[..k].iter().map(|&(_, u)| u).collect();
    chosen.sort_unstable();
    Ok((chosen, 1.0 - k as f64 / m as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_keys_draw_without_replacement_with_the_right_marginals() {
        // Uniform: each of 10 candidates is chosen k/m = 3/10 of the time; none twice.
        let units: Vec<usize> = (0..12).collect();
        let calib = [vec![true, true], vec![false; 10]].concat();
        let mut rng = MaskRng::from_seed(1);
        let mut hits = [0usize; 12];
        for _ in 0..4000 {
            let (chosen, keep) = choose(&units, &calib, 0.25, |_| 0.0, &mut rng).unwrap();
            assert_eq!(chosen.len(), 3);
            assert!(chosen.windows(2).all(|w| w[0] < w[1]) && chosen[0] >= 2);
            assert!((keep - 0.7).abs() < 1e-12);
            for c in chosen {
                hits[c] += 1;
            }
        }
        for &h in &hits[2..] {
            assert!((h as f64 / 4000.0 - 0.3).abs() < 0.035, "{hits:?}");
        }
        // One draw with weights g ∝ (1, e^-ln9 = 1/9): the heavy one wins 9 times in 10.
        let wins = (0..4000)
            .filter(|_| {
                let pen = |u: usize| if u == 0 { 0.0 } else { 9f64.ln() };
                choose(&[0, 1], &[false, false], 0.4, pen, &mut rng).unwrap().0 == [0]
            })
            .count();
        assert!((wins as f64 / 4000.0 - 0.9).abs() < 0.02, "{wins}");
    }
}
