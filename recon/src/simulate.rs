//! `recon simulate`: a fastMRI-layout scan from magnitude images.
//!
//! Each axial slice `x` becomes coil k-space `y_c = fft2c(s_c · x) + n_c`, with smooth
//! synthetic sensitivities (Σ_c |s_c|² = 1) and complex Gaussian noise `n_c ~ CN(0, σ²)`.
//! The reference is the RSS of the fully-sampled coil images (fastMRI's
//! `reconstruction_rss`; `reconstruction_esc` for one coil, when the data is single-coil
//! and holds exactly `fft2c(x) + n`).
//!
//! The output's extension picks the format ([`crate::io::output`]): `.h5` the fastMRI
//! layout, `.cfl` the k-space alone in BART's layout (`[H, W, 1, coils, …, slices]`).
//! Non-finite k-space (an image whose values overflow float32 in the FFT) is an error.

use crate::error::{ReconError, Result};
use crate::io::hdf5::{write_h5, AttrValue, H5Data};
use crate::io::output::check_output;
use crate::io::output::{check_finite_output, write_kspace_cfl, OutputFormat, KSPACE_FORMATS};
use crate::progress::Progress;
use crate::scan::{Format, Scan};
use kspace::C32;
use ndarray::{Array2, Array3, Array4, Axis};
use rand_mt::Mt64;
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    pub coils: usize,
    /// Half-open slice range; all slices when `None`.
    pub slices: Option<(usize, usize)>,
    /// σ of complex Gaussian k-space noise (per real and imaginary part: σ/√2).
    pub noise: f64,
    pub seed: u64,
    pub force: bool,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct SimulateReport {
    pub output: PathBuf,
    pub slices: usize,
    pub coils: usize,
    pub kspace_shape: (usize, usize),
}

/// Parses "A:B" (half-open; either end may be omitted).
pub fn parse_range(s: &str) -> Result<(usize, usize)> {
    let bad = || ReconError::Invalid(format!("--slices '{s}': expected A:B, e.g. 80:90"));
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let a = if a.is_empty() { 0 } else { a.trim().parse().map_err(|_| bad())? };
    let b = if b.is_empty() { usize::MAX } else { b.trim().parse().map_err(|_| bad())? };
    if b <= a {
        return Err(bad());
    }
    Ok((a, b))
}

