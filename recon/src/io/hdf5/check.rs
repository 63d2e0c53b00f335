//! Checks made before any data is read, and the decoding of stored elements.
//!
//! Every dataset is classified from its on-disk datatype; its shape × element size must not
//! overflow; contiguous storage must lie inside the file; a chunked dataset's chunk shape
//! must fit the stream cap ([`Cap::Stream`]: `hdf5_pure` decodes one whole chunk at a time),
//! its number of chunks must be one the file can hold (`hdf5_pure` lists every chunk before
//! reading any), its chunks must lie inside the file and may not claim to expand beyond what
//! their filters can produce. Each read is then checked against the caps of
//! [`crate::io::limits`] before `hdf5_pure` allocates it ([`super::read`]). So a corrupt,
//! truncated or hostile file (a 1.4 KB file declaring a terabyte of k-space, a gzip bomb)
//! gives an error, never a huge allocation.

use crate::error::{ReconError, Result};
use crate::io::limits::{check_size, Cap};
use hdf5_pure as h5;
use std::path::Path;

/// Deflate cannot expand its input more than 1032:1; LZF and shuffle less. A filtered chunk
/// whose claimed size exceeds its stored size times this is corrupt.
pub(super) const MAX_EXPANSION: u64 = 1100;
/// Filters whose expansion [`MAX_EXPANSION`] bounds: deflate, shuffle, fletcher32, LZF.
pub(super) const BOUNDED_FILTERS: [u16; 4] = [1, 2, 3, 32000];
/// HDF5 chunks are smaller than 4 GiB.
pub(super) const MAX_CHUNK_BYTES: u64 = u32::MAX as u64;
/// Memory `hdf5_pure` takes per listed chunk (its `Chunk` record and offset vector), beyond
/// 8 bytes per dimension: what the chunk listing of a dataset is sized with.
const CHUNK_RECORD_BYTES: usize = 64;

/// How one stored element is laid out, for the types we decode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Elem {
    /// Two IEEE floats of `width` bytes at byte offsets `re` and `im` of each record.
    Complex { width: usize, re: usize, im: usize, be: bool },
    /// An IEEE float of `width` (4 or 8) bytes.
    Float { width: usize, be: bool },
    /// An integer (big-endian when `be`).
    Int { be: bool },
    /// An enumeration `FALSE`/`TRUE` over an integer (what h5py writes for `np.bool_`).
    Bool { be: bool },
    /// A fixed-length string of the element size.
    FixedStr,
    /// A variable-length string.
    VlenStr,
    /// Anything else (listed, not decoded).
    Other,
}

/// Classifies a datatype: how to decode it and the name listings show.
pub(super) fn classify(dt: &h5::Datatype) -> (Elem, String) {
    use h5::Datatype as D;
    let be = |o: &h5::DatatypeByteOrder| matches!(o, h5::DatatypeByteOrder::BigEndian);
    let bits = |size: &u32| u64::from(*size) * 8;
    match dt {
        D::FloatingPoint { size, byte_order, .. } => match size {
            4 | 8 => {
                (Elem::Float { width: *size as usize, be: be(byte_order) }, format!("float{}", bits(size)))
            }
            _ => (Elem::Other, format!("float{}", bits(size))),
        },
        D::FixedPoint { size, layout, byte_order, .. } => {
            let name = format!("{}int{}", if layout.signed { "" } else { "u" }, bits(size));
            (Elem::Int { be: be(byte_order) }, name)
        }
        D::Enumeration { base_type, members, .. } => {
            let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            let is_bool = matches!(**base_type, D::FixedPoint { .. })
                && names.len() == 2
                && names.iter().any(|n| n.eq_ignore_ascii_case("false"))
                && names.iter().any(|n| n.eq_ignore_ascii_case("true"));
            if is_bool {
                let big =
                    matches!(**base_type, D::FixedPoint { byte_order: h5::DatatypeByteOrder::BigEndian, .. });
                (Elem::Bool { be: big }, "bool".into())
            } else {
                (Elem::Other, "enum".into())
            }
        }
        D::Compound { size, members } => {
            if let [a, b] = members.as_slice() {
                let named = |m: &h5::CompoundMember, names: &[&str]| {
                    names.iter().any(|n| m.name.eq_ignore_ascii_case(n))
                };
                let (re, im) = if named(a, &["r", "re", "real"]) && named(b, &["i", "im", "imag"]) {
                    (a, b)
                } else if named(b, &["r", "re", "real"]) && named(a, &["i", "im", "imag"]) {
                    (b, a)
                } else {
                    return (Elem::Other, "compound".into());
                };
                if let (
                    D::FloatingPoint { size: s1, byte_order: o1, .. },
                    D::FloatingPoint { size: s2, byte_order: o2, .. },
                ) = (&re.datatype, &im.datatype)
                {
                    let fits = |m: &h5::CompoundMember, w: u32| {
                        m.byte_offset.saturating_add(u64::from(w)) <= u64::from(*size)
                    };
                    if s1 == s2 && (*s1 == 4 || *s1 == 8) && o1 == o2 && fits(re, *s1) && fits(im, *s2) {
                        return (
                            Elem::Complex {
                                width: *s1 as usize,
                                re: re.byte_offset as usize,
                                im: im.byte_offset as usize,
                                be: be(o1),
                            },
                            format!("complex{}", bits(s1) * 2),
                        );
                    }
                }
            }
            (Elem::Other, "compound".into())
        }
        D::String { .. } => (Elem::FixedStr, "bytes".into()),
        D::VariableLength { is_string: true, .. } => (Elem::VlenStr, "string".into()),
        D::VariableLength { .. } => (Elem::Other, "vlen".into()),
        D::Opaque { .. } => (Elem::Other, "opaque".into()),
        D::Array { .. } => (Elem::Other, "array".into()),
        D::Reference { .. } => (Elem::Other, "reference".into()),
        D::BitField { .. } => (Elem::Other, "bitfield".into()),
        D::Time { .. } => (Elem::Other, "time".into()),
        _ => (Elem::Other, "unknown".into()),
    }
}

