//! ESPIRiT coil sensitivity maps (Uecker, Lai, Murphy, Virtue, Elad, Pauly, Vasanawala &
//! Lustig, "ESPIRiT — an eigenvalue approach to autocalibrating parallel MRI: where SENSE meets
//! GRAPPA", MRM 71 (2014) 990–1001; BART `ecalib`), with a documented fallback for small
//! calibration regions.
//!
//! Steps ([`kernels`] has the formulas):
//! 1. the calibration region: the largest centred fully sampled rectangle of the mask
//!    ([`crate::coils::calibration_region`]), limited to `calib` × `calib` (BART `-r`, 24);
//! 2. calibration matrix of `kernel`×`kernel` patches (BART `-k`, 6), its signal subspace by
//!    eigenvalue threshold `threshold` (BART `-t`, 0.001);
//! 3. per pixel, the `maps` (BART `-m`; BART defaults to 2, we to 1 as `pics` users use
//!    `ecalib -m1`) dominant eigenvectors of the image-space operator;
//! 4. crop: maps are set to zero where their eigenvalue is ≤ `crop` (BART `-c`, 0.8), which
//!    masks the background where no consistent coil signal exists;
//! 5. phase: each pixel's eigenvector has an arbitrary phase; as BART (without `-P`) we rotate
//!    every pixel so that its projection on the first principal component of all maps (a
//!    "virtual coil", the dominant eigenvector of `Σ_r s(r) s(r)ᴴ`) is real and positive —
//!    the maps then vary smoothly and carry the virtual coil's phase.
//!
//! **Narrow bands.** 1-D masks keep every readout row but, at 8×, only ~7 central columns:
//! then ESPIRiT runs with a kernel narrowed across the band and a calibration region grown
//! along it (`band_region` in the source has the rule); [`MapsMethod::Espirit`] records the kernel.
//!
//! **Fallback.** Otherwise, with fewer than `min_calib` fully sampled lines on either axis (default
//! 12 = 2 × kernel; the masks `n2n` and `poisson` at 8× leave only 6–10) the calibration
//! matrix has fewer patches than unknowns and ESPIRiT degrades (BART's maps lose 4–15 dB, or
//! `ecalib` aborts). Then — and when the mask samples no centre at all — the maps are the
//! low-resolution estimate ([`crate::coils::estimate_sensitivities`]) of the density-compensated
//! (`y·keep/p`, unbiased) central `calib`×`calib` region with a Hann window, normalised by the
//! root-sum-of-squares. [`Maps::method`] says which was used. One coil gives maps = 1.

mod kernels;

use crate::coils::{calibration_region, estimate_sensitivities, SensitivityOptions, Window};
use crate::undersample::density_compensate;
use crate::{KspaceError, Result, SamplingMask, C32};
use ndarray::{s, Array3, Array4, ArrayView3, Axis};

/// ESPIRiT settings; defaults are BART `ecalib`'s, except `maps` (1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EspiritOptions {
    /// Kernel size k (BART `-k`, 6).
    pub kernel: usize,
    /// Largest calibration region per axis (BART `-r`, 24).
    pub calib: usize,
    /// Null-space threshold relative to the largest Gram eigenvalue (BART `-t`, 0.001).
    pub threshold: f32,
    /// Eigenvalue crop (BART `-c`, 0.8); 0 keeps maps everywhere.
    pub crop: f32,
    /// Map sets, 1 or 2 (BART `-m`).
    pub maps: usize,
    /// Orthogonal-iteration steps per pixel (BART 30).
    pub iterations: usize,
    /// Below this many fully sampled lines on an axis, use the low-resolution fallback (12).
    pub min_calib: usize,
}

impl Default for EspiritOptions {
    fn default() -> Self {
        EspiritOptions {
            kernel: 6,
            calib: 24,
            threshold: 0.001,
            crop: 0.8,
            maps: 1,
            iterations: 30,
            min_calib: 12,
        }
    }
}

/// Which estimate produced the maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapsMethod {
    /// ESPIRiT on the fully sampled `(rows, cols)` region, with `kernels` signal-space kernels.
    /// `kernel` is the `(ky, kx)` patch size: square (BART's) unless the fully sampled centre
    /// is a narrow band (see [`espirit`]).
    Espirit { calib: (usize, usize), kernel: (usize, usize), kernels: usize },
    /// The low-resolution estimate from the density-compensated central `(rows, cols)`,
    /// because the fully sampled centre was `found` (None: DC not sampled).
    LowResolution { calib: (usize, usize), found: Option<(usize, usize)> },
    /// One coil: maps = 1 everywhere.
    SingleCoil,
}

/// Sensitivity maps and how they were obtained.
#[derive(Debug, Clone)]
pub struct Maps {
    /// `(M, C, H, W)`: M map sets of C coils.
    pub maps: Array4<C32>,
    /// `(M, H, W)`: the eigenvalue of each map set per pixel (ESPIRiT; 1 for the others).
    pub eigenvalues: Array3<f32>,
    pub method: MapsMethod,
}

