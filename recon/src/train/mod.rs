//! Training reconstruction networks with the Noise2Noise MRI recipe (Lehtinen et al. 2018):
//! slices from NIfTI volumes ([`dataset`]), pairs of independently undersampled images
//! ([`corruption`]), a differentiable data-consistency layer ([`dc`]), and the loop with
//! validation, CSV log, checkpoints and exact resume ([`engine`]), plus the inference helper
//! [`reconstruct_with_model`].
//!
//! Mode: one real channel (magnitude experiments, the paper's). A two-channel complex mode
//! is not implemented.

pub mod corruption;
pub mod dataset;
pub mod dc;
pub mod engine;
pub mod plot;

pub use corruption::{Corruption, MriUndersampling, Pair, Targets};
pub use dataset::{epoch_permutation, SliceDataset, SliceId};
pub use dc::{centred_dft_matrix, DftDc};
pub use engine::{
    log_path, make_batch, reconstruct_with_model, schedule, train, validate, LogRow, TrainConfig, TrainReport,
};
