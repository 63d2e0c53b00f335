//! Inference with an unrolled network, and scan-specific adaptation (`recon --adapt N`).
//!
//! Inference: maps from the undersampled data (ESPIRiT, [`crate::classical::slice_maps`]),
//! `scale = max |Sᴴ Fᴴ y|`, `x̂ = Unrolled(y/scale, M, S)·scale` ([`NetInput::image`]), the
//! cascades starting from the model's [`Initial`] image.
//!
//! Adaptation (zero-shot self-supervision, Yaman et al., ICLR 2022): before reconstructing
//! a slice, the model is fine-tuned on that slice alone for N Adam steps; step t splits the
//! measured set Ω with SSDU ([`kspace::split::ssdu`], ρ = 0.4, a generator keyed by the slice
//! and t, the whole calibration region kept in Θ: see [`adapt_split`]) into input Θ and loss
//! set Λ and minimises `Σ_{k∈Λ} |(F S x̂(y_Θ))_k − y_k|²`. The
//! reconstruction then uses all of Ω. The weights are reloaded for every slice, so slices do
//! not influence each other and the result does not depend on the order or on `--jobs`.

use kspace::{rng::MaskRng, split, SamplingMask, C32};
use models::{AdamConfig, Checkpoint, Device, Loss, StepParams};
use ndarray::{Array2, Array3};

use super::{
    apply::NetInput,
    initial::Initial,
    pairs::{input_scale, masked},
    recipe::unrolled,
};
use crate::{
    classical::{slice_maps, MapsChoice},
    tensor::{from_interleaved, interleaved_batch, plane_batch},
    Result,
};

/// Learning rate of adaptation (constant): small, since it starts from a trained model.
pub const ADAPT_LR: f64 = 1e-4;
/// Fraction of Ω moved to the loss set at each adaptation step (SSDU's ρ).
pub const ADAPT_RHO: f64 = 0.4;

/// The split of adaptation: SSDU with ρ = [`ADAPT_RHO`], keeping the whole calibration region
/// in the input. Training's default protects only a 4×4 block at DC, because over hundreds of
/// steps the unscored calibration frequencies drift; over adaptation's few steps at a small
/// learning rate they cannot, and on the 12 held-out rows of the README `--adapt 5` with the
/// 4×4 block was no better (mean −0.04 dB; −0.4 and −0.5 dB on the abdomen's 1-D masks).
fn adapt_split() -> split::SsduOptions {
    split::SsduOptions { rho: ADAPT_RHO, calibration: split::Calibration::Detect, ..Default::default() }
}

/// The maps `recon` uses with an unrolled network: ESPIRiT with its fallback.
pub fn maps_for(y: &Array3<C32>, mask: &SamplingMask) -> Result<Array3<C32>> {
    Ok(slice_maps(y, mask, MapsChoice::Espirit)?.first())
}

/// Reconstructs one slice: `y` the measured coil k-space (zero where not measured), `maps`
/// from [`maps_for`]. Returns the complex image.
pub fn reconstruct(
    net: &models::Network,
    initial: Initial,
    y: &Array3<C32>,
    mask: &SamplingMask,
    maps: &Array3<C32>,
    device: &Device,
) -> Result<Array2<C32>> {
    let scale = input_scale(y, maps)?;
    let y = y.mapv(|z| z / scale);
    let x0 = initial.image(&y, mask, maps)?.map(|x| vec![x]);
    let input = NetInput::new(&[&y], &[&mask.as_f32()], &[maps], x0.as_deref(), device)?;
    let x = from_interleaved(&input.image(unrolled(net)?)?)?.remove(0);
    Ok(x.mapv(|z| z * scale))
}

/// Fine-tunes the trainable checkpoint `ck` on one slice for `steps` steps (see the module
/// documentation); `key` distinguishes slices.
pub fn adapt(
    ck: &Checkpoint,
    initial: Initial,
    y: &Array3<C32>,
    mask: &SamplingMask,
    maps: &Array3<C32>,
    steps: usize,
    key: u64,
    device: &Device,
) -> Result<()> {
    let net = unrolled(&ck.net)?;
    let scale = input_scale(y, maps)?;
    let y = y.mapv(|z| z / scale);
    let mut adam = models::Adam::new(&ck.varmap, AdamConfig::default())?;
    let maps_t = interleaved_batch(&[maps], device)?;
    for t in 0..steps {
        let mut rng = MaskRng::from_words([key as u32, (key >> 32) as u32, t as u32, 0xADA]);
        let p = split::ssdu(mask, &adapt_split(), &mut rng)?;
        let theta = p.input.as_f32();
        let lambda = p.target.mapv(|b| if b { 1.0f32 } else { 0.0 });
        let (y_in, y_t) = (masked(&y, &theta), masked(&y, &lambda));
        let x0 = match initial.image(&y_in, &p.input, maps)? {
            Some(x) => Some(interleaved_batch(&[&x.insert_axis(ndarray::Axis(0))], device)?),
            None => None,
        };
        let input = NetInput {
            y: interleaved_batch(&[&y_in], device)?,
            mask: plane_batch(&[&theta], device)?,
            maps: maps_t.clone(),
            x0,
        };
        let k = input.kspace_of(&input.image(net)?)?;
        let target = interleaved_batch(&[&y_t], device)?;
        let weight = plane_batch(&[&(&p.weight * &lambda)], device)?;
        let loss = Loss::L2.compute(&k, &target, Some(&weight), 0, 1)?;
        adam.backward_step(&loss, StepParams { lr: ADAPT_LR, beta1: 0.9 })?;
    }
    Ok(())
}
