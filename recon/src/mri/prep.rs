//! The MRI pre-processing that training and inference share, so that they cannot drift
//! apart: how a slice is presented to the network ([`Mode`], [`ModelMode`]), the input mask
//! with or without density compensation ([`input_mask`]), the zero-filled images
//! ([`compensated_image`], [`compensated_complex`]), complex images as two channels and back
//! ([`to_channels`], [`from_channels`]), the complex normalisation ([`complex_scale`]) and
//! the normalisation a model file records ([`normalisation`]) and inference reads back.
//!
//! Magnitude mode: the network sees `x / s − 0.5` of the (density-compensated) zero-filled
//! image, `s` its maximum. Complex mode: the two channels of `x̂ / max|x̂|`, `x̂` the linear
//! coil combination of the zero-filled coil images.

use std::collections::BTreeMap;

use kspace::{SamplingMask, C32};
use models::{ModelMeta, Normalisation};
use ndarray::{Array2, Array3, Axis};
use serde::{Deserialize, Serialize};

use crate::{ReconError, Result};

/// How images are presented to the network.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum Mode {
    /// One real channel, `x − 0.5` of a magnitude image (the paper's MRI experiment).
    Magnitude,
    /// Two channels (real, imaginary) of the coil-combined complex image.
    Complex {
        /// Simulated receive coils (1: single-coil).
        coils: usize,
        /// Amplitude φ_max (radians) of the smooth synthetic phase's coefficients.
        max_phase: f32,
    },
}

impl Mode {
    /// Network input/output channels.
    pub fn channels(&self) -> usize {
        match self {
            Mode::Magnitude => 1,
            Mode::Complex { .. } => 2,
        }
    }
}

/// How a model expects its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelMode {
    Magnitude,
    Complex,
}

impl ModelMode {
    /// From the channel counts in the metadata: 1→1 magnitude, 2→2 complex.
    pub fn of(meta: &ModelMeta) -> Result<Self> {
        match (meta.arch.in_channels(), meta.arch.out_channels()) {
            (1, 1) => Ok(Self::Magnitude),
            (2, 2) => Ok(Self::Complex),
            (i, o) => Err(ReconError::Invalid(format!(
                "model has {i}→{o} channels; MRI reconstruction needs 1→1 (magnitude) or 2→2 (complex)"
            ))),
        }
    }
}

/// `ModelMeta.normalisation.method` of complex-mode models: divide by the largest
/// magnitude of the zero-filled input.
pub const COMPLEX_NORMALISATION: &str = "max_abs_input";

/// `ModelMeta.normalisation.params` key: 1 when the network input was density-compensated
/// (the default when absent), 0 for the plain zero-filled image.
pub const INPUT_COMPENSATION: &str = "input_density_compensation";

/// `ModelMeta.normalisation.params` key of magnitude models: the offset added after
/// dividing by the maximum (−0.5).
pub const OFFSET: &str = "offset";

/// The normalisation a model trained in `mode` records: magnitude `max` with offset −0.5,
/// complex [`COMPLEX_NORMALISATION`]; both with [`INPUT_COMPENSATION`].
pub fn normalisation(mode: Mode, compensate_input: bool) -> Normalisation {
    let comp = (INPUT_COMPENSATION.to_string(), if compensate_input { 1.0 } else { 0.0 });
    match mode {
        Mode::Magnitude => {
            Normalisation { method: "max".into(), params: BTreeMap::from([(OFFSET.to_string(), -0.5), comp]) }
        }
        Mode::Complex { .. } => {
            Normalisation { method: COMPLEX_NORMALISATION.into(), params: BTreeMap::from([comp]) }
        }
    }
}

/// Whether the model was trained on density-compensated inputs.
pub fn compensates_input(meta: &ModelMeta) -> bool {
    meta.normalisation.params.get(INPUT_COMPENSATION).is_none_or(|&v| v != 0.0)
}

/// The offset of a magnitude model's inputs (−0.5 when the metadata does not say).
pub fn magnitude_offset(meta: &ModelMeta) -> f32 {
    meta.normalisation.params.get(OFFSET).copied().unwrap_or(-0.5) as f32
}

