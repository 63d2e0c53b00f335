//! Training / validation slices from NIfTI volumes.
//!
//! Each volume is divided by its maximum, sliced along all three axes, and a slice is kept
//! when more than [`BRAIN_FRACTION`] of its pixels exceed [`BRAIN_LEVEL`] × the volume max
//! (enough brain). Kept slices are centre-cropped / zero-padded to `crop × crop` (odd, 255 in
//! the paper, so DC sits on a bin) and mapped to `x − 0.5` ∈ [−0.5, 0.5] (background −0.5).
//! The order is deterministic (volume, axis, index); [`crate::engine::epoch_permutation`] shuffles it per
//! epoch from a seed.

use std::path::PathBuf;

use ndarray::Array2;

use crate::{io::nifti::read_volume, ReconError, Result};

/// Intensity threshold (fraction of the volume max) for a "brain" pixel.
pub const BRAIN_LEVEL: f32 = 0.1;
/// Minimum fraction of brain pixels for a slice to be used.
pub const BRAIN_FRACTION: f64 = 0.2;

/// `k` evenly spaced indices of `0..n` (all of them if `k ≥ n`, at least one), in order.
pub fn evenly_spaced(n: usize, k: usize) -> Vec<usize> {
    let k = k.clamp(1, n.max(1));
    (0..k).map(|i| i * n / k).collect()
}

/// Where a slice came from.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceId {
    pub volume: PathBuf,
    pub axis: usize,
    pub index: usize,
}

/// Clean slices in [−0.5, 0.5], all `crop × crop`.
#[derive(Clone, Debug)]
pub struct SliceDataset {
    pub slices: Vec<Array2<f32>>,
    pub ids: Vec<SliceId>,
    pub crop: usize,
}

impl SliceDataset {
    /// Loads every volume in `paths` (see the module documentation). `max_slices` keeps an
    /// evenly spaced subset of that many slices (deterministic), for quick runs.
    pub fn load(paths: &[PathBuf], crop: usize, max_slices: Option<usize>) -> Result<Self> {
        if crop == 0 {
            return Err(ReconError::Invalid("crop must be > 0".into()));
        }
        let mut slices = Vec::new();
        let mut ids = Vec::new();
        for path in paths {
            let vol = read_volume(path)?;
            let max = vol.data.iter().fold(0f32, |m, &v| if v.is_finite() { m.max(v) } else { m });
            if max <= 0.0 {
                return Err(ReconError::format(path, "volume has no positive voxels"));
            }
            let shape = vol.shape();
            for (axis, &len) in shape.iter().enumerate() {
                for index in 0..len {
                    let s = vol.slice(axis, index)?;
                    let bright = s.iter().filter(|&&v| v > BRAIN_LEVEL * max).count();
                    if (bright as f64) <= BRAIN_FRACTION * s.len() as f64 {
                        continue;
                    }
                    let s = s.mapv(|v| if v.is_finite() { (v / max).clamp(0.0, 1.0) } else { 0.0 });
                    let s = kspace::undersample::center_crop_or_pad(&s, (crop, crop), 0.0f32);
                    slices.push(s.mapv(|v| v - 0.5));
                    ids.push(SliceId { volume: path.clone(), axis, index });
                }
            }
        }
        if slices.is_empty() {
            return Err(ReconError::Invalid("no slice with enough brain in the given volumes".into()));
        }
        let mut ds = Self { slices, ids, crop };
        if let Some(k) = max_slices {
            ds = ds.subset(k);
        }
        Ok(ds)
    }

    /// `k` evenly spaced slices (all if `k ≥ len`), in order.
    pub fn subset(&self, k: usize) -> Self {
        let pick = evenly_spaced(self.len(), k);
        Self {
            slices: pick.iter().map(|&i| self.slices[i].clone()).collect(),
            ids: pick.iter().map(|&i| self.ids[i].clone()).collect(),
            crop: self.crop,
        }
    }

    pub fn len(&self) -> usize {
        self.slices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }
}
