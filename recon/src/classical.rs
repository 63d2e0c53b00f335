//! The classical reconstructions of one slice — SENSE, L1-wavelet compressed sensing and
//! total variation (BART `pics -l2`, `-l1`, `-R T`) with ESPIRiT or low-resolution coil maps —
//! and the names and options `recon --method` chooses them with.
//!
//! Per slice: undersampled k-space `y` (C × H × W) → maps `S` ([`slice_maps`]: ESPIRiT, with
//! `kspace::espirit`'s automatic fallback to low-resolution maps when the fully sampled centre
//! is too small, or the low-resolution maps on request) → the operator `A = M·F·S` → the solver
//! (data scaled as BART's `-S`, so λ means what it means in BART) → `|x|` of the one map set,
//! centre-cropped to the reconstruction size like the zero-filled image.
//!
//! **Scale.** The maps are normalised to unit norm per pixel (`Σ_c |s_c|² = 1`: ESPIRiT's
//! eigenvectors, or the low-resolution maps divided by their RSS), so the least-squares image
//! `x = Σ_c conj(s_c)·m_c` of coil images `m_c = s_c·ρ` is `ρ`, and `|x|` equals the RSS
//! `√(Σ_c |m_c|²) = |ρ|` of fully sampled data: the reconstructions are compared with the RSS
//! reference without any further factor. (ESPIRiT's crop sets the maps to 0 where no coil
//! signal is consistent, i.e. in the background, where the reference is noise near 0.)
//! One coil: maps = 1, and `|x|` is the magnitude image.

use crate::error::Result;
use kspace::espirit::{espirit, low_resolution_maps, EspiritOptions, Maps, MapsMethod};
use kspace::operator::SenseOperator;
use kspace::pics::{self, PicsOptions, TvOptions};
pub use kspace::pics::{CycleSpinning, FinalStep};
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3};

/// One reconstruction method of `recon --method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// The trained network plus data consistency (`crate::network`).
    Network,
    /// Inverse FFT of the zero-filled k-space, coil-combined by RSS.
    ZeroFilled,
    /// SENSE: CG on `(AᴴA + λI) x = Aᴴ y` (BART `pics -l2 -r λ`).
    Sense,
    /// L1-wavelet compressed sensing by FISTA (BART `pics -l1 -r λ`).
    Cs,
    /// Total-variation compressed sensing by ADMM (BART `pics -R T:3:0:λ`).
    Tv,
}

impl Method {
    /// The classical methods that need coil maps, in table order.
    pub const CLASSICAL: [Method; 3] = [Method::Sense, Method::Cs, Method::Tv];

    /// The name in reports, tables and h5 datasets (`reconstruction_<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Network => "network",
            Method::ZeroFilled => "zero_filled",
            Method::Sense => "sense",
            Method::Cs => "cs",
            Method::Tv => "tv",
        }
    }

    /// Whether the method solves with the coil maps (SENSE, CS, TV).
    pub fn is_classical(self) -> bool {
        Method::CLASSICAL.contains(&self)
    }
}

/// What `--method` asks for: one method, or every method for a comparison table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChoice {
    One(Method),
    /// Zero-filled, SENSE, CS, TV, and the network when a model applies.
    All,
}

impl MethodChoice {
    /// The name recorded in manifests (`all` or the method's name).
    pub fn name(self) -> &'static str {
        match self {
            MethodChoice::One(m) => m.name(),
            MethodChoice::All => "all",
        }
    }

    /// The methods to run besides zero-filled, which always runs (the baseline of the table
    /// and the `zero_filled` dataset).
    pub fn methods(self) -> Vec<Method> {
        match self {
            MethodChoice::One(Method::ZeroFilled) => Vec::new(),
            MethodChoice::One(m) => vec![m],
            MethodChoice::All => vec![Method::Sense, Method::Cs, Method::Tv, Method::Network],
        }
    }

    /// The method of the `reconstruction` dataset: the one asked for (the network falls back
    /// to zero-filled when no model applies); for `all`, the network when a model applies,
    /// else CS.
    pub fn primary(self, has_model: bool) -> Method {
        match self {
            MethodChoice::One(Method::Network) if !has_model => Method::ZeroFilled,
            MethodChoice::One(m) => m,
            MethodChoice::All if has_model => Method::Network,
            MethodChoice::All => Method::Cs,
        }
    }
}

/// Which sensitivity maps the classical methods use (`--maps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapsChoice {
    /// ESPIRiT, falling back to the low-resolution maps when the fully sampled centre has
    /// fewer than `min_calib` (12) lines on an axis or no centre at all.
    #[default]
    Espirit,
    /// The low-resolution maps (RSS-normalised, Hann-windowed, density-compensated centre).
    LowRes,
}

impl MapsChoice {
    pub fn name(self) -> &'static str {
        match self {
            MapsChoice::Espirit => "espirit",
            MapsChoice::LowRes => "lowres",
        }
    }
}

/// Default regularisation λ of every classical method: BART's usual `-r 0.01` (on data scaled
/// as BART's `-S`, [`kspace::pics::bart_scaling`]). For SENSE it is a light Tikhonov weight
/// that stops CG's noise amplification at high acceleration without visible bias.
pub const DEFAULT_LAMBDA: f32 = 0.01;
/// Default CG iterations of SENSE (BART `pics -i`, 30).
pub const DEFAULT_SENSE_ITERATIONS: usize = 30;
/// Default FISTA / ADMM iterations of CS and TV (50: converged to within ~0.1 dB on the sample
/// scan; BART's 30 is not quite).
pub const DEFAULT_CS_ITERATIONS: usize = 50;

