//! Corruptions: how a training pair (input, target) is made from one clean slice.
//!
//! [`MriUndersampling`] is the Noise2Noise MRI recipe. Magnitude mode (the paper's, one
//! real channel, `x ∈ [−0.5, 0.5]`):
//! ```text
//! x  ← roll(x, (dy, dx)),  dy, dx uniform in [−s, s]     (shift augmentation, s = 64)
//! S  = fft2c(x)
//! a, b independent masks of the family, keep probabilities p_a, p_b
//! x̂ = Re(ifft2c(S·keep_a / p_a))                         (density-compensated input)
//! ŷ = Re(ifft2c(S·keep_b / p_b))  (noisy)  or  x  (clean)
//! y  = S·keep_a                                          (raw measurements for DC)
//! ```
//! Intensities are then normalised by the input alone, as inference must do:
//! `scale = max(x̂ + 0.5)` and every image becomes `(v + 0.5)/scale − 0.5` (the pair is
//! redone from the rescaled clean image, which gives exactly those images and matching
//! measurements, since DC is always sampled). Without this a model trained on one scan's
//! intensity distribution fails on another's (Colin27's brain sits at ~0.33 of its volume
//! max, MNI152's at ~0.70).
//!
//! Complex mode (two channels, real and imaginary, for real scans that carry phase and
//! coils): the magnitude `m = x + 0.5 ∈ [0, 1]` gets a smooth random phase,
//! `z = m·e^{iφ}`, `φ = Σ_k c_k·P_k(u, v)` over the polynomials 1, u, v, u², uv, v² of the
//! normalised coordinates u, v ∈ [−1, 1] with `c_k` uniform in [−φ_max, φ_max]; coil
//! k-space is `S_c = fft2c(s_c·z)` with [`kspace::coils::synthetic_sensitivities`]
//! (Σ_c |s_c|² = 1; one coil: s = 1), and the images are the *linear* sensitivity-weighted
//! combinations
//! ```text
//! x̂ = Σ_c conj(s_c)·ifft2c(S_c·keep_a / p_a)     ŷ = Σ_c conj(s_c)·ifft2c(S_c·keep_b / p_b)  or  z
//! ```
//! so `E[x̂] = E[ŷ] = z` (RSS would bias the target). Everything is divided by
//! `scale = max|x̂|`, which inference can compute from the measured data alone.
//!
//! Since `E[keep/p] = 1` per bin, the noisy target is unbiased in both modes. Only the
//! *target* must be unbiased: with `compensate_input = false` the input is the plain
//! zero-filled image (`p` replaced by 1), far less noisy for Cartesian masks at 8×, where
//! 1/p ≈ 11 amplifies the aliasing; the network then learns E[clean | plain input]. When several
//! mask settings are given (e.g. fastMRI's 4× and 8×), each pair draws one of them
//! uniformly; both masks of a pair use it.

use kspace::{mask::MaskFunc, rng::MaskRng, SamplingMask, C32};
use ndarray::{Array2, Array3, Axis};

use super::prep::complex_scale;
pub use super::prep::{compensated_complex, compensated_image, input_mask, to_channels, Mode};
pub use crate::engine::Targets;
use crate::{ReconError, Result};

/// One training example.
#[derive(Clone, Debug)]
pub struct Pair {
    /// Network input (channels, H, W).
    pub input: Array3<f32>,
    /// Loss target (channels, H, W).
    pub target: Array3<f32>,
    /// The clean image after augmentation (channels, H, W), *not* normalised: the
    /// validation reference (compare with the network output mapped back with `scale`).
    pub clean: Array3<f32>,
    /// Raw measured k-space `S_c·keep` per coil (C, H, W), zero where not measured, divided
    /// by `scale`, for data consistency.
    pub measured: Array3<C32>,
    /// Coil maps (C, H, W) of the complex mode's data consistency; `None` in magnitude mode.
    pub sens: Option<Array3<C32>>,
    /// The input's keep mask, 1.0 / 0.0.
    pub keep: Array2<f32>,
    /// The normalisation: magnitude mode images are `(v + 0.5)/scale − 0.5`, complex mode
    /// images `z/scale`.
    pub scale: f32,
}

/// Makes a (input, target) pair from a clean slice with a seeded generator.
pub trait Corruption: Send + Sync {
    fn corrupt(&self, clean: &Array2<f32>, rng: &mut MaskRng) -> Result<Pair>;
}

/// The Noise2Noise MRI undersampling corruption; see the module documentation.
#[derive(Debug)]
pub struct MriUndersampling {
    /// Mask settings; each pair uses one, drawn uniformly.
    pub masks: Vec<Box<dyn MaskFunc>>,
    pub targets: Targets,
    /// Maximum circular shift per axis in pixels (0: no augmentation).
    pub max_shift: usize,
    pub mode: Mode,
    /// Density-compensate the input (the paper) or give the network the plain zero-filled
    /// image (targets are compensated either way).
    pub compensate_input: bool,
}

impl MriUndersampling {
    /// Magnitude mode with one mask setting (the tests' corruption).
    #[cfg(test)]
    pub fn new(mask: Box<dyn MaskFunc>, targets: Targets, max_shift: usize) -> Self {
        Self { masks: vec![mask], targets, max_shift, mode: Mode::Magnitude, compensate_input: true }
    }

