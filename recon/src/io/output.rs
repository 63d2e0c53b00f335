//! Output formats chosen by the output's file name, for `recon --input` and
//! `recon simulate`: one place that says which extensions mean what, checked before any
//! work is done.
//!
//! | extension | `recon --input` writes | `recon simulate` writes |
//! |---|---|---|
//! | `.h5`, `.hdf5` | `reconstruction`, `zero_filled`, `mask` and attributes | fastMRI layout |
//! | `.nii`, `.nii.gz` | the reconstruction as a float32 volume in the input's space | refused |
//! | `.cfl` (+ `.hdr`) | the reconstruction as complex images (BART `[H, W, 1, …, slices]`) | the k-space in BART's layout |
//! | `.png` | the middle slice's magnitude, 16-bit, black 0, white the slice's max | refused |
//!
//! Also the checks every command makes on its output before working ([`check_output`]: not
//! an input, not an existing file without `--force`, a writable folder) and the default
//! output name ([`default_output`]).
//!
//! NIfTI: for a NIfTI input the volume has the input's affine, voxel size and shape, the
//! slices put back along the voxel axis they were taken from; for other inputs the affine is
//! the identity (1 mm voxels) and the slices are stacked along voxel axis 2.

use crate::error::{ReconError, Result};
use crate::io::atomic::temp_path;
use crate::scan::SliceGeometry;
use kspace::C32;
use ndarray::{Array3, ArrayView4, Axis};
use std::path::{Path, PathBuf};

/// What the output's extension names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Hdf5,
    Nifti,
    Cfl,
    Png,
}

impl OutputFormat {
    /// The format for `path` (case-insensitive extension), or a usage error naming the
    /// extensions `allowed` for this command.
    pub fn of(path: &Path, allowed: &[OutputFormat]) -> Result<OutputFormat> {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        let format = if name.ends_with(".h5") || name.ends_with(".hdf5") {
            Some(OutputFormat::Hdf5)
        } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Some(OutputFormat::Nifti)
        } else if name.ends_with(".cfl") {
            Some(OutputFormat::Cfl)
        } else if name.ends_with(".png") {
            Some(OutputFormat::Png)
        } else {
            None
        };
        match format {
            Some(f) if allowed.contains(&f) => Ok(f),
            _ => {
                let names: Vec<&str> = allowed.iter().map(|f| f.extensions()).collect();
                Err(ReconError::Invalid(format!(
                    "{}: unsupported output extension; this command writes {}",
                    path.display(),
                    names.join(", ")
                )))
            }
        }
    }

    fn extensions(self) -> &'static str {
        match self {
            OutputFormat::Hdf5 => ".h5/.hdf5",
            OutputFormat::Nifti => ".nii/.nii.gz",
            OutputFormat::Cfl => ".cfl (BART)",
            OutputFormat::Png => ".png",
        }
    }
}

/// Every format `recon --input` writes.
pub const RECONSTRUCTION_FORMATS: &[OutputFormat] =
    &[OutputFormat::Hdf5, OutputFormat::Nifti, OutputFormat::Cfl, OutputFormat::Png];
/// The formats `recon simulate` writes (k-space).
pub const KSPACE_FORMATS: &[OutputFormat] = &[OutputFormat::Hdf5, OutputFormat::Cfl];

/// Refuses a stack holding NaN or ±∞ (a float32 overflow): nothing is written then.
pub fn check_finite_output(input: &Path, what: &str, values: impl IntoIterator<Item = f32>) -> Result<()> {
    let mut peak = 0.0f32;
    for v in values {
        if !v.is_finite() {
            return Err(ReconError::format(
                input,
                format!(
                    "the {what} is not finite (values overflow float32, largest finite magnitude {peak:e}); \
                     nothing written"
                ),
            ));
        }
        peak = peak.max(v.abs());
    }
    Ok(())
}

