//! One input scan, whatever its format, read slice by slice as k-space + reference.
//!
//! - fastMRI `.h5`: k-space as stored (coils × H × W), reference `reconstruction_rss`/`esc`,
//!   and the acquired `mask` when the file is undersampled.
//!   The reference must fit the k-space grid (or equal the ISMRMRD header's recon size) and
//!   be at least half the header's recon size (without a header `min(32, grid)`) in each
//!   direction.
//! - NIfTI: each axial slice is a magnitude image; its k-space is simulated (`fft2c`), as
//!   the Noise2Noise paper did, and the image itself is the reference. Axial slices are
//!   taken along the voxel axis closest to world superior–inferior ([`geometry`]); the
//!   axis is in [`Scan::geometry`], the JSON report and `recon info`.
//! - PNG: one grey image, treated like a NIfTI slice.
//! - BART `.cfl` (also given by its base name `NAME` when `NAME.cfl` and `NAME.hdr` exist):
//!   k-space (READ, PHS1, PHS2/SLICE, COIL); 3-D k-space, masks and images as in [`bart`].
//!
//! **Range.** Each slice's k-space is divided by a power of two `s` when its largest
//! component is above 2⁴⁰ or below 2⁻⁴⁰ (for images, the image is, before the simulated
//! FFT), so that FFTs and RSS (which squares) cannot overflow float32; outputs are multiplied
//! back by `s` ([`ScanSlice::scale`]). Power-of-two scaling is exact in floating point.

use crate::error::{ReconError, Result};
use crate::io::{self, hdf5::FastMriFile};
use kspace::C32;
use ndarray::{s, Array2, Array3, Array4, Axis};
use std::path::{Path, PathBuf};

pub mod bart;
pub mod geometry;
pub use geometry::SliceGeometry;

/// Components above this (or below its inverse) get the slice scaled (module doc).
const SAFE_RANGE: f32 = (1u64 << 40) as f32;
/// The smallest reference side accepted (or the grid's, when smaller).
const MIN_REFERENCE_SIDE: usize = 32;

/// The file formats `recon` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    FastMri,
    Nifti,
    Png,
    Cfl,
}

impl Format {
    /// The format of `path`, from its extension; a name without a known extension is a BART
    /// base name when `NAME.cfl` and `NAME.hdr` both exist.
    pub fn of(path: &Path) -> Result<Format> {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        let (cfl, hdr) = io::cfl::cfl_paths(path);
        if name.ends_with(".h5") || name.ends_with(".hdf5") {
            Ok(Format::FastMri)
        } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Ok(Format::Nifti)
        } else if name.ends_with(".png") {
            Ok(Format::Png)
        } else if name.ends_with(".cfl") || name.ends_with(".hdr") || (cfl.is_file() && hdr.is_file()) {
            Ok(Format::Cfl)
        } else {
            Err(ReconError::format(
                path,
                "unknown file type: expected .h5, .nii, .nii.gz, .png, .cfl, or a BART base name with .cfl and .hdr",
            ))
        }
    }
}

/// One slice: k-space (coils × H × W; 1 coil for single-coil and simulated data) and the
/// reference image when the file has one.
pub struct ScanSlice {
    /// k-space divided by `scale`.
    pub kspace: Array3<C32>,
    /// The reference in the data's own units (not divided by `scale`).
    pub reference: Option<Array2<f32>>,
    /// A power of two (1 for ordinary data): images reconstructed from `kspace` are to be
    /// multiplied by it (see the module doc).
    pub scale: f32,
}

enum Source {
    FastMri(Box<FastMriFile>),
    /// Magnitude images (slices × H × W): NIfTI axial slices or one PNG.
    Images(Array3<f32>),
    /// k-space (slices × coils × H × W) read from a BART file.
    Kspace(Array4<C32>),
}

/// An opened input: its layout and a slice reader. Reading is cheap to share across
/// threads (`slice` takes `&self`).
pub struct Scan {
    pub path: PathBuf,
    pub format: Format,
    pub num_slices: usize,
    pub coils: usize,
    /// Whether the data has a coil axis (multi-coil layout), even with one coil.
    pub multicoil: bool,
    /// k-space grid (H, W).
    pub kspace_shape: (usize, usize),
    /// Size of the reference / reconstruction images (fastMRI crops to e.g. 320×320).
    pub recon_shape: (usize, usize),
    /// The mask the data was acquired with, when it is already undersampled.
    pub acquired_mask: Option<kspace::SamplingMask>,
    /// Where the reference comes from ("reconstruction_rss", "rss of k-space", "image"), if any.
    pub reference: Option<String>,
    /// fastMRI `acquisition` attribute when present.
    pub acquisition: Option<String>,
    /// fastMRI `acceleration` attribute of undersampled (test) files, when present.
    pub nominal_acceleration: Option<f64>,
    /// NIfTI inputs: affine, voxel size and the voxel axis the slices were taken along.
    pub geometry: Option<SliceGeometry>,
    source: Source,
}

