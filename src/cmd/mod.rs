//! One module per subcommand: arguments (clap) and a `run` that calls the library.

pub mod batch;
pub mod denoise;
pub mod eval;
pub mod info;
pub mod mask;
pub mod reconstruct;
pub mod simulate;
pub mod train;

use clap::Args as ClapArgs;

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
