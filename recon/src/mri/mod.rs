//! MRI reconstruction networks: the Noise2Noise MRI training recipe on the training engine
//! ([`crate::engine`]) and the inference that applies its models.
//!
//! - [`prep`]: the pre-processing training and inference share (modes, input masks,
//!   zero-filled images, channels, normalisation), so that they cannot drift apart;
//! - [`dataset`]: slices from NIfTI volumes; [`corruption`]: pairs of independently
//!   undersampled images; [`dc`]: the differentiable data-consistency layer;
//! - [`config`]: [`TrainConfig`], its bounds and its typed resume key; [`recipe`]: the
//!   step and validation ([`MriRecipe`]) and [`train`];
//! - [`infer`]: a trained model plus data consistency on one slice.
//!
//! Modes: one real channel (magnitude experiments, the paper's) or two channels (real,
//! imaginary) of the coil-combined complex image, trained with smooth synthetic phase and
//! simulated coils so models work on real multi-coil scans.

pub mod acquired;
pub mod config;
pub mod corruption;
pub mod dataset;
pub mod dc;
pub mod infer;
pub mod prep;
pub mod recipe;
pub mod unrolled;

pub use config::TrainConfig;
pub use prep::{Mode, ModelMode};
pub use recipe::train;

#[cfg(test)]
pub(crate) mod tests;
