//! NumPy `.npy`: a writer (format 1.0) for masks and small arrays, so they open with `np.load`,
//! and a reader of the numeric arrays NumPy saves (masks given as files, the study's slices).

use crate::error::{ReconError, Result};
use crate::io::atomic::write_atomic;
use crate::io::limits::{self, Cap};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use std::path::Path;

/// Element types we write, with their numpy dtype descriptor.
pub trait NpyElement: Copy {
    const DESCR: &'static str;
    fn write_le(self, out: &mut Vec<u8>);
}
impl NpyElement for bool {
    const DESCR: &'static str = "|b1";
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self as u8)
    }
}
impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes())
    }
}
impl NpyElement for u8 {
    const DESCR: &'static str = "|u1";
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self)
    }
}

/// Serialises `a` (C order) as `.npy` bytes: magic, version 1.0, a header padded to a
/// multiple of 64 bytes ending in '\n', then the raw little-endian data.
pub fn to_npy_bytes<T: NpyElement>(a: &ArrayViewD<T>) -> Vec<u8> {
    let shape = match a.shape() {
        [n] => format!("({n},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", T::DESCR);
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + a.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in a.iter() {
        v.write_le(&mut out);
    }
    out
}

/// Writes `a` to `path` as `.npy` (atomically).
pub fn write_npy<T: NpyElement>(path: &Path, a: &ArrayViewD<T>) -> Result<()> {
    let bytes = to_npy_bytes(a);
    write_atomic(path, |tmp| std::fs::write(tmp, &bytes).map_err(|e| ReconError::io(path, e)))
}

/// A NumPy `.npy` array (format 1.0, 2.0 or 3.0) of bool, integer or float elements, as
/// f64 (exact for bool, f32 and integers up to 2⁵³), in logical (C) order. The declared shape
/// is checked against the slice cap and the file's length before anything is allocated.
pub fn read_npy(path: &Path) -> Result<ArrayD<f64>> {
    let bytes = limits::read_file(path)?;
    let bad = |why: String| ReconError::format(path, format!("not a readable .npy file: {why}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no NumPy magic (\\x93NUMPY)".into()));
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(bad(format!("format version {v} (1, 2 or 3 expected)"))),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| bad("the header runs past the end of the file".into()))?;
    let header = String::from_utf8_lossy(header);
    let descr = dict_value(&header, "descr").ok_or_else(|| bad("no 'descr' in the header".into()))?;
    let fortran = dict_value(&header, "fortran_order").ok_or_else(|| bad("no 'fortran_order'".into()))?;
    let shape_text = dict_value(&header, "shape").ok_or_else(|| bad("no 'shape' in the header".into()))?;
    let dtype = Dtype::parse(descr.trim_matches(['\'', '"'])).map_err(bad)?;
    let mut shape: Vec<usize> = shape_text
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad(format!("shape {shape_text} is not whole numbers"))))
        .collect::<Result<_>>()?;
    limits::check_size(path, "array", &shape, dtype.size, Cap::Slice)?;
    let n: usize = shape.iter().product();
    let data = &bytes[start + header_len..];
    if data.len() < n * dtype.size {
        return Err(bad(format!(
            "shape {shape:?} of {} bytes each needs {} bytes of data, the file has {}",
            dtype.size,
            n * dtype.size,
            data.len()
        )));
    }
    let values: Vec<f64> = data[..n * dtype.size].chunks_exact(dtype.size).map(|e| dtype.decode(e)).collect();
    let fortran = fortran.trim() == "True";
    if fortran {
        shape.reverse();
    }
    let a = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| bad(e.to_string()))?;
    Ok(if fortran { a.reversed_axes().as_standard_layout().into_owned() } else { a })
}

/// The text of `key`'s value in a NumPy header dict (`{'descr': '<f4', 'shape': (3, 4), }`).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'")).or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

/// An element type of a `.npy` file.
struct Dtype {
    kind: char,
    size: usize,
    big_endian: bool,
}

impl Dtype {
    fn parse(descr: &str) -> std::result::Result<Dtype, String> {
        let mut chars = descr.chars();
        let (order, kind) = (chars.next(), chars.next());
        let size: usize = chars.as_str().parse().map_err(|_| format!("dtype '{descr}' is not understood"))?;
        let big_endian = order == Some('>');
        let ok =
            matches!((kind, size), (Some('b'), 1) | (Some('u' | 'i'), 1 | 2 | 4 | 8) | (Some('f'), 4 | 8));
        if !ok || !matches!(order, Some('<' | '>' | '|' | '=')) {
            return Err(format!("dtype '{descr}': a mask is bool, integer or float (f4/f8)"));
        }
        Ok(Dtype { kind: kind.unwrap_or('?'), size, big_endian })
    }

    fn decode(&self, e: &[u8]) -> f64 {
        let mut b = [0u8; 8];
        b[..self.size].copy_from_slice(e);
        if self.big_endian {
            b[..self.size].reverse();
        }
        let sign_extend = |bits: u32| (i64::from_le_bytes(b) << (64 - bits)) >> (64 - bits);
        match (self.kind, self.size) {
            ('f', 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            ('f', _) => f64::from_le_bytes(b),
            ('i', s) => sign_extend(8 * s as u32) as f64,
            _ => u64::from_le_bytes(b) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_describes_the_array() {
        let a = ndarray::Array2::<f32>::from_shape_fn((3, 5), |(i, j)| (i * 5 + j) as f32);
        let b = to_npy_bytes(&a.view().into_dyn());
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (3, 5)") && header.contains("'<f4'") && header.ends_with('\n'));
        assert_eq!(b.len(), 10 + hlen + 15 * 4);
        assert_eq!(f32::from_le_bytes(b[10 + hlen + 4 * 7..10 + hlen + 4 * 8].try_into().unwrap()), 7.0);
    }
}
