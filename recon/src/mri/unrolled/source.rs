//! The slices the unrolled network trains and validates on, in memory: coil k-space, the
//! acquired set Ω, the coil maps, and a second acquisition for `repeats`.
//!
//! - NIfTI volumes (fully sampled magnitude) are simulated as multi-coil scans exactly as
//!   the complex U-Net recipe does ([`super::super::corruption`]): slices of the volume
//!   (enough brain, centre-cropped to `crop`), a smooth random phase per slice (keyed by the
//!   seed and the slice), and [`kspace::coils::synthetic_sensitivities`].
//! - fastMRI `.h5` and BART `.cfl` files (or folders of them) are read as acquired
//!   ([`super::super::acquired::AcquiredSet`]): fully sampled, or undersampled with their
//!   `mask`; no reference is needed.
//!
//! Maps are ESPIRiT ([`crate::classical::slice_maps`]), estimated once per slice from the
//! acquired data (fully sampled data: its 24×24 centre), as `recon --method sense` does.
//! Memory: every slice's k-space and maps are kept, `2·C·H·W·8` bytes per slice (4 MiB for
//! 8 coils at 256²); [`MEMORY_CAP`] refuses more.

use std::path::{Path, PathBuf};

use kspace::{rng::MaskRng, SamplingMask, C32};
use ndarray::{Array2, Array3};
use rayon::prelude::*;

use super::super::{
    acquired::AcquiredSet,
    corruption::smooth_phase,
    dataset::{evenly_spaced, SliceDataset},
};
use crate::{
    classical::{slice_maps, MapsChoice},
    ReconError, Result,
};

/// Most bytes of k-space and maps kept in memory for training.
pub const MEMORY_CAP: u64 = 24 << 30;

/// One slice in memory.
#[derive(Clone, Debug)]
pub struct KSlice {
    /// `file:slice` for messages.
    pub id: String,
    /// Coil k-space (C, H, W): fully sampled, or zero where not acquired.
    pub kspace: Array3<C32>,
    /// The acquired set Ω (every bin for fully sampled data).
    pub acquired: SamplingMask,
    pub fully_sampled: bool,
    /// The second acquisition of the same slice (`repeats`): k-space and its mask.
    pub repeat: Option<(Array3<C32>, SamplingMask)>,
    /// Coil maps (C, H, W), Σ|s|² = 1 inside the object.
    pub maps: Array3<C32>,
    /// The magnitude reference when known (simulated slices, fastMRI references).
    pub reference: Option<Array2<f32>>,
}

fn is_nifti(p: &Path) -> bool {
    let s = p.to_string_lossy().to_ascii_lowercase();
    s.ends_with(".nii") || s.ends_with(".nii.gz")
}

/// What to load and how to simulate NIfTI inputs.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    pub coils: usize,
    pub max_phase: f32,
    pub crop: usize,
    pub seed: u64,
    /// Pair up `NAME_rep1` / `NAME_rep2` files (`--pairs repeats`).
    pub repeats: bool,
    /// Keep at most this many slices, evenly spaced.
    pub max_slices: Option<usize>,
}

/// Loads every slice of `inputs` (see the module documentation), maps included.
pub fn load(inputs: &[PathBuf], opts: &SourceOptions) -> Result<Vec<KSlice>> {
    let (nifti, acquired): (Vec<PathBuf>, Vec<PathBuf>) = inputs.iter().cloned().partition(|p| is_nifti(p));
    let mut raw: Vec<KSlice> = Vec::new();
    if !nifti.is_empty() {
        if opts.repeats {
            return Err(ReconError::Invalid(format!(
                "--pairs repeats needs two acquisitions per slice; {} is a NIfTI image (use simulate)",
                nifti[0].display()
            )));
        }
        raw.extend(simulated(&nifti, opts)?);
    }
    if !acquired.is_empty() {
        raw.extend(read_acquired(&acquired, opts)?);
    }
    if raw.is_empty() {
        return Err(ReconError::Invalid("no training slices".into()));
    }
    if let Some(k) = opts.max_slices {
        raw = evenly_spaced(raw.len(), k).into_iter().map(|i| raw[i].clone()).collect();
    }
    let bytes: u64 = raw.iter().map(|s| 2 * s.kspace.len() as u64 * 8).sum();
    if bytes > MEMORY_CAP {
        return Err(ReconError::Invalid(format!(
            "{} slices need {:.1} GiB of k-space and maps (at most {} GiB): use --max-train-slices",
            raw.len(),
            bytes as f64 / (1u64 << 30) as f64,
            MEMORY_CAP >> 30
        )));
    }
    raw.into_par_iter().map(with_maps).collect()
}

/// ESPIRiT maps of the slice's acquired data.
fn with_maps(mut s: KSlice) -> Result<KSlice> {
    let maps = slice_maps(&s.kspace, &s.acquired, MapsChoice::Espirit)
        .map_err(|e| ReconError::Failed(format!("{}: coil maps: {e}", s.id)))?;
    s.maps = maps.first();
    Ok(s)
}

/// NIfTI volumes as simulated multi-coil scans (no maps yet).
fn simulated(paths: &[PathBuf], opts: &SourceOptions) -> Result<Vec<KSlice>> {
    let ds = SliceDataset::load(paths, opts.crop, None)?;
    let sens = kspace::coils::synthetic_sensitivities(opts.coils, opts.crop, opts.crop)?;
    ds.slices
        .par_iter()
        .zip(ds.ids.par_iter())
        .enumerate()
        .map(|(i, (s, id))| {
            let magnitude = s.mapv(|v| v + 0.5);
            let key = [opts.seed as u32, (opts.seed >> 32) as u32, i as u32, 0x9A5E];
            let phase = smooth_phase(magnitude.dim(), opts.max_phase, &mut MaskRng::from_words(key));
            let z = ndarray::Zip::from(&magnitude).and(&phase).map_collect(|&m, &p| C32::from_polar(m, p));
            let kspace = kspace::coils::simulate_coils(&z, &sens)?;
            Ok(KSlice {
                id: format!("{}:axis{}:{}", id.volume.display(), id.axis, id.index),
                acquired: SamplingMask::full(magnitude.dim()),
                kspace,
                fully_sampled: true,
                repeat: None,
                maps: Array3::zeros((0, 0, 0)),
                reference: Some(magnitude),
            })
        })
        .collect()
}

/// fastMRI / BART files as acquired (no maps yet).
fn read_acquired(paths: &[PathBuf], opts: &SourceOptions) -> Result<Vec<KSlice>> {
    let slice = |a: crate::mri::acquired::AcquiredSlice| KSlice {
        id: a.id,
        kspace: a.kspace,
        acquired: a.mask,
        fully_sampled: a.fully_sampled,
        repeat: None,
        maps: Array3::zeros((0, 0, 0)),
        reference: a.reference.map(|r| r / a.scale),
    };
    if opts.repeats {
        let set = AcquiredSet::repeats(paths)?;
        (0..set.len())
            .map(|i| {
                let (a, b) = set.repeat_pair(i)?;
                let mut s = slice(a);
                s.repeat = Some((b.kspace, b.mask));
                Ok(s)
            })
            .collect()
    } else {
        let set = AcquiredSet::open(paths)?;
        (0..set.len()).map(|i| set.slice(i).map(slice)).collect()
    }
}