/// A library error on one line.
pub(super) fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One chunk's extent along the first axis and the most bytes it can decode to.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkSpan {
    pub(super) first: u64,
    pub(super) end: u64,
    pub(super) bound: u64,
}

#[derive(Debug)]
pub(super) enum Storage {
    /// Compact (inside the object header) or contiguous, checked to lie inside the file.
    Checked,
    /// Chunked, with every allocated chunk checked.
    Chunked(Vec<ChunkSpan>),
    /// Chunked with an index we cannot enumerate: bounded by the file size only.
    ChunkedUnlisted,
}

/// A dataset whose metadata passed the checks, with its handle.
pub(super) struct Checked {
    pub(super) name: String,
    pub(super) ds: h5::Dataset,
    pub(super) shape: Vec<usize>,
    pub(super) elem: Elem,
    pub(super) elem_size: usize,
    pub(super) dtype: String,
    pub(super) storage: Storage,
}

impl Checked {
    pub(super) fn total_bytes(&self) -> usize {
        self.shape.iter().product::<usize>() * self.elem_size
    }
}

/// Decodes one IEEE float of `width` bytes at `offset` of every `stride`-byte element.
/// `classify` guarantees `offset + width <= stride`; a short element decodes as NaN.
pub(super) fn decode_floats(raw: &[u8], stride: usize, offset: usize, width: usize, be: bool) -> Vec<f32> {
    raw.chunks_exact(stride.max(1))
        .map(|e| match e.get(offset..offset + width) {
            Some(&[a, b, c, d]) if be => f32::from_be_bytes([a, b, c, d]),
            Some(&[a, b, c, d]) => f32::from_le_bytes([a, b, c, d]),
            Some(&[a, b, c, d, e, f, g, h]) if be => f64::from_be_bytes([a, b, c, d, e, f, g, h]) as f32,
            Some(&[a, b, c, d, e, f, g, h]) => f64::from_le_bytes([a, b, c, d, e, f, g, h]) as f32,
            _ => f32::NAN,
        })
        .collect()
}

/// Whether a stored integer element (of any width and byte order) is 0 (`Some(false)`), 1
/// (`Some(true)`) or anything else (`None`).
pub(super) fn int_zero_or_one(e: &[u8], be: bool) -> Option<bool> {
    let (low, rest) = match (be, e) {
        (false, [low, rest @ ..]) => (*low, rest),
        (true, [rest @ .., low]) => (*low, rest),
        _ => return None,
    };
    match (low, rest.iter().all(|&b| b == 0)) {
        (0, true) => Some(false),
        (1, true) => Some(true),
        _ => None,
    }
}

