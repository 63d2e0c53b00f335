//! File formats, one small module each. Every reader validates before it allocates and
//! names the file in its errors; every writer goes through [`atomic::write_atomic`].

pub mod atomic;
pub mod cfl;
pub mod hdf5;
pub mod limits;
pub mod nifti;
pub mod npy;
pub mod output;
pub mod png;
