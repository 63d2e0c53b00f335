//! Sampling-mask families behind one interface, chosen by name (like fastMRI's
//! `create_mask_for_mask_type`).
//!
//! ```
//! use kspace::mask::{self, MaskParams};
//! let func = mask::from_name("random", &MaskParams::default()).unwrap(); // 4×, 8 % centre
//! let m = func.sample((640, 368), 42).unwrap();
//! assert_eq!(m.columns.as_ref().unwrap().len(), 368);
//! ```
//!
//! Every family draws from a [`MaskRng`] (numpy's `RandomState`), so the fastMRI families give
//! the *same* mask as fastMRI's `subsample.py` for the same seed, and returns a
//! [`SamplingMask`] holding both the drawn flags and each bin's keep probability `p` (the
//! density that `1/p` compensation divides by). Shapes are (H, W), W the phase-encode axis,
//! DC at (H/2, W/2) (numpy `fftshift` convention).
//!
//! | name | kind | keep probability |
//! |---|---|---|
//! | `random` | 1-D, fastMRI | exact |
//! | `equispaced`, `equispaced_fraction`, `magic`, `magic_fraction` | 1-D, fastMRI | exact over the random offset |
//! | `gaussian1d`, `gaussian` | 1-D / 2-D Bernoulli | exact |
//! | `n2n` | 2-D Bernoulli, conjugate-symmetric | exact |
//! | `poisson` | 2-D Poisson disc | local-density estimate |
//! | `radial` | 2-D golden-angle spokes | rotation-averaged estimate |
//!
//! Each family's file documents its exact formula.

mod cartesian;
mod equispaced;
mod family;
mod gaussian;
mod magic;
mod n2n;
mod poisson;
mod radial;
mod random;
mod spec;

pub use equispaced::{EquispacedFractionMask, EquispacedMask};
pub use family::{MaskFamily, Param};
pub use gaussian::{Gaussian1dMask, Gaussian2dMask};
pub use magic::{MagicFractionMask, MagicMask};
pub use n2n::N2nMask;
pub use poisson::PoissonMask;
pub use radial::RadialMask;
pub use random::RandomMask;
pub use spec::{MaskSpec, FILE_PREFIX};

use crate::rng::MaskRng;
use crate::{KspaceError, Result, SamplingMask};

/// Every mask family, in `--help` order: the one table that names, `--help`, validation,
/// [`from_name`] and [`MaskSpec`] read. Each family's file declares its row beside its
/// formula; adding a family is that file (with `mod`) plus its row here.
pub const FAMILIES: &[MaskFamily] = &[
    random::FAMILY,
    equispaced::EQUISPACED,
    equispaced::EQUISPACED_FRACTION,
    magic::MAGIC,
    magic::MAGIC_FRACTION,
    gaussian::GAUSSIAN_1D,
    gaussian::GAUSSIAN_2D,
    poisson::FAMILY,
    radial::FAMILY,
    n2n::FAMILY,
];

/// The Noise2Noise paper's family (`n2n`), the default of training.
pub const N2N: &MaskFamily = &n2n::FAMILY;

/// Every family's name, in [`FAMILIES`] order (read from the table).
pub const NAMES: &[&str] = &{
    let mut names = [""; FAMILIES.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = FAMILIES[i].name;
        i += 1;
    }
    names
};

/// `(name, one-line description)` of every family, in [`FAMILIES`] order (read from the table).
pub const DESCRIPTIONS: &[(&str, &str)] = &{
    let mut rows = [("", ""); FAMILIES.len()];
    let mut i = 0;
    while i < rows.len() {
        rows[i] = (FAMILIES[i].name, FAMILIES[i].description);
        i += 1;
    }
    rows
};

/// The family called `name` (case-insensitive, `-` same as `_`); the error lists [`NAMES`].
pub fn family(name: &str) -> Result<&'static MaskFamily> {
    let name = normalise(name);
    FAMILIES.iter().find(|f| f.name == name).ok_or_else(|| KspaceError::UnknownMask(name, NAMES.join(", ")))
}

/// The one-line description of a family (for `--help`), `None` if unknown.
pub fn description(name: &str) -> Option<&'static str> {
    family(name).ok().map(|f| f.description)
}

/// Parameters shared by all families; each family reads the ones it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskParams {
    /// Target acceleration R > 1 (kept fraction 1/R). Integer for `equispaced` and `magic`.
    /// Ignored by `n2n` when `p_edge` is set.
    pub acceleration: f64,
    /// Fraction of phase-encode columns fully sampled at the centre, in [0, 1) (fastMRI's
    /// `center_fractions`). 2-D families use it for their calibration box unless `calib` is
    /// set; `radial` and `n2n` have no calibration region and ignore it.
    pub center_fraction: f64,
    /// `n2n` only: keep probability at `r_edge = (min(H, W) − 1)/2` bins from DC, in (0, 1];
    /// sets `λ = −ln(p_edge)/r_edge` (the paper: 0.025 on 255², ≈ 10.5 % kept) instead of
    /// solving λ for `acceleration`.
    pub p_edge: Option<f64>,
    /// `gaussian`/`poisson`: fully sampled calibration box (rows, cols) at the centre; default
    /// `(round(H·cf), round(W·cf))`.
    pub calib: Option<(usize, usize)>,
    /// Equispaced/magic families: fixed offset (fastMRI's `offset` argument) instead of a
    /// random one. The keep probability stays the average over random offsets.
    pub offset: Option<usize>,
    /// `gaussian`/`gaussian1d`: standard deviation of the density in units of the half-width
    /// (k-space edge at ±1); default 0.5.
    pub sigma: Option<f64>,
}

