//! Writing: datasets and root attributes in the encodings h5py itself uses, so that h5py
//! reads them back as `complex64`, `float32`, `bool`, `uint8`, `bytes`, `str`, `float`, `int`.

use super::{AttrValue, H5Data};
use crate::error::{ReconError, Result};
use crate::io::atomic::write_atomic;
use hdf5_pure as h5;
use ndarray::ArrayD;
use std::collections::HashSet;
use std::path::Path;

/// Writes `datasets` (in order, contiguous, at the root) and root `attrs` to `path`,
/// atomically (a temporary file renamed over `path` on success).
///
/// Encodings: `F32` → IEEE float32 LE; `C64` → compound `{r: f32 @0, i: f32 @4}` (h5py's
/// `complex64`); `Bool` → enum `{FALSE = 0, TRUE = 1}` over int8 (h5py's `bool`); `U8` →
/// uint8; `Bytes` → scalar fixed-length NULL-padded ASCII string (h5py: `bytes`);
/// `AttrValue::Str` → variable-length UTF-8 string (h5py: `str`), `Float` → float64,
/// `Int` → int64.
///
/// Dataset and attribute names must be non-empty, unique and without `/`.
pub fn write_h5(path: &Path, datasets: &[(&str, H5Data)], attrs: &[(&str, AttrValue)]) -> Result<()> {
    let invalid = |msg: String| ReconError::Invalid(format!("{}: {msg}", path.display()));
    let mut seen = HashSet::new();
    for (name, _) in datasets {
        if name.is_empty() || name.contains('/') || name.contains('\0') || !seen.insert(*name) {
            return Err(invalid(format!("invalid or repeated dataset name {name:?}")));
        }
    }
    let mut seen = HashSet::new();
    for (name, _) in attrs {
        if name.is_empty() || name.contains('\0') || !seen.insert(*name) {
            return Err(invalid(format!("invalid or repeated attribute name {name:?}")));
        }
    }
    let lib =
        |e: h5::FormatError| ReconError::Invalid(format!("{}: cannot build HDF5 file: {e}", path.display()));

    let complex =
        h5::CompoundTypeBuilder::with_size(8).f32_field("r", 0).f32_field("i", 4).build().map_err(lib)?;
    let boolean = h5::EnumTypeBuilder::with_base(h5::make_i8_type())
        .value("FALSE", 0)
        .value("TRUE", 1)
        .build()
        .map_err(lib)?;

    let mut builder = h5::FileBuilder::new();
    for (name, data) in datasets {
        let shape: Vec<u64> = data.shape().iter().map(|&d| d as u64).collect();
        let (dtype, bytes, n) = match data {
            H5Data::F32(a) => {
                (h5::make_f32_type(), le_bytes(a, |v, out| out.extend_from_slice(&v.to_le_bytes())), a.len())
            }
            H5Data::C64(a) => (
                complex.clone(),
                le_bytes(a, |v, out| {
                    out.extend_from_slice(&v.re.to_le_bytes());
                    out.extend_from_slice(&v.im.to_le_bytes());
                }),
                a.len(),
            ),
            H5Data::Bool(a) => (boolean.clone(), le_bytes(a, |v, out| out.push(u8::from(*v))), a.len()),
            H5Data::U8(a) => (h5::make_u8_type(), le_bytes(a, |v, out| out.push(*v)), a.len()),
            H5Data::Bytes(b) => {
                // HDF5 has no zero-width string: an empty value is one NUL (h5py reads b"").
                let bytes = if b.is_empty() { vec![0] } else { b.clone() };
                let size =
                    u32::try_from(bytes.len()).map_err(|_| invalid(format!("`{name}` is too long")))?;
                let dt = h5::Datatype::String {
                    size,
                    padding: h5::StringPadding::NullPad,
                    charset: h5::CharacterSet::Ascii,
                };
                (dt, bytes, 1)
            }
        };
        builder.create_dataset(name).with_raw_data(dtype, bytes, n as u64).with_shape(&shape);
    }
    for (name, value) in attrs {
        let v = match value {
            AttrValue::Str(s) => h5::AttrValue::VarLenString(s.clone()),
            AttrValue::Float(f) => h5::AttrValue::F64(*f),
            AttrValue::Int(i) => h5::AttrValue::I64(*i),
        };
        builder.set_attr(name, v);
    }
    write_atomic(path, move |tmp| {
        builder.write(tmp).map_err(|e| match e {
            h5::Error::Io(io) => ReconError::io(tmp, io),
            e => ReconError::Invalid(format!("{}: cannot write HDF5 file: {e}", path.display())),
        })
    })
}

/// The elements of `a` in row-major (C) order, encoded by `put`.
fn le_bytes<T>(a: &ArrayD<T>, put: impl Fn(&T, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len() * std::mem::size_of::<T>().max(1));
    for v in a.iter() {
        put(v, &mut out);
    }
    out
}
