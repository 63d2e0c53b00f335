//! `recon --input scan --mask NAME`: reconstruct one scan and report its quality.

use super::MaskOpts;
use crate::output::{metrics_table, print_json};
use crate::progress::Bar;
use clap::Args as ClapArgs;
use recon::reconstruct::{reconstruct, ReconRequest};
use recon::ModelChoice;
use recon::{ClassicalOptions, CycleSpinning, FinalStep, MapsChoice, Method, MethodChoice};
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Input scan: fastMRI .h5 (single- or multi-coil), NIfTI .nii/.nii.gz (each axial slice,
    /// along the voxel axis closest to superior-inferior, a magnitude image whose k-space is
    /// simulated), PNG, or BART .cfl (or its base name).
    #[arg(long, short, required = true)]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub mask: MaskOpts,
    /// Seed of the mask (numpy RandomState-compatible: fastMRI's masks for the same seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Output, format by extension: .h5 (reconstruction, zero_filled, mask, attributes),
    /// .nii/.nii.gz (the reconstruction in the input's space), .cfl (BART complex images) or
    /// .png (middle slice). Default: <input name>.recon.h5 in the current directory.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Divide kept samples by their keep probability before the inverse FFT (unbiased, noisier).
    #[arg(long)]
    pub density_compensate: bool,
    /// Seed the mask with the input's file name (fastMRI's per-volume seed), as `recon batch`
    /// does: reproduces one volume of a batch exactly. Replaces --seed.
    #[arg(long)]
    pub seed_from_name: bool,
    /// A trained model (`recon train`): network + data consistency; or a built-in model by
    /// name, `default-cartesian` or `default-n2n` (an existing file of that name wins).
    /// Without it, the built-in model matching the mask is used (n2n for 2-D masks,
    /// Cartesian for 1-D masks).
    #[arg(long, conflicts_with = "no_model")]
    pub model: Option<PathBuf>,
    /// Zero-filled reconstruction only: no network (as --method zero-filled).
    #[arg(long)]
    pub no_model: bool,
    /// Scan-specific adaptation: fine-tune an unrolled model on each slice's own measured
    /// samples for N steps (self-supervised splits) before reconstructing it (0 to 10000).
    #[arg(long, default_value_t = 0, value_parser = super::bounded(0..=10_000), conflicts_with = "no_model")]
    pub adapt: usize,
    #[command(flatten)]
    pub method: MethodOpts,
    #[command(flatten)]
    pub write: super::WriteOpts,
}

/// `--method`: which reconstruction.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodArg {
    /// The network (--model, or the built-in model matching the mask) plus data consistency;
    /// zero-filled when no model applies.
    Network,
    /// Inverse FFT of the zero-filled k-space, RSS coil combination.
    ZeroFilled,
    /// SENSE by conjugate gradients with Tikhonov λ (BART `pics -l2 -r λ`).
    Sense,
    /// L1-wavelet compressed sensing by FISTA (BART `pics -l1 -r λ`).
    Cs,
    /// Total-variation compressed sensing by ADMM (BART `pics -R T:3:0:λ`).
    Tv,
    /// Every method (and the network when a model applies): one comparison table.
    All,
}

/// `--maps`: the coil sensitivity maps of sense, cs and tv.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapsArg {
    /// ESPIRiT (BART `ecalib -m1`); low-resolution maps when the fully sampled centre has
    /// fewer than 12 lines on an axis (the report says which).
    Espirit,
    /// Low-resolution maps: the density-compensated, Hann-windowed central 24x24, RSS-normalised.
    Lowres,
}

impl From<MapsArg> for MapsChoice {
    fn from(m: MapsArg) -> Self {
        match m {
            MapsArg::Espirit => MapsChoice::Espirit,
            MapsArg::Lowres => MapsChoice::LowRes,
        }
    }
}

/// `--cycle-spinning`: how cs moves its wavelet grid.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleSpinningArg {
    /// Average the threshold over four fixed shifted grids: one fixed problem, the same image
    /// for any seed and iteration count once converged.
    Invariant,
    /// One random grid shift per iteration (BART `pics -l1`'s default); the image depends on
    /// the draws.
    Random,
    /// One fixed grid (BART `pics -n`).
    None,
}

impl From<CycleSpinningArg> for CycleSpinning {
    fn from(c: CycleSpinningArg) -> Self {
        match c {
            CycleSpinningArg::Invariant => CycleSpinning::Invariant,
            CycleSpinningArg::Random => CycleSpinning::Random,
            CycleSpinningArg::None => CycleSpinning::None,
        }
    }
}

/// `--final-step`: the image cs returns.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalStepArg {
    /// The last thresholded image followed by one data-consistency (gradient) step, as BART
    /// `pics` up to v0.9 returns it.
    DataConsistency,
    /// The last thresholded image, the problem's minimiser once converged (BART 1.0).
    Threshold,
}

impl From<FinalStepArg> for FinalStep {
    fn from(f: FinalStepArg) -> Self {
        match f {
            FinalStepArg::DataConsistency => FinalStep::DataConsistency,
            FinalStepArg::Threshold => FinalStep::Threshold,
        }
    }
}

