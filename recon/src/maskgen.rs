//! `recon mask`: draw a mask, analyse it, save it as PNG / NPY / BART cfl (reading a saved mask
//! back, `--mask file:PATH`, is [`crate::maskfile`]).

use crate::error::{ReconError, Result};
use crate::io::output::check_output;
use kspace::mask::{MaskParams, MaskSpec};
use kspace::{SamplingMask, C32};
use serde::Serialize;
use std::path::Path;

/// Statistics of a drawn mask.
#[derive(Debug, Clone, Serialize)]
pub struct MaskReport {
    pub mask: String,
    pub shape: (usize, usize),
    pub seed: u32,
    pub kept: usize,
    pub sampled_fraction: f64,
    /// None when the family was parameterised otherwise (n2n with `p_edge`).
    pub requested_acceleration: Option<f64>,
    pub achieved_acceleration: f64,
    /// Peak-to-side-lobe ratio and incoherence of the plain-mask PSF (`kspace::analysis`).
    pub peak_sidelobe_ratio: f64,
    pub incoherence: f64,
    /// The same for the density-compensated PSF (`keep / p`).
    pub peak_sidelobe_ratio_compensated: f64,
    pub incoherence_compensated: f64,
    /// `plane`, or `row` / `column` for a 1-D mask (the PSF is a line; statistics on it).
    pub psf_geometry: String,
    /// The fully sampled centre (rows, cols) around DC, None when DC is not sampled.
    pub calibration: Option<(usize, usize)>,
    /// The central region (rows, cols) of [`centre_region`] and the fraction of it sampled.
    pub centre_region: (usize, usize),
    pub centre_sampled_fraction: f64,
    pub output: std::path::PathBuf,
    /// The PSF image ([`psf_image`]), when one was asked for.
    pub psf: Option<std::path::PathBuf>,
}

/// The largest side of a mask drawn by `recon mask` (an 8192² mask and its analysis take
/// about a GiB; real k-space grids are at most a few thousand samples a side).
pub(crate) const MAX_MASK_SIDE: usize = 8192;

/// Parses "HxW" (also "H,W" or "HXW") into (H, W), each side 1..=`MAX_MASK_SIDE`.
pub fn parse_shape(s: &str) -> Result<(usize, usize)> {
    let parts: Vec<&str> = s.split(['x', 'X', ',', '×']).map(str::trim).collect();
    let bad = || ReconError::Invalid(format!("--shape '{s}': expected HxW, e.g. 640x368"));
    match parts.as_slice() {
        [h, w] => {
            let (h, w) = (h.parse::<usize>().map_err(|_| bad())?, w.parse::<usize>().map_err(|_| bad())?);
            if h == 0 || w == 0 {
                return Err(bad());
            }
            if h > MAX_MASK_SIDE || w > MAX_MASK_SIDE {
                return Err(ReconError::Invalid(format!(
                    "--shape '{s}': each side must be at most {MAX_MASK_SIDE} (k-space grids are at most a few thousand)"
                )));
            }
            Ok((h, w))
        }
        _ => Err(bad()),
    }
}

/// Draws the mask `spec` (a family) on `shape` with `seed`, writes it to `output` (format by
/// extension) and, when `psf` is given, its PSF image ([`psf_image`]) there (a `.png`), and
/// returns its statistics. Neither file is overwritten without `force`; both are checked
/// before any work.
pub fn make_mask(
    spec: &MaskSpec,
    shape: (usize, usize),
    seed: u32,
    output: &Path,
    psf: Option<&Path>,
    force: bool,
) -> Result<MaskReport> {
    let ext = output.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if !["png", "npy", "cfl"].contains(&ext.as_str()) {
        return Err(ReconError::Invalid(format!(
            "{}: mask output must be .png, .npy or .cfl",
            output.display()
        )));
    }
    let params = match spec {
        MaskSpec::Family { params, .. } => params,
        _ => {
            return Err(ReconError::Invalid(format!(
                "--mask {spec}: `recon mask` draws a mask family ({})",
                kspace::mask::NAMES.join(", ")
            )))
        }
    };
    validate_params(params)?;
    check_output(Path::new(""), output, force)?;
    if let Some(psf) = psf {
        if psf.extension().is_none_or(|e| !e.eq_ignore_ascii_case("png")) {
            return Err(ReconError::Invalid(format!("--psf {}: the PSF image is a .png", psf.display())));
        }
        if psf == output {
            return Err(ReconError::Invalid(format!("--psf {}: the same file as --output", psf.display())));
        }
        check_output(Path::new(""), psf, force)?;
    }
    let func =
        spec.mask_func()?.ok_or_else(|| ReconError::Invalid(format!("--mask {spec}: not a family")))?;
    let mask = func.sample(shape, seed)?;
    let name = spec.label();
    if mask.count() == 0 {
        return Err(ReconError::Invalid(format!(
            "mask {name} keeps 0 of {}×{} samples (achieved sample count 0): lower --acceleration",
            shape.0, shape.1
        )));
    }
    let a = kspace::analysis::analyse(&mask);
    match ext.as_str() {
        "png" => crate::io::png::write_mask_png(output, &mask.keep)?,
        "npy" => crate::io::npy::write_npy(output, &mask.keep.view().into_dyn())?,
        _ => {
            let c = mask.keep.mapv(|k| C32::new(k as u8 as f32, 0.0));
            crate::io::cfl::write_cfl(output, &c.view().into_dyn())?
        }
    }
    if let Some(psf) = psf {
        crate::io::png::write_png_gray(psf, &psf_image(&mask), 0.0, 1.0, 8)?;
    }
    let centre_region = centre_region(&mask, params);
    Ok(MaskReport {
        mask: name,
        shape,
        seed,
        kept: mask.count(),
        sampled_fraction: mask.sampled_fraction(),
        requested_acceleration: requested_acceleration(params),
        achieved_acceleration: mask.acceleration(),
        peak_sidelobe_ratio: a.psr,
        incoherence: a.incoherence,
        peak_sidelobe_ratio_compensated: a.psr_compensated,
        incoherence_compensated: a.incoherence_compensated,
        psf_geometry: format!("{:?}", a.geometry).to_lowercase(),
        calibration: a.calibration,
        centre_region,
        centre_sampled_fraction: centre_sampled_fraction(&mask, centre_region),
        output: output.to_path_buf(),
        psf: psf.map(Path::to_path_buf),
    })
}

