//! Reading a saved sampling mask (`--mask file:PATH`, `recon study --masks file:PATH`).
//!
//! | extension | what is read | kept |
//! |---|---|---|
//! | `.png` | the gray image, as `recon mask` writes it | white (> 0.5) |
//! | `.npy` | a 2-D `H×W` array, or a 1-D `W` column mask (also `1×W`); dtype bool, (u)int or float, either byte order, C or Fortran order (NumPy format 1.0–3.0) | non-zero |
//! | `.cfl` | a BART array (`H×W`, or `H` for one column) | non-zero |
//! | `.h5` | the dataset `mask` of an HDF5 file (an acquired fastMRI file's 1-D `W` mask, or 2-D) | 1 |
//!
//! Every mask is checked against the k-space grid `(H, W)` it is for: a 2-D mask must be
//! exactly `H×W`, a 1-D mask must have `W` entries (phase-encode columns, fastMRI's layout).
//! Sizes a file declares are checked against the slice cap ([`crate::io::limits`]) before
//! anything is allocated, and a NaN or a truncated file is an error naming the file. The keep
//! probability is 1 everywhere (a given mask has no known density), as for an acquired mask;
//! a pattern that is the same in every row becomes a 1-D column mask.

use crate::error::{ReconError, Result};
use crate::io::limits::{self, Cap};
use kspace::SamplingMask;
use ndarray::{Array2, ArrayD, IxDyn};
use std::path::Path;

/// The extensions [`read_mask_file`] reads.
pub const MASK_FILE_EXTENSIONS: [&str; 4] = ["png", "npy", "cfl", "h5"];

/// Reads a saved mask for k-space of `shape` (module docs for the formats).
pub fn read_mask_file(path: &Path, shape: (usize, usize)) -> Result<SamplingMask> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    let values: ArrayD<f64> = match ext.as_str() {
        "png" => {
            crate::io::png::read_png(path)?.to_gray().mapv(|v| if v > 0.5 { 1.0 } else { 0.0 }).into_dyn()
        }
        "npy" => crate::io::npy::read_npy(path)?,
        "cfl" | "hdr" => {
            let a = crate::io::cfl::read_cfl(path)?;
            a.mapv(|v| if v.re != 0.0 || v.im != 0.0 { 1.0 } else { 0.0 })
        }
        "h5" => read_h5_mask(path)?,
        _ => {
            return Err(ReconError::Invalid(format!(
                "--mask file:{}: a mask file is .png, .npy, .cfl or .h5 (its `mask` dataset)",
                path.display()
            )))
        }
    };
    mask_from_values(path, &values, shape)
}

/// The 0/1 values as a mask on `shape`: 2-D `H×W`, or 1-D (`W`, or `1×W`) columns.
fn mask_from_values(path: &Path, values: &ArrayD<f64>, (h, w): (usize, usize)) -> Result<SamplingMask> {
    if let Some((at, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ReconError::format(path, format!("the mask holds {v} at index {at}")));
    }
    let kept = |v: &f64| *v != 0.0;
    let keep: Array2<bool> = match values.shape() {
        [n] | [1, n] => {
            if *n != w {
                return Err(ReconError::format(
                    path,
                    format!(
                        "the 1-D mask has {n} entries but the k-space has {w} phase-encode columns ({h}×{w})"
                    ),
                ));
            }
            let cols: Vec<bool> = values.iter().map(kept).collect();
            Array2::from_shape_fn((h, w), |(_, j)| cols[j])
        }
        [mh, mw] => {
            if (*mh, *mw) != (h, w) {
                return Err(ReconError::format(
                    path,
                    format!("the mask is {mh}×{mw} but the k-space is {h}×{w}"),
                ));
            }
            let v = values
                .view()
                .into_dimensionality::<ndarray::Ix2>()
                .map_err(|e| ReconError::format(path, e.to_string()))?;
            v.map(kept)
        }
        other => {
            return Err(ReconError::format(
                path,
                format!("a mask is 2-D (H×W) or 1-D (W columns), this array is {other:?}"),
            ))
        }
    };
    Ok(crate::scan::bart::mask_of(keep).unwrap_or_else(|| SamplingMask::full((h, w))))
}

