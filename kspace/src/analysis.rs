//! Analysis of sampling patterns (works on any [`SamplingMask`]): achieved acceleration,
//! point-spread function, peak-sidelobe ratio and incoherence (Lustig, Donoho & Pauly,
//! "Sparse MRI", MRM 2007).
//!
//! The PSF of a mask is the zero-filled image of a point at the centre:
//! `PSF = |ifft2c(w)| / |ifft2c(w)|[H/2, W/2]` with `w = keep` (plain) or `w = keep / p`
//! (density compensated). Because `w ≥ 0`, the peak is at the centre (H/2, W/2) and the
//! normalised PSF is 1 there; everything else is aliasing/interference leaking from a pixel
//! into the others. Coherent aliasing (regular undersampling) shows up as sidelobes as high as
//! the peak (PSR ≈ 1); random sampling spreads it into noise-like interference (PSR ≪ 1).
//!
//! **Main lobe.** Sidelobe statistics exclude the `(2r+1) × (2r+1)` neighbourhood of the peak,
//! r = [`MAIN_LOBE_RADIUS`] = 1 (the 3×3 block) by default: variable-density masks have a
//! main lobe wider than one pixel (the PSF is the transform of the density, blurred), and
//! counting its shoulders as "sidelobes" would measure resolution, not interference.
//! **1-D masks.** When the mask is the same on every row (fastMRI phase-encode masks) the PSF
//! is exactly zero off the centre row: it is a line, and the statistics are taken on that
//! line only, excluding its central `2r+1` pixels (the 3×3 block restricted to the line).
//! Likewise for masks constant along columns (the centre column). Otherwise the whole plane.

use crate::coils::calibration_region;
use crate::{ifft2c_inplace, SamplingMask, C32};
use ndarray::{Array2, Zip};
use std::fmt;

/// Half-width of the excluded main lobe (1 → the 3×3 block around the peak).
pub const MAIN_LOBE_RADIUS: usize = 1;

/// Which k-space weights the PSF is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsfWeighting {
    /// `keep` as 0/1: the PSF of a plain zero-filled reconstruction.
    Mask,
    /// `keep / p`: the PSF of the density-compensated (unbiased) reconstruction; its
    /// expectation over masks is a perfect delta, so its sidelobes are pure interference.
    Compensated,
}

/// Where the non-zero part of a PSF lives (see the module notes on 1-D masks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsfGeometry {
    /// A genuinely 2-D pattern: statistics over the whole plane.
    Plane,
    /// The mask is constant along H (1-D over columns): the PSF is the centre row.
    Row,
    /// The mask is constant along W (1-D over rows): the PSF is the centre column.
    Column,
}

/// Sidelobe statistics of a normalised PSF (peak 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SidelobeStats {
    /// Peak-sidelobe ratio: max |PSF| outside the main lobe (the peak is 1).
    pub psr: f64,
    /// RMS of |PSF| outside the main lobe, `sqrt(mean |PSF|²)`: the standard deviation of the
    /// (zero-mean, noise-like) interference relative to the peak. For a uniform random mask
    /// keeping a fraction f of N bins it is `sqrt((1 − f) / (f N))`.
    pub incoherence: f64,
}

/// Acceleration actually achieved by a drawn mask: `H·W / (number of kept bins)` (∞ if empty).
pub fn achieved_acceleration(mask: &SamplingMask) -> f64 {
    mask.acceleration()
}

/// Classifies the PSF support of `mask` (see [`PsfGeometry`]). A mask that is constant on
/// both axes (fully sampled or empty) is a `Plane`.
pub fn psf_geometry(mask: &SamplingMask) -> PsfGeometry {
    fn same_rows<T: PartialEq>(a: &Array2<T>) -> bool {
        a.rows().into_iter().all(|r| r == a.row(0))
    }
    fn same_cols<T: PartialEq>(a: &Array2<T>) -> bool {
        a.columns().into_iter().all(|c| c == a.column(0))
    }
    let (h, w) = mask.shape();
    if h == 0 || w == 0 {
        return PsfGeometry::Plane;
    }
    let rows = same_rows(&mask.keep) && same_rows(&mask.prob);
    let cols = same_cols(&mask.keep) && same_cols(&mask.prob);
    match (rows, cols) {
        (true, false) => PsfGeometry::Row,
        (false, true) => PsfGeometry::Column,
        _ => PsfGeometry::Plane,
    }
}

/// The normalised PSF magnitude `|ifft2c(w)| / |ifft2c(w)|[H/2, W/2]` (peak 1 at the centre),
/// `w` = `keep` or `keep / p` per `weighting`. An empty mask gives all zeros.
pub fn point_spread_function(mask: &SamplingMask, weighting: PsfWeighting) -> Array2<f32> {
    let (h, w) = mask.shape();
    let mut k: Array2<C32> = match weighting {
        PsfWeighting::Mask => mask.keep.mapv(|k| C32::new(if k { 1.0 } else { 0.0 }, 0.0)),
        PsfWeighting::Compensated => mask.weights().mapv(|x| C32::new(x, 0.0)),
    };
    if h == 0 || w == 0 {
        return Array2::zeros((h, w));
    }
    ifft2c_inplace(&mut k.view_mut());
    let peak = k[[h / 2, w / 2]].norm();
    let inv = if peak > 0.0 { 1.0 / peak } else { 0.0 };
    k.mapv(|z| z.norm() * inv)
}

