//! Previews written beside a batch volume's h5: `png/<stem>.png` (middle slice) and
//! `nifti/<stem>.nii.gz` (the whole reconstruction).

use crate::error::{ReconError, Result};
use ndarray::{Array3, Axis, Ix3};
use std::path::PathBuf;

/// PNG (middle slice, black = 0, white = the volume's max) and NIfTI previews of the
/// reconstruction just written to `outputs[0]`.
pub(crate) fn write_previews(outputs: &[PathBuf]) -> Result<()> {
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
            // Inverse of `Volume::slice(2, z)`: voxel (x, y, z) is row h-1-y, column x of slice z.
            let data = Array3::from_shape_fn((w, h, n), |(x, y, z)| vol[[z, h - 1 - y, x]]);
            crate::io::nifti::write_volume(p, &crate::io::nifti::Volume::new(data, [1.0; 3]))?;
        }
    }
    Ok(())
}

