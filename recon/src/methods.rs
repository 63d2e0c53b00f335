//! Runs the reconstruction methods `recon --method` asks for over one volume and times each.
//!
//! Each method is one parallel pass over the slices (rayon; each slice read from the file
//! again, so memory holds one slice per thread plus the cropped outputs), timed as a whole:
//! a method's seconds are the wall time of its pass, reading included. The classical methods
//! share the coil maps of a first pass (one map estimate per slice, the maps of all slices
//! kept), and their seconds include that pass: `maps + solver`, what `bart ecalib` + `bart pics`
//! would cost. The FFT plans are made once and shared (`kspace::fft`'s cache).

use crate::classical::{classical_slice, describe_maps, slice_maps, ClassicalOptions, Method};
use crate::error::{ReconError, Result};
use crate::network::NetworkRecon;
use crate::progress::Progress;
use crate::scan::{Scan, ScanSlice};
use kspace::espirit::Maps;
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Axis};
use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;

/// One method's reconstruction of the volume `(slices, H, W)` and the seconds it took.
#[derive(Debug, Clone)]
pub struct MethodRun {
    pub method: Method,
    pub images: Array3<f32>,
    /// Wall seconds of the method's pass; for SENSE / CS / TV the maps pass included.
    pub seconds: f64,
    /// For SENSE / CS / TV: the seconds of the shared maps pass inside `seconds` (so
    /// `seconds − maps_seconds` is the solver alone, what `bart pics` without `ecalib` costs).
    pub maps_seconds: Option<f64>,
    /// For SENSE / CS / TV: applications of `AᴴA` over all slices, the solvers' cost unit
    /// (BART's `pics -i` counts the same for ADMM).
    pub normal_applications: Option<usize>,
}

/// Every requested method's reconstruction, the reference, and the maps used.
#[derive(Debug, Clone)]
pub struct VolumeRuns {
    /// In table order: zero-filled (always), SENSE, CS, TV, network — those requested.
    pub runs: Vec<MethodRun>,
    /// The reference `(slices, H, W)` when every slice has one.
    pub reference: Option<Array3<f32>>,
    /// Which maps the classical methods used ([`describe_maps`]); None when none ran.
    pub maps: Option<String>,
}

impl VolumeRuns {
    /// The run of `method`, if it ran.
    pub fn get(&self, method: Method) -> Option<&MethodRun> {
        self.runs.iter().find(|r| r.method == method)
    }

    /// The zero-filled run (always the first).
    pub fn zero_filled(&self) -> &MethodRun {
        &self.runs[0]
    }

    /// The runs for a table: `primary` first, then the others in run order.
    pub fn table_order(&self, primary: Method) -> impl Iterator<Item = &MethodRun> {
        let first = self.runs.iter().filter(move |r| r.method == primary);
        first.chain(self.runs.iter().filter(move |r| r.method != primary))
    }
}

/// Zero-filled reconstruction of one slice: coils × H × W k-space → combined magnitude,
/// cropped to `crop`.
pub fn zero_filled_slice(
    kspace: &Array3<C32>,
    mask: &SamplingMask,
    density_compensate: bool,
    crop: (usize, usize),
) -> Result<Array2<f32>> {
    let img = kspace::undersample::zero_filled(kspace, mask, density_compensate)?;
    let combined = kspace::undersample::rss(&img, 0)?;
    Ok(kspace::undersample::center_crop(&combined, crop)?)
}

