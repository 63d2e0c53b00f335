//! `recon train`: the MRI recipe's public training API on the training engine
//! ([`crate::engine`]). Nothing is defined here.

pub use crate::engine::{RunControl, Targets, TrainReport};
pub use crate::mri::unrolled::{initial::Initial, train_unrolled, Pairs, SplitKind, UnrolledTrainConfig};
pub use crate::mri::{train, Mode, TrainConfig};

/// The bounds of the training options, which the CLI validates with.
pub mod settings {
    pub use crate::engine::bounds::{check_lr, BATCH, CROP, LR, STEPS, VAL_SIZE, WIDTH};
    pub use crate::mri::config::{COILS, MAX_PHASE, MAX_SHIFT};
    pub use crate::mri::unrolled::config::{CASCADES, LEVELS, RHO};
}