impl Scan {
    /// Opens `path` and checks its layout; bulk data of h5 files is read later, per slice.
    pub fn open(path: &Path) -> Result<Scan> {
        let format = Format::of(path)?;
        if format != Format::Cfl && !path.exists() {
            return Err(ReconError::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        match format {
            Format::FastMri => Self::open_h5(path),
            Format::Nifti => {
                let vol = io::nifti::read_volume(path)?;
                let mut scan = Self::from_images(path, Format::Nifti, axial_slices(&vol)?);
                scan.geometry = Some(SliceGeometry::of(&vol));
                Ok(scan)
            }
            Format::Png => {
                let img = io::png::read_png(path)?;
                let g = img.to_gray();
                Ok(Self::from_images(path, Format::Png, g.insert_axis(Axis(0))))
            }
            Format::Cfl => {
                let (k, mask) = bart::kspace_of(path, &io::cfl::read_cfl(path)?)?;
                Ok(Self::from_kspace(path, k, mask))
            }
        }
    }

    fn open_h5(path: &Path) -> Result<Scan> {
        let f = FastMriFile::open(path)?;
        let (h, w) = f.kspace_shape();
        let recon_shape = match (f.reference_shape(), f.header()) {
            (Some(r), hd) => {
                check_reference_shape(path, &f, r, (h, w), hd.map(|hd| (hd.recon[0], hd.recon[1])))?;
                r
            }
            (None, Some(hd)) if hd.recon[0] > 0 && hd.recon[1] > 0 => {
                (hd.recon[0].min(h), hd.recon[1].min(w))
            }
            _ => (h, w),
        };
        let acquired_mask = f.read_mask()?.map(|cols| {
            if cols.len() != w {
                return Err(ReconError::format(
                    path,
                    format!("mask has {} entries but k-space has {w} phase-encode columns", cols.len()),
                ));
            }
            let p = vec![1.0f32; w];
            Ok(kspace::SamplingMask::from_columns(h, &cols, &p))
        });
        let acquired_mask = acquired_mask.transpose()?;
        let reference = match (f.reference_name(), &acquired_mask) {
            (Some(n), _) => Some(n.to_string()),
            (None, None) => Some("rss of fully-sampled k-space".to_string()),
            (None, Some(_)) => None,
        };
        Ok(Scan {
            path: path.to_path_buf(),
            format: Format::FastMri,
            num_slices: f.num_slices(),
            coils: f.num_coils().unwrap_or(1),
            multicoil: f.num_coils().is_some(),
            kspace_shape: (h, w),
            recon_shape,
            acquired_mask,
            reference,
            acquisition: f.attrs().get("acquisition").and_then(|a| a.as_str().map(str::to_string)),
            nominal_acceleration: f.attrs().get("acceleration").and_then(|a| a.as_f64()),
            geometry: None,
            source: Source::FastMri(Box::new(f)),
        })
    }

    fn from_images(path: &Path, format: Format, images: Array3<f32>) -> Scan {
        let (n, h, w) = images.dim();
        Scan {
            path: path.to_path_buf(),
            format,
            num_slices: n,
            coils: 1,
            multicoil: false,
            kspace_shape: (h, w),
            recon_shape: (h, w),
            acquired_mask: None,
            reference: Some("image".into()),
            acquisition: None,
            nominal_acceleration: None,
            geometry: None,
            source: Source::Images(images),
        }
    }

    fn from_kspace(path: &Path, k: Array4<C32>, acquired_mask: Option<kspace::SamplingMask>) -> Scan {
        let (n, c, h, w) = k.dim();
        let full = acquired_mask.is_none();
        Scan {
            path: path.to_path_buf(),
            format: Format::Cfl,
            num_slices: n,
            coils: c,
            multicoil: c > 1,
            kspace_shape: (h, w),
            recon_shape: (h, w),
            acquired_mask,
            reference: full.then(|| "rss of fully-sampled k-space".to_string()),
            acquisition: None,
            nominal_acceleration: None,
            geometry: None,
            source: Source::Kspace(k),
        }
    }

    /// Reads slice `i`: k-space and, when available, the reference (cropped to `recon_shape`).
    pub fn slice(&self, i: usize) -> Result<ScanSlice> {
        if i >= self.num_slices {
            return Err(ReconError::Invalid(format!("slice {i} out of range (0..{})", self.num_slices)));
        }
        match &self.source {
            Source::FastMri(f) => {
                let (kspace, scale) = scaled(f.read_kspace_slice(i)?);
                let reference = match f.read_reference_slice(i)? {
                    Some(r) => Some(r),
                    None if self.reference.is_some() => Some(self.rss_reference(&kspace)? * scale),
                    None => None,
                };
                Ok(ScanSlice { kspace, reference, scale })
            }
            Source::Images(im) => {
                let img = im.index_axis(Axis(0), i).to_owned();
                let scale = safe_scale(img.iter().fold(0.0f32, |m, v| m.max(v.abs())));
                let kspace = kspace::fft2c(&img.mapv(|v| C32::new(v / scale, 0.0))).insert_axis(Axis(0));
                Ok(ScanSlice { kspace, reference: Some(img), scale })
            }
            Source::Kspace(k) => {
                let (kspace, scale) = scaled(k.index_axis(Axis(0), i).to_owned());
                let reference = match self.reference {
                    Some(_) => Some(self.rss_reference(&kspace)? * scale),
                    None => None,
                };
                Ok(ScanSlice { kspace, reference, scale })
            }
        }
    }

    /// RSS of the fully-sampled k-space, centre-cropped to the reconstruction size.
    fn rss_reference(&self, kspace: &Array3<C32>) -> Result<Array2<f32>> {
        let img = kspace::undersample::rss(&kspace::ifft2c(kspace), 0)?;
        Ok(kspace::undersample::center_crop(&img, self.recon_shape)?)
    }
}

/// Crops the centre `(h, w)` of each image in a stack (fastMRI's `center_crop`).
pub fn crop_stack(x: &Array3<f32>, shape: (usize, usize)) -> Array3<f32> {
    let (_, h, w) = x.dim();
    let (ch, cw) = (shape.0.min(h), shape.1.min(w));
    let (i0, j0) = ((h - ch) / 2, (w - cw) / 2);
    x.slice(s![.., i0..i0 + ch, j0..j0 + cw]).to_owned()
}

/// The power of two that brings `max_abs` into [2⁻⁴⁰, 2⁴⁰] (1 when it already is, or is 0 or
/// not finite).
pub fn safe_scale(max_abs: f32) -> f32 {
    if !max_abs.is_finite() || max_abs == 0.0 || (1.0 / SAFE_RANGE..=SAFE_RANGE).contains(&max_abs) {
        return 1.0;
    }
    2f32.powi(max_abs.log2().floor() as i32)
}

/// k-space divided by its [`safe_scale`], and the scale.
fn scaled(mut k: Array3<C32>) -> (Array3<C32>, f32) {
    let m = k.iter().fold(0.0f32, |m, v| m.max(v.re.abs()).max(v.im.abs()));
    let scale = safe_scale(m);
    if scale != 1.0 {
        k.mapv_inplace(|v| v / scale);
    }
    (k, scale)
}

/// Refuses a stored reference that cannot be the image of this k-space: larger than the
/// grid (unless it is the header's recon size), or smaller than half the header's recon size
/// (without a header: smaller than `min(32, grid)`) in either direction.
fn check_reference_shape(
    path: &Path,
    f: &FastMriFile,
    r: (usize, usize),
    grid: (usize, usize),
    header: Option<(usize, usize)>,
) -> Result<()> {
    let header = header.filter(|h| h.0 > 0 && h.1 > 0);
    let fits = (r.0 <= grid.0 && r.1 <= grid.1) || header == Some(r);
    let min = match header {
        Some(h) => (h.0.div_ceil(2), h.1.div_ceil(2)),
        None => (MIN_REFERENCE_SIDE.min(grid.0), MIN_REFERENCE_SIDE.min(grid.1)),
    };
    let big_enough = r.0 >= min.0 && r.1 >= min.1;
    if fits && big_enough {
        return Ok(());
    }
    let name = f.reference_name().unwrap_or("reference");
    let hdr = header.map(|h| format!(", header recon size {}×{}", h.0, h.1)).unwrap_or_default();
    Err(ReconError::format(
        path,
        format!(
            "{name} is {}×{} but k-space is {}×{}{hdr}: a reference must fit the k-space grid (or equal the \
             header's recon size) and be at least {}×{} (half the header's recon size, else 32)",
            r.0, r.1, grid.0, grid.1, min.0, min.1
        ),
    ))
}

/// Axial slices of a NIfTI volume (along the voxel axis closest to world z, see
/// [`geometry`]) in display orientation, as a (slices × H × W) stack.
pub fn axial_slices(vol: &io::nifti::Volume) -> Result<Array3<f32>> {
    let axis = geometry::axial_axis(&vol.affine);
    let n = vol.shape()[axis];
    let slices = (0..n).map(|z| vol.slice(axis, z)).collect::<Result<Vec<_>>>()?;
    let views: Vec<_> = slices.iter().map(|a| a.view()).collect();
    ndarray::stack(Axis(0), &views).map_err(|e| ReconError::Invalid(format!("stacking slices: {e}")))
}
