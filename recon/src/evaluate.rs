//! `recon eval`: fastMRI's evaluation — per-volume NMSE / PSNR / SSIM of each prediction
//! against its target, then mean ± std per acquisition.

use crate::error::{ReconError, Result};
use crate::io::hdf5;
use crate::metrics::VolumeMetrics;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One evaluated volume.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeEval {
    pub name: String,
    pub acquisition: String,
    pub slices: usize,
    #[serde(flatten)]
    pub metrics: VolumeMetrics,
}

/// Mean and standard deviation over the volumes of one acquisition.
#[derive(Debug, Clone, Serialize)]
pub struct GroupEval {
    pub acquisition: String,
    pub count: usize,
    pub mean: VolumeMetrics,
    pub std: VolumeMetrics,
}

/// A prediction that was not evaluated, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub volumes: Vec<VolumeEval>,
    pub groups: Vec<GroupEval>,
    /// Predictions whose target has no reference (`reconstruction_rss`/`_esc`): skipped.
    pub skipped: Vec<Skipped>,
}

/// The `.h5` files of a folder, sorted by name.
pub(crate) fn h5_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| ReconError::io(dir, e))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "h5") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Evaluates every prediction in `predictions` that has a target of the same name. Targets
/// without a reference are skipped and listed in the report; it is an error only when
/// nothing could be evaluated.
pub fn evaluate(targets: &Path, predictions: &Path) -> Result<EvalReport> {
    let preds = h5_files(predictions)?;
    let pairs: Vec<(PathBuf, PathBuf)> = preds
        .into_iter()
        .filter_map(|p| {
            let t = targets.join(p.file_name()?);
            t.is_file().then_some((t, p))
        })
        .collect();
    if pairs.is_empty() {
        return Err(ReconError::Invalid(format!(
            "no prediction in {} has a target of the same name in {}",
            predictions.display(),
            targets.display()
        )));
    }
    let results: Vec<Result<Option<VolumeEval>>> = pairs
        .par_iter()
        .map(|(t, p)| match hdf5::FastMriFile::open(t)?.reference_name() {
            None => Ok(None),
            Some(_) => evaluate_volume(t, p).map(Some),
        })
        .collect();
    let (mut volumes, mut skipped) = (Vec::new(), Vec::new());
    for ((t, _), r) in pairs.iter().zip(results) {
        match r? {
            Some(v) => volumes.push(v),
            None => skipped.push(Skipped {
                name: t.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                reason: "target has no reconstruction_rss or reconstruction_esc".into(),
            }),
        }
    }
    if volumes.is_empty() {
        let names: Vec<&str> = skipped.iter().map(|s| s.name.as_str()).collect();
        return Err(ReconError::Invalid(format!(
            "nothing to evaluate: no target in {} has a reference (skipped {})",
            targets.display(),
            names.join(", ")
        )));
    }
    Ok(EvalReport { groups: group(&volumes), volumes, skipped })
}

/// Metrics of one prediction file against one target file. As fastMRI does, both volumes
/// are centre-cropped to the reference's in-plane size when they differ.
pub(crate) fn evaluate_volume(target: &Path, prediction: &Path) -> Result<VolumeEval> {
    let tf = hdf5::FastMriFile::open(target)?;
    let name = tf
        .reference_name()
        .ok_or_else(|| {
            ReconError::format(target, "no reconstruction_rss or reconstruction_esc to compare with")
        })?
        .to_string();
    let gt = read_volume(tf.file(), &name)?;
    let pred = read_volume(&hdf5::open_any(prediction)?, "reconstruction")?;
    if gt.dim().0 != pred.dim().0 {
        return Err(ReconError::format(
            prediction,
            format!("reconstruction has {} slices, the target {}", pred.dim().0, gt.dim().0),
        ));
    }
    let (h, w) = (gt.dim().1.min(pred.dim().1), gt.dim().2.min(pred.dim().2));
    let gt = crate::scan::crop_stack(&gt, (h, w));
    let pred = crate::scan::crop_stack(&pred, (h, w));
    let metrics = VolumeMetrics::compute(gt.view(), pred.view())?;
    let acquisition = tf
        .attrs()
        .get("acquisition")
        .and_then(|a| a.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(VolumeEval { name, acquisition, slices: gt.dim().0, metrics })
}

/// A float 3-D dataset (slices × H × W).
fn read_volume(f: &hdf5::H5File, name: &str) -> Result<ndarray::Array3<f32>> {
    let a = f.read_f32(name)?;
    a.into_dimensionality::<ndarray::Ix3>()
        .map_err(|_| ReconError::format(f.path(), format!("{name} is not a 3-D (slices × H × W) dataset")))
}

/// Mean ± (population) std of each metric per acquisition, plus "all" when there are several.
fn group(volumes: &[VolumeEval]) -> Vec<GroupEval> {
    let mut by: BTreeMap<&str, Vec<&VolumeMetrics>> = BTreeMap::new();
    for v in volumes {
        by.entry(&v.acquisition).or_default().push(&v.metrics);
    }
    let mut groups: Vec<GroupEval> = by.into_iter().map(|(a, ms)| summarise(a, &ms)).collect();
    if groups.len() > 1 {
        groups.push(summarise("all", &volumes.iter().map(|v| &v.metrics).collect::<Vec<_>>()));
    }
    groups
}

fn summarise(acquisition: &str, ms: &[&VolumeMetrics]) -> GroupEval {
    let n = ms.len() as f64;
    let stat = |f: fn(&VolumeMetrics) -> f64| {
        let mean = ms.iter().map(|m| f(m)).sum::<f64>() / n;
        let var = ms.iter().map(|m| (f(m) - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    };
    let (p, ps) = stat(|m| m.psnr);
    let (s, ss) = stat(|m| m.ssim);
    let (e, es) = stat(|m| m.nmse);
    GroupEval {
        acquisition: acquisition.to_string(),
        count: ms.len(),
        mean: VolumeMetrics { nmse: e, psnr: p, ssim: s },
        std: VolumeMetrics { nmse: es, psnr: ps, ssim: ss },
    }
}
