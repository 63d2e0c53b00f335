//! Applying a denoising model to a photo of any size: channels matched to the model, values
//! mapped to `[−0.5, 0.5]`, reflect-padded to a multiple of 32 (the U-Net's five poolings),
//! the network, cropped back, mapped to `[0, 1]`; the pre-processing is that of training
//! ([`super::prep`]).

use std::path::{Path, PathBuf};

use models::{Device, ModelMeta, Module, Network, Tensor};
use ndarray::{s, Array3, Axis};

use super::{
    noise::NoiseKind,
    prep::{centred, padded, to_channels, uncentred, MULTIPLE},
};
use crate::{ReconError, Result};

/// Value of `"task"` in the `config` JSON of denoising models.
pub const TASK: &str = "denoise";

/// The default model of `recon denoise`: blind Gaussian noise (σ 0–50 of 255), RGB U-Net
/// trained with noisy targets only (Noise2Noise) by the commands in `data/README.md`; f16
/// weights.
pub static DEFAULT_GAUSSIAN: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models/denoise_gaussian.safetensors"));

/// The built-in Poisson model (`--noise poisson`, λ 0.001–50), fine-tuned from the Gaussian
/// one with noisy targets only (`data/README.md`).
pub static DEFAULT_POISSON: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models/denoise_poisson.safetensors"));

/// The built-in Bernoulli model (`--noise bernoulli`, pixels dropped with p 0–0.95),
/// fine-tuned from the Gaussian one with noisy targets and the masked L2 loss.
pub static DEFAULT_BERNOULLI: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models/denoise_bernoulli.safetensors"));

/// The Gaussian model's name in messages and reports.
pub const DEFAULT_NAME: &str = "default-gaussian";

/// The built-in model for a noise kind, `(name, bytes)`: Gaussian, Poisson and Bernoulli
/// have one; the other kinds need a model of one's own (`Invalid` naming the kind).
pub fn built_in(kind: NoiseKind) -> Result<(&'static str, &'static [u8])> {
    match kind {
        NoiseKind::Gaussian => Ok((DEFAULT_NAME, DEFAULT_GAUSSIAN)),
        NoiseKind::Poisson => Ok(("default-poisson", DEFAULT_POISSON)),
        NoiseKind::Bernoulli => Ok(("default-bernoulli", DEFAULT_BERNOULLI)),
        other => Err(ReconError::Invalid(format!(
            "no built-in model for {} noise (built in: gaussian, poisson, bernoulli); train one with \
             `recon denoise train --noise {}` and pass it with --model",
            other.name(),
            other.name()
        ))),
    }
}

/// Padded photos up to this many pixels go through the network whole (4 MP: a few GB of
/// activations at width 48); larger ones in tiles.
pub const WHOLE_MAX_PIXELS: usize = 2048 * 2048;
/// Block size of the tiled pass (a multiple of 32).
pub const TILE: usize = 1024;
/// Context around each block in the tiled pass (a multiple of 32).
pub const TILE_MARGIN: usize = 128;

/// How [`Denoiser::denoise_tiled`] cuts a photo.
#[derive(Clone, Copy, Debug)]
pub struct Tiling {
    /// Block size (rounded down to a multiple of 32, at least 32).
    pub tile: usize,
    /// Context on each side (rounded down to a multiple of 32).
    pub margin: usize,
    /// Padded photos up to this many pixels are not tiled.
    pub whole_max: usize,
}

/// A loaded denoising network.
pub struct Denoiser {
    pub net: Network,
    pub meta: ModelMeta,
    /// Where it came from, for messages (a path or `default-gaussian`).
    pub name: String,
    device: Device,
}

/// The `config` JSON of a model.
pub fn config_json(meta: &ModelMeta) -> serde_json::Value {
    serde_json::from_str(&meta.config).unwrap_or_default()
}

impl Denoiser {
    /// A model file written by `recon denoise train`; an MRI model or another file is an
    /// error naming it.
    pub fn from_file(path: &Path) -> Result<Self> {
        let device = models::best_device();
        let (net, meta) =
            models::load_model(path, &device).map_err(|e| ReconError::format(path, e.to_string()))?;
        Self::checked(net, meta, path.display().to_string(), device, path)
    }

