//! `recon info FILE`: what a file holds, so a user sees at a glance whether a scan is
//! single- or multi-coil, fully sampled or not, and what the reference is.

use crate::error::Result;
use crate::io::hdf5;
use crate::scan::{Format, Scan};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One dataset (h5) or array (other formats).
#[derive(Debug, Clone, Serialize)]
pub struct ArrayInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
}

/// The scan as `recon` would read it (absent for files that are not scans, e.g. predictions).
#[derive(Debug, Clone, Serialize)]
pub struct ScanInfo {
    pub layout: String,
    pub slices: usize,
    pub coils: usize,
    pub kspace_shape: (usize, usize),
    pub recon_shape: (usize, usize),
    pub undersampled: bool,
    /// Acceleration of the acquired mask when undersampled.
    pub acceleration: Option<f64>,
    pub reference: Option<String>,
    pub acquisition: Option<String>,
    /// NIfTI: the voxel axis the slices are taken along.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice_axis: Option<String>,
}

/// Everything `recon info` prints.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub path: PathBuf,
    pub format: Format,
    pub size_bytes: u64,
    pub arrays: Vec<ArrayInfo>,
    pub attributes: Vec<(String, String)>,
    pub scan: Option<ScanInfo>,
    /// Why the file does not read as a scan, when it does not.
    pub scan_error: Option<String>,
}

/// Describes `path`.
pub fn describe(path: &Path) -> Result<FileInfo> {
    let format = Format::of(path)?;
    // A BART base name (`k` for `k.cfl` + `k.hdr`) is sized by its `.cfl`.
    let data_path = match format {
        Format::Cfl => crate::io::cfl::cfl_paths(path).0,
        _ => path.to_path_buf(),
    };
    let size_bytes = std::fs::metadata(&data_path).map_err(|e| crate::ReconError::io(&data_path, e))?.len();
    let (arrays, attributes) = match format {
        Format::FastMri => {
            let f = hdf5::open_any(path)?;
            let arrays = f
                .datasets()
                .iter()
                .map(|d| ArrayInfo { name: d.name.clone(), shape: d.shape.clone(), dtype: d.dtype.clone() })
                .collect();
            let attrs = f.attrs().iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
            (arrays, attrs)
        }
        Format::Nifti => {
            let v = crate::io::nifti::read_volume(path)?;
            let arrays = vec![ArrayInfo {
                name: "volume".into(),
                shape: v.data.shape().to_vec(),
                dtype: "float32".into(),
            }];
            let attrs = vec![
                ("voxel_size".into(), format!("{:?}", v.voxel_size)),
                ("affine".into(), format!("{:?}", v.affine)),
            ];
            (arrays, attrs)
        }
        Format::Png => {
            let im = crate::io::png::read_png(path)?;
            let arrays = vec![ArrayInfo {
                name: "image".into(),
                shape: im.data.shape().to_vec(),
                dtype: format!("uint{}", im.bit_depth),
            }];
            (arrays, vec![])
        }
        Format::Cfl => {
            let a = crate::io::cfl::read_cfl(path)?;
            (
                vec![ArrayInfo { name: "cfl".into(), shape: a.shape().to_vec(), dtype: "complex64".into() }],
                vec![],
            )
        }
    };
    let (scan, scan_error) = match Scan::open(path) {
        Ok(s) => (Some(scan_info(&s)), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(FileInfo { path: path.to_path_buf(), format, size_bytes, arrays, attributes, scan, scan_error })
}

fn scan_info(s: &Scan) -> ScanInfo {
    let layout = match (s.format, s.multicoil) {
        (Format::Nifti | Format::Png, _) => "magnitude images (k-space simulated)",
        (_, true) => "multi-coil k-space",
        (_, false) => "single-coil k-space",
    };
    ScanInfo {
        layout: layout.into(),
        slices: s.num_slices,
        coils: s.coils,
        kspace_shape: s.kspace_shape,
        recon_shape: s.recon_shape,
        undersampled: s.acquired_mask.is_some(),
        acceleration: s.acquired_mask.as_ref().map(|m| m.acceleration()),
        reference: s.reference.clone(),
        acquisition: s.acquisition.clone(),
        slice_axis: s.geometry.as_ref().map(|g| g.describe()),
    }
}

impl FileInfo {
    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "{} ({:?}, {} bytes)", self.path.display(), self.format, self.size_bytes);
        for a in &self.arrays {
            let _ = writeln!(t, "  {:<24} {:<12} {:?}", a.name, a.dtype, a.shape);
        }
        for (k, v) in &self.attributes {
            let _ = writeln!(t, "  @{k} = {v}");
        }
        match (&self.scan, &self.scan_error) {
            (Some(s), _) => {
                let _ = writeln!(t, "scan: {}, {} slice(s), {} coil(s)", s.layout, s.slices, s.coils);
                let _ = writeln!(
                    t,
                    "  k-space {}x{}, reconstruction {}x{}",
                    s.kspace_shape.0, s.kspace_shape.1, s.recon_shape.0, s.recon_shape.1
                );
                match s.acceleration {
                    Some(r) => {
                        let _ = writeln!(t, "  undersampled: acquired mask, acceleration {r:.2}");
                    }
                    None => {
                        let _ = writeln!(t, "  fully sampled");
                    }
                }
                if let Some(r) = &s.reference {
                    let _ = writeln!(t, "  reference: {r}");
                }
                if let Some(a) = &s.slice_axis {
                    let _ = writeln!(t, "  slices along {a}");
                }
                if let Some(a) = &s.acquisition {
                    let _ = writeln!(t, "  acquisition: {a}");
                }
            }
            (None, Some(e)) => {
                let _ = writeln!(t, "not a scan recon can reconstruct: {e}");
            }
            _ => {}
        }
        t
    }
}
