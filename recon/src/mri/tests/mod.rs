//! Unit tests of the MRI recipe's internals: the data-consistency layer, the corruption,
//! the batches, training and inference (they use items private to the crate).

mod common;
mod complex;
mod train;
