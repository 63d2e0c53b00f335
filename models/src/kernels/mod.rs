//! The low-level compute under the networks: differentiable NCHW operations with their own
//! forward and backward passes, and the CPU kernels that run them.
//!
//! candle 0.11.1's own `max_pool2d` / `upsample_nearest2d` have wrong backward passes and its
//! CPU conv2d backward is very slow, so these are rebuilt: fused CPU kernels with explicit
//! backward passes, and compositions of candle ops on other devices (CUDA).
//! - [`ops`]: 2×2 max-pool, nearest ×2 upsampling, LeakyReLU, pad / crop helpers;
//! - [`conv`]: the 3×3 "same" convolution with bias (GEMM passes, and AVX2 + FMA
//!   register-tile kernels for f32 on x86-64);
//! - [`conv_act`]: that convolution fused with its LeakyReLU;
//! - `cpu`: the single-pass CPU kernels of [`ops`], wrapped as candle custom ops;
//! - [`alloc`]: keeps freed memory in the process (a training step's activations are reused
//!   instead of being faulted in again).

pub mod alloc;
pub mod conv;
pub mod conv_act;
mod cpu;
pub mod ops;

pub use conv::conv3x3;
pub use conv_act::conv3x3_leaky;
pub use ops::{
    leaky_relu, max_pool2x2, pad_bottom_right, reflect_index, round_up, upsample_nearest2x, PadMode,
};
