//! One unit of a study on one volume: draw the mask, reconstruct with every method of the
//! study in one pass, and measure each cell — by the code `recon --input` runs
//! (`crate::reconstruct::choose_mask`, `crate::methods::run_methods`, fastMRI's metrics on
//! the centre-cropped reference), so every cell equals `recon --input FILE --mask M
//! --acceleration R --seed S --method X`.
//!
//! The mask's analysis (`kspace::analysis`): the peak-to-side-lobe ratio and the incoherence
//! of its plain point-spread function, and the **fraction of the centre sampled**: of the
//! central `calib` box when the family has one, else of the central band of
//! `round(W·cf)` phase-encode columns (all rows) for a 1-D mask, or the central
//! `round(H·cf) × round(W·cf)` box for a 2-D one, with `cf` the cell's centre fraction (or
//! `0.32 / R`, fastMRI's centre at that acceleration, for families without one and for mask
//! files) and the box placed as fastMRI places its centre (`(n − size + 1) / 2` first).

use super::plan::Unit;
use super::record::CellRecord;
use super::views;
use crate::batch::models::ModelCache;
use crate::classical::{ClassicalOptions, Method};
use crate::error::{ReconError, Result};
use crate::metrics::VolumeMetrics;
use crate::network::ModelChoice;
use crate::progress::NoProgress;
use crate::scan::Scan;
use kspace::analysis::{point_spread_function, psf_geometry, sidelobe_stats, PsfWeighting, MAIN_LOBE_RADIUS};
use kspace::mask::MaskParams;
use kspace::SamplingMask;
use std::path::{Path, PathBuf};

/// What every unit shares.
pub struct UnitContext<'a> {
    pub model: &'a ModelChoice,
    pub models: &'a ModelCache,
    pub classical: &'a ClassicalOptions,
    /// The output folder (slices are saved under it).
    pub output_dir: &'a Path,
}

/// One unit to run on one volume: the methods still missing, and whether its reconstructions
/// of the report slice are saved.
pub struct UnitJob<'a> {
    pub path: PathBuf,
    pub volume: String,
    pub unit: &'a Unit,
    pub methods: Vec<Method>,
    /// The report slice to save, when this unit is shown in the report.
    pub save_slice: Option<usize>,
}

/// Runs `job`: the cells of its methods, in the order of `job.methods`.
pub fn run_unit(ctx: &UnitContext, job: &UnitJob) -> Result<Vec<CellRecord>> {
    let scan = Scan::open(&job.path)?;
    if scan.acquired_mask.is_some() {
        return Err(ReconError::format(
            &job.path,
            "already undersampled (it has its own `mask`): a study needs fully sampled k-space",
        ));
    }
    let mask = views::draw_mask(&scan, job.unit)?;
    let wanted: Vec<Method> = job.methods.iter().copied().filter(|m| *m != Method::ZeroFilled).collect();
    let model = match wanted.contains(&Method::Network) {
        true => Some(ctx.models.get(ctx.model, &mask)?.ok_or_else(|| {
            ReconError::Invalid(format!("{}: no network applies to mask {}", job.volume, job.unit.label))
        })?),
        false => None,
    };
    let runs = crate::methods::run_methods(
        &scan,
        &mask,
        &wanted,
        model.as_deref(),
        ctx.classical,
        false,
        &NoProgress,
    )?;
    let reference = runs.reference.as_ref().ok_or_else(|| {
        ReconError::format(&job.path, "no fully sampled reference: a study needs one for its metrics")
    })?;
    let zf = &runs.zero_filled().images;
    let reference = crate::scan::crop_stack(reference, (zf.dim().1, zf.dim().2));
    let psf = point_spread_function(&mask, PsfWeighting::Mask);
    let lobes = sidelobe_stats(&psf, psf_geometry(&mask), MAIN_LOBE_RADIUS);
    let acceleration = job.unit.acceleration.unwrap_or_else(|| mask.acceleration());
    let centre_sampled = centre_sampled_fraction(&mask, job.unit, acceleration);
    let mut cells = Vec::new();
    for &method in &job.methods {
        let run = runs.get(method).ok_or_else(|| {
            ReconError::Failed(format!("{}: method {} did not run", job.volume, method.name()))
        })?;
        let what = format!("{} reconstruction", method.name());
        crate::io::output::check_finite_output(&job.path, &what, run.images.iter().copied())?;
        let m = VolumeMetrics::compute(reference.view(), run.images.view())?;
        if let Some(s) = job.save_slice {
            views::save_slice(
                &views::slice_file(ctx.output_dir, &job.unit.label, method.name()),
                &run.images,
                s,
            )?;
        }
        cells.push(CellRecord {
            volume: job.volume.clone(),
            mask: job.unit.label.clone(),
            acceleration,
            centre: job.unit.centre,
            method: method.name().into(),
            seed: job.unit.seed,
            psnr: m.psnr,
            ssim: m.ssim,
            nmse: m.nmse,
            achieved_acceleration: mask.acceleration(),
            psf_peak_sidelobe_ratio: lobes.psr,
            incoherence: lobes.incoherence,
            centre_sampled_fraction: centre_sampled,
            seconds: run.seconds,
        });
    }
    if let Some(s) = job.save_slice {
        let path = views::reference_file(ctx.output_dir);
        if !path.is_file() {
            views::save_slice(&path, &reference, s)?;
        }
    }
    Ok(cells)
}

/// The fraction of the centre region (module docs) that `mask` samples: `recon mask`'s
/// region and count ([`crate::maskgen::centre_region`]), with the cell's centre fraction.
pub fn centre_sampled_fraction(mask: &SamplingMask, unit: &Unit, acceleration: f64) -> f64 {
    let cf = unit.centre.unwrap_or(0.32 / acceleration);
    let params =
        MaskParams { calib: unit.spec.params().and_then(|p| p.calib), ..MaskParams::new(acceleration, cf) };
    crate::maskgen::centre_sampled_fraction(mask, crate::maskgen::centre_region(mask, &params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_fraction_sampled_counts_the_central_band_or_box() {
        let spec: kspace::mask::MaskSpec = "random".parse().unwrap();
        let unit = Unit {
            item: 0,
            spec,
            label: "random".into(),
            acceleration: Some(4.0),
            centre: Some(0.25),
            seed: 0,
        };
        // 8 columns, centre band of 2 (columns 3, 4): one of them kept.
        let cols = [true, false, false, true, false, false, false, true];
        let m = SamplingMask::from_columns(4, &cols, &[1.0; 8]);
        assert_eq!(centre_sampled_fraction(&m, &unit, 4.0), 0.5);
        let calib: kspace::mask::MaskSpec = "poisson:calib=2x2".parse().unwrap();
        let unit = Unit { spec: calib, centre: None, ..unit };
        let mut keep = ndarray::Array2::from_elem((6, 6), false);
        keep[[3, 3]] = true;
        keep[[2, 3]] = true;
        let m = SamplingMask::new(keep, ndarray::Array2::from_elem((6, 6), 0.5));
        assert_eq!(centre_sampled_fraction(&m, &unit, 4.0), 0.5);
    }
}
