//! One module per subcommand: arguments (clap) and a `run` that calls the library.

pub mod batch;
pub mod denoise;
pub mod eval;
pub mod info;
pub mod maps;
pub mod mask;
pub mod reconstruct;
pub mod simulate;
pub mod train;

use clap::Args as ClapArgs;
use std::path::PathBuf;

/// The run-control options shared by `recon train` and `recon denoise train`; none of them
/// has to match on `--resume`.
#[derive(ClapArgs, Debug)]
pub struct RunArgs {
    /// Validate and log every N steps (0: only at the end).
    #[arg(long, default_value_t = 100)]
    pub val_every: u64,
    /// Checkpoint every N steps (0: only at the end).
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: u64,
    /// Stop after this step (checkpointed); continue later with --resume.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub stop_after: Option<u64>,
    /// Continue an interrupted run from its checkpoint, its log and plot; every training
    /// setting (data, mask, loss, lr, steps, crop, ...) must be the checkpoint's.
    #[arg(long)]
    pub resume: bool,
    /// Model / checkpoint file (.safetensors); the CSV log and plot are written beside it.
    /// Never inside an input folder, never over an input.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Also write the final weights alone in f16 here (a small model to ship or share).
    #[arg(long)]
    pub export: Option<PathBuf>,
    /// Overwrite existing outputs (model, log, plot, export).
    #[arg(long)]
    pub force: bool,
    /// Print the final report as one JSON object on stdout (no progress output).
    #[arg(long)]
    pub json: bool,
}

impl From<RunArgs> for recon::train::RunControl {
    fn from(a: RunArgs) -> Self {
        Self {
            out: a.out,
            val_every: a.val_every,
            checkpoint_every: a.checkpoint_every,
            resume: a.resume,
            stop_after: a.stop_after,
            export: a.export,
            force: a.force,
        }
    }
}

/// `--targets`: what the network is trained to predict.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum TargetsArg {
    /// A second, independent corruption (Noise2Noise).
    #[value(alias = "n2n")]
    Noisy,
    /// The clean image (the supervised baseline).
    Clean,
}

impl From<TargetsArg> for recon::train::Targets {
    fn from(t: TargetsArg) -> Self {
        match t {
            TargetsArg::Noisy => Self::Noisy,
            TargetsArg::Clean => Self::Clean,
        }
    }
}

/// `--loss`: the training loss.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LossArg {
    /// Mean squared error.
    #[value(alias = "mse")]
    L2,
    /// Mean absolute error.
    #[value(alias = "mae")]
    L1,
    /// Annealed L0 ((|f − y| + 1e-8)^γ, γ from 2 to 0 over the run).
    L0,
}

impl LossArg {
    /// The library's name of the loss (`models::Loss::by_name`).
    pub fn name(self) -> &'static str {
        match self {
            Self::L2 => "l2",
            Self::L1 => "l1",
            Self::L0 => "l0",
        }
    }
}

/// A `usize` option within `range` (one of `recon::train::settings`' bounds).
pub fn bounded(range: std::ops::RangeInclusive<u64>) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(range)
}

/// The learning rate: a finite number in `recon::train::settings::LR`.
pub fn learning_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    recon::train::settings::check_lr(v).map(|_| v).map_err(|_| {
        let r = recon::train::settings::LR;
        format!("must be a finite number in {:e}..={}", r.start(), r.end())
    })
}

/// A finite number in `lo..=hi` (`lo_open`: `lo` itself excluded).
pub fn finite_in(s: &str, lo: f64, hi: f64, lo_open: bool) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    let above = if lo_open { v > lo } else { v >= lo };
    if v.is_finite() && above && v <= hi {
        return Ok(v);
    }
    Err(format!("must be a finite number in {}{lo}, {hi}]", if lo_open { "(" } else { "[" }))
}

/// The sampling-mask options shared by `recon` and `recon mask`.
#[derive(ClapArgs, Debug, Clone)]
pub struct MaskOpts {
    /// Mask family: random, equispaced, equispaced_fraction, magic, magic_fraction,
    /// gaussian1d (1-D phase-encode, fastMRI); poisson, gaussian, radial, n2n (2-D);
    /// none (keep every sample).
    #[arg(long, default_value = "random")]
    pub mask: String,
    /// Acceleration R: about 1/R of k-space is kept.
    #[arg(long, default_value_t = 4.0)]
    pub acceleration: f64,
    /// Fraction of central phase-encode columns always kept (fastMRI's `center_fraction`);
    /// default 0.32/R (0.08 at 4×, 0.04 at 8×, fastMRI's settings).
    #[arg(long)]
    pub center_fraction: Option<f64>,
    /// n2n only: keep probability at the k-space edge instead of --acceleration (the paper: 0.025).
    #[arg(long)]
    pub p_edge: Option<f64>,
    /// Seed of the mask (numpy RandomState-compatible: fastMRI's masks for the same seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
}

impl MaskOpts {
    /// The library's mask parameters.
    pub fn params(&self) -> kspace::mask::MaskParams {
        kspace::mask::MaskParams {
            acceleration: self.acceleration,
            center_fraction: self.center_fraction.unwrap_or(0.32 / self.acceleration),
            p_edge: self.p_edge,
            ..Default::default()
        }
    }
}

/// Output options shared by the commands that write a file and print a report.
#[derive(ClapArgs, Debug, Clone)]
pub struct WriteOpts {
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Print the report as one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}
