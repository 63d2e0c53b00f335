//! One input scan, whatever its format, read slice by slice as k-space + reference.
//!
//! - fastMRI `.h5`: k-space as stored (coils × H × W), reference `reconstruction_rss`/`esc`,
//!   and the acquired `mask` when the file is undersampled.
//! - NIfTI: each axial slice is a magnitude image; its k-space is simulated (`fft2c`), as
//!   the Noise2Noise paper did, and the image itself is the reference.
//! - PNG: one grey image, treated like a NIfTI slice.
//! - BART `.cfl`: k-space (READ, PHS1, PHS2/SLICE, COIL); bins that are zero in every coil
//!   are taken as not acquired.

use crate::error::{ReconError, Result};
use crate::io::{self, hdf5::FastMriFile};
use kspace::C32;
use ndarray::{s, Array2, Array3, Array4, Axis};
use std::path::{Path, PathBuf};

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
    /// The format of `path`, from its extension.
    pub fn of(path: &Path) -> Result<Format> {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if name.ends_with(".h5") || name.ends_with(".hdf5") {
            Ok(Format::FastMri)
        } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Ok(Format::Nifti)
        } else if name.ends_with(".png") {
            Ok(Format::Png)
        } else if name.ends_with(".cfl") || name.ends_with(".hdr") {
            Ok(Format::Cfl)
        } else {
            Err(ReconError::format(path, "unknown file type: expected .h5, .nii, .nii.gz, .png or .cfl"))
        }
    }
}

/// One slice: k-space (coils × H × W; 1 coil for single-coil and simulated data) and the
/// reference image when the file has one.
pub struct ScanSlice {
    pub kspace: Array3<C32>,
    pub reference: Option<Array2<f32>>,
}

enum Source {
    FastMri(FastMriFile),
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
    source: Source,
}

impl Scan {
    /// Opens `path` and checks its layout; bulk data of h5 files is read later, per slice.
    pub fn open(path: &Path) -> Result<Scan> {
        if !path.exists() {
            return Err(ReconError::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        match Format::of(path)? {
            Format::FastMri => Self::open_h5(path),
            Format::Nifti => {
                let vol = io::nifti::read_volume(path)?;
                Ok(Self::from_images(path, Format::Nifti, axial_slices(&vol)?))
            }
            Format::Png => {
                let img = io::png::read_png(path)?;
                let g = img.to_gray();
                Ok(Self::from_images(path, Format::Png, g.insert_axis(Axis(0))))
            }
            Format::Cfl => Self::from_kspace(path, io::cfl::cfl_to_kspace(&io::cfl::read_cfl(path)?.view())?),
        }
    }

    fn open_h5(path: &Path) -> Result<Scan> {
        let f = FastMriFile::open(path)?;
        let (h, w) = f.kspace_shape();
        let recon_shape = match (f.reference_shape(), f.header()) {
            (Some(r), _) => r,
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
            source: Source::FastMri(f),
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
            source: Source::Images(images),
        }
    }

    fn from_kspace(path: &Path, k: Array4<C32>) -> Result<Scan> {
        let (n, c, h, w) = k.dim();
        if n == 0 || h == 0 || w == 0 {
            return Err(ReconError::format(path, "k-space is empty"));
        }
        // A bin is acquired if any coil of any slice holds a non-zero sample there.
        let mut keep = Array2::from_elem((h, w), false);
        for s in k.outer_iter() {
            for coil in s.outer_iter() {
                ndarray::Zip::from(&mut keep).and(&coil).for_each(|k, v| *k |= v.re != 0.0 || v.im != 0.0);
            }
        }
        let full = keep.iter().all(|&k| k);
        let acquired_mask = (!full).then(|| kspace::SamplingMask::new(keep.clone(), keep.mapv(|_| 1.0)));
        Ok(Scan {
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
            source: Source::Kspace(k),
        })
    }

    /// Reads slice `i`: k-space and, when available, the reference (cropped to `recon_shape`).
    pub fn slice(&self, i: usize) -> Result<ScanSlice> {
        if i >= self.num_slices {
            return Err(ReconError::Invalid(format!("slice {i} out of range (0..{})", self.num_slices)));
        }
        match &self.source {
            Source::FastMri(f) => {
                let kspace = f.read_kspace_slice(i)?;
                let reference = match f.read_reference_slice(i)? {
                    Some(r) => Some(r),
                    None if self.reference.is_some() => Some(self.rss_reference(&kspace)?),
                    None => None,
                };
                Ok(ScanSlice { kspace, reference })
            }
            Source::Images(im) => {
                let img = im.index_axis(Axis(0), i).to_owned();
                let kspace = kspace::fft2c(&img.mapv(|v| C32::new(v, 0.0))).insert_axis(Axis(0));
                Ok(ScanSlice { kspace, reference: Some(img) })
            }
            Source::Kspace(k) => {
                let kspace = k.index_axis(Axis(0), i).to_owned();
                let reference = match self.reference {
                    Some(_) => Some(self.rss_reference(&kspace)?),
                    None => None,
                };
                Ok(ScanSlice { kspace, reference })
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

/// Axial slices of a NIfTI volume (along the third axis) in display orientation, as a
/// (slices × H × W) stack.
pub fn axial_slices(vol: &io::nifti::Volume) -> Result<Array3<f32>> {
    let n = vol.shape()[2];
    let slices = (0..n).map(|z| vol.slice(2, z)).collect::<Result<Vec<_>>>()?;
    let views: Vec<_> = slices.iter().map(|a| a.view()).collect();
    ndarray::stack(Axis(0), &views).map_err(|e| ReconError::Invalid(format!("stacking slices: {e}")))
}
