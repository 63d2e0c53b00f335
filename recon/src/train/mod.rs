//! Training reconstruction networks with the Noise2Noise MRI recipe (Lehtinen et al. 2018):
//! slices from NIfTI volumes ([`dataset`]), pairs of independently undersampled images
//! ([`corruption`]), a differentiable data-consistency layer ([`dc`]), the MRI step and
//! validation ([`engine`]) on the loop shared with photo denoising ([`run`]: CSV log
//! ([`log`]), checkpoints, exact resume), the checks before any work (outputs that never
//! replace data: [`outputs`]; settings compared on resume and numeric bounds: [`settings`]),
//! the labelled training plot ([`plot`], [`canvas`], [`font`]), plus the inference helper
//! [`reconstruct_with_model`].
//!
//! Modes: one real channel (magnitude experiments, the paper's) or two channels (real,
//! imaginary) of the coil-combined complex image, trained with smooth synthetic phase and
//! simulated coils so models work on real multi-coil scans ([`infer`]).

pub mod canvas;
pub mod control;
pub mod corruption;
pub mod dataset;
pub mod dc;
pub mod engine;
pub mod font;
pub mod infer;
pub mod log;
pub mod outputs;
pub mod plot;
pub mod run;
pub mod settings;
pub mod tensor;

pub use corruption::{Corruption, Mode, MriUndersampling, Pair, Targets};
pub use dataset::{epoch_permutation, SliceDataset, SliceId};
pub use dc::{centred_dft_matrix, DftDc};
pub use engine::{
    corruption, log_path, make_batch, schedule, train, validate, BatchTensors, LogRow, RunControl,
    TrainConfig, TrainReport,
};
pub use infer::{reconstruct_complex, reconstruct_with_model, ModelMode};
