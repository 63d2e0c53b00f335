//! `recon --input`: undersample (or take the acquired mask), reconstruct, compare, write.
//!
//! Per slice: k-space (coils × H × W) → mask → (density compensation) → `ifft2c` →
//! coil combination (RSS for several coils, magnitude for one) → centre crop to the
//! reference size: the zero-filled image. With a network ([`crate::network`]: a model file,
//! or by default the shipped model matching the mask) the reconstruction is the network plus
//! data consistency, and both are reported side by side.

use crate::error::{ReconError, Result};
use crate::io::hdf5::{write_h5, AttrValue, H5Data};
use crate::metrics::VolumeMetrics;
use crate::network::{ModelChoice, NetworkRecon};
use crate::progress::Progress;
use crate::scan::Scan;
use kspace::mask::MaskParams;
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Axis};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// What to reconstruct and how.
#[derive(Debug, Clone)]
pub struct ReconRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    /// Mask family name (see `kspace::mask::NAMES`, or "none" to keep every sample), used
    /// when the input is fully sampled.
    pub mask: String,
    pub params: MaskParams,
    pub seed: u32,
    /// Seed the mask with the input's file name instead of `seed`: fastMRI's per-volume seed
    /// `RandomState(tuple(map(ord, fname)))` (`recon batch` does this for every volume).
    pub seed_from_name: bool,
    /// Divide kept samples by their keep probability before the inverse FFT.
    pub density_compensate: bool,
    /// Overwrite an existing output.
    pub force: bool,
    /// The network to reconstruct with (plus data consistency), if any.
    pub model: ModelChoice,
}

/// The mask that was used.
#[derive(Debug, Clone, Serialize)]
pub struct MaskReport {
    pub name: String,
    /// True when the input was already undersampled and its own mask was used.
    pub acquired: bool,
    /// None when the mask was parameterised otherwise (n2n with `p_edge`).
    pub requested_acceleration: Option<f64>,
    pub center_fraction: f64,
    pub achieved_acceleration: f64,
    pub seed: u32,
    /// The file name that seeded the mask instead of `seed` (`--seed-from-name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_name: Option<String>,
}

/// Quality of one method against the reference, over the whole volume.
#[derive(Debug, Clone, Serialize)]
pub struct MethodMetrics {
    pub method: String,
    #[serde(flatten)]
    pub metrics: VolumeMetrics,
}

/// What `reconstruct` did.
#[derive(Debug, Clone, Serialize)]
pub struct ReconReport {
    pub input: PathBuf,
    pub output: PathBuf,
    pub format: crate::scan::Format,
    pub slices: usize,
    pub coils: usize,
    pub kspace_shape: (usize, usize),
    pub recon_shape: (usize, usize),
    pub mask: MaskReport,
    pub reference: Option<String>,
    pub method: String,
    /// The network used, when one was (a file, or a built-in default and what it is for).
    pub model: Option<String>,
    pub metrics: Vec<MethodMetrics>,
    /// Why there are no metrics, when there are none.
    pub metrics_note: Option<String>,
    pub seconds: f64,
}

/// `<input name without extension>.recon.h5` in the current directory.
pub fn default_output(input: &Path) -> PathBuf {
    let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = [".nii.gz", ".nii", ".h5", ".hdf5", ".png", ".cfl", ".hdr"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name)
        .to_string();
    PathBuf::from(format!("{stem}.recon.h5"))
}

/// Refuses to write over the input, or over an existing file without `force`.
pub fn check_output(input: &Path, output: &Path, force: bool) -> Result<()> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(ReconError::Invalid(format!(
            "{}: refusing to overwrite the input file",
            output.display()
        )));
    }
    if output.exists() && !force {
        return Err(ReconError::Invalid(format!(
            "{}: output exists (use --force to overwrite)",
            output.display()
        )));
    }
    Ok(())
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