/// The reconstruction method and the classical methods' options, shared with `recon batch`.
#[derive(ClapArgs, Debug, Clone)]
pub struct MethodOpts {
    /// Reconstruction method: network (default), zero-filled, sense, cs, tv, or all.
    #[arg(long, value_enum, default_value_t = MethodArg::Network)]
    pub method: MethodArg,
    #[command(flatten)]
    pub classical: ClassicalArgs,
}

/// λ, iterations and maps of sense, cs and tv (shared by `recon`, `recon batch`, `recon study`).
#[derive(ClapArgs, Debug, Clone)]
pub struct ClassicalArgs {
    /// Regularisation λ of sense, cs and tv, on data scaled as BART's `-S` (default 0.01, as
    /// BART's usual `-r 0.01`).
    #[arg(long, value_parser = |s: &str| super::finite_in(s, 0.0, 1e6, false))]
    pub lambda: Option<f64>,
    /// Iterations of sense (CG, default 30) or cs and tv (FISTA / ADMM, default 50).
    #[arg(long, value_parser = super::bounded(1..=10_000))]
    pub iterations: Option<usize>,
    /// Coil maps of sense, cs and tv.
    #[arg(long, value_enum, default_value_t = MapsArg::Espirit)]
    pub maps: MapsArg,
    /// How cs moves its wavelet grid between thresholds.
    #[arg(long, value_enum, default_value_t = CycleSpinningArg::Invariant)]
    pub cycle_spinning: CycleSpinningArg,
    /// The image cs returns.
    #[arg(long, value_enum, default_value_t = FinalStepArg::DataConsistency)]
    pub final_step: FinalStepArg,
}

impl MethodArg {
    /// The library's method choice for this value.
    pub fn choice(self) -> MethodChoice {
        match self {
            MethodArg::Network => MethodChoice::One(Method::Network),
            MethodArg::ZeroFilled => MethodChoice::One(Method::ZeroFilled),
            MethodArg::Sense => MethodChoice::One(Method::Sense),
            MethodArg::Cs => MethodChoice::One(Method::Cs),
            MethodArg::Tv => MethodChoice::One(Method::Tv),
            MethodArg::All => MethodChoice::All,
        }
    }
}

impl MethodOpts {
    /// The library's method choice; `--no-model` makes the network zero-filled.
    pub fn choice(&self, no_model: bool) -> MethodChoice {
        match self.method {
            MethodArg::Network if no_model => MethodChoice::One(Method::ZeroFilled),
            m => m.choice(),
        }
    }

    /// λ, iterations and maps.
    pub fn classical(&self) -> ClassicalOptions {
        self.classical.options()
    }
}

impl ClassicalArgs {
    /// λ, iterations and maps.
    pub fn options(&self) -> ClassicalOptions {
        ClassicalOptions {
            lambda: self.lambda.map(|l| l as f32),
            iterations: self.iterations,
            maps: self.maps.into(),
            cycle_spinning: self.cycle_spinning.into(),
            final_step: self.final_step.into(),
        }
    }
}

pub fn run(a: Args) -> recon::Result<()> {
    let input = a.input.ok_or_else(|| recon::ReconError::Invalid("--input is required".into()))?;
    let output = a.output.unwrap_or_else(|| recon::reconstruct::default_output(&input));
    let req = ReconRequest {
        input,
        output,
        mask: a.mask.spec()?,
        seed: a.seed,
        seed_from_name: a.seed_from_name,
        density_compensate: a.density_compensate,
        force: a.write.force,
        model: match (a.model, a.no_model) {
            (Some(p), _) => ModelChoice::File(p),
            (None, true) => ModelChoice::NoModel,
            (None, false) => ModelChoice::Default,
        },
        method: a.method.choice(a.no_model),
        classical: a.method.classical(),
        adapt: a.adapt,
    };
    let bar = Bar::new(a.write.json);
    let report = reconstruct(&req, &bar)?;
    if a.write.json {
        return print_json(&report);
    }
    println!(
        "{}: {} slice(s) of {}x{}, {} coil(s); mask {} ({}), achieved acceleration {:.2}",
        report.input.display(),
        report.slices,
        report.kspace_shape.0,
        report.kspace_shape.1,
        report.coils,
        report.mask.name,
        if report.mask.acquired { "acquired" } else { "retrospective" },
        report.mask.achieved_acceleration
    );
    if let Some(note) = &report.mask.note {
        println!("mask: {note}");
    }
    if let Some(axis) = &report.slice_axis {
        println!("slices along {axis}");
    }
    if let Some(m) = &report.model {
        println!("model: {m}");
    }
    if let Some(m) = &report.maps {
        println!("coil maps: {m}");
    }
    if !report.metrics.is_empty() {
        print!("{}", metrics_table(&report.metrics, &report.methods));
    }
    if let Some(note) = &report.metrics_note {
        println!("{note}");
    }
    println!("wrote {} in {:.2} s", report.output.display(), report.seconds);
    Ok(())
}