    /// `mode`, drawing each pair's mask setting from `masks` (checked non-empty when used);
    /// compensated inputs.
    pub fn from_masks(masks: Vec<Box<dyn MaskFunc>>, targets: Targets, max_shift: usize, mode: Mode) -> Self {
        Self { masks, targets, max_shift, mode, compensate_input: true }
    }
}

/// Circular shift `out[i, j] = x[i − dy, j − dx]` (numpy's `roll`).
pub fn roll2(x: &Array2<f32>, dy: i64, dx: i64) -> Array2<f32> {
    let (h, w) = x.dim();
    Array2::from_shape_fn((h, w), |(i, j)| {
        x[[(i as i64 - dy).rem_euclid(h as i64) as usize, (j as i64 - dx).rem_euclid(w as i64) as usize]]
    })
}

/// The smooth random phase map of the module documentation.
pub fn smooth_phase(shape: (usize, usize), max_phase: f32, rng: &mut MaskRng) -> Array2<f32> {
    let c: Vec<f32> = (0..6).map(|_| ((2.0 * rng.uniform() - 1.0) as f32) * max_phase).collect();
    let (h, w) = shape;
    let (hh, hw) = ((h as f32 / 2.0).max(0.5), (w as f32 / 2.0).max(0.5));
    Array2::from_shape_fn(shape, |(i, j)| {
        let (v, u) = ((i as f32 - (h / 2) as f32) / hh, (j as f32 - (w / 2) as f32) / hw);
        c[0] + c[1] * u + c[2] * v + c[3] * u * u + c[4] * u * v + c[5] * v * v
    })
}

impl MriUndersampling {
    fn magnitude(&self, clean: Array2<f32>, a: &SamplingMask, b: &SamplingMask) -> Result<Pair> {
        let ai = input_mask(a, self.compensate_input);
        let first = compensated_image(&kspace::fft2c(&clean.mapv(|v| C32::new(v, 0.0))), &ai)?;
        let max = first.iter().fold(f32::MIN, |m, &v| m.max(v + 0.5));
        let scale = if max > 0.0 { max } else { 1.0 };
        let scaled = clean.mapv(|v| (v + 0.5) / scale - 0.5);
        let spec = kspace::fft2c(&scaled.mapv(|v| C32::new(v, 0.0)));
        let input = compensated_image(&spec, &ai)?;
        let target = match self.targets {
            Targets::Noisy => compensated_image(&spec, b)?,
            Targets::Clean => scaled,
        };
        let measured = kspace::undersample::undersample(&spec, a)?;
        Ok(Pair {
            input: input.insert_axis(Axis(0)),
            target: target.insert_axis(Axis(0)),
            clean: clean.insert_axis(Axis(0)),
            measured: measured.insert_axis(Axis(0)),
            sens: None,
            keep: a.as_f32(),
            scale,
        })
    }

    fn complex(
        &self,
        clean: Array2<f32>,
        (coils, max_phase): (usize, f32),
        (a, b): (&SamplingMask, &SamplingMask),
        rng: &mut MaskRng,
    ) -> Result<Pair> {
        let shape = clean.dim();
        let phase = smooth_phase(shape, max_phase, rng);
        let z = ndarray::Zip::from(&clean).and(&phase).map_collect(|&x, &p| C32::from_polar(x + 0.5, p));
        let sens = if coils > 1 {
            Some(kspace::coils::synthetic_sensitivities(coils, shape.0, shape.1)?)
        } else {
            None
        };
        let spec = match &sens {
            Some(s) => kspace::coils::simulate_coils(&z, s)?,
            None => kspace::fft2c(&z).insert_axis(Axis(0)),
        };
        let x = compensated_complex(&spec, &input_mask(a, self.compensate_input), sens.as_ref())?;
        let scale = complex_scale(&x);
        let target = match self.targets {
            Targets::Noisy => compensated_complex(&spec, b, sens.as_ref())?,
            Targets::Clean => z.clone(),
        };
        let measured = kspace::undersample::undersample(&spec, a)?.mapv(|v| v / scale);
        let ones = || Array3::from_elem((1, shape.0, shape.1), C32::new(1.0, 0.0));
        Ok(Pair {
            input: to_channels(&x, 1.0 / scale),
            target: to_channels(&target, 1.0 / scale),
            clean: to_channels(&z, 1.0),
            measured,
            sens: Some(sens.unwrap_or_else(ones)),
            keep: a.as_f32(),
            scale,
        })
    }
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
        let family = match self.masks.len() {
            0 => return Err(ReconError::Invalid("no mask settings".into())),
            1 => &self.masks[0],
            n => &self.masks[rng.randint(0, n as i64)? as usize],
        };
        let a = family.sample_with_rng(shape, rng)?;
        let b = family.sample_with_rng(shape, rng)?;
        match self.mode {
            Mode::Magnitude => self.magnitude(clean, &a, &b),
            Mode::Complex { coils, max_phase } => self.complex(clean, (coils, max_phase), (&a, &b), rng),
        }
    }
}
