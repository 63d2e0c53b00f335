//! Unit tests of the denoising internals: reflection padding and inference, the
//! corruption models and the losses (they use items private to the crate).

mod infer;
mod noise;