/// Sidelobe statistics of a normalised PSF, excluding the main lobe of half-width `radius`
/// around (H/2, W/2) and restricted to the centre row / column for 1-D geometries.
/// Returns zeros when nothing lies outside the main lobe.
pub fn sidelobe_stats(psf: &Array2<f32>, geometry: PsfGeometry, radius: usize) -> SidelobeStats {
    let (h, w) = psf.dim();
    let (ci, cj) = (h / 2, w / 2);
    let in_lobe = |i: usize, j: usize| i.abs_diff(ci) <= radius && j.abs_diff(cj) <= radius;
    let (mut max, mut sum2, mut n) = (0.0f64, 0.0f64, 0usize);
    let mut visit = |i: usize, j: usize| {
        if !in_lobe(i, j) {
            let v = psf[[i, j]] as f64;
            max = max.max(v);
            sum2 += v * v;
            n += 1;
        }
    };
    match geometry {
        PsfGeometry::Plane => Zip::indexed(psf).for_each(|(i, j), _| visit(i, j)),
        PsfGeometry::Row => (0..w).for_each(|j| visit(ci, j)),
        PsfGeometry::Column => (0..h).for_each(|i| visit(i, cj)),
    }
    let incoherence = if n > 0 { (sum2 / n as f64).sqrt() } else { 0.0 };
    SidelobeStats { psr: max, incoherence }
}

/// Peak-sidelobe ratio of the plain mask PSF (3×3 main lobe, line statistics for 1-D masks):
/// 0 for a fully sampled mask, ≈ 1 for regular (coherent) undersampling.
pub fn peak_sidelobe_ratio(mask: &SamplingMask) -> f64 {
    let psf = point_spread_function(mask, PsfWeighting::Mask);
    sidelobe_stats(&psf, psf_geometry(mask), MAIN_LOBE_RADIUS).psr
}

/// Incoherence (RMS interference relative to the peak, see [`SidelobeStats::incoherence`]) of
/// the plain mask PSF.
pub fn incoherence(mask: &SamplingMask) -> f64 {
    let psf = point_spread_function(mask, PsfWeighting::Mask);
    sidelobe_stats(&psf, psf_geometry(mask), MAIN_LOBE_RADIUS).incoherence
}

/// Everything [`analyse`] reports about one drawn mask.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskAnalysis {
    /// Grid (H, W).
    pub shape: (usize, usize),
    /// Number of kept bins.
    pub sampled: usize,
    /// Kept bins / (H·W).
    pub sampled_fraction: f64,
    /// Achieved acceleration (H·W) / kept.
    pub acceleration: f64,
    /// Fraction the family aims for, mean of `prob` (the expected `sampled_fraction` of Bernoulli masks).
    pub expected_fraction: f64,
    /// Fully sampled centre (rows, cols) around DC ([`calibration_region`]), `None` if DC is
    /// not sampled.
    pub calibration: Option<(usize, usize)>,
    /// Whether the PSF is a plane or a line (1-D masks).
    pub geometry: PsfGeometry,
    /// Main-lobe half-width used ([`MAIN_LOBE_RADIUS`]).
    pub main_lobe_radius: usize,
    /// Peak-sidelobe ratio of the plain-mask PSF.
    pub psr: f64,
    /// RMS interference of the plain-mask PSF.
    pub incoherence: f64,
    /// Peak-sidelobe ratio of the density-compensated PSF (`keep / p`).
    pub psr_compensated: f64,
    /// RMS interference of the density-compensated PSF.
    pub incoherence_compensated: f64,
}

/// Analyses a mask: sampling statistics, calibration region, and the sidelobe statistics of
/// both the plain and the density-compensated PSF (3×3 main lobe; lines for 1-D masks).
pub fn analyse(mask: &SamplingMask) -> MaskAnalysis {
    let geometry = psf_geometry(mask);
    let stats = |wt| sidelobe_stats(&point_spread_function(mask, wt), geometry, MAIN_LOBE_RADIUS);
    let plain = stats(PsfWeighting::Mask);
    let comp = stats(PsfWeighting::Compensated);
    let n = mask.keep.len().max(1) as f64;
    MaskAnalysis {
        shape: mask.shape(),
        sampled: mask.count(),
        sampled_fraction: mask.sampled_fraction(),
        acceleration: mask.acceleration(),
        expected_fraction: mask.prob.iter().map(|&p| p.clamp(0.0, 1.0) as f64).sum::<f64>() / n,
        calibration: calibration_region(mask),
        geometry,
        main_lobe_radius: MAIN_LOBE_RADIUS,
        psr: plain.psr,
        incoherence: plain.incoherence,
        psr_compensated: comp.psr,
        incoherence_compensated: comp.incoherence,
    }
}

impl fmt::Display for MaskAnalysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, w) = self.shape;
        writeln!(f, "grid                 {h} × {w} ({:?} PSF)", self.geometry)?;
        writeln!(f, "sampled              {} ({:.4} of bins)", self.sampled, self.sampled_fraction)?;
        writeln!(f, "expected fraction    {:.4}", self.expected_fraction)?;
        writeln!(f, "acceleration         {:.3}", self.acceleration)?;
        match self.calibration {
            Some((r, c)) => writeln!(f, "calibration region   {r} × {c}")?,
            None => writeln!(f, "calibration region   none (DC not sampled)")?,
        }
        writeln!(f, "PSR (mask)           {:.4}", self.psr)?;
        writeln!(f, "incoherence (mask)   {:.5}", self.incoherence)?;
        writeln!(f, "PSR (keep/p)         {:.4}", self.psr_compensated)?;
        write!(f, "incoherence (keep/p) {:.5}", self.incoherence_compensated)
    }
}
