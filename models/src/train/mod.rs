//! The tools of a training step, independent of any network: the loss that picks the
//! statistic the network learns, the Adam optimiser whose state can be saved, and the
//! learning-rate / β1 schedules of the Noise2Noise code.
//! - [`loss`]: L2, L1, annealed L0, masked L2;
//! - [`optim`]: Adam with a per-step β1 and a saveable state ([`AdamState`]);
//! - [`schedule`]: ramp-up / ramp-down of the learning rate and β1 ([`StepParams`]).
//!
//! Checkpoints are not here but at the crate root ([`crate::checkpoint`]): a model file is
//! read by inference as much as by training, and it stores both a network and an optimiser,
//! so it sits above [`crate::nets`] and this module rather than inside either.

pub mod loss;
pub mod optim;
pub mod schedule;

pub use loss::{gamma_schedule, l0_annealed, l1, l2, masked_l2, Loss};
pub use optim::{Adam, AdamConfig, AdamState};
pub use schedule::{RampDown, Schedule, StepParams};
