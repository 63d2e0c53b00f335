//! The generic image-restoration experiments of Noise2Noise (Lehtinen et al. 2018, §3):
//! learn to remove a corruption from pairs of independently corrupted photos, with the
//! loss that matches the corruption's statistics.
//!
//! - `noise`: the corruption models (additive white and spatially correlated Gaussian,
//!   Poisson, multiplicative Bernoulli, text overlay (`text`, embedded bitmap font),
//!   random-valued impulse), each seeded, with strength ranges parsed from `gaussian:0-50`.
//! - `dataset`: photos as `(C, H, W)` in `[−0.5, 0.5]`, crops, real noisy–noisy pairs.
//! - `prep`: the pre-processing training and inference share (channels, centring,
//!   padding to a multiple of 32).
//! - `config`: [`DenoiseConfig`] and its typed resume key; `recipe`: the recipe
//!   (`DenoiseRecipe`) on the training engine (`crate::engine`) and [`train`].
//! - `infer`: applying a model to a photo of any size (pad to a multiple of 32, crop);
//!   the default blind-Gaussian model compiled into the binary.
//! - `grey`: grey photos and an RGB model (one noise draw in every channel; grey crops).
//! - `init`: fine-tuning from a trained model (`--init default|MODEL`).
//! - `eval`: reproducible 8-bit PSNR on a folder of photos.

pub(crate) mod config;
pub(crate) mod dataset;
pub(crate) mod eval;
pub(crate) mod grey;
pub(crate) mod infer;
pub(crate) mod init;
pub(crate) mod noise;
pub(crate) mod prep;
pub(crate) mod recipe;
pub(crate) mod text;

pub use config::DenoiseConfig;
pub use dataset::write_photo;
pub use eval::{evaluate, EvalReport, EvalRow};
pub use grey::GreyNoise;
pub use infer::Denoiser;
pub use init::{DenoiserArch, InitModel};
pub use noise::{Corrupted, NoiseKind, NoiseSpec};
pub use recipe::train;

#[cfg(test)]
mod tests;
