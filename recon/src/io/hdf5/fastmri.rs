//! [`FastMriFile`]: the fastMRI layout on top of [`H5File`].

use super::header::parse_ismrmrd_header;
use super::read::H5File;
use super::{AttrValue, DatasetInfo, HeaderInfo};
use crate::error::Result;
use kspace::C32;
use ndarray::{Array2, Array3};
use std::collections::BTreeMap;
use std::path::Path;

/// The fastMRI reference datasets, in order of preference.
const REFERENCE_NAMES: [&str; 2] = ["reconstruction_rss", "reconstruction_esc"];

/// A fastMRI file: `kspace` (complex64, `(slices, H, W)` or `(slices, coils, H, W)`), and
/// optionally `reconstruction_rss` / `reconstruction_esc` (float32 `(slices, h, w)`), `mask`
/// (bool over W; integer or float 0/1 accepted), `ismrmrd_header` and root attributes.
#[derive(Debug)]
pub struct FastMriFile {
    file: H5File,
    num_slices: usize,
    coils: Option<usize>,
    hw: (usize, usize),
    reference: Option<(String, (usize, usize))>,
    header: Option<HeaderInfo>,
    mask: Option<Vec<bool>>,
}

impl FastMriFile {
    /// Opens and validates `path`: `kspace` must exist, be complex64 of rank 3 or 4 with no
    /// empty dimension and lie inside the file; a reference dataset must be float32 (float64
    /// accepted) of rank 3 with as many slices as `kspace`; `mask` must be bool (or integer)
    /// with W elements; `ismrmrd_header` must be a string with the encoded and recon matrix
    /// sizes; one slice of `kspace` and of the reference must fit the slice cap
    /// ([`crate::io::limits`]). Reads only metadata, the mask and the header.
    pub fn open(path: &Path) -> Result<Self> {
        let file = H5File::open(path)?;
        let k = file.complex("kspace")?;
        let (coils, hw) = match k.shape[..] {
            [_, h, w] => (None, (h, w)),
            [_, c, h, w] => (Some(c), (h, w)),
            _ => {
                return Err(file.err(format!(
                    "`kspace` has shape {:?}; expected (slices, H, W) or (slices, coils, H, W)",
                    k.shape
                )))
            }
        };
        if k.shape.contains(&0) {
            return Err(file.err(format!("`kspace` is empty (shape {:?})", k.shape)));
        }
        // Every size a reconstruction allocates follows from one slice: refuse it now if it
        // exceeds the slice cap, before anyone allocates it.
        file.check_slices(&k, 1, "one k-space slice")?;
        let num_slices = k.shape[0];
        let mut reference = None;
        if let Some(name) = REFERENCE_NAMES.iter().find(|n| file.dataset(n).is_some()) {
            let r = file.real(name, Some(3))?;
            file.check_slices(&r, 1, "one reference slice")?;
            if r.shape[0] != num_slices {
                return Err(
                    file.err(format!("`{name}` has {} slices but `kspace` has {num_slices}", r.shape[0]))
                );
            }
            reference = Some((name.to_string(), (r.shape[1], r.shape[2])));
        }
        let mask = match file.dataset("mask") {
            None => None,
            Some(_) => {
                let m = file.read_bool("mask")?;
                if m.len() != hw.1 {
                    return Err(file.err(format!(
                        "`mask` has {} elements but k-space has width {}",
                        m.len(),
                        hw.1
                    )));
                }
                Some(m)
            }
        };
        let header = match file.dataset("ismrmrd_header") {
            None => None,
            Some(_) => {
                let bytes = file.read_bytes("ismrmrd_header")?;
                let xml = String::from_utf8_lossy(&bytes);
                Some(parse_ismrmrd_header(&xml).map_err(|m| file.err(m))?)
            }
        };
        Ok(FastMriFile { file, num_slices, coils, hw, reference, header, mask })
    }

    /// The file this was opened from.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The underlying file, for generic reads of other datasets.
    pub fn file(&self) -> &H5File {
        &self.file
    }

    /// Every dataset in the file.
    pub fn datasets(&self) -> &[DatasetInfo] {
        self.file.datasets()
    }

    /// Root attributes (`acquisition`, `max`, `norm`, `patient_id`, `acceleration`…).
    pub fn attrs(&self) -> &BTreeMap<String, AttrValue> {
        self.file.attrs()
    }

    /// Number of slices (first axis of `kspace`).
    pub fn num_slices(&self) -> usize {
        self.num_slices
    }

    /// Number of coils; `None` for the single-coil layout `(slices, H, W)`.
    pub fn num_coils(&self) -> Option<usize> {
        self.coils
    }

    /// `(H, W)` of k-space (W is the phase-encode axis the mask runs over).
    pub fn kspace_shape(&self) -> (usize, usize) {
        self.hw
    }

    /// `reconstruction_rss` or `reconstruction_esc`, whichever the file has (rss first).
    pub fn reference_name(&self) -> Option<&str> {
        self.reference.as_ref().map(|(name, _)| name.as_str())
    }

    /// `(h, w)` of the reference images.
    pub fn reference_shape(&self) -> Option<(usize, usize)> {
        self.reference.as_ref().map(|(_, hw)| *hw)
    }

    /// The parsed `ismrmrd_header`, if the file has one.
    pub fn header(&self) -> Option<&HeaderInfo> {
        self.header.as_ref()
    }

    /// Slice `i` of k-space as `(coils, H, W)` (`(1, H, W)` for single-coil files).
    /// NaN or Inf in the slice is an error.
    pub fn read_kspace_slice(&self, i: usize) -> Result<Array3<C32>> {
        let a = self.file.read_c32_slice("kspace", i)?;
        let (h, w) = self.hw;
        let c = self.coils.unwrap_or(1);
        a.into_shape_with_order((c, h, w)).map_err(|e| self.file.err(e.to_string()))
    }

    /// Slice `i` of the reference, if the file has one. NaN or Inf is an error.
    pub fn read_reference_slice(&self, i: usize) -> Result<Option<Array2<f32>>> {
        match &self.reference {
            None => Ok(None),
            Some((name, _)) => self.file.read_f32_slice(name, i).map(Some),
        }
    }

    /// The sampling mask over W, if the file has one.
    pub fn read_mask(&self) -> Result<Option<Vec<bool>>> {
        Ok(self.mask.clone())
    }
}
