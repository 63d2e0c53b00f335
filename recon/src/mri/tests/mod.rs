//! Unit tests of the MRI recipe's internals: the data-consistency layer, the corruption,
//! the batches, training and inference (they use items private to the crate). `common`
//! also serves the unrolled recipe's tests.

pub(super) mod common;
mod complex;
mod train;
