//! Checks made before any data is read, and the decoding of stored elements.
//!
//! Every dataset is classified from its on-disk datatype; its shape × element size must not
//! overflow; contiguous storage must lie inside the file; a chunked dataset's chunks must lie
//! inside the file and may not claim to expand beyond what their filters can produce. So a
//! corrupt or truncated file gives an error, never a huge allocation.

use hdf5_pure as h5;

/// Deflate cannot expand its input more than 1032:1; LZF and shuffle less. A filtered chunk
/// whose claimed size exceeds its stored size times this is corrupt.
pub(super) const MAX_EXPANSION: u64 = 1100;
/// Filters whose expansion [`MAX_EXPANSION`] bounds: deflate, shuffle, fletcher32, LZF.
pub(super) const BOUNDED_FILTERS: [u16; 4] = [1, 2, 3, 32000];
/// HDF5 chunks are smaller than 4 GiB.
pub(super) const MAX_CHUNK_BYTES: u64 = u32::MAX as u64;

/// How one stored element is laid out, for the types we decode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Elem {
    /// Two IEEE floats of `width` bytes at byte offsets `re` and `im` of each record.
    Complex { width: usize, re: usize, im: usize, be: bool },
    /// An IEEE float of `width` (4 or 8) bytes.
    Float { width: usize, be: bool },
    /// An integer.
    Int,
    /// An enumeration `FALSE`/`TRUE` over an integer (what h5py writes for `np.bool_`).
    Bool,
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
        D::FixedPoint { size, layout, .. } => {
            let name = format!("{}int{}", if layout.signed { "" } else { "u" }, bits(size));
            (Elem::Int, name)
        }
        D::Enumeration { base_type, members, .. } => {
            let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            let is_bool = matches!(**base_type, D::FixedPoint { .. })
                && names.len() == 2
                && names.iter().any(|n| n.eq_ignore_ascii_case("false"))
                && names.iter().any(|n| n.eq_ignore_ascii_case("true"));
            if is_bool {
                (Elem::Bool, "bool".into())
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
