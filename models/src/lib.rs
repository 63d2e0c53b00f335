//! Networks for reconstruction (candle): the Noise2Noise U-Net and RED30, losses, the Adam
//! optimiser with the paper's learning-rate / β1 schedules, and self-describing safetensors
//! checkpoints. Knows nothing of MRI or files beyond its own checkpoints.
//!
//! Layout (NCHW everywhere):
//! - [`ops`], [`conv`], [`conv_act`]: differentiable 2×2 max-pool, nearest ×2 upsampling,
//!   LeakyReLU, pad/crop, the 3×3 convolution and the convolution fused with its LeakyReLU. candle 0.11.1's own `max_pool2d` /
//!   `upsample_nearest2d` have wrong backward passes and its CPU conv2d backward is very
//!   slow, so these are rebuilt: fused CPU kernels with explicit backward passes, and
//!   compositions of candle ops on other devices (CUDA).
//! - [`unet`], [`red30`], [`net`]: the architectures and the [`Network`] enum chosen by name.
//! - [`init`]: seeded He-normal initialisation (same seed → same weights, on any device).
//! - [`loss`]: L2, L1, annealed L0, masked L2.
//! - [`optim`], [`schedule`]: Adam with saveable state, ramp-up / ramp-down schedules.
//! - [`checkpoint`]: safetensors + JSON metadata, optimiser state, f16 export.

pub mod alloc;
pub mod checkpoint;
pub mod conv;
pub mod conv_act;
#[cfg(target_arch = "x86_64")]
mod conv_simd;
mod cpu;
pub mod init;
pub mod loss;
pub mod net;
pub mod ops;
pub mod optim;
pub mod red30;
pub mod schedule;
pub mod unet;

pub use alloc::reuse_freed_memory;
pub use candle_core::{DType, Device, Tensor};
pub use candle_nn::{Module, VarMap};
pub use checkpoint::{
    export_model, load_checkpoint, load_checkpoint_bytes, load_model, load_model_bytes, read_meta,
    save_checkpoint, Checkpoint, ModelMeta, Normalisation,
};
pub use loss::{gamma_schedule, l0_annealed, l1, l2, masked_l2, Loss};
pub use net::{NetConfig, Network};
pub use optim::{Adam, AdamConfig, AdamState};
pub use red30::{Red30, Red30Config};
pub use schedule::{RampDown, Schedule, StepParams};
pub use unet::{PadMode, UNet, UNetConfig};

/// Errors of this crate: candle's, I/O, JSON, safetensors, and malformed checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("i/o error on {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("safetensors: {0}")]
    SafeTensors(#[from] safetensors::SafeTensorError),
    #[error("unknown architecture '{0}' (known: unet, red30)")]
    UnknownArch(String),
    #[error("bad checkpoint {path}: {msg}")]
    BadCheckpoint { path: String, msg: String },
}

/// Result with [`ModelError`].
pub type Result<T> = std::result::Result<T, ModelError>;

/// The device to run on: CUDA device 0 when built with `--features cuda` and a GPU is
/// present, otherwise the CPU. (`Device::cuda_if_available` returns the CPU when the
/// crate is built without CUDA support.)
pub fn best_device() -> Device {
    Device::cuda_if_available(0).unwrap_or(Device::Cpu)
}
