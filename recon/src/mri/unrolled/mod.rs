//! The unrolled physics-guided network ([`models::Unrolled`]): training on acquired or
//! simulated k-space with self-supervised pairs, inference, and scan-specific adaptation.
//!
//! - [`config`]: [`UnrolledTrainConfig`] and its resume key;
//! - [`source`]: the slices in memory (NIfTI simulated as multi-coil scans; fastMRI / BART
//!   files as acquired), with ESPIRiT maps;
//! - [`pairs`]: input and target sample sets per step (`simulate`, `split`, `repeats`,
//!   `full`);
//! - [`initial`]: where the cascades start (zero-filled or compressed sensing);
//! - [`apply`]: the network on k-space, shared by every path below;
//! - [`recipe`]: the training recipe on the engine and [`train_unrolled`];
//! - [`infer`]: reconstruction and `--adapt`.

pub mod apply;
pub mod config;
pub mod infer;
pub mod initial;
pub mod pairs;
pub mod recipe;
pub mod source;

#[cfg(test)]
mod tests;

pub use config::{Pairs, SplitKind, UnrolledTrainConfig};
pub use recipe::train_unrolled;