impl Maps {
    /// The first map set `(C, H, W)` (SENSE maps).
    pub fn first(&self) -> Array3<C32> {
        self.maps.index_axis(Axis(0), 0).to_owned()
    }
}

fn check(opts: &EspiritOptions, nc: usize) -> Result<()> {
    let bad = |m: String| Err(KspaceError::InvalidParameter(m));
    if opts.kernel == 0 || opts.calib < opts.kernel {
        return bad(format!(
            "ESPIRiT kernel {} must be ≥ 1 and ≤ calibration size {}",
            opts.kernel, opts.calib
        ));
    }
    if !(opts.maps >= 1 && opts.maps <= 2.min(nc.max(1))) {
        return bad(format!("ESPIRiT map sets must be 1 or 2 (and ≤ coils {nc}), got {}", opts.maps));
    }
    if !(0.0..1.0).contains(&opts.threshold) || !(0.0..1.0).contains(&opts.crop) {
        return bad(format!("ESPIRiT threshold {} and crop {} must be in [0, 1)", opts.threshold, opts.crop));
    }
    Ok(())
}

/// Maps from multi-coil k-space `(C, H, W)` (centred, DC at (H/2, W/2)) measured with `mask`;
/// ESPIRiT when the fully sampled centre is large enough, otherwise the fallback (module docs).
pub fn espirit(kspace: &ArrayView3<C32>, mask: &SamplingMask, opts: &EspiritOptions) -> Result<Maps> {
    let (nc, h, w) = kspace.dim();
    if nc == 0 || h == 0 || w == 0 {
        return Err(KspaceError::InvalidParameter(format!(
            "sensitivity maps need ≥ 1 coil and a non-empty grid, got {:?}",
            kspace.shape()
        )));
    }
    if mask.shape() != (h, w) {
        return Err(KspaceError::Shape(format!("mask {:?} does not match k-space ({h}, {w})", mask.shape())));
    }
    check(opts, nc)?;
    if nc == 1 {
        return Ok(Maps {
            maps: Array4::from_elem((1, 1, h, w), C32::new(1.0, 0.0)),
            eigenvalues: Array3::ones((1, h, w)),
            method: MapsMethod::SingleCoil,
        });
    }
    let found = calibration_region(mask);
    let enough = |n: usize| n >= opts.min_calib.max(opts.kernel);
    match found {
        Some((rh, rw)) if enough(rh.min(h)) && enough(rw.min(w)) => {
            espirit_calibrated(kspace, (rh.min(opts.calib), rw.min(opts.calib)), opts)
        }
        Some((rh, rw)) => match band_region(nc, (rh.min(h), rw.min(w)), opts) {
            Some((calib, kernel)) => espirit_region(kspace, calib, kernel, opts),
            None => low_resolution(kspace, mask, opts, found),
        },
        None => low_resolution(kspace, mask, opts, found),
    }
}

/// Narrowest band of fully sampled lines that still gets ESPIRiT rather than the fallback.
pub const MIN_BAND: usize = 5;

/// ESPIRiT on a narrow band: 1-D masks at high acceleration keep every readout row but only
/// `n < min_calib` central phase-encode columns (7 of 181 at fastMRI's 8×/4 %), too few for a
/// square `k×k` kernel, yet the band holds thousands of fully sampled samples. With
/// `MIN_BAND ≤ n`, the kernel becomes `k × max(2, n/2)` across the band (`n − kx + 1 ≥ 3`
/// patch positions) and the calibration region grows along the band until the calibration
/// matrix has at least twice as many patches as unknowns (`C·ky·kx`), within the band and at
/// most `4·calib` lines; it stays `calib` when that is enough. `None` when the band is too
/// narrow, or its long side too short, for that: the low-resolution fallback is used.
fn band_region(
    nc: usize,
    (rh, rw): (usize, usize),
    opts: &EspiritOptions,
) -> Option<((usize, usize), (usize, usize))> {
    let (short, long, rows_short) = if rh < rw { (rh, rw, true) } else { (rw, rh, false) };
    let k = opts.kernel;
    if short < MIN_BAND || long < opts.min_calib.max(k) {
        return None;
    }
    let ks = (short / 2).max(2).min(k);
    let patches_short = short - ks + 1;
    let unknowns = nc * k * ks;
    let want = (2 * unknowns).div_ceil(patches_short) + k - 1;
    let cl = want.clamp(opts.calib.min(long), (4 * opts.calib).min(long));
    if (cl - k + 1) * patches_short < unknowns {
        return None;
    }
    Some(if rows_short { ((short, cl), (ks, k)) } else { ((cl, short), (k, ks)) })
}

/// ESPIRiT on the fully sampled centred region `calib = (rows, cols)` (no fallback: errors if
/// the region is smaller than the kernel or holds no signal).
pub fn espirit_calibrated(
    kspace: &ArrayView3<C32>,
    calib: (usize, usize),
    opts: &EspiritOptions,
) -> Result<Maps> {
    espirit_region(kspace, calib, (opts.kernel, opts.kernel), opts)
}