/// Runs zero-filled and each of `wanted` (the network only with a `model`) over the slices of
/// `scan` under `mask`; outputs cropped to `scan.recon_shape`, in the data's units.
pub fn run_methods(
    scan: &Scan,
    mask: &SamplingMask,
    wanted: &[Method],
    model: Option<&NetworkRecon>,
    opts: &ClassicalOptions,
    density_compensate: bool,
    progress: &dyn Progress,
) -> Result<VolumeRuns> {
    let crop = scan.recon_shape;
    let classical: Vec<Method> = Method::CLASSICAL.into_iter().filter(|m| wanted.contains(m)).collect();
    let network = model.filter(|_| wanted.contains(&Method::Network));
    let passes = 1 + classical.len() + usize::from(!classical.is_empty()) + usize::from(network.is_some());
    progress.start("slices", (scan.num_slices * passes) as u64);
    let (zf, zf_seconds) = pass(scan, progress, |_, sl| {
        let zf = zero_filled_slice(&sl.kspace, mask, density_compensate, crop)? * sl.scale;
        Ok((zf, sl.reference))
    })?;
    let (zf, refs): (Vec<_>, Vec<_>) = zf.into_iter().unzip();
    let refs: Vec<Array2<f32>> = refs.into_iter().flatten().collect();
    let reference = (refs.len() == zf.len()).then(|| stack(&refs));
    let mut runs = vec![MethodRun {
        method: Method::ZeroFilled,
        images: stack(&zf),
        seconds: zf_seconds,
        maps_seconds: None,
        normal_applications: None,
    }];
    let mut maps_used = None;
    if !classical.is_empty() {
        let (maps, maps_seconds) = pass(scan, progress, |i, sl| {
            on_slice(&scan.path, i, slice_maps(&measured(&sl, mask)?, mask, opts.maps))
        })?;
        maps_used = Some(describe_maps(&maps.iter().map(|m| m.method).collect::<Vec<_>>(), opts.maps));
        for method in classical {
            let (slices, seconds) = pass(scan, progress, |i, sl| {
                let maps: &Maps = &maps[i];
                let x = on_slice(
                    &scan.path,
                    i,
                    classical_slice(method, &measured(&sl, mask)?, mask, maps, opts, crop),
                )?;
                Ok((x.image * sl.scale, x.normal_applications))
            })?;
            let (images, counts): (Vec<_>, Vec<_>) = slices.into_iter().unzip();
            runs.push(MethodRun {
                method,
                images: stack(&images),
                seconds: seconds + maps_seconds,
                maps_seconds: Some(maps_seconds),
                normal_applications: Some(counts.iter().sum()),
            });
        }
    }
    if let Some(model) = network {
        let (images, seconds) =
            pass(scan, progress, |i, sl| Ok(model.slice_at(i, &sl.kspace, mask, crop)? * sl.scale))?;
        runs.push(MethodRun {
            method: Method::Network,
            images: stack(&images),
            seconds,
            maps_seconds: None,
            normal_applications: None,
        });
    }
    progress.finish();
    Ok(VolumeRuns { runs, reference, maps: maps_used })
}

/// `f` on every slice in parallel (read, checked finite), in slice order, and the wall time.
fn pass<T: Send>(
    scan: &Scan,
    progress: &dyn Progress,
    f: impl Fn(usize, ScanSlice) -> Result<T> + Sync,
) -> Result<(Vec<T>, f64)> {
    let t0 = Instant::now();
    let out: Vec<Result<T>> = (0..scan.num_slices)
        .into_par_iter()
        .map(|i| {
            let sl = scan.slice(i)?;
            check_finite(&scan.path, i, &sl.kspace)?;
            let v = f(i, sl)?;
            progress.inc(1);
            Ok(v)
        })
        .collect();
    let out = out.into_iter().collect::<Result<Vec<T>>>()?;
    Ok((out, t0.elapsed().as_secs_f64()))
}

/// The measured k-space of a slice: zero where the mask does not sample.
fn measured(sl: &ScanSlice, mask: &SamplingMask) -> Result<Array3<C32>> {
    Ok(kspace::undersample::undersample(&sl.kspace, mask)?)
}

/// A k-space refusal on slice `i` of `path` is a problem of that file's data (e.g. no signal
/// in the centre to estimate maps from): it names the file and the slice.
fn on_slice<T>(path: &Path, i: usize, r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        ReconError::Kspace(k) => ReconError::format(path, format!("slice {i}: {k}")),
        other => other,
    })
}

/// Refuses a slice whose k-space holds NaN or ±∞.
pub fn check_finite(path: &Path, i: usize, k: &Array3<C32>) -> Result<()> {
    if k.iter().any(|v| !v.re.is_finite() || !v.im.is_finite()) {
        return Err(ReconError::format(path, format!("k-space slice {i} contains NaN or Inf")));
    }
    Ok(())
}

/// Stacks 2-D images along a new first axis (empty for no image).
pub fn stack(images: &[Array2<f32>]) -> Array3<f32> {
    let views: Vec<_> = images.iter().map(|a| a.view()).collect();
    ndarray::stack(Axis(0), &views).unwrap_or_else(|_| Array3::zeros((0, 0, 0)))
}