/// The mask the input is made with: `a` itself, or `a` with keep probabilities 1 (no
/// density compensation) when `compensate` is false.
pub fn input_mask(a: &SamplingMask, compensate: bool) -> SamplingMask {
    if compensate {
        return a.clone();
    }
    SamplingMask { keep: a.keep.clone(), prob: Array2::ones(a.keep.dim()), columns: a.columns.clone() }
}

/// `Re(ifft2c(S·keep/p))`: the density-compensated zero-filled image of one mask.
pub fn compensated_image(s: &Array2<C32>, mask: &SamplingMask) -> Result<Array2<f32>> {
    let k = kspace::undersample::density_compensate(s, mask)?;
    Ok(kspace::ifft2c(&k).mapv(|z| z.re))
}

/// `Σ_c conj(s_c)·ifft2c(S_c·keep/p) / Σ_c |s_c|²`: the density-compensated, linearly
/// coil-combined zero-filled image of coil k-space (C, H, W) (maps `None`: one coil, s = 1).
pub fn compensated_complex(
    s: &Array3<C32>,
    mask: &SamplingMask,
    sens: Option<&Array3<C32>>,
) -> Result<Array2<C32>> {
    let mut k = kspace::undersample::density_compensate(s, mask)?;
    kspace::ifft2c_inplace(&mut k.view_mut());
    match sens {
        Some(m) => Ok(kspace::coils::combine(&k, m)?),
        None if k.dim().0 == 1 => Ok(k.index_axis_move(Axis(0), 0)),
        None => Err(ReconError::Invalid("several coils need sensitivity maps".into())),
    }
}

/// (2, H, W) real and imaginary channels of a complex image, times `f`.
pub fn to_channels(z: &Array2<C32>, f: f32) -> Array3<f32> {
    let (h, w) = z.dim();
    Array3::from_shape_fn((2, h, w), |(c, i, j)| if c == 0 { z[[i, j]].re * f } else { z[[i, j]].im * f })
}

/// The complex normalisation: `max|x̂|` of the zero-filled input, or 1 for an all-zero one.
pub fn complex_scale(x: &Array2<C32>) -> f32 {
    let max = x.iter().fold(0f32, |m, v| m.max(v.norm()));
    if max > 0.0 {
        max
    } else {
        1.0
    }
}

/// The complex image of (2, H, W) real and imaginary channels, times `f`.
pub fn from_channels(x: &Array3<f32>, f: f32) -> Array2<C32> {
    ndarray::Zip::from(x.index_axis(Axis(0), 0))
        .and(x.index_axis(Axis(0), 1))
        .map_collect(|&a, &b| C32::new(a * f, b * f))
}

/// The magnitude-mode network input before normalisation, `Re(ifft2c(y·keep/p))` (or with
/// p = 1 for models trained on uncompensated inputs), for callers that only have k-space.
pub fn magnitude_input(meta: &ModelMeta, measured: &Array2<C32>, mask: &SamplingMask) -> Result<Array2<f32>> {
    let m = input_mask(mask, compensates_input(meta));
    compensated_image(&kspace::undersample::undersample(measured, &m)?, &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_and_the_scale_of_an_empty_input_is_one() {
        let z = Array2::from_shape_fn((3, 4), |(i, j)| C32::new(i as f32 - 1.0, 0.5 * j as f32));
        let s = complex_scale(&z);
        assert_eq!(s, z.iter().map(|v| v.norm()).fold(0.0, f32::max));
        let back = from_channels(&to_channels(&z, 0.5), 2.0);
        assert!(back.iter().zip(&z).all(|(a, b)| (a - b).norm() < 1e-6));
        assert_eq!(complex_scale(&Array2::zeros((2, 2))), 1.0);
    }

    #[test]
    fn the_recorded_normalisation_reads_back_as_trained() {
        let mut meta = ModelMeta::new(models::NetConfig::UNet(models::UNetConfig::new(1, 1)));
        for (mode, comp) in [(Mode::Magnitude, true), (Mode::Complex { coils: 2, max_phase: 1.0 }, false)] {
            meta.normalisation = normalisation(mode, comp);
            assert_eq!(compensates_input(&meta), comp);
            assert_eq!(magnitude_offset(&meta), -0.5);
        }
    }
}