/// Reconstructs `req.input` and writes `req.output` (h5: `reconstruction`, `zero_filled`,
/// `mask`, attributes). Slices are processed in parallel; memory holds one slice per thread
/// plus the (small) cropped outputs.
pub fn reconstruct(req: &ReconRequest, progress: &dyn Progress) -> Result<ReconReport> {
    reconstruct_with(req, &|choice, mask| Ok(NetworkRecon::choose(choice, mask)?.map(Arc::new)), progress)
}

/// Loads the network that `choice` names for a mask (`None`: zero-filled only).
/// [`reconstruct`] loads it afresh; `recon batch` passes a cache so each model is loaded once.
pub type ModelLoader<'a> =
    dyn Fn(&ModelChoice, &SamplingMask) -> Result<Option<Arc<NetworkRecon>>> + Sync + 'a;

/// [`reconstruct`] with the network obtained from `load`.
pub fn reconstruct_with(
    req: &ReconRequest,
    load: &ModelLoader,
    progress: &dyn Progress,
) -> Result<ReconReport> {
    let t0 = Instant::now();
    check_output(&req.input, &req.output, req.force)?;
    let scan = Scan::open(&req.input)?;
    let (mask, report_mask) = choose_mask(&scan, req)?;
    // Which model was used is in the report (the CLI prints it), not on stderr, which is
    // kept for errors.
    let model = load(&req.model, &mask)?;
    progress.start("slices", scan.num_slices as u64);
    let per_slice: Vec<Result<SliceOut>> = (0..scan.num_slices)
        .into_par_iter()
        .map(|i| {
            let sl = scan.slice(i)?;
            check_finite(&scan.path, i, &sl.kspace)?;
            let zf = zero_filled_slice(&sl.kspace, &mask, req.density_compensate, scan.recon_shape)?;
            let net = match &model {
                Some(m) => Some(m.slice(&sl.kspace, &mask, scan.recon_shape)?),
                None => None,
            };
            progress.inc(1);
            Ok(SliceOut { zf, net, reference: sl.reference })
        })
        .collect();
    progress.finish();
    let (mut zf, mut net, mut refs) = (Vec::new(), Vec::new(), Vec::new());
    for r in per_slice {
        let r = r?;
        zf.push(r.zf);
        net.extend(r.net);
        refs.extend(r.reference);
    }
    let zero_filled = stack(&zf);
    let method = if model.is_some() { "network" } else { "zero_filled" };
    let reconstruction = if model.is_some() { stack(&net) } else { zero_filled.clone() };
    let reference = (refs.len() == zf.len()).then(|| stack(&refs));
    let mut metrics = Vec::new();
    let mut metrics_note = None;
    if let Some(r) = &reference {
        let r = crate::scan::crop_stack(r, (zero_filled.dim().1, zero_filled.dim().2));
        // A reference too small or odd for the metrics still gets its reconstruction.
        let mut methods = vec![("zero_filled", &zero_filled)];
        if model.is_some() {
            methods.insert(0, ("network", &reconstruction));
        }
        for (name, x) in methods {
            match VolumeMetrics::compute(r.view(), x.view()) {
                Ok(m) => metrics.push(MethodMetrics { method: name.into(), metrics: m }),
                Err(e) => metrics_note = Some(format!("metrics not computed: {e}")),
            }
        }
    } else {
        metrics_note = Some("no reference in the input: no metrics".into());
    }
    let model_name = model.as_ref().map(|m| m.source.clone()).unwrap_or_default();
    write_output(req, &scan, (&mask, &report_mask), (method, &model_name), &reconstruction, &zero_filled)?;
    Ok(ReconReport {
        input: req.input.clone(),
        output: req.output.clone(),
        format: scan.format,
        slices: scan.num_slices,
        coils: scan.coils,
        kspace_shape: scan.kspace_shape,
        recon_shape: (zero_filled.dim().1, zero_filled.dim().2),
        mask: report_mask,
        reference: scan.reference.clone(),
        method: method.into(),
        model: model.as_ref().map(|m| m.source.clone()),
        metrics,
        metrics_note,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The acquired mask when the input has one, else a fresh mask of the requested family.
fn choose_mask(scan: &Scan, req: &ReconRequest) -> Result<(SamplingMask, MaskReport)> {
    let (mask, name, acquired, requested) = match &scan.acquired_mask {
        Some(m) => {
            let r = scan.nominal_acceleration.unwrap_or_else(|| m.acceleration());
            (m.clone(), "acquired".to_string(), true, Some(r))
        }
        None if req.mask == "none" => {
            (SamplingMask::full(scan.kspace_shape), "none".to_string(), false, Some(1.0))
        }
        None => {
            let f = kspace::mask::from_name(&req.mask, &req.params)?;
            let drawn = match seed_name(scan, req)? {
                Some(name) => f.sample_for_file(scan.kspace_shape, &name)?,
                None => f.sample(scan.kspace_shape, req.seed)?,
            };
            (drawn, req.mask.clone(), false, crate::maskgen::requested_acceleration(&req.params))
        }
    };
    let report = MaskReport {
        name,
        acquired,
        requested_acceleration: requested,
        center_fraction: req.params.center_fraction,
        achieved_acceleration: mask.acceleration(),
        seed: req.seed,
        seed_name: if acquired || req.mask == "none" { None } else { seed_name(scan, req)? },
    };
    Ok((mask, report))
}

/// The file name that seeds the mask when `req.seed_from_name` is set.
fn seed_name(scan: &Scan, req: &ReconRequest) -> Result<Option<String>> {
    if !req.seed_from_name {
        return Ok(None);
    }
    match scan.path.file_name().map(|n| n.to_string_lossy().into_owned()) {
        Some(n) if !n.is_empty() => Ok(Some(n)),
        _ => Err(ReconError::format(&scan.path, "no file name to seed the mask with")),
    }
}

fn check_finite(path: &Path, i: usize, k: &Array3<C32>) -> Result<()> {
    if k.iter().any(|v| !v.re.is_finite() || !v.im.is_finite()) {
        return Err(ReconError::format(path, format!("k-space slice {i} contains NaN or Inf")));
    }
    Ok(())
}

fn stack(images: &[Array2<f32>]) -> Array3<f32> {
    let views: Vec<_> = images.iter().map(|a| a.view()).collect();
    ndarray::stack(Axis(0), &views).unwrap_or_else(|_| Array3::zeros((0, 0, 0)))
}

fn write_output(
    req: &ReconRequest,
    scan: &Scan,
    (mask, m): (&SamplingMask, &MaskReport),
    (method, model): (&str, &str),
    reconstruction: &Array3<f32>,
    zero_filled: &Array3<f32>,
) -> Result<()> {
    let mask_data = match &mask.columns {
        Some(c) => H5Data::Bool(ndarray::Array1::from(c.clone()).into_dyn()),
        None => H5Data::Bool(mask.keep.clone().into_dyn()),
    };
    let datasets = [
        ("reconstruction", H5Data::F32(reconstruction.clone().into_dyn())),
        ("zero_filled", H5Data::F32(zero_filled.clone().into_dyn())),
        ("mask", mask_data),
    ];
    let max = reconstruction.iter().cloned().fold(0.0f32, f32::max) as f64;
    let input_name = scan.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let attrs = [
        ("method", AttrValue::Str(method.into())),
        ("mask", AttrValue::Str(m.name.clone())),
        ("acceleration", AttrValue::Float(m.requested_acceleration.unwrap_or(m.achieved_acceleration))),
        ("achieved_acceleration", AttrValue::Float(m.achieved_acceleration)),
        ("center_fraction", AttrValue::Float(m.center_fraction)),
        ("seed", AttrValue::Int(m.seed as i64)),
        ("density_compensated", AttrValue::Int(req.density_compensate as i64)),
        ("input", AttrValue::Str(input_name)),
        ("model", AttrValue::Str(model.into())),
        ("max", AttrValue::Float(max)),
    ];
    let mut attrs = attrs.to_vec();
    if let Some(name) = &m.seed_name {
        attrs.push(("seed_file_name", AttrValue::Str(name.clone())));
    }
    write_h5(&req.output, &datasets, &attrs)
}

struct SliceOut {
    zf: Array2<f32>,
    net: Option<Array2<f32>>,
    reference: Option<Array2<f32>>,
}
