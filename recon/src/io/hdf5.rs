//! HDF5 files in the fastMRI layout (what h5py writes), read a slice at a time and written
//! through [`write_atomic`](crate::io::atomic::write_atomic).
//!
//! This module (with its submodules) is the only place in the project that touches
//! `hdf5_pure`.
//!
//! * [`FastMriFile`] opens a fastMRI file (`kspace` complex64 `(slices, H, W)` or
//!   `(slices, coils, H, W)`, optional `reconstruction_rss` / `reconstruction_esc`, `mask`,
//!   `ismrmrd_header` and root attributes), validates the layout up front without reading
//!   bulk data, and reads k-space and the reference one slice at a time.
//! * [`H5File`] (also [`open_any`]) opens any HDF5 file to list its datasets and attributes
//!   and to read real-valued 3-D datasets slice by slice (prediction files for `recon eval`).
//! * [`write_h5`] writes datasets and root attributes in the types h5py reads back as
//!   `complex64`, `float32`, `bool`, `bytes`, `str`, `float` and `int`.
//!
//! Opening is cheap (metadata only; the file is read on demand and never modified), so a
//! batch can open many files. Every problem with a file is a [`ReconError::Format`] naming
//! it, with a one-line message; nothing here panics on a bad file.
//!
//! [`ReconError::Format`]: crate::error::ReconError::Format

mod check;
mod fastmri;
mod header;
mod read;
mod write;

pub use fastmri::FastMriFile;
pub use header::parse_ismrmrd_header;
pub use read::{open_any, H5File};
pub use write::write_h5;

use kspace::C32;
use ndarray::ArrayD;
use std::fmt;

/// A root (file) attribute, as h5py users see it: `str`, `float` or `int`.
/// Attributes of other types (arrays, compounds…) are not listed.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Float(f64),
    Int(i64),
}

impl AttrValue {
    /// The string, for a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, for a `Float` or an `Int`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Float(v) => Some(*v),
            AttrValue::Int(v) => Some(*v as f64),
            AttrValue::Str(_) => None,
        }
    }

    /// The integer, for an `Int` (or a `Float` holding a whole number).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(v) => Some(*v),
            AttrValue::Float(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Some(*v as i64),
            _ => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(s) => write!(f, "{s}"),
            AttrValue::Float(v) => write!(f, "{v}"),
            AttrValue::Int(v) => write!(f, "{v}"),
        }
    }
}

/// One dataset of a file, for listings (`recon info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInfo {
    /// Path from the root group, e.g. `kspace` or `group/data`.
    pub name: String,
    /// Dimensions; empty for a scalar.
    pub shape: Vec<usize>,
    /// `complex64`, `complex128`, `float32`, `float64`, `float16`, `int8` … `uint64`, `bool`,
    /// `enum`, `bytes` (fixed-length string), `string` (variable-length string), `compound`,
    /// `opaque`, `array`, `reference`, `vlen`, `bitfield`, `time`, or `unreadable`.
    pub dtype: String,
    /// Chunk shape, for a chunked dataset.
    pub chunks: Option<Vec<usize>>,
    /// HDF5 filter ids applied to the chunks (1 = gzip/deflate, 2 = shuffle, 32000 = LZF…).
    pub filters: Vec<u16>,
}

impl DatasetInfo {
    /// Number of elements (1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the dataset has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the ISMRMRD header says about the encoding (first `encoding` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    /// `encodedSpace/matrixSize` x, y, z (x = readout = H of k-space, y = phase encode = W).
    pub encoded: [usize; 3],
    /// `reconSpace/matrixSize` x, y, z (fastMRI: 320, 320, 1).
    pub recon: [usize; 3],
    /// `encodingLimits/kspace_encoding_step_1/center`.
    pub pe_center: Option<usize>,
    /// `encodingLimits/kspace_encoding_step_1/maximum` as stored (an index; fastMRI's
    /// `enc_limits_max` is this + 1).
    pub pe_max: Option<usize>,
}

/// A dataset to write with [`write_h5`].
#[derive(Debug, Clone)]
pub enum H5Data {
    /// IEEE float32 (h5py: `float32`).
    F32(ArrayD<f32>),
    /// Compound `{r: f32, i: f32}`, exactly as h5py writes `np.complex64`.
    C64(ArrayD<C32>),
    /// Enumeration `{FALSE = 0, TRUE = 1}` over int8, exactly as h5py writes `np.bool_`.
    Bool(ArrayD<bool>),
    /// Plain uint8 (h5py: `uint8`).
    U8(ArrayD<u8>),
    /// A scalar fixed-length byte string (h5py: `bytes` from `ds[()]`), e.g. `ismrmrd_header`.
    Bytes(Vec<u8>),
}

impl H5Data {
    /// The shape that will be written (empty for the scalar `Bytes`).
    pub fn shape(&self) -> Vec<usize> {
        match self {
            H5Data::F32(a) => a.shape().to_vec(),
            H5Data::C64(a) => a.shape().to_vec(),
            H5Data::Bool(a) => a.shape().to_vec(),
            H5Data::U8(a) => a.shape().to_vec(),
            H5Data::Bytes(_) => Vec::new(),
        }
    }
}
