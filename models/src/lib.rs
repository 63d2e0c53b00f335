//! Networks for reconstruction (candle): the Noise2Noise U-Net, RED30 and the unrolled
//! physics-guided network (with a differentiable centred FFT and SENSE operator), losses, the Adam
//! optimiser with the paper's learning-rate / β1 schedules, and self-describing safetensors
//! checkpoints. Knows no files beyond its own checkpoints; the MRI physics inside the graph
//! (centred FFT, SENSE operator) is kspace's, made differentiable in [`fft`] and [`sense`].
//!
//! Layout (NCHW everywhere), from the bottom up:
//! ```text
//! kernels/     low-level compute: differentiable ops with explicit backward passes
//!   ops.rs       2×2 max-pool, nearest ×2 upsampling, LeakyReLU, pad / crop
//!   conv/        the 3×3 convolution (mod.rs: GEMM passes; fast.rs + simd.rs: AVX2 + FMA)
//!   conv_act.rs  the convolution fused with its LeakyReLU
//!   cpu.rs       single-pass CPU kernels of ops.rs (candle custom ops)
//!   alloc.rs     keep freed memory for reuse (glibc)
//! nets/        the networks, built from a VarBuilder out of named blocks
//!   layers.rs    Conv3x3, the layer of both networks
//!   unet.rs      UNet = enc_conv0, EncoderBlock ×5, enc_conv6, DecoderBlock ×5, dec_conv1
//!   red30.rs     Red30 = ConvPair ×7, conv15, DeconvPair ×7, deconv15
//!   unrolled.rs  Unrolled = Cascade ×K (learned SENSE gradient step + Regulariser U-Net)
//!   net.rs       NetConfig / Network: the architecture chosen by name
//!   init.rs      seeded He-normal initialisation (same seed → same weights, any device)
//! train/       the tools of a training step, independent of the network
//!   loss.rs      L2, L1, annealed L0, masked L2
//!   optim.rs     Adam with saveable state
//!   schedule.rs  ramp-up / ramp-down of the learning rate and β1
//! fft.rs       the centred orthonormal 2-D FFT as a candle op (backward: the adjoint FFT)
//! sense.rs     complex helpers and the SENSE operator A = M·F·S and its adjoint, differentiable
//! checkpoint.rs  safetensors + JSON metadata, optimiser state, f16 export
//! ```
//! [`kernels`] and [`fft`] depend on nothing else here, [`sense`] on [`fft`], [`nets`] on
//! [`kernels`] and [`sense`], [`train`] on none of them;
//! [`checkpoint`] stays at the root because it joins a network and an optimiser state and is
//! read by inference as much as by training.
//!
//! The types and functions a user calls are re-exported at the root (`models::UNet`,
//! `models::Adam`, `models::load_model`, …); the modules hold the rest.

pub mod checkpoint;
pub mod fft;
pub mod kernels;
pub mod nets;
pub mod sense;
pub mod train;

pub use candle_core::{DType, Device, Tensor};
pub use candle_nn::{Module, VarMap};
pub use checkpoint::{
    export_model, load_checkpoint, load_checkpoint_bytes, load_model, load_model_bytes, read_meta,
    save_checkpoint, Checkpoint, ModelMeta, Normalisation,
};
pub use kernels::alloc::reuse_freed_memory;
pub use nets::{
    count_parameters, param_names, Conv3x3, DecoderBlock, EncoderBlock, NetConfig, Network, PadMode, Red30,
    Red30Config, UNet, UNetConfig, Unrolled, UnrolledConfig,
};
pub use train::{
    gamma_schedule, l0_annealed, l1, l2, masked_l2, Adam, AdamConfig, AdamState, Loss, RampDown, Schedule,
    StepParams,
};

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
    #[error("unknown architecture '{0}' (known: unet, red30, unrolled)")]
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
