//! `recon train`: learn a reconstruction network from pairs of independently undersampled
//! slices (Noise2Noise), or from clean targets as the baseline.

use crate::progress::Bar;
use clap::Args as ClapArgs;
use recon::train::{train, Targets, TrainConfig};
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Example (the paper's recipe, shortened):\n  recon train --data data/colin27_t1_1mm.nii.gz --val data/mni152_2009a_t1_1mm.nii.gz \\\n      --mask n2n --targets noisy --loss l2 --steps 2000 --batch 4 --crop 255 --out n2n.safetensors\nInterrupted? Run the same command with --resume."
)]
pub struct Args {
    /// Training volumes (NIfTI); slices along all three axes are used.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Validation volumes (NIfTI), e.g. another subject.
    #[arg(long, num_args = 1..)]
    pub val: Vec<PathBuf>,
    /// Mask family of the simulated undersampling (the paper: n2n).
    #[arg(long, default_value = "n2n")]
    pub mask: String,
    /// Acceleration; for n2n, when neither this nor --p-edge is given, p_edge = 0.025 (the paper).
    #[arg(long)]
    pub acceleration: Option<f64>,
    /// Centre fraction for the 1-D Cartesian families.
    #[arg(long, default_value_t = 0.08)]
    pub center_fraction: f64,
    /// n2n: keep probability at the k-space edge.
    #[arg(long)]
    pub p_edge: Option<f64>,
    /// noisy: a second independently undersampled image (Noise2Noise); clean: the image.
    #[arg(long, default_value = "noisy")]
    pub targets: String,
    /// l2 (the recipe), l1 or l0 (annealed).
    #[arg(long, default_value = "l2")]
    pub loss: String,
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    /// Slices are centre-cropped / padded to CROP×CROP (odd keeps DC on a bin: 255 in the paper).
    #[arg(long, default_value_t = 255)]
    pub crop: usize,
    /// U-Net width (48 in the paper).
    #[arg(long, default_value_t = 48)]
    pub width: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Validate and log every N steps.
    #[arg(long, default_value_t = 100)]
    pub val_every: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: u64,
    /// Validation slices (evenly spaced, fixed masks).
    #[arg(long, default_value_t = 32)]
    pub val_slices: usize,
    /// Use at most this many training slices.
    #[arg(long)]
    pub max_train_slices: Option<usize>,
    /// Stop after this step (checkpointed); continue later with --resume.
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Continue an interrupted run from its checkpoint (same seed and settings).
    #[arg(long)]
    pub resume: bool,
    /// Model / checkpoint file (.safetensors); the CSV log is written beside it.
    #[arg(long, short)]
    pub out: PathBuf,
}

pub fn run(a: Args) -> recon::Result<()> {
    let targets = Targets::by_name(&a.targets).ok_or_else(|| {
        recon::ReconError::Invalid(format!("--targets {}: expected noisy or clean", a.targets))
    })?;
    let p_edge = match (&*a.mask, a.acceleration, a.p_edge) {
        ("n2n", None, None) => Some(0.025),
        (_, _, p) => p,
    };
    let params = kspace::mask::MaskParams {
        acceleration: a.acceleration.unwrap_or(4.0),
        center_fraction: a.center_fraction,
        p_edge,
        ..Default::default()
    };
    let cfg = TrainConfig {
        mask: a.mask,
        params,
        targets,
        loss: a.loss,
        steps: a.steps,
        batch: a.batch,
        crop: a.crop,
        width: a.width,
        lr_max: a.lr,
        seed: a.seed,
        val_every: a.val_every,
        checkpoint_every: a.checkpoint_every,
        val_slices: a.val_slices,
        max_train_slices: a.max_train_slices,
        stop_after: a.stop_after,
        resume: a.resume,
        ..TrainConfig::new(a.data, a.val, a.out)
    };
    let r = train(&cfg, &Bar::new(false))?;
    println!(
        "trained steps {}..{} on {} slices; final loss {:.5}",
        r.start_step, r.steps, r.train_slices, r.final_loss
    );
    if let (Some(v), Some(vi)) = (r.val_psnr, r.val_psnr_input) {
        println!("validation ({} slices): network {v:.2} dB, zero-filled input {vi:.2} dB", r.val_slices);
    }
    println!("model {}\nlog   {}", r.checkpoint.display(), r.log.display());
    if let Some(p) = &r.plot {
        println!("plot  {}", p.display());
    }
    Ok(())
}