/// The `mask` dataset of an HDF5 file (1-D or 2-D, bool / integer / float 0 or 1).
fn read_h5_mask(path: &Path) -> Result<ArrayD<f64>> {
    let file = crate::io::hdf5::H5File::open(path)?;
    let info = file.dataset("mask").ok_or_else(|| {
        ReconError::format(
            path,
            "no `mask` dataset (an acquired fastMRI file has one; a fully sampled one does not)",
        )
    })?;
    let dims = info.shape.clone();
    if dims.is_empty() || dims.len() > 2 {
        return Err(ReconError::format(path, format!("`mask` is {dims:?}: a mask is 1-D or 2-D")));
    }
    limits::check_size(path, "mask", &dims, 1, Cap::Slice)?;
    let bits = file.read_bool("mask")?;
    ArrayD::from_shape_vec(IxDyn(&dims), bits.into_iter().map(|b| b as u8 as f64).collect())
        .map_err(|e| ReconError::format(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::npy::{read_npy, write_npy};

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("recon-maskfile-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A `.npy` of raw header and data bytes (format 1.0).
    fn raw_npy(path: &Path, header: &str, data: &[u8]) {
        let mut h = header.to_string();
        let pad = (64 - (10 + h.len() + 1) % 64) % 64;
        h.push_str(&" ".repeat(pad));
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        std::fs::write(path, out).unwrap();
    }

    #[test]
    fn npy_masks_of_every_dtype_and_layout_read_back() {
        let d = dir();
        let keep = Array2::from_shape_fn((4, 6), |(i, j)| (i * 7 + j * 3) % 4 == 0);
        let p = d.join("b.npy");
        write_npy(&p, &keep.view().into_dyn()).unwrap();
        assert_eq!(read_mask_file(&p, (4, 6)).unwrap().keep, keep);
        let p = d.join("f.npy");
        write_npy(&p, &keep.mapv(|k| k as u8 as f32).view().into_dyn()).unwrap();
        assert_eq!(read_mask_file(&p, (4, 6)).unwrap().keep, keep);
        // Fortran-order big-endian float64: the same logical array.
        let p = d.join("fortran.npy");
        let data: Vec<u8> = keep.t().iter().flat_map(|&k| (k as u8 as f64).to_be_bytes()).collect();
        raw_npy(&p, "{'descr': '>f8', 'fortran_order': True, 'shape': (4, 6), }", &data);
        assert_eq!(read_mask_file(&p, (4, 6)).unwrap().keep, keep);
        // A 1-D column mask of int64 becomes a column mask of every row.
        let cols = [1i64, 0, 0, 1, 1, 0];
        let p = d.join("cols.npy");
        raw_npy(
            &p,
            "{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }",
            &cols.iter().flat_map(|c| c.to_le_bytes()).collect::<Vec<_>>(),
        );
        let m = read_mask_file(&p, (4, 6)).unwrap();
        assert_eq!(m.columns, Some(vec![true, false, false, true, true, false]));
        assert_eq!(m.count(), 12);
        let a = read_npy(&p).unwrap();
        assert_eq!(a.shape(), &[6]);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn bad_npy_files_are_errors_naming_the_file() {
        let d = dir();
        let err = |name: &str, header: &str, data: &[u8], shape| {
            let p = d.join(name);
            raw_npy(&p, header, data);
            let e = read_mask_file(&p, shape).unwrap_err();
            assert!(matches!(e, ReconError::Format { .. }), "{e}");
            assert!(e.to_string().contains(name), "{e}");
            e.to_string()
        };
        let h = "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 6), }";
        assert!(err("short.npy", h, &[1; 5], (4, 6)).contains("needs 24 bytes"));
        assert!(err("shape.npy", h, &[1; 24], (4, 5)).contains("4×6 but the k-space is 4×5"));
        let huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }";
        assert!(err("huge.npy", huge, &[], (4, 6)).contains("exceeds the limit"));
        let c = "{'descr': '<c8', 'fortran_order': False, 'shape': (4, 6), }";
        assert!(err("complex.npy", c, &[0; 192], (4, 6)).contains("dtype"));
        let nan: Vec<u8> = [1.0f32, f32::NAN].iter().flat_map(|v| v.to_le_bytes()).collect();
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        assert!(err("nan.npy", h, &nan, (4, 2)).contains("NaN"));
        let p = d.join("junk.npy");
        std::fs::write(&p, b"not a numpy file at all").unwrap();
        assert!(read_mask_file(&p, (4, 6)).unwrap_err().to_string().contains("magic"));
        let e = read_mask_file(&d.join("mask.txt"), (4, 6)).unwrap_err();
        assert!(matches!(e, ReconError::Invalid(_)) && e.to_string().contains(".npy"), "{e}");
    }

    #[test]
    fn h5_mask_datasets_read_as_columns_and_a_missing_one_is_named() {
        use crate::io::hdf5::{write_h5, H5Data};
        let d = dir();
        let p = d.join("acquired.h5");
        let cols = vec![true, false, true, true, false, false, true, false];
        write_h5(&p, &[("mask", H5Data::Bool(ndarray::Array1::from(cols.clone()).into_dyn()))], &[]).unwrap();
        let m = read_mask_file(&p, (5, 8)).unwrap();
        assert_eq!(m.columns, Some(cols));
        assert!(read_mask_file(&p, (5, 7)).unwrap_err().to_string().contains("8 entries"));
        let q = d.join("nomask.h5");
        write_h5(&q, &[("other", H5Data::U8(ndarray::Array1::from(vec![1u8]).into_dyn()))], &[]).unwrap();
        assert!(read_mask_file(&q, (5, 8)).unwrap_err().to_string().contains("no `mask` dataset"));
    }

    #[test]
    fn png_and_cfl_masks_read_back() {
        let d = dir();
        let keep = Array2::from_shape_fn((6, 5), |(i, j)| (i + 2 * j) % 3 == 0);
        let p = d.join("m.png");
        crate::io::png::write_mask_png(&p, &keep).unwrap();
        assert_eq!(read_mask_file(&p, (6, 5)).unwrap().keep, keep);
        let c = d.join("m.cfl");
        let z = keep.mapv(|k| kspace::C32::new(k as u8 as f32, 0.0));
        crate::io::cfl::write_cfl(&c, &z.view().into_dyn()).unwrap();
        assert_eq!(read_mask_file(&c, (6, 5)).unwrap().keep, keep);
    }
}
