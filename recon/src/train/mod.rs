//! `recon train`'s entry points at their historical paths: the MRI recipe ([`crate::mri`])
//! on the training engine ([`crate::engine`]). Nothing is defined here.

pub use crate::engine::{
    canvas, control, epoch_permutation, font, log, log_path, outputs, plot, run, LogRow, RunControl, Targets,
    TrainReport,
};
pub use crate::mri::{
    centred_dft_matrix, corruption, dataset, dc, infer, make_batch, reconstruct_complex,
    reconstruct_with_model, schedule, train, validate, BatchTensors, Corruption, DftDc, Mode, ModelMode,
    MriUndersampling, Pair, SliceDataset, SliceId, TrainConfig,
};

/// The bounds of the training options and what a resume compares.
pub mod settings {
    pub use crate::engine::bounds::*;
    pub use crate::engine::resume::{check_resume, config_json};
    pub use crate::mri::config::{mask_params, MaskSetting, COILS, MAX_PHASE, MAX_SHIFT, MRI_TASK};
}

/// The MRI step and the engine's loop, with the tensor conversions, as one path.
pub mod engine {
    pub use crate::engine::{
        log::{fmt_row, old_rows, HEADER},
        log_path, run_loop, LogRow, LoopConfig, LoopReport, RunControl, TrainReport,
    };
    pub use crate::mri::{corruption, make_batch, schedule, train, validate, BatchTensors, TrainConfig};
    pub use crate::tensor::{complex_batch, from_batch, to_batch};
}
