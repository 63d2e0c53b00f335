//! # recon — MRI reconstruction pipelines
//!
//! Joins the k-space physics ([`kspace`]) and the networks (`models`): file formats
//! ([`io`]), metrics ([`metrics`]), and the reconstruction, simulation and evaluation
//! pipelines that the `recon` binary calls.

pub mod error;
pub mod io;
pub mod metrics;

pub use error::{ReconError, Result};
