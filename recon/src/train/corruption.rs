//! Corruptions: how a training pair (input, target) is made from one clean slice.
//!
//! [`MriUndersampling`] is the Noise2Noise MRI recipe (one real channel, magnitude data):
//! ```text
//! x  ← roll(x, (dy, dx)),  dy, dx uniform in [−s, s]     (shift augmentation, s = 64)
//! S  = fft2c(x)
//! a, b independent masks of the family, keep probabilities p_a, p_b
//! x̂ = Re(ifft2c(S·keep_a / p_a))                         (density-compensated input)
//! ŷ = Re(ifft2c(S·keep_b / p_b))  (noisy)  or  x  (clean)
//! y  = S·keep_a                                          (raw measurements for DC)
//! ```
//! Since `E[keep/p] = 1` per bin, `E[x̂] = E[ŷ] = x`: the noisy target is unbiased.

use kspace::{mask::MaskFunc, rng::MaskRng, C32};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::Result;

/// Training targets: a second independent corruption (Noise2Noise) or the clean image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Targets {
    Noisy,
    Clean,
}

impl Targets {
    pub fn by_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "noisy" | "n2n" => Some(Self::Noisy),
            "clean" => Some(Self::Clean),
            _ => None,
        }
    }
}

/// One training example.
#[derive(Clone, Debug)]
pub struct Pair {
    /// Network input (H, W).
    pub input: Array2<f32>,
    /// Loss target (H, W).
    pub target: Array2<f32>,
    /// The clean image after augmentation (the validation reference).
    pub clean: Array2<f32>,
    /// Raw measured k-space `S·keep` (zero where not measured), for data consistency.
    pub measured: Array2<C32>,
    /// The input's keep mask, 1.0 / 0.0.
    pub keep: Array2<f32>,
}

/// Makes a (input, target) pair from a clean slice with a seeded generator.
pub trait Corruption: Send + Sync {
    fn corrupt(&self, clean: &Array2<f32>, rng: &mut MaskRng) -> Result<Pair>;
}

/// The Noise2Noise MRI undersampling corruption; see the module documentation.
#[derive(Debug)]
pub struct MriUndersampling {
    pub mask: Box<dyn MaskFunc>,
    pub targets: Targets,
    /// Maximum circular shift per axis in pixels (0: no augmentation).
    pub max_shift: usize,
}

impl MriUndersampling {
    pub fn new(mask: Box<dyn MaskFunc>, targets: Targets, max_shift: usize) -> Self {
        Self { mask, targets, max_shift }
    }
}

/// Circular shift `out[i, j] = x[i − dy, j − dx]` (numpy's `roll`).
pub fn roll2(x: &Array2<f32>, dy: i64, dx: i64) -> Array2<f32> {
    let (h, w) = x.dim();
    Array2::from_shape_fn((h, w), |(i, j)| {
        x[[(i as i64 - dy).rem_euclid(h as i64) as usize, (j as i64 - dx).rem_euclid(w as i64) as usize]]
    })
}

/// `Re(ifft2c(S·keep/p))`: the density-compensated zero-filled image of one mask.
pub fn compensated_image(s: &Array2<C32>, mask: &kspace::SamplingMask) -> Result<Array2<f32>> {
    let k = kspace::undersample::density_compensate(s, mask)?;
    Ok(kspace::ifft2c(&k).mapv(|z| z.re))
}

impl Corruption for MriUndersampling {
    fn corrupt(&self, clean: &Array2<f32>, rng: &mut MaskRng) -> Result<Pair> {
        let shape = clean.dim();
        let s = self.max_shift.min(shape.0.min(shape.1) / 2) as i64;
        let clean = if s > 0 {
            let dy = rng.randint(-s, s + 1)?;
            let dx = rng.randint(-s, s + 1)?;
            roll2(clean, dy, dx)
        } else {
            clean.clone()
        };
        let spec = kspace::fft2c(&clean.mapv(|v| C32::new(v, 0.0)));
        let a = self.mask.sample_with_rng(shape, rng)?;
        let b = self.mask.sample_with_rng(shape, rng)?;
        let input = compensated_image(&spec, &a)?;
        let target = match self.targets {
            Targets::Noisy => compensated_image(&spec, &b)?,
            Targets::Clean => clean.clone(),
        };
        let measured = kspace::undersample::undersample(&spec, &a)?;
        Ok(Pair { input, target, clean, measured, keep: a.as_f32() })
    }
}
