//! What the report shows besides the numbers: each mask on the first volume's grid with its
//! point-spread function ([`MaskView`]), and one slice reconstructed by every (mask, method)
//! at one acceleration ([`SliceView`]).
//!
//! The slice's reconstructions are saved as the cells finish, as `.npy` files (float32) under
//! `slices/` in the output folder: `reference.npy` and `<mask>__<method>.npy` (the mask label
//! with every character other than letters, digits, `.`, `=` and `-` replaced by `_`), so a
//! resumed or merged study draws the same report without reconstructing anything again.

use super::plan::Unit;
use super::record::{MaskView, SliceView};
use crate::error::Result;
use crate::scan::Scan;
use kspace::analysis::{point_spread_function, psf_geometry, PsfWeighting};
use kspace::SamplingMask;
use ndarray::{Array2, Array3, Axis};
use std::path::{Path, PathBuf};

/// The folder of the saved slices.
pub const SLICES_DIR: &str = "slices";

/// Where the report slice of `label` reconstructed by `method` is saved.
pub fn slice_file(dir: &Path, label: &str, method: &str) -> PathBuf {
    let slug: String =
        label.chars().map(|c| if c.is_ascii_alphanumeric() || ".=-".contains(c) { c } else { '_' }).collect();
    dir.join(SLICES_DIR).join(format!("{slug}__{method}.npy"))
}

/// The saved reference slice.
pub fn reference_file(dir: &Path) -> PathBuf {
    dir.join(SLICES_DIR).join("reference.npy")
}

/// Saves slice `slice` of a reconstruction `(slices, H, W)` (atomically).
pub fn save_slice(path: &Path, images: &Array3<f32>, slice: usize) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| crate::ReconError::io(dir, e))?;
    }
    let s = images.index_axis(Axis(0), slice.min(images.dim().0.saturating_sub(1)));
    crate::io::npy::write_npy(path, &s.into_dyn())
}

fn load_slice(path: &Path) -> Option<Array2<f32>> {
    let a = crate::io::npy::read_npy(path).ok()?;
    a.into_dimensionality::<ndarray::Ix2>().ok().map(|a| a.mapv(|v| v as f32))
}

/// Draws `unit`'s mask on `scan` exactly as `recon --input` does (the same code path).
pub fn draw_mask(scan: &Scan, unit: &Unit) -> Result<SamplingMask> {
    Ok(crate::reconstruct::choose_mask(scan, &unit.spec, unit.seed, false)?.0)
}

/// Every mask of the study at every acceleration (`units` of the first `seed`), drawn on the
/// first volume's grid, and its |PSF| normalised to a peak of 1.
pub fn mask_views(scan: &Scan, units: &[Unit], seed: u32) -> Result<Vec<MaskView>> {
    units
        .iter()
        .filter(|u| u.seed == seed)
        .map(|u| {
            let mask = draw_mask(scan, u)?;
            Ok(MaskView {
                mask: u.label.clone(),
                acceleration: u.acceleration.unwrap_or_else(|| mask.acceleration()),
                pattern: mask.as_f32(),
                psf: point_spread_function(&mask, PsfWeighting::Mask),
                geometry: psf_geometry(&mask),
            })
        })
        .collect()
}

/// The report's slice: the saved reference and the saved reconstructions of the units at
/// `acceleration` (and mask files) with the first seed, in the study's order; `None` when
/// nothing was saved.
pub fn slice_view(
    dir: &Path,
    (volume, slice): (&str, usize),
    units: &[Unit],
    methods: &[crate::classical::Method],
    (acceleration, seed): (f64, u32),
) -> Option<SliceView> {
    let reference = load_slice(&reference_file(dir))?;
    let mut reconstructions = Vec::new();
    for u in units.iter().filter(|u| shows(u, acceleration, seed)) {
        for m in methods {
            if let Some(img) = load_slice(&slice_file(dir, &u.label, m.name())) {
                reconstructions.push((u.label.clone(), m.name().to_string(), img));
            }
        }
    }
    Some(SliceView { volume: volume.to_string(), slice, acceleration, reference, reconstructions })
}

/// Whether the report's slice grid shows `unit` (on the first volume).
pub fn shows(unit: &Unit, acceleration: f64, seed: u32) -> bool {
    unit.seed == seed && unit.acceleration.is_none_or(|a| a == acceleration)
}