/// Draws complex Gaussian noise CN(0, σ²) for one slice with a seed derived from (seed, slice).
fn add_noise(k: &mut Array3<C32>, sigma: f64, seed: u64, slice: usize) {
    if sigma <= 0.0 {
        return;
    }
    let mut rng = Mt64::new(seed ^ (slice as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let s = sigma / std::f64::consts::SQRT_2;
    let mut gauss = move || {
        // Box–Muller on two uniforms in (0, 1].
        let u1 = 1.0 - (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        (r * t.cos(), r * t.sin())
    };
    for v in k.iter_mut() {
        let (a, b) = gauss();
        *v += C32::new((a * s) as f32, (b * s) as f32);
    }
}

/// The most coils `simulate` makes (as `recon train --coils`; real arrays have up to 32).
pub(crate) const MAX_COILS: usize = 32;

/// Simulates the scan and writes it in fastMRI's layout.
pub fn simulate(req: &SimulateRequest, progress: &dyn Progress) -> Result<SimulateReport> {
    if !(1..=MAX_COILS).contains(&req.coils) {
        return Err(ReconError::Invalid(format!("--coils {}: must be 1 to {MAX_COILS}", req.coils)));
    }
    if !(req.noise.is_finite() && req.noise >= 0.0) {
        return Err(ReconError::Invalid(format!("--noise {}: must be a finite value ≥ 0", req.noise)));
    }
    let out_format = OutputFormat::of(&req.output, KSPACE_FORMATS)?;
    check_output(&req.input, &req.output, req.force)?;
    let scan = Scan::open(&req.input)?;
    if !matches!(scan.format, Format::Nifti | Format::Png) {
        return Err(ReconError::format(&req.input, "simulate needs magnitude images (NIfTI or PNG)"));
    }
    let (a, b) = req.slices.unwrap_or((0, scan.num_slices));
    let b = b.min(scan.num_slices);
    if a >= b {
        return Err(ReconError::Invalid(format!(
            "--slices {a}:{b} selects nothing: {} has {} slices",
            req.input.display(),
            scan.num_slices
        )));
    }
    let (h, w) = scan.kspace_shape;
    let sens = kspace::coils::synthetic_sensitivities(req.coils, h, w)?;
    progress.start("slices", (b - a) as u64);
    let slices: Vec<Result<(Array3<C32>, Array2<f32>)>> = (a..b)
        .into_par_iter()
        .map(|i| {
            let image = scan.slice(i)?.reference.unwrap_or_else(|| Array2::zeros((h, w)));
            let mut k = if req.coils == 1 {
                kspace::fft2c(&image.mapv(|v| C32::new(v, 0.0))).insert_axis(Axis(0))
            } else {
                kspace::coils::simulate_coils(&image, &sens)?
            };
            add_noise(&mut k, req.noise, req.seed, i);
            let reference = if req.noise > 0.0 || req.coils > 1 {
                kspace::undersample::rss(&kspace::ifft2c(&k), 0)?
            } else {
                image
            };
            progress.inc(1);
            Ok((k, reference))
        })
        .collect();
    progress.finish();
    let n = b - a;
    let mut kspace = Array4::<C32>::zeros((n, req.coils, h, w));
    let mut reference = Array3::<f32>::zeros((n, h, w));
    for (s, r) in slices.into_iter().enumerate() {
        let (k, img) = r?;
        kspace.index_axis_mut(Axis(0), s).assign(&k);
        reference.index_axis_mut(Axis(0), s).assign(&img);
    }
    check_finite_output(&req.input, "simulated k-space", kspace.iter().flat_map(|v| [v.re, v.im]))?;
    if out_format == OutputFormat::Cfl {
        write_kspace_cfl(&req.output, kspace.view())?;
        return Ok(SimulateReport {
            output: req.output.clone(),
            slices: n,
            coils: req.coils,
            kspace_shape: (h, w),
        });
    }
    let max = reference.iter().cloned().fold(0.0f32, f32::max) as f64;
    let norm = reference.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>().sqrt();
    let (kdata, refname) = if req.coils == 1 {
        (kspace.index_axis_move(Axis(1), 0).into_dyn(), "reconstruction_esc")
    } else {
        (kspace.into_dyn(), "reconstruction_rss")
    };
    let header = ismrmrd_header(h, w);
    let patient = req.input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    write_h5(
        &req.output,
        &[
            ("kspace", H5Data::C64(kdata)),
            (refname, H5Data::F32(reference.into_dyn())),
            ("ismrmrd_header", H5Data::Bytes(header.into_bytes())),
        ],
        &[
            ("acquisition", AttrValue::Str("SIMULATED".into())),
            ("max", AttrValue::Float(max)),
            ("norm", AttrValue::Float(norm)),
            ("patient_id", AttrValue::Str(patient)),
            ("noise_sigma", AttrValue::Float(req.noise)),
            ("seed", AttrValue::Int(req.seed as i64)),
            ("source", AttrValue::Str(format!("recon simulate --coils {} --slices {a}:{b}", req.coils))),
        ],
    )?;
    Ok(SimulateReport { output: req.output.clone(), slices: n, coils: req.coils, kspace_shape: (h, w) })
}

/// A minimal ISMRMRD header: encoded and recon matrix sizes (no padding) and the
/// phase-encode limits, which is what fastMRI's loaders read.
fn ismrmrd_header(h: usize, w: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <encoding>
    <encodedSpace><matrixSize><x>{h}</x><y>{w}</y><z>1</z></matrixSize></encodedSpace>
    <reconSpace><matrixSize><x>{h}</x><y>{w}</y><z>1</z></matrixSize></reconSpace>
    <encodingLimits>
      <kspace_encoding_step_1><minimum>0</minimum><maximum>{}</maximum><center>{}</center></kspace_encoding_step_1>
    </encodingLimits>
  </encoding>
</ismrmrdHeader>
"#,
        w - 1,
        w / 2
    )
}
