//! The internals that `recon/benches/network.rs` times (one training step, one network
//! slice): re-exported for the crate's own benches only, hidden from the documentation and
//! not part of the API.

pub use crate::mri::{
    corruption::MriUndersampling,
    dataset::SliceDataset,
    dc::DftDc,
    recipe::{make_batch, BatchTensors},
};
pub use crate::network::NetworkRecon;
