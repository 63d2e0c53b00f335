//! # kspace — the physics of Cartesian MRI sampling
//!
//! Centred orthonormal FFTs ([`fft2c`], [`ifft2c`]), sampling masks of every family chosen by
//! name ([`mask::from_name`]), undersampling with density compensation, zero-filled
//! reconstruction, coil sensitivities and combination, data consistency, analysis of
//! sampling patterns, and the classical parallel-imaging / compressed-sensing reconstructions:
//! ESPIRiT maps ([`espirit`]), the SENSE operator `A = P·F·S` ([`operator`]), SENSE, L1-wavelet
//! and TV solvers ([`pics`], BART `pics`), over [`wavelet`] and [`linalg`].
//! Arrays are `ndarray` with [`num_complex::Complex32`] samples; the last two axes are always (H, W) = (readout/ky rows, phase-encode columns). No ML, no file I/O.

pub mod analysis;
pub mod coils;
pub mod consistency;
pub mod espirit;
pub mod fft;
pub mod linalg;
pub mod mask;
pub mod operator;
pub mod pics;
pub mod rng;
pub mod sampling;
pub mod split;
pub mod undersample;
pub mod wavelet;

pub use fft::{fft2c, fft2c_inplace, fftshift2, ifft2c, ifft2c_inplace, ifftshift2, Fft2c, Fft2cPlanner};
pub use sampling::SamplingMask;

/// Complex single-precision sample, the unit of k-space data.
pub type C32 = num_complex::Complex32;

/// Errors from k-space operations: bad parameters or mismatched shapes.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum KspaceError {
    #[error("unknown mask family '{0}' (known: {1})")]
    UnknownMask(String, String),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error("shape mismatch: {0}")]
    Shape(String),
}

pub type Result<T> = std::result::Result<T, KspaceError>;