/// Checks the metadata of dataset `name` of `file` (`path`, `file_size` bytes) before any of
/// its data is read: datatype, shape, storage inside the file, chunk shape and chunk count
/// within the caps. Returns the handle with what the reads need.
pub(super) fn check_dataset(path: &Path, file: &h5::File, file_size: u64, name: &str) -> Result<Checked> {
    let err = |msg: String| ReconError::format(path, msg);
    let lib = |what: &str, e: h5::Error| err(format!("`{name}`: cannot read {what}: {}", one_line(&e)));
    let ds = file.dataset(name).map_err(|e| lib("the dataset", e))?;
    let dt = ds.datatype().map_err(|e| lib("the datatype", e))?;
    let (elem, dtype) = classify(&dt);
    let elem_size = dt.type_size() as usize;
    let dims = ds.shape().map_err(|e| lib("the shape", e))?;
    let shape: Vec<usize> = dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| err(format!("`{name}` claims an impossible shape {dims:?}")))?;
    let overflow =
        || err(format!("`{name}` claims an impossible size (shape {shape:?} × {elem_size} bytes)"));
    let total = shape.iter().try_fold(elem_size, |acc, &d| acc.checked_mul(d)).ok_or_else(overflow)? as u64;
    let layout = ds.layout().map_err(|e| lib("the storage layout", e))?;
    let truncated = |end: u64| {
        err(format!(
            "file is truncated: `{name}` needs bytes up to offset {end} but the file has {file_size} bytes"
        ))
    };
    let storage = match layout {
        h5::Layout::Compact { size } => {
            if size < total {
                return Err(err(format!("`{name}` stores {size} bytes but its shape needs {total}")));
            }
            Storage::Checked
        }
        h5::Layout::Contiguous { address, size } => {
            if size < total {
                return Err(err(format!(
                    "`{name}` stores {size} bytes but its shape {shape:?} needs {total}"
                )));
            }
            match address {
                Some(a) => {
                    let end = a.checked_add(total).ok_or_else(overflow)?;
                    if end > file_size {
                        return Err(truncated(end));
                    }
                }
                None if total > 0 => return Err(err(format!("`{name}` has no data written"))),
                None => {}
            }
            Storage::Checked
        }
        h5::Layout::Chunked { chunk_shape, .. } => {
            let chunk_bytes = chunk_shape
                .iter()
                .try_fold(elem_size as u64, |acc, &d| acc.checked_mul(d))
                .filter(|&b| {
                    b <= MAX_CHUNK_BYTES
                        && chunk_shape.len() == shape.len()
                        && chunk_shape.iter().all(|&c| c > 0)
                })
                .ok_or_else(|| err(format!("`{name}` has an invalid chunk shape {chunk_shape:?}")))?;
            // `hdf5_pure` decodes a whole chunk at once, and lists every chunk of the grid
            // before reading one: both are sized here, before they are asked for.
            let chunk_dims: Vec<usize> = chunk_shape.iter().map(|&c| c as usize).collect();
            check_size(path, &format!("one chunk of `{name}`"), &chunk_dims, elem_size, Cap::Stream)?;
            let grid = shape
                .iter()
                .zip(&chunk_shape)
                .try_fold(1u64, |acc, (&d, &c)| acc.checked_mul((d as u64).div_ceil(c)))
                .unwrap_or(u64::MAX);
            if grid > file_size {
                return Err(err(format!(
                    "`{name}` of shape {shape:?} declares {grid} chunks of {chunk_shape:?}, more than a {file_size}-byte file can hold"
                )));
            }
            let record = CHUNK_RECORD_BYTES + 8 * shape.len();
            check_size(path, &format!("the chunk list of `{name}`"), &[grid as usize], record, Cap::Stream)?;
            let filters = ds.filters();
            let bounded = filters.iter().all(|f| BOUNDED_FILTERS.contains(f));
            match ds.chunks() {
                Ok(chunks) => {
                    let mut spans = Vec::with_capacity(chunks.len());
                    for c in &chunks {
                        let end = c.address.checked_add(c.storage_size).ok_or_else(overflow)?;
                        if end > file_size {
                            return Err(truncated(end));
                        }
                        if filters.is_empty() && c.storage_size < chunk_bytes {
                            return Err(err(format!(
                                "`{name}`: a chunk stores {} bytes but chunks hold {chunk_bytes}",
                                c.storage_size
                            )));
                        }
                        if !filters.is_empty()
                            && bounded
                            && chunk_bytes > c.storage_size.saturating_mul(MAX_EXPANSION)
                        {
                            return Err(err(format!(
                                "`{name}`: a {}-byte compressed chunk claims to hold {chunk_bytes} bytes",
                                c.storage_size
                            )));
                        }
                        let first = c.offset.first().copied().unwrap_or(0);
                        let depth = chunk_shape.first().copied().unwrap_or(1);
                        spans.push(ChunkSpan { first, end: first.saturating_add(depth), bound: chunk_bytes });
                    }
                    Storage::Chunked(spans)
                }
                Err(_) => Storage::ChunkedUnlisted,
            }
        }
        h5::Layout::Virtual => return Err(err(format!("`{name}` is a virtual dataset (not supported)"))),
        _ => return Err(err(format!("`{name}` has an unsupported storage layout"))),
    };
    Ok(Checked { name: name.to_string(), ds, shape, elem, elem_size, dtype, storage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_masks_are_zero_or_one_in_either_byte_order() {
        assert_eq!(int_zero_or_one(&[1], false), Some(true));
        assert_eq!(int_zero_or_one(&[0, 0, 0, 0], true), Some(false));
        assert_eq!(int_zero_or_one(&[1, 0], false), Some(true));
        assert_eq!(int_zero_or_one(&[0, 1], true), Some(true));
        assert_eq!(int_zero_or_one(&[0, 1], false), None, "256 little-endian");
        assert_eq!(int_zero_or_one(&[2], false), None);
        assert_eq!(int_zero_or_one(&[0xff, 0xff], false), None, "-1");
        assert_eq!(int_zero_or_one(&[], false), None);
    }
}
