//! NumPy `.npy` (format 1.0) writer for masks and small arrays, so they open with `np.load`.

use crate::error::{ReconError, Result};
use crate::io::atomic::write_atomic;
use ndarray::ArrayViewD;
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
