//! `recon --input`: undersample (or take the acquired mask), reconstruct, compare, write.
//!
//! Per slice: k-space (coils × H × W) → mask → (density compensation) → `ifft2c` →
//! coil combination (RSS for several coils, magnitude for one) → centre crop to the
//! reference size: the zero-filled image. With a network ([`ModelChoice`]: a model file,
//! or by default the shipped model matching the mask) the reconstruction is the network plus
//! data consistency, and both are reported side by side.
//!
//! The output format is the output name's extension ([`crate::io::output`]), checked with
//! the mask options, the output folder and the existing-file rule before any work. Nothing
//! non-finite is ever written: a reconstruction that overflows float32 is an error.

/// The slice-level steps, for a library user reconstructing one slice at a time: the
/// zero-filled image, the coil maps, SENSE / CS, and the words that describe the maps used.
pub use crate::classical::{classical_slice, describe_maps, slice_maps, ClassicalSlice};
use crate::classical::{ClassicalOptions, Method, MethodChoice};
use crate::error::{ReconError, Result};
use crate::io::hdf5::{write_h5, AttrValue, H5Data};
use crate::io::output::check_output;
pub use crate::io::output::default_output;
use crate::io::output::{check_finite_output, files_of, write_images, OutputFormat, RECONSTRUCTION_FORMATS};
use crate::methods::run_methods;
pub use crate::methods::zero_filled_slice;
use crate::metrics::VolumeMetrics;
use crate::network::{ModelChoice, NetworkRecon};
use crate::progress::Progress;
use crate::scan::Scan;
use kspace::mask::{MaskSpec, Param};
use kspace::SamplingMask;
use ndarray::Array3;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What to reconstruct and how.
#[derive(Debug, Clone)]
pub struct ReconRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    /// The mask for fully sampled input: a family with its parameters, none (keep every
    /// sample) or a mask file ([`MaskSpec`]). An input's own (acquired) mask always wins.
    pub mask: MaskSpec,
    pub seed: u32,
    /// Seed the mask with the input's file name instead of `seed`: fastMRI's per-volume seed
    /// `RandomState(tuple(map(ord, fname)))` (`recon batch` does this for every volume).
    pub seed_from_name: bool,
    /// Divide kept samples by their keep probability before the inverse FFT.
    pub density_compensate: bool,
    /// Overwrite an existing output.
    pub force: bool,
    /// The network to reconstruct with (plus data consistency), if any; used by
    /// `method` network and all.
    pub model: ModelChoice,
    /// Which reconstruction(s) ([`MethodChoice`]).
    pub method: MethodChoice,
    /// λ, iterations and maps of the classical methods.
    pub classical: ClassicalOptions,
    /// Scan-specific adaptation steps per slice before the network reconstructs it
    /// (`--adapt`; unrolled models only, 0: none).
    pub adapt: usize,
}

