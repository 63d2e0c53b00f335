//! # recon — MRI reconstruction pipelines
//!
//! Joins the k-space physics ([`kspace`]) and the networks (`models`): file formats
//! ([`io`]), metrics ([`metrics`]), and the reconstruction, simulation and evaluation
//! pipelines that the `recon` binary calls.

pub mod batch;
pub mod classical;
pub mod denoise;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod info;
pub mod io;
pub mod maps;
pub mod maskgen;
pub mod methods;
pub mod metrics;
pub mod mri;
pub mod network;
pub mod progress;
pub mod reconstruct;
pub mod scan;
pub mod simulate;
pub mod tensor;
pub mod train;

pub use error::{ReconError, Result};
/// The mask specification the commands take (`--mask`), its parameters and the table of
/// mask families (for `--help`).
pub use kspace::mask::{MaskFamily, MaskParams, MaskSpec, FAMILIES as MASK_FAMILIES};