/// The acceleration the user asked for, unless `p_edge` set the mask instead.
pub fn requested_acceleration(params: &MaskParams) -> Option<f64> {
    params.p_edge.is_none().then_some(params.acceleration)
}

/// The PSF image is `20·log10 |PSF|` (dB, peak 0) shown from this floor (black) to 0 dB
/// (white): side lobes of random masks lie around −20 to −45 dB.
pub const PSF_FLOOR_DB: f32 = -60.0;

/// `20·log10 v`, floored at [`PSF_FLOOR_DB`] (0 and NaN give the floor).
pub fn psf_decibels(v: f32) -> f32 {
    let db = 20.0 * v.log10();
    if db.is_nan() {
        PSF_FLOOR_DB
    } else {
        db.max(PSF_FLOOR_DB)
    }
}

/// The PSF image of `mask`, values in [0, 1]: the plain-mask PSF
/// (`kspace::analysis::point_spread_function`, `|ifft2c(keep)|` normalised to 1 at the centre
/// (H/2, W/2)) in dB, `1 − psf_decibels(v) / PSF_FLOOR_DB`: 1 (white) at the peak, 0 (black)
/// at or below [`PSF_FLOOR_DB`]. `recon mask` writes it as an 8-bit grey PNG
/// (`round(255 · value)`).
pub fn psf_image(mask: &SamplingMask) -> ndarray::Array2<f32> {
    let psf = kspace::analysis::point_spread_function(mask, kspace::analysis::PsfWeighting::Mask);
    psf.mapv(|v| 1.0 - psf_decibels(v) / PSF_FLOOR_DB)
}

/// The central region whose sampled fraction is reported, (rows, cols) around DC: the
/// family's calibration box when `calib` is set, else `round(H·cf) × round(W·cf)` for a 2-D
/// mask and all rows × `round(W·cf)` columns for a 1-D mask (the same on every row), with
/// `cf = params.center_fraction`; at least 1×1. (For families that force their centre this is
/// 1; for `n2n`, `radial` and masks read from files it says how much of the centre is kept.)
pub fn centre_region(mask: &SamplingMask, params: &MaskParams) -> (usize, usize) {
    let (h, w) = mask.shape();
    let side = |n: usize| ((n as f64 * params.center_fraction).round_ties_even() as usize).clamp(1, n.max(1));
    let one_d = kspace::analysis::psf_geometry(mask) == kspace::analysis::PsfGeometry::Row;
    match params.calib {
        Some((r, c)) => (r.clamp(1, h.max(1)), c.clamp(1, w.max(1))),
        None if one_d => (h, side(w)),
        None => (side(h), side(w)),
    }
}

/// Fraction of the `(rows, cols)` block around DC that `mask` keeps: rows
/// `(H − rows + 1)/2 ..` and columns `(W − cols + 1)/2 ..` (fastMRI's placement of its centre,
/// which contains DC at (H/2, W/2)). 0 for an empty block.
pub fn centre_sampled_fraction(mask: &SamplingMask, (rows, cols): (usize, usize)) -> f64 {
    let (h, w) = mask.shape();
    let (rows, cols) = (rows.min(h), cols.min(w));
    let (r0, c0) = ((h - rows).div_ceil(2), (w - cols).div_ceil(2));
    let block = mask.keep.slice(ndarray::s![r0..r0 + rows, c0..c0 + cols]);
    if block.is_empty() {
        return 0.0;
    }
    block.iter().filter(|&&k| k).count() as f64 / block.len() as f64
}

/// Checks the mask options in one place (usage errors): `acceleration` finite and ≥ 1,
/// `center_fraction` in [0, 1], `p_edge` in (0, 1]. `recon --input`, `recon batch` (through
/// it) and `recon mask` call it before any work.
pub fn validate_params(params: &MaskParams) -> Result<()> {
    let a = params.acceleration;
    if !(a.is_finite() && a >= 1.0) {
        return Err(ReconError::Invalid(format!("--acceleration {a}: must be a finite number ≥ 1")));
    }
    let cf = params.center_fraction;
    if !(0.0..=1.0).contains(&cf) {
        return Err(ReconError::Invalid(format!("--center-fraction {cf}: must be in [0, 1]")));
    }
    if let Some(p) = params.p_edge {
        if !(p > 0.0 && p <= 1.0) {
            return Err(ReconError::Invalid(format!("--p-edge {p}: must be in (0, 1]")));
        }
    }
    Ok(())
}
