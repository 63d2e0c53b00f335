//! `recon maps`: coil sensitivity maps of a scan, like BART `ecalib`, for use elsewhere.
//!
//! Maps come from the scan's k-space under its acquired mask (or every sample, for a fully
//! sampled scan): ESPIRiT ([`kspace::espirit`], BART `ecalib -k K -r N -c C -m M`, with its
//! documented fallback to low-resolution maps when the fully sampled centre is too small), or
//! the low-resolution maps on request. They are unit-norm per pixel where kept
//! (`Σ_c |s_c|² = 1`), zero where ESPIRiT's eigenvalue is ≤ the crop.
//!
//! Layouts:
//! - `.h5`: `maps` complex64 `(slices, sets, coils, H, W)`, `eigenvalues` float32
//!   `(slices, sets, H, W)`, and root attributes `maps` (which maps, in words), `input`,
//!   `kernel`, `calib`, `crop`, `threshold`.
//! - `.cfl`: for one slice exactly `ecalib`'s `[X, Y, 1, COIL, MAPS]` (BART dims 0, 1, 3, 4);
//!   the slices go along BART's SLICE dimension (13) as in the k-space `recon simulate`
//!   writes, so `bart pics` takes such k-space and these maps as they are.
//!
//! When the ESPIRiT of some slices falls back to one low-resolution set while two were asked
//! for, their second set is zero (as ESPIRiT's crop would make it).

use crate::classical::{describe_maps, MapsChoice};
use crate::error::{ReconError, Result};
use crate::io::hdf5::{write_h5, AttrValue, H5Data};
use crate::io::output::{check_finite_output, OutputFormat};
use crate::methods::check_finite;
use crate::progress::Progress;
use crate::scan::Scan;
/// ESPIRiT's options ([`MapsRequest::espirit`]).
pub use kspace::espirit::EspiritOptions;
use kspace::espirit::{espirit, low_resolution_maps, Maps};
use kspace::{SamplingMask, C32};
use ndarray::{s, Array4, Array5, ArrayD, IxDyn, ShapeBuilder};
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The formats `recon maps` writes.
pub const MAPS_FORMATS: &[OutputFormat] = &[OutputFormat::Hdf5, OutputFormat::Cfl];

/// What to estimate and where to write it.
#[derive(Debug, Clone)]
pub struct MapsRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    pub choice: MapsChoice,
    /// Kernel, calibration size, crop and sets (`maps`); the rest as BART's defaults.
    pub espirit: EspiritOptions,
    pub force: bool,
}

/// What `recon maps` did.
#[derive(Debug, Clone, Serialize)]
pub struct MapsReport {
    pub input: PathBuf,
    pub output: PathBuf,
    pub slices: usize,
    pub coils: usize,
    pub sets: usize,
    pub kspace_shape: (usize, usize),
    /// Which maps, in words (ESPIRiT and its calibration region, or the fallback and why).
    pub maps: String,
    pub seconds: f64,
}