/// ESPIRiT on the centred region `calib` with a `(ky, kx)` kernel (`opts.kernel` is ignored).
fn espirit_region(
    kspace: &ArrayView3<C32>,
    calib: (usize, usize),
    kernel: (usize, usize),
    opts: &EspiritOptions,
) -> Result<Maps> {
    let (nc, h, w) = kspace.dim();
    check(opts, nc)?;
    let (ch, cw) = (calib.0.min(h), calib.1.min(w));
    let (r0, c0) = (h / 2 - ch / 2, w / 2 - cw / 2);
    let cal = kspace.slice(s![.., r0..r0 + ch, c0..c0 + cw]);
    let (p, kept) = kernels::signal_projector(&cal, kernel, opts.threshold)?;
    let (mut maps, eig) = kernels::image_space_eigen(&p, nc, kernel, (h, w), opts.maps, opts.iterations);
    for (mut set, ev) in maps.outer_iter_mut().zip(eig.outer_iter()) {
        normalise_phase(&mut set);
        for c in 0..nc {
            ndarray::Zip::from(set.index_axis_mut(Axis(0), c)).and(&ev).for_each(|s, &e| {
                if e <= opts.crop {
                    *s = C32::new(0.0, 0.0)
                }
            });
        }
    }
    Ok(Maps {
        maps,
        eigenvalues: eig,
        method: MapsMethod::Espirit { calib: (ch, cw), kernel, kernels: kept },
    })
}

/// The low-resolution maps on request (`--maps lowres`): the fallback of [`espirit`] — RSS-
/// normalised maps of the density-compensated, Hann-windowed central `calib`×`calib` region —
/// whatever the calibration region. One coil gives maps = 1.
pub fn low_resolution_maps(kspace: &ArrayView3<C32>, mask: &SamplingMask, calib: usize) -> Result<Maps> {
    let (nc, h, w) = kspace.dim();
    if nc == 0 || h == 0 || w == 0 || calib == 0 {
        return Err(KspaceError::InvalidParameter(format!(
            "low-resolution maps need ≥ 1 coil, a non-empty grid and calibration size, got {:?} and {calib}",
            kspace.shape()
        )));
    }
    if mask.shape() != (h, w) {
        return Err(KspaceError::Shape(format!("mask {:?} does not match k-space ({h}, {w})", mask.shape())));
    }
    if nc == 1 {
        return espirit(kspace, mask, &EspiritOptions::default());
    }
    let opts = EspiritOptions { calib, ..Default::default() };
    low_resolution(kspace, mask, &opts, calibration_region(mask))
}

/// The fallback: RSS-normalised low-resolution maps of the density-compensated centre.
fn low_resolution(
    kspace: &ArrayView3<C32>,
    mask: &SamplingMask,
    opts: &EspiritOptions,
    found: Option<(usize, usize)>,
) -> Result<Maps> {
    let (_, h, w) = kspace.dim();
    let mut dc = density_compensate(kspace, mask)?;
    dc.mapv_inplace(|z| if z.re.is_finite() && z.im.is_finite() { z } else { C32::new(0.0, 0.0) });
    let calib = (opts.calib.min(h), opts.calib.min(w));
    let sopts = SensitivityOptions { window: Window::Hann, threshold: 0.0 };
    let s = estimate_sensitivities(&dc, calib, &sopts)?;
    if s.iter().all(|z| z.norm_sqr() == 0.0) {
        return Err(KspaceError::InvalidParameter(
            "no signal in the central k-space region: cannot estimate maps".into(),
        ));
    }
    Ok(Maps {
        maps: s.insert_axis(Axis(0)),
        eigenvalues: Array3::ones((1, h, w)),
        method: MapsMethod::LowResolution { calib, found },
    })
}

/// Rotate each pixel's coil vector so that its inner product with the first principal
/// component of all pixels' vectors is real and ≥ 0 (module docs, step 5).
fn normalise_phase(set: &mut ndarray::ArrayViewMut3<C32>) {
    let nc = set.dim().0;
    let mut cov = crate::linalg::Mat::zeros(nc);
    for lane in set.lanes(Axis(0)) {
        for a in 0..nc {
            for b in a..nc {
                let z = lane[a] * lane[b].conj();
                cov.a[a * nc + b] += num_complex::Complex64::new(z.re as f64, z.im as f64);
            }
        }
    }
    let (_, v) = crate::linalg::eigh(&cov);
    let pc: Vec<C32> = (0..nc).map(|c| C32::new(v.get(c, 0).re as f32, v.get(c, 0).im as f32)).collect();
    for mut lane in set.lanes_mut(Axis(0)) {
        let p: C32 = lane.iter().zip(&pc).map(|(s, v)| v.conj() * s).sum();
        let n = p.norm();
        if n > 0.0 {
            let rot = p.conj() / n;
            lane.mapv_inplace(|z| z * rot);
        }
    }
}
