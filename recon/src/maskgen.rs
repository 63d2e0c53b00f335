//! `recon mask`: draw a mask, analyse it, save it as PNG / NPY / BART cfl (reading a saved mask
//! back, `--mask file:PATH`, is [`crate::maskfile`]).

use crate::error::{ReconError, Result};
use crate::io::output::check_output;
use kspace::mask::{MaskParams, MaskSpec};
use kspace::C32;
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
    pub peak_sidelobe_ratio: f64,
    pub incoherence: f64,
    pub output: std::path::PathBuf,
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
/// extension) and returns its statistics.
pub fn make_mask(
    spec: &MaskSpec,
    shape: (usize, usize),
    seed: u32,
    output: &Path,
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
        output: output.to_path_buf(),
    })
}

/// The acceleration the user asked for, unless `p_edge` set the mask instead.
pub fn requested_acceleration(params: &MaskParams) -> Option<f64> {
    params.p_edge.is_none().then_some(params.acceleration)
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