/// Estimates the maps of every slice (in parallel) and writes them (see the module docs).
pub fn write_maps(req: &MapsRequest, progress: &dyn Progress) -> Result<MapsReport> {
    let t0 = Instant::now();
    let format = OutputFormat::of(&req.output, MAPS_FORMATS)?;
    crate::io::output::check_output(&req.input, &req.output, req.force)?;
    let o = &req.espirit;
    if o.kernel == 0 || o.kernel > o.calib {
        return Err(ReconError::Invalid(format!(
            "--kernel {} must be between 1 and --calib {}",
            o.kernel, o.calib
        )));
    }
    let scan = Scan::open(&req.input)?;
    if o.maps > scan.coils.max(1) {
        return Err(ReconError::Invalid(format!(
            "{}: --sets {} needs at least as many coils; the scan has {}",
            req.input.display(),
            o.maps,
            scan.coils
        )));
    }
    let mask = scan.acquired_mask.clone().unwrap_or_else(|| SamplingMask::full(scan.kspace_shape));
    progress.start("slices", scan.num_slices as u64);
    let per_slice: Vec<Result<Maps>> = (0..scan.num_slices)
        .into_par_iter()
        .map(|i| {
            let sl = scan.slice(i)?;
            check_finite(&scan.path, i, &sl.kspace)?;
            let y = kspace::undersample::undersample(&sl.kspace, &mask)?;
            let maps = match req.choice {
                MapsChoice::Espirit => espirit(&y.view(), &mask, &req.espirit),
                MapsChoice::LowRes => low_resolution_maps(&y.view(), &mask, req.espirit.calib),
            };
            progress.inc(1);
            maps.map_err(|e| ReconError::format(&scan.path, format!("slice {i}: {e}")))
        })
        .collect();
    progress.finish();
    let maps = per_slice.into_iter().collect::<Result<Vec<Maps>>>()?;
    let described = describe_maps(&maps.iter().map(|m| m.method).collect::<Vec<_>>(), req.choice);
    let (h, w) = scan.kspace_shape;
    let sets = maps.iter().map(|m| m.maps.dim().0).max().unwrap_or(1);
    let coils = scan.coils;
    let mut all = Array5::<C32>::zeros((maps.len(), sets, coils, h, w));
    let mut eig = Array4::<f32>::zeros((maps.len(), sets, h, w));
    for (i, m) in maps.iter().enumerate() {
        let k = m.maps.dim().0;
        all.slice_mut(s![i, ..k, .., .., ..]).assign(&m.maps);
        eig.slice_mut(s![i, ..k, .., ..]).assign(&m.eigenvalues);
    }
    check_finite_output(&req.input, "sensitivity maps", all.iter().flat_map(|z| [z.re, z.im]))?;
    match format {
        OutputFormat::Cfl => crate::io::cfl::write_cfl(&req.output, &maps_to_cfl(&all).view())?,
        _ => {
            let input_name =
                scan.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let attrs = [
                ("maps", AttrValue::Str(described.clone())),
                ("input", AttrValue::Str(input_name)),
                ("kernel", AttrValue::Int(o.kernel as i64)),
                ("calib", AttrValue::Int(o.calib as i64)),
                ("crop", AttrValue::Float(o.crop as f64)),
                ("threshold", AttrValue::Float(o.threshold as f64)),
            ];
            let datasets =
                [("maps", H5Data::C64(all.into_dyn())), ("eigenvalues", H5Data::F32(eig.into_dyn()))];
            write_h5(&req.output, &datasets, &attrs)?
        }
    }
    Ok(MapsReport {
        input: req.input.clone(),
        output: req.output.clone(),
        slices: scan.num_slices,
        coils,
        sets,
        kspace_shape: scan.kspace_shape,
        maps: described,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// BART's dimension of the coils (3), map sets (4) and slices (13).
const COIL_DIM: usize = 3;
const MAPS_DIM: usize = 4;
const SLICE_DIM: usize = 13;

/// `(slices, sets, coils, H, W)` → BART dims `[H, W, 1, coils, sets, 1, …, slices (13)]`
/// (column-major: H varies fastest).
pub(crate) fn maps_to_cfl(maps: &Array5<C32>) -> ArrayD<C32> {
    let (ns, m, nc, h, w) = maps.dim();
    let mut shape = [1usize; SLICE_DIM + 1];
    shape[0] = h;
    shape[1] = w;
    shape[COIL_DIM] = nc;
    shape[MAPS_DIM] = m;
    shape[SLICE_DIM] = ns;
    // Column-major [h, w, 1, nc, m, 1…, ns] is row-major (ns, m, nc, w, h).
    let data: Vec<C32> = maps.view().permuted_axes([0, 1, 2, 4, 3]).iter().cloned().collect();
    ArrayD::from_shape_vec(IxDyn(&shape).f(), data).expect("sizes match") // ok: sizes match
}
