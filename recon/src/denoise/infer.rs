//! Applying a denoising model to a photo of any size: channels matched to the model, values
//! mapped to `[−0.5, 0.5]`, reflect-padded to a multiple of 32 (the U-Net's five poolings),
//! the network, cropped back, mapped to `[0, 1]`; the pre-processing is that of training
//! ([`super::prep`]).

use std::path::{Path, PathBuf};

use models::{Device, ModelMeta, Module, Network, Tensor};
use ndarray::{s, Array3, Axis};

use super::prep::{centred, padded, to_channels, uncentred};
use crate::{ReconError, Result};

/// Value of `"task"` in the `config` JSON of denoising models.
pub const TASK: &str = "denoise";

/// The default model of `recon denoise`: blind Gaussian noise (σ 0–50 of 255), RGB U-Net of
/// width 32 trained with noisy targets only (Noise2Noise) by the command in
/// `data/README.md`; f16 weights, 0.9 MB.
pub static DEFAULT_GAUSSIAN: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models/denoise_gaussian.safetensors"));

/// Its name in messages and reports.
pub const DEFAULT_NAME: &str = "default-gaussian";

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
        Self::from_bytes(DEFAULT_GAUSSIAN, DEFAULT_NAME)
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

    /// Denoises `(C, H, W)` values in `[−0.5, 0.5]` with the model's channel count.
    pub fn denoise_centred(&self, x: &Array3<f32>) -> Result<Array3<f32>> {
        let (c, h, w) = x.dim();
        let padded = padded(x);
        let (_, ph, pw) = padded.dim();
        let v: Vec<f32> = padded.iter().copied().collect();
        let t = Tensor::from_vec(v, (1, c, ph, pw), &self.device)?;
        let out = self.net.forward(&t)?;
        let v: Vec<f32> = out.flatten_all().and_then(|t| t.to_vec1())?;
        let full = Array3::from_shape_vec((c, ph, pw), v).map_err(|e| ReconError::Invalid(e.to_string()))?;
        Ok(full.slice(s![.., ..h, ..w]).to_owned())
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
