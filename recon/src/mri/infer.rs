//! MRI inference: a trained model plus data consistency on one slice of measured k-space, in
//! the mode the model was trained in (its metadata says which).
//!
//! The input is density-compensated unless the model was trained without
//! ([`INPUT_COMPENSATION`]); the pre-processing is that of training ([`super::prep`]).
//! - Magnitude (1 channel): the density-compensated zero-filled image
//!   `Re(ifft2c(y·keep/p))`, normalised `x / max(x) − 0.5`, network, mapped back, then the
//!   measured samples put back (`kspace::consistency`).
//! - Complex (2 channels): `x̂ = Σ_c conj(s_c)·ifft2c(y_c·keep/p)` (linear coil combination
//!   with maps s, Σ|s|² = 1), divided by `max|x̂|` exactly as in training, network, times
//!   the scale, then multi-coil data consistency
//!   `Σ_c conj(s_c)·ifft2c(fft2c(s_c f) with the measured bins put back)`.

use kspace::{SamplingMask, C32};
use models::{Device, ModelMeta, Module, Network};
use ndarray::{Array2, Array3, Axis};

pub(crate) use super::prep::magnitude_input;
use super::prep::{
    compensated_complex, compensates_input, complex_scale, from_channels, input_mask, magnitude_offset,
    to_channels, ModelMode,
};
use crate::{
    tensor::{from_batch, to_batch},
    ReconError, Result,
};

/// Reconstructs one single-coil magnitude-mode slice with a trained 1→1 network.
///
/// `zero_filled` is the density-compensated zero-filled image `Re(ifft2c(y·keep/p))`, as in
/// training; `measured` the raw k-space (H, W) and `mask` its sampling mask. The image is
/// normalised like training data, `x = zf / s + offset` with `s = max(zf)` (training used
/// the volume max; a single slice only has its own) and `offset` from `meta.normalisation`
/// (−0.5); the output is mapped back, `(f − offset)·s`, and hard data consistency puts the
/// measured samples back. Any H, W: the U-Net pads to multiples of 32 internally.
pub fn reconstruct_with_model(
    net: &Network,
    meta: &ModelMeta,
    zero_filled: &Array2<f32>,
    measured: &Array2<C32>,
    mask: &SamplingMask,
    device: &Device,
) -> Result<Array2<f32>> {
    if ModelMode::of(meta)? != ModelMode::Magnitude {
        return Err(ReconError::Invalid("the magnitude path needs a 1→1 model".into()));
    }
    if zero_filled.dim() != measured.dim() || measured.dim() != mask.shape() {
        return Err(ReconError::Invalid("image, k-space and mask shapes differ".into()));
    }
    let offset = magnitude_offset(meta);
    let max = zero_filled.iter().fold(0f32, |m, &v| m.max(v));
    let s = if max > 0.0 { max } else { 1.0 };
    let x = zero_filled.mapv(|v| v / s + offset).insert_axis(Axis(0));
    let f = net.forward(&to_batch(&[&x], device)?)?;
    let mut out = from_batch(&f)?.remove(0).index_axis_move(Axis(0), 0).mapv(|v| (v - offset) * s);
    kspace::consistency::DataConsistency::new(measured, mask)?.apply_real_image(&mut out)?;
    Ok(out)
}

/// Reconstructs one slice with a trained 2→2 (complex) network: see the module
/// documentation. `measured` is the coil k-space (C, H, W) (unmeasured bins are ignored),
/// `sens` the maps (C, H, W) (`None` for one coil). Returns the combined complex image.
pub fn reconstruct_complex(
    net: &Network,
    meta: &ModelMeta,
    measured: &Array3<C32>,
    mask: &SamplingMask,
    sens: Option<&Array3<C32>>,
    device: &Device,
) -> Result<Array2<C32>> {
    let y = kspace::undersample::undersample(measured, mask)?;
    let x = compensated_complex(&y, &input_mask(mask, compensates_input(meta)), sens)?;
    let scale = complex_scale(&x);
    let f = net.forward(&to_batch(&[&to_channels(&x, 1.0 / scale)], device)?)?;
    let f = from_channels(&from_batch(&f)?.remove(0), scale);
    let dc = kspace::consistency::DataConsistency::new(&y, mask)?;
    let mut k = match sens {
        Some(s) => kspace::coils::simulate_coils(&f, s)?,
        None => kspace::fft2c(&f).insert_axis(Axis(0)),
    };
    dc.apply_kspace(&mut k)?;
    kspace::ifft2c_inplace(&mut k.view_mut());
    match sens {
        Some(s) => Ok(kspace::coils::combine(&k, s)?),
        None => Ok(k.index_axis_move(Axis(0), 0)),
    }
}