/// Writes a reconstruction stack `(slices, H, W)` in a non-HDF5 format (see the module doc).
pub fn write_images(
    path: &Path,
    format: OutputFormat,
    stack: &Array3<f32>,
    geometry: Option<&SliceGeometry>,
) -> Result<()> {
    let (n, h, w) = stack.dim();
    match format {
        OutputFormat::Nifti => {
            let g = match geometry {
                Some(g) if g.fits(stack.dim()) => g.clone(),
                _ => SliceGeometry::identity(n, h, w),
            };
            crate::io::nifti::write_volume(path, &g.volume(stack)?)
        }
        OutputFormat::Cfl => {
            let c = stack.mapv(|v| C32::new(v, 0.0));
            crate::io::cfl::write_cfl(path, &crate::io::cfl::images_to_cfl(c.view()).view())
        }
        OutputFormat::Png => {
            let mid = stack.index_axis(Axis(0), n / 2);
            let max = mid.iter().fold(0.0f32, |m, &v| m.max(v));
            crate::io::png::write_png_gray(path, &mid, 0.0, if max > 0.0 { max } else { 1.0 }, 16)
        }
        OutputFormat::Hdf5 => {
            Err(ReconError::Invalid(format!("{}: h5 is written by the caller", path.display())))
        }
    }
}

/// Writes k-space `(slices, coils, H, W)` as a BART array (`[H, W, 1, coils, …, slices]`).
pub fn write_kspace_cfl(path: &Path, kspace: ArrayView4<C32>) -> Result<()> {
    crate::io::cfl::write_cfl(path, &crate::io::cfl::kspace_to_cfl(kspace).view())
}

/// `<input name without extension>.recon.h5` in the current directory. Built from the
/// name's bytes, so that a name that is not UTF-8 keeps its bytes (on Unix).
pub fn default_output(input: &Path) -> PathBuf {
    let name = input.file_name().unwrap_or_default();
    let bytes = os_bytes(name);
    let stem = [".nii.gz", ".nii", ".h5", ".hdf5", ".png", ".cfl", ".hdr"]
        .iter()
        .find_map(|ext| bytes.strip_suffix(ext.as_bytes()))
        .unwrap_or(&bytes);
    let mut out = stem.to_vec();
    out.extend_from_slice(b".recon.h5");
    PathBuf::from(os_string(out))
}

#[cfg(unix)]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().to_vec()
}

#[cfg(unix)]
fn os_string(b: Vec<u8>) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(b)
}

#[cfg(not(unix))]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

#[cfg(not(unix))]
fn os_string(b: Vec<u8>) -> std::ffi::OsString {
    String::from_utf8_lossy(&b).into_owned().into()
}

/// Refuses to write over the input, over an existing file without `force` (for `.cfl`, its
/// `.hdr` too), or into a folder that does not exist or cannot be written; checked before any
/// work, and the errors name `output` itself.
pub fn check_output(input: &Path, output: &Path, force: bool) -> Result<()> {
    let (inputs, outputs) = (files_of(input), files_of(output));
    let same = inputs
        .iter()
        .filter_map(|i| i.canonicalize().ok())
        .any(|i| outputs.iter().any(|o| o.canonicalize().is_ok_and(|o| o == i)));
    if same {
        return Err(ReconError::Invalid(format!(
            "{}: refusing to overwrite the input file",
            output.display()
        )));
    }
    for p in outputs {
        if p.exists() && !force {
            return Err(ReconError::Invalid(format!(
                "{}: output exists (use --force to overwrite)",
                p.display()
            )));
        }
    }
    check_output_folder(output)
}

/// The files a path stands for: a BART array is two (`NAME.cfl`, `NAME.hdr`, whichever of
/// the three names is given), anything else itself.
pub(crate) fn files_of(p: &Path) -> Vec<PathBuf> {
    let ext = p.extension().map(|e| e.to_ascii_lowercase());
    let (cfl, hdr) = crate::io::cfl::cfl_paths(p);
    let bart = matches!(ext.as_ref().and_then(|e| e.to_str()), Some("cfl" | "hdr"))
        || (!p.exists() && cfl.is_file() && hdr.is_file());
    if bart {
        vec![cfl, hdr]
    } else {
        vec![p.to_path_buf()]
    }
}

/// The output's folder exists, is a folder and accepts a new file (probed by creating and
/// removing, empty, the temporary file the output will be written to, [`temp_path`]).
fn check_output_folder(output: &Path) -> Result<()> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(ReconError::Invalid(format!(
            "{}: the output folder {} does not exist",
            output.display(),
            dir.display()
        )));
    }
    let probe = temp_path(output);
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(ReconError::Invalid(format!(
            "{}: cannot write in the output folder {}: {e}",
            output.display(),
            dir.display()
        ))),
    }
}
