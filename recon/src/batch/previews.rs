//! Previews written beside a batch volume's h5: `png/<stem>.png` (middle slice) and
//! `nifti/<stem>.nii.gz` (the whole reconstruction, in the input's space when the input
//! is NIfTI: same affine, voxel size and shape, slices put back along the voxel axis they
//! were taken from; identity 1 mm with slices along voxel axis 2 otherwise).

use crate::error::{ReconError, Result};
use crate::scan::{Format, SliceGeometry};
use ndarray::{Axis, Ix3};
use std::path::{Path, PathBuf};

/// PNG (middle slice, black = 0, white = the volume's max) and NIfTI previews of the
/// reconstruction just written to `outputs[0]` from `input`.
pub(crate) fn write_previews(outputs: &[PathBuf], input: &Path) -> Result<()> {
    if outputs.len() < 2 {
        return Ok(());
    }
    let h5 = &outputs[0];
    let vol = crate::io::hdf5::open_any(h5)?
        .read_f32("reconstruction")?
        .into_dimensionality::<Ix3>()
        .map_err(|_| ReconError::format(h5, "reconstruction is not 3-D"))?;
    let (n, h, w) = vol.dim();
    for p in &outputs[1..] {
        let name = p.to_string_lossy();
        if name.ends_with(".png") {
            let max = vol.iter().cloned().fold(0.0f32, f32::max);
            let hi = if max > 0.0 { max } else { 1.0 };
            crate::io::png::write_png_gray(p, &vol.index_axis(Axis(0), n / 2), 0.0, hi, 8)?;
        } else {
            let geometry = match Format::of(input) {
                Ok(Format::Nifti) => {
                    let h = crate::io::nifti::read_geometry(input)?;
                    let axis = crate::scan::geometry::axial_axis(&h.affine);
                    Some(SliceGeometry { affine: h.affine, voxel_size: h.voxel_size, shape: h.shape, axis })
                }
                _ => None,
            };
            let g =
                geometry.filter(|g| g.fits(vol.dim())).unwrap_or_else(|| SliceGeometry::identity(n, h, w));
            crate::io::nifti::write_volume(p, &g.volume(&vol)?)?;
        }
    }
    Ok(())
}