impl Default for MaskParams {
    /// fastMRI's usual 4× with 8 % centre.
    fn default() -> Self {
        MaskParams {
            acceleration: 4.0,
            center_fraction: 0.08,
            p_edge: None,
            calib: None,
            offset: None,
            sigma: None,
        }
    }
}

impl MaskParams {
    /// `acceleration` and `center_fraction`, the rest default.
    pub fn new(acceleration: f64, center_fraction: f64) -> Self {
        MaskParams { acceleration, center_fraction, ..Default::default() }
    }
}

/// A mask family: draws a [`SamplingMask`] for a k-space shape from a seeded generator.
pub trait MaskFunc: Send + Sync + std::fmt::Debug {
    /// The family name, as given to [`from_name`].
    fn name(&self) -> &str;

    /// Draw a mask for `shape = (H, W)` using (and advancing) `rng`. Errors if the shape is
    /// too small for the parameters.
    fn sample_with_rng(&self, shape: (usize, usize), rng: &mut MaskRng) -> Result<SamplingMask>;

    /// Draw with `RandomState(seed)` — fastMRI's `mask_func(shape, seed=seed)`.
    fn sample(&self, shape: (usize, usize), seed: u32) -> Result<SamplingMask> {
        self.sample_with_rng(shape, &mut MaskRng::from_seed(seed))
    }

    /// Draw with fastMRI's per-volume seed `tuple(map(ord, fname))`, so all slices of one
    /// volume share a mask.
    fn sample_for_file(&self, shape: (usize, usize), fname: &str) -> Result<SamplingMask> {
        self.sample_with_rng(shape, &mut MaskRng::from_file_name(fname)?)
    }
}

/// Build the family `name` (case-insensitive, `-` same as `_`; see [`NAMES`]) with `params`,
/// validating every parameter that does not depend on the shape ([`MaskFamily::check`]).
pub fn from_name(name: &str, params: &MaskParams) -> Result<Box<dyn MaskFunc>> {
    family(name)?.build(params)
}

pub(crate) fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

pub(crate) fn invalid(msg: impl Into<String>) -> KspaceError {
    KspaceError::InvalidParameter(msg.into())
}

/// `equispaced`/`magic` step through columns by the acceleration, so it must be an integer.
pub(crate) fn integer_acceleration(name: &str, acc: f64) -> Result<usize> {
    let r = acc.round();
    if (acc - r).abs() > 1e-9 {
        return Err(invalid(format!(
            "mask '{name}' needs an integer acceleration (got {acc}); use '{name}_fraction' for any value"
        )));
    }
    Ok(r as usize)
}

/// Python 3's `round()` on a float: round half to even (fastMRI rounds with it).
pub(crate) fn py_round(x: f64) -> f64 {
    x.round_ties_even()
}

/// Errors unless `H ≥ min_h` and `W ≥ min_w`.
pub(crate) fn check_shape(name: &str, shape: (usize, usize), min_h: usize, min_w: usize) -> Result<()> {
    if shape.0 < min_h || shape.1 < min_w {
        return Err(invalid(format!(
            "mask '{name}' needs a shape of at least {min_h}×{min_w}, got {}×{}",
            shape.0, shape.1
        )));
    }
    Ok(())
}

/// fastMRI's centre block along an axis of length `n` with `c` fully sampled entries:
/// indices `start..start + c` with `start = (n − c + 1) // 2` (it contains DC at `n/2`).
pub(crate) fn centre_range(n: usize, c: usize) -> std::ops::Range<usize> {
    let start = (n - c).div_ceil(2);
    start..start + c
}

/// Solve `f(x) = target` for `x ∈ [lo, hi]` by bisection, `f` non-decreasing. 200 halvings
/// or until the bracket stops shrinking (machine precision).
pub(crate) fn bisect(mut lo: f64, mut hi: f64, target: f64, f: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Scale `density` (values in (0, 1]) so that `Σ min(1, s·density) = target`, returning the
/// probabilities. `target` must lie in [0, len]; used by the Gaussian families.
pub(crate) fn scale_to_sum(density: &[f64], target: f64) -> Vec<f64> {
    let min = density.iter().cloned().fold(f64::INFINITY, f64::min);
    let sum = |s: f64| density.iter().map(|&d| (s * d).min(1.0)).sum::<f64>();
    let s = if density.is_empty() || target <= 0.0 { 0.0 } else { bisect(0.0, 1.0 / min, target, sum) };
    density.iter().map(|&d| (s * d).min(1.0)).collect()
}