    /// A model from the bytes of a model file; `name` names it in messages.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        let device = models::best_device();
        let p = PathBuf::from(name);
        let (net, meta) = models::load_model_bytes(&p, bytes, &device)
            .map_err(|e| ReconError::format(&p, e.to_string()))?;
        Self::checked(net, meta, name.to_string(), device, &p)
    }

    /// The blind Gaussian model compiled into the binary (`DEFAULT_GAUSSIAN`).
    pub fn default_gaussian() -> Result<Self> {
        Self::built_in(NoiseKind::Gaussian)
    }

    /// The model compiled into the binary for `kind` ([`built_in`]).
    pub fn built_in(kind: NoiseKind) -> Result<Self> {
        let (name, bytes) = built_in(kind)?;
        Self::from_bytes(bytes, name)
    }

    /// Wraps a network being trained (validation).
    pub fn from_network(net: Network, meta: ModelMeta, device: Device) -> Self {
        Self { net, meta, name: "training".into(), device }
    }

    fn checked(net: Network, meta: ModelMeta, name: String, device: Device, path: &Path) -> Result<Self> {
        let cfg = config_json(&meta);
        if cfg["task"].as_str() != Some(TASK) {
            return Err(ReconError::format(
                path,
                "not a denoising model (no \"task\": \"denoise\" in its config; MRI models are used by `recon --input`)",
            ));
        }
        if meta.arch.in_channels() != meta.arch.out_channels() || ![1, 3].contains(&meta.arch.in_channels()) {
            return Err(ReconError::format(path, "denoising models map 1 or 3 channels to as many"));
        }
        Ok(Self { net, meta, name, device })
    }

    /// Channels the network takes (1 or 3).
    pub fn channels(&self) -> usize {
        self.meta.arch.in_channels()
    }

    /// What it was trained on: the noise, e.g. `gaussian:0-50`, or `pairs:DIR` for real
    /// pairs (empty if unknown).
    pub fn noise(&self) -> String {
        let cfg = config_json(&self.meta);
        let on = cfg["trained_on"].as_str().or(cfg["noise"].as_str());
        on.unwrap_or_default().to_string()
    }

    /// Denoises `(C, H, W)` values in `[−0.5, 0.5]` with the model's channel count: whole up
    /// to [`WHOLE_MAX_PIXELS`], in tiles above it ([`Self::denoise_tiled`] with [`TILE`] and
    /// [`TILE_MARGIN`]), so that memory stays bounded for photos of any size.
    pub fn denoise_centred(&self, x: &Array3<f32>) -> Result<Array3<f32>> {
        self.denoise_tiled(x, Tiling { tile: TILE, margin: TILE_MARGIN, whole_max: WHOLE_MAX_PIXELS })
    }

    /// [`Self::denoise_centred`] with a given tiling. The photo is reflect-padded to a
    /// multiple of 32 as a whole; if that has more than `whole_max` pixels, the padded image
    /// is cut into `tile × tile` blocks, each run through the network with `margin` pixels
    /// of context on every side that has any (image edges get none, as in the whole-image
    /// pass), and only its block kept. Tile, margin and block origins are multiples of 32,
    /// so every window keeps the whole image's pooling grid; the margin only has to cover
    /// how far context matters. Memory: one window's activations instead of the photo's.
    pub fn denoise_tiled(&self, x: &Array3<f32>, t: Tiling) -> Result<Array3<f32>> {
        let (c, h, w) = x.dim();
        let padded = padded(x);
        let (_, ph, pw) = padded.dim();
        if ph * pw <= t.whole_max {
            return Ok(self.forward(&padded)?.slice(s![.., ..h, ..w]).to_owned());
        }
        let (tile, margin) = (t.tile.max(MULTIPLE) / MULTIPLE * MULTIPLE, t.margin / MULTIPLE * MULTIPLE);
        let mut out = Array3::<f32>::zeros((c, h, w));
        for r0 in (0..h).step_by(tile) {
            for c0 in (0..w).step_by(tile) {
                let (r1, c1) = ((r0 + tile).min(h), (c0 + tile).min(w));
                let (a0, b0) = (r0.saturating_sub(margin), c0.saturating_sub(margin));
                // Window ends rounded up to the padded grid (multiples of 32, within it).
                let a1 = ((r1 + margin).div_ceil(MULTIPLE) * MULTIPLE).min(ph);
                let b1 = ((c1 + margin).div_ceil(MULTIPLE) * MULTIPLE).min(pw);
                let y = self.forward(&padded.slice(s![.., a0..a1, b0..b1]).to_owned())?;
                out.slice_mut(s![.., r0..r1, c0..c1]).assign(&y.slice(s![
                    ..,
                    r0 - a0..r1 - a0,
                    c0 - b0..c1 - b0
                ]));
            }
        }
        Ok(out)
    }

    /// The network on `(C, H, W)` with H and W multiples of 32.
    fn forward(&self, x: &Array3<f32>) -> Result<Array3<f32>> {
        let (c, h, w) = x.dim();
        let v: Vec<f32> = x.iter().copied().collect();
        let t = Tensor::from_vec(v, (1, c, h, w), &self.device)?;
        let out = self.net.forward(&t)?;
        let v: Vec<f32> = out.flatten_all().and_then(|t| t.to_vec1())?;
        Array3::from_shape_vec((c, h, w), v).map_err(|e| ReconError::Invalid(e.to_string()))
    }

    /// Denoises a photo `(C, H, W)` in `[0, 1]` (C = 1 or 3, any size); the result has the
    /// same shape, values unclipped. Grey photos go through an RGB model as three equal
    /// channels and come back as their mean; RGB photos go through a grey model as luma.
    pub fn denoise(&self, photo: &Array3<f32>) -> Result<Array3<f32>> {
        let c = photo.dim().0;
        let x = centred(photo, self.channels());
        let y = uncentred(&self.denoise_centred(&x)?);
        Ok(match (self.channels(), c) {
            (a, b) if a == b => y,
            (3, 1) => y.mean_axis(Axis(0)).expect("3 channels").insert_axis(Axis(0)), // ok: non-empty axis
            _ => to_channels(&y, c),
        })
    }
}