/// Options of the classical methods; `None` takes the method's default.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClassicalOptions {
    /// λ (`--lambda`), default `DEFAULT_LAMBDA`.
    pub lambda: Option<f32>,
    /// Iterations (`--iterations`), default `DEFAULT_SENSE_ITERATIONS` /
    /// `DEFAULT_CS_ITERATIONS`.
    pub iterations: Option<usize>,
    pub maps: MapsChoice,
    /// How `cs` moves its wavelet grid (`--cycle-spinning`; default translation-invariant,
    /// see `kspace::pics::CycleSpinning`).
    pub cycle_spinning: CycleSpinning,
    /// The image `cs` returns (`--final-step`; default BART ≤ 0.9's last data-consistency
    /// step, see `kspace::pics::FinalStep`).
    pub final_step: FinalStep,
}

impl ClassicalOptions {
    /// λ for `method`.
    pub fn lambda(&self) -> f32 {
        self.lambda.unwrap_or(DEFAULT_LAMBDA)
    }

    /// Iterations for `method`.
    pub fn iterations(&self, method: Method) -> usize {
        self.iterations.unwrap_or(match method {
            Method::Sense => DEFAULT_SENSE_ITERATIONS,
            _ => DEFAULT_CS_ITERATIONS,
        })
    }
}

/// Coil maps of one slice of undersampled k-space `y` (C × H × W, zero where not sampled):
/// ESPIRiT with BART's defaults (one map set) and its documented fallback, or the
/// low-resolution maps on request. One coil: maps = 1.
pub fn slice_maps(y: &Array3<C32>, mask: &SamplingMask, choice: MapsChoice) -> Result<Maps> {
    let opts = EspiritOptions::default();
    Ok(match choice {
        MapsChoice::Espirit => espirit(&y.view(), mask, &opts)?,
        MapsChoice::LowRes => low_resolution_maps(&y.view(), mask, opts.calib)?,
    })
}

/// One slice's classical reconstruction ([`classical_slice`]).
#[derive(Debug, Clone)]
pub struct ClassicalSlice {
    /// `|x|` of the first map set, cropped.
    pub image: Array2<f32>,
    /// Applications of `AᴴA` the solver spent ([`kspace::pics::PicsResult::normal_applications`]).
    pub normal_applications: usize,
}

/// One classical reconstruction of one slice: `|x|` of the first map set, cropped to `crop`.
/// `y` is the undersampled k-space, `maps` from [`slice_maps`].
pub fn classical_slice(
    method: Method,
    y: &Array3<C32>,
    mask: &SamplingMask,
    maps: &Maps,
    opts: &ClassicalOptions,
    crop: (usize, usize),
) -> Result<ClassicalSlice> {
    let mut op = SenseOperator::new(maps.first(), mask)?;
    let popts = PicsOptions {
        lambda: opts.lambda(),
        iterations: opts.iterations(method),
        cycle_spinning: opts.cycle_spinning,
        final_step: opts.final_step,
        ..Default::default()
    };
    let result = match method {
        Method::Sense => pics::sense(&mut op, &y.view(), &popts)?,
        Method::Cs => pics::l1_wavelet(&mut op, &y.view(), &popts)?,
        Method::Tv => pics::total_variation(&mut op, &y.view(), &popts, &TvOptions::default())?,
        Method::Network | Method::ZeroFilled => {
            return Err(crate::ReconError::Invalid(format!("{} is not a classical method", method.name())))
        }
    };
    let magnitude = result.first_map_set().mapv(|z| z.norm());
    Ok(ClassicalSlice {
        image: kspace::undersample::center_crop(&magnitude, crop)?,
        normal_applications: result.normal_applications,
    })
}

/// Words for the maps of a volume, from each slice's [`MapsMethod`]: e.g. `ESPIRiT
/// (calibration 24x24)`, or the fallback and why; several kinds are listed with their slice
/// counts.
pub fn describe_maps(methods: &[MapsMethod], choice: MapsChoice) -> String {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for m in methods {
        let d = describe(m, choice);
        match kinds.iter_mut().find(|(k, _)| *k == d) {
            Some((_, n)) => *n += 1,
            None => kinds.push((d, 1)),
        }
    }
    if kinds.len() == 1 {
        return kinds.remove(0).0;
    }
    kinds.iter().map(|(k, n)| format!("{k} on {n} slice(s)")).collect::<Vec<_>>().join("; ")
}

fn describe(m: &MapsMethod, choice: MapsChoice) -> String {
    match m {
        MapsMethod::Espirit { calib, kernel, .. } if kernel.0 != kernel.1 => {
            format!("ESPIRiT (calibration {}x{}, kernel {}x{})", calib.0, calib.1, kernel.0, kernel.1)
        }
        MapsMethod::Espirit { calib, .. } => format!("ESPIRiT (calibration {}x{})", calib.0, calib.1),
        MapsMethod::LowResolution { calib, .. } if choice == MapsChoice::LowRes => {
            format!("low-resolution (as requested; central {}x{})", calib.0, calib.1)
        }
        MapsMethod::LowResolution { calib, found } => {
            let why = match found {
                Some((r, c)) => format!("the fully sampled centre {r}x{c} is too small for ESPIRiT"),
                None => "the mask has no fully sampled centre".into(),
            };
            format!("low-resolution fallback (central {}x{}; {why})", calib.0, calib.1)
        }
        MapsMethod::SingleCoil => "ones (single coil)".into(),
    }
}
