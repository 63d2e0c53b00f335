//! The networks: architectures built from a `VarBuilder` out of named blocks, the
//! [`Network`] enum chosen by name, and their seeded initialisation.
//! - [`net`]: [`NetConfig`] (serialisable, stored in checkpoints) and [`Network`] (built);
//! - [`unet`]: the Noise2Noise U-Net ([`EncoderBlock`], [`DecoderBlock`]);
//! - [`red30`]: RED30 ([`ConvPair`], [`DeconvPair`]);
//! - [`unrolled`]: the unrolled physics-guided network ([`Unrolled`]: cascades of a learned
//!   SENSE gradient step and a small U-Net regulariser);
//! - [`layers`]: the 3×3 convolution layer both are made of;
//! - [`init`]: seeded He-normal initialisation (same seed → same weights, on any device).
//!
//! The parameter names a network asks its `VarBuilder` for (`enc_conv0.weight`, …) are the
//! tensor names of the checkpoints; the blocks keep the flat names of the original code.

pub mod init;
pub mod layers;
pub mod net;
pub mod red30;
pub mod unet;
pub mod unrolled;

pub use layers::Conv3x3;
pub use net::{count_parameters, param_names, NetConfig, Network};
pub use red30::{ConvPair, DeconvPair, Red30, Red30Config};
pub use unet::{DecoderBlock, EncoderBlock, PadMode, UNet, UNetConfig};
pub use unrolled::{Cascade, ConvBlock, Regulariser, Unrolled, UnrolledConfig};