/// The mask that was used, and only what was used: for an acquired mask (the file's own),
/// none of the mask options (`--mask`, `--acceleration`, `--center-fraction`, `--seed`…)
/// applied and none is reported.
#[derive(Debug, Clone, Serialize)]
pub struct MaskReport {
    pub name: String,
    /// True when the input was already undersampled and its own mask was used.
    pub acquired: bool,
    /// The acceleration asked for; for an acquired mask the file's nominal `acceleration`
    /// attribute. None when the mask was parameterised otherwise (n2n with `p_edge`) or the
    /// file does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_acceleration: Option<f64>,
    /// The centre fraction used, for the families that have a fully sampled centre.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub center_fraction: Option<f64>,
    pub achieved_acceleration: f64,
    /// Samples kept.
    pub kept: usize,
    /// The seed used (absent for acquired masks, `none`, and masks seeded by file name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    /// The file name that seeded the mask instead of `seed` (`--seed-from-name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_name: Option<String>,
    /// "acquired in the file (--mask options ignored)" for acquired masks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Quality of one method against the reference, over the whole volume.
#[derive(Debug, Clone, Serialize)]
pub struct MethodMetrics {
    pub method: String,
    #[serde(flatten)]
    pub metrics: VolumeMetrics,
}

/// One method that ran and its wall time over the whole volume (the crate's `methods` module).
#[derive(Debug, Clone, Serialize)]
pub struct MethodTiming {
    pub method: String,
    /// Wall seconds of the method over the volume (maps included for SENSE / CS / TV).
    pub seconds: f64,
    /// SENSE / CS / TV: the part of `seconds` spent estimating the coil maps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps_seconds: Option<f64>,
    /// SENSE / CS / TV: applications of `AᴴA` over the volume (the solvers' cost unit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normal_applications: Option<usize>,
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
    /// NIfTI inputs: the voxel axis the slices were taken along.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice_axis: Option<String>,
    pub mask: MaskReport,
    pub reference: Option<String>,
    /// The method of `reconstruction` (for `--method all`: the network when a model applies,
    /// else cs).
    pub method: String,
    /// The coil maps the classical methods used, when any ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<String>,
    /// The network used, when one was (a file, or a built-in default and what it is for).
    pub model: Option<String>,
    pub metrics: Vec<MethodMetrics>,
    /// Every method that ran, in the order of `metrics`, with its seconds.
    pub methods: Vec<MethodTiming>,
    /// Why there are no metrics, when there are none.
    pub metrics_note: Option<String>,
    pub seconds: f64,
}

/// Reconstructs `req.input` and writes `req.output` (h5: `reconstruction`, `zero_filled`,
/// `mask`, attributes). Slices are processed in parallel; memory holds one slice per thread
/// plus the (small) cropped outputs.
pub fn reconstruct(req: &ReconRequest, progress: &dyn Progress) -> Result<ReconReport> {
    let load = |choice: &ModelChoice, mask: &SamplingMask| {
        let Some(mut model) = NetworkRecon::choose(choice, mask)? else { return Ok(None) };
        if req.adapt > 0 {
            if model.net.as_unrolled().is_none() {
                return Err(crate::ReconError::Invalid(format!(
                    "--adapt needs an unrolled model (recon train --net unrolled); {} is a {}",
                    model.source,
                    model.meta.arch.name()
                )));
            }
            model.adapt = req.adapt;
        }
        Ok(Some(Arc::new(model)))
    };
    reconstruct_with(req, &load, progress)
}

/// Loads the network that `choice` names for a mask (`None`: zero-filled only).
/// [`reconstruct`] loads it afresh; `recon batch` passes a cache so each model is loaded once.
pub type ModelLoader<'a> =
    dyn Fn(&ModelChoice, &SamplingMask) -> Result<Option<Arc<NetworkRecon>>> + Sync + 'a;

/// [`reconstruct`] with the network obtained from `load`.
pub(crate) fn reconstruct_with(
    req: &ReconRequest,
    load: &ModelLoader,
    progress: &dyn Progress,
) -> Result<ReconReport> {
    let t0 = Instant::now();
    let out_format = OutputFormat::of(&req.output, RECONSTRUCTION_FORMATS)?;
    if let Some(params) = req.mask.params() {
        crate::maskgen::validate_params(params)?;
    }
    check_output(&req.input, &req.output, req.force)?;
    // This run owns the output now: temporary files of a run killed before its final rename
    // (`.<name>.<pid>.tmp`) go.
    files_of(&req.output).iter().for_each(|f| crate::io::atomic::remove_stale_temps(f));
    let scan = Scan::open(&req.input)?;
    let (mask, report_mask) = choose_mask(&scan, &req.mask, req.seed, req.seed_from_name)?;
    // Which model was used is in the report (the CLI prints it), not on stderr, which is
    // kept for errors.
    let wanted = req.method.methods();
    let model = if wanted.contains(&Method::Network) { load(&req.model, &mask)? } else { None };
    let runs = run_methods(
        &scan,
        &mask,
        &wanted,
        model.as_deref(),
        &req.classical,
        req.density_compensate,
        progress,
    )?;
    let primary = req.method.primary(model.is_some());
    let recon_run = runs.get(primary).unwrap_or_else(|| runs.zero_filled());
    let (method, reconstruction) = (recon_run.method.name(), &recon_run.images);
    let zero_filled = &runs.zero_filled().images;
    let mut metrics = Vec::new();
    let mut metrics_note = None;
    if let Some(r) = &runs.reference {
        let r = crate::scan::crop_stack(r, (zero_filled.dim().1, zero_filled.dim().2));
        // A reference too small or odd for the metrics still gets its reconstruction.
        for run in runs.table_order(primary) {
            match VolumeMetrics::compute(r.view(), run.images.view()) {
                Ok(m) => metrics.push(MethodMetrics { method: run.method.name().into(), metrics: m }),
                Err(e) => metrics_note = Some(format!("metrics not computed: {e}")),
            }
        }
    } else {
        metrics_note = Some("no reference in the input: no metrics".into());
    }
    for run in &runs.runs {
        check_finite_output(
            &req.input,
            &format!("{} reconstruction", run.method.name()),
            run.images.iter().copied(),
        )?;
    }
    let model_name = model.as_ref().map(|m| m.source.clone()).unwrap_or_default();
    match out_format {
        OutputFormat::Hdf5 => {
            let extra: Vec<(String, &Array3<f32>)> = match req.method {
                MethodChoice::All => runs
                    .runs
                    .iter()
                    .filter(|r| r.method != Method::ZeroFilled)
                    .map(|r| (format!("reconstruction_{}", r.method.name()), &r.images))
                    .collect(),
                MethodChoice::One(_) => Vec::new(),
            };
            write_output(
                req,
                &scan,
                (&mask, &report_mask),
                (method, &model_name),
                (reconstruction, zero_filled),
                &extra,
                runs.maps.as_deref(),
            )?
        }
        f => write_images(&req.output, f, reconstruction, scan.geometry.as_ref())?,
    }
    Ok(ReconReport {
        input: req.input.clone(),
        output: req.output.clone(),
        format: scan.format,
        slices: scan.num_slices,
        coils: scan.coils,
        kspace_shape: scan.kspace_shape,
        recon_shape: (zero_filled.dim().1, zero_filled.dim().2),
        slice_axis: scan.geometry.as_ref().map(|g| g.describe()),
        mask: report_mask,
        reference: scan.reference.clone(),
        method: method.into(),
        maps: runs.maps.clone(),
        model: model.as_ref().map(|m| m.source.clone()),
        metrics,
        methods: runs
            .table_order(primary)
            .map(|r| MethodTiming {
                method: r.method.name().into(),
                seconds: r.seconds,
                maps_seconds: r.maps_seconds,
                normal_applications: r.normal_applications,
            })
            .collect(),
        metrics_note,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The acquired mask when the input has one, else a fresh mask of the requested family. A
/// mask that keeps no sample is refused (a usage error: the options ask for nothing).
pub(crate) fn choose_mask(
    scan: &Scan,
    spec: &MaskSpec,
    seed: u32,
    seed_from_name: bool,
) -> Result<(SamplingMask, MaskReport)> {
    let (mask, report) = match (&scan.acquired_mask, spec) {
        (Some(m), _) => {
            let r = scan.nominal_acceleration.unwrap_or_else(|| m.acceleration());
            let report = mask_report("acquired", true, Some(r), None, None, m);
            (m.clone(), report)
        }
        (None, MaskSpec::None) => {
            let m = SamplingMask::full(scan.kspace_shape);
            let report = mask_report("none", false, Some(1.0), None, None, &m);
            (m, report)
        }
        (None, MaskSpec::File(path)) => {
            let m = crate::maskfile::read_mask_file(path, scan.kspace_shape)?;
            let report = mask_report(&spec.label(), false, None, None, None, &m);
            (m, report)
        }
        (None, MaskSpec::Family { family, params }) => {
            let drawn_name = seed_name(scan, seed_from_name)?;
            let f = family.build(params)?;
            let drawn = match &drawn_name {
                Some(name) => f.sample_for_file(scan.kspace_shape, name)?,
                None => f.sample(scan.kspace_shape, seed)?,
            };
            let cf = spec.uses(Param::CenterFraction).then_some(params.center_fraction);
            let seed = drawn_name.is_none().then_some(seed);
            let requested = crate::maskgen::requested_acceleration(params);
            let mut report = mask_report(&spec.label(), false, requested, cf, seed, &drawn);
            report.seed_name = drawn_name;
            (drawn, report)
        }
    };
    if mask.count() == 0 {
        let (h, w) = mask.shape();
        return Err(ReconError::Invalid(format!(
            "{}: mask {} keeps 0 of its {h}×{w} samples (achieved sample count 0): nothing to \
             reconstruct; lower --acceleration or raise --center-fraction",
            scan.path.display(),
            report.name
        )));
    }
    Ok((mask, report))
}

fn mask_report(
    name: &str,
    acquired: bool,
    requested_acceleration: Option<f64>,
    center_fraction: Option<f64>,
    seed: Option<u32>,
    mask: &SamplingMask,
) -> MaskReport {
    MaskReport {
        name: name.to_string(),
        acquired,
        requested_acceleration,
        center_fraction,
        achieved_acceleration: mask.acceleration(),
        kept: mask.count(),
        seed,
        seed_name: None,
        note: acquired.then(|| "acquired in the file (--mask and its options ignored)".to_string()),
    }
}

/// The file name that seeds the mask when `req.seed_from_name` is set.
fn seed_name(scan: &Scan, seed_from_name: bool) -> Result<Option<String>> {
    if !seed_from_name {
        return Ok(None);
    }
    match scan.path.file_name().map(|n| n.to_string_lossy().into_owned()) {
        Some(n) if !n.is_empty() => Ok(Some(n)),
        _ => Err(ReconError::format(&scan.path, "no file name to seed the mask with")),
    }
}

fn write_output(
    req: &ReconRequest,
    scan: &Scan,
    (mask, m): (&SamplingMask, &MaskReport),
    (method, model): (&str, &str),
    (reconstruction, zero_filled): (&Array3<f32>, &Array3<f32>),
    extra: &[(String, &Array3<f32>)],
    maps: Option<&str>,
) -> Result<()> {
    let mask_data = match &mask.columns {
        Some(c) => H5Data::Bool(ndarray::Array1::from(c.clone()).into_dyn()),
        None => H5Data::Bool(mask.keep.clone().into_dyn()),
    };
    let mut datasets = vec![
        ("reconstruction", H5Data::F32(reconstruction.clone().into_dyn())),
        ("zero_filled", H5Data::F32(zero_filled.clone().into_dyn())),
        ("mask", mask_data),
    ];
    datasets.extend(extra.iter().map(|(name, x)| (name.as_str(), H5Data::F32((*x).clone().into_dyn()))));
    let max = reconstruction.iter().cloned().fold(0.0f32, f32::max) as f64;
    let input_name = scan.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let attrs = [
        ("method", AttrValue::Str(method.into())),
        ("mask", AttrValue::Str(m.name.clone())),
        ("acceleration", AttrValue::Float(m.requested_acceleration.unwrap_or(m.achieved_acceleration))),
        ("achieved_acceleration", AttrValue::Float(m.achieved_acceleration)),
        ("density_compensated", AttrValue::Int(req.density_compensate as i64)),
        ("input", AttrValue::Str(input_name)),
        ("model", AttrValue::Str(model.into())),
        ("max", AttrValue::Float(max)),
    ];
    let mut attrs = attrs.to_vec();
    if let Some(cf) = m.center_fraction {
        attrs.push(("center_fraction", AttrValue::Float(cf)));
    }
    if let Some(seed) = m.seed {
        attrs.push(("seed", AttrValue::Int(seed as i64)));
    }
    if let Some(name) = &m.seed_name {
        attrs.push(("seed_file_name", AttrValue::Str(name.clone())));
    }
    if let Some(maps) = maps {
        attrs.push(("maps", AttrValue::Str(maps.into())));
    }
    write_h5(&req.output, &datasets, &attrs)
}
