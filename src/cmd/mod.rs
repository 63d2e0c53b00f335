//! One module per subcommand: arguments (clap) and a `run` that calls the library.

pub mod batch;
pub mod denoise;
pub mod eval;
pub mod info;
pub mod maps;
pub mod mask;
pub mod reconstruct;
pub mod simulate;
pub mod study;
pub mod train;
pub mod unrolled;

use clap::Args as ClapArgs;
use recon::{MaskParams, MaskSpec};
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
    /// The name of the loss in the training configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::L2 => "l2",
            Self::L1 => "l1",
            Self::L0 => "l0",
        }
    }
}

/// `--net`: the denoiser's architecture.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetArg {
    /// The paper's U-Net (fast).
    #[value(aliases = ["u-net", "u_net"])]
    Unet,
    /// RED30: 30 layers with symmetric skips.
    #[value(aliases = ["red-30", "red_30", "rednet30", "rednet-30", "rednet_30", "red-net-30"])]
    Red30,
}

impl NetArg {
    /// The architecture's name in the training configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unet => "unet",
            Self::Red30 => "red30",
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

/// The sampling-mask options of every command that draws or applies a mask (`recon`, `recon
/// mask`, `recon batch`, `recon train`): one struct, so every command takes the same flags.
/// The numbers are checked by the library (one-line errors naming the flag).
#[derive(ClapArgs, Debug, Clone)]
pub struct MaskOpts {
    /// Mask: a family, random, equispaced, equispaced_fraction, magic, magic_fraction,
    /// gaussian1d (1-D phase-encode, fastMRI); poisson, gaussian, radial, n2n (2-D); with
    /// other parameters after a colon if wanted (poisson:calib=24x24, gaussian:sigma=0.3,
    /// equispaced:offset=1). Or none (keep every sample), or file:PATH (a mask saved by
    /// `recon mask`, .png, .npy or .cfl, or a fastMRI .h5 with a `mask`, of the k-space's size). Default: random (recon train: n2n).
    #[arg(long)]
    pub mask: Option<String>,
    /// Acceleration R: about 1/R of k-space is kept (default 4). recon train takes several,
    /// comma-separated (e.g. 4,8): each pair draws one, paired with --center-fraction; for
    /// n2n, when neither this nor --p-edge is given, p_edge = 0.025 (the paper).
    #[arg(long, value_delimiter = ',')]
    pub acceleration: Vec<f64>,
    /// Fraction of central phase-encode columns always kept (fastMRI's `center_fraction`);
    /// default 0.32/R with R from --acceleration (0.08 at 4×, 0.04 at 8×, fastMRI's settings).
    /// recon train: one per acceleration or one for all, default 0.08.
    #[arg(long, value_delimiter = ',')]
    pub center_fraction: Vec<f64>,
    /// n2n only: keep probability at the k-space edge instead of --acceleration (the paper: 0.025).
    #[arg(long)]
    pub p_edge: Option<f64>,
}

impl MaskOpts {
    /// The one mask of `recon`, `recon mask` and `recon batch`: default random, R = 4, centre
    /// fraction 0.32/R.
    pub fn spec(&self) -> recon::Result<MaskSpec> {
        let acceleration = single(&self.acceleration, "--acceleration")?.unwrap_or(4.0);
        let center_fraction =
            single(&self.center_fraction, "--center-fraction")?.unwrap_or(0.32 / acceleration);
        let base = MaskParams { acceleration, center_fraction, p_edge: self.p_edge, ..Default::default() };
        self.spec_over("random", base)
    }

    /// `--mask` (or `default`) with the parameters it does not set taken from `base`, which is
    /// checked first: the flags' usage errors name the flag.
    pub fn spec_over(&self, default: &str, base: MaskParams) -> recon::Result<MaskSpec> {
        recon::maskgen::validate_params(&base)?;
        Ok(MaskSpec::parse_over(self.mask.as_deref().unwrap_or(default), &base)?)
    }
}

/// At most one value of a list flag (several only for `recon train`).
fn single(values: &[f64], flag: &str) -> recon::Result<Option<f64>> {
    match values {
        [] => Ok(None),
        [v] => Ok(Some(*v)),
        _ => Err(recon::ReconError::Invalid(format!("{flag}: one value (several only for `recon train`)"))),
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

/// `recon batch merge` and `recon study merge`: the folder the shards wrote to.
#[derive(ClapArgs, Debug)]
pub struct MergeArgs {
    /// The output folder the shards wrote to.
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `--shard I/N`, checked by the library's rule.
pub fn shard(s: &str) -> Result<recon::batch::Shard, String> {
    recon::batch::Shard::parse(s).map_err(|e| e.to_string())
}
