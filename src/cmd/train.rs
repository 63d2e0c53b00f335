//! `recon train`: learn a reconstruction network from pairs of independently undersampled
//! slices (Noise2Noise), or from clean targets as the baseline.

use super::unrolled::{InitialArg, PairsArg, SplitArg};
use super::{bounded, finite_in, learning_rate, LossArg, MaskOpts, TargetsArg};
use crate::{output::print_json, progress::Bar};
use clap::Args as ClapArgs;
use recon::train::{settings, train, train_unrolled, Mode, TrainConfig, UnrolledTrainConfig};
use recon::{MaskFamily, MaskParams, MaskSpec, ReconError};
use std::path::PathBuf;

/// `--mode`: what the network sees.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    /// One real channel (the paper's experiment).
    Magnitude,
    /// Two channels (real, imaginary) with synthetic phase and simulated coils.
    Complex,
}

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Example (the paper's recipe, shortened):\n  recon train --data data/colin27_t1_1mm.nii.gz --val data/mni152_2009a_t1_1mm.nii.gz \\\n      --mask n2n --targets noisy --loss l2 --steps 2000 --batch 4 --crop 255 --out n2n.safetensors\nComplex mode for real multi-coil scans (how the shipped Cartesian model was trained):\n  recon train --data data/colin27_t1_1mm.nii.gz --val data/mni152_2009a_t1_1mm.nii.gz \\\n      --mode complex --coils 4 --mask random --acceleration 4,8 --center-fraction 0.08,0.04 \\\n      --steps 300 --crop 128 --width 32 --out cart.safetensors\nInterrupted? Run the same command with --resume (every training setting must be the same;\n--val-every, --checkpoint-every, --stop-after and --export may change). Existing outputs\nare kept unless --force is given."
)]
pub struct Args {
    /// Training data. U-Net: NIfTI volumes (slices along all three axes). Unrolled: also
    /// fastMRI .h5 (fully sampled, or undersampled with a `mask`), BART .cfl, or folders.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Validation data (fully sampled or with a reference), e.g. another subject.
    #[arg(long, num_args = 1..)]
    pub val: Vec<PathBuf>,
    /// unet: the Noise2Noise U-Net on a coil-combined image plus one data-consistency step;
    /// unrolled: the unrolled network (cascades of a small U-Net and a multi-coil gradient
    /// step with ESPIRiT maps), trained in k-space.
    #[arg(long, value_enum, default_value_t = NetArg::Unet)]
    pub net: NetArg,
    #[command(flatten)]
    pub unrolled: super::unrolled::UnrolledArgs,
    // The simulated undersampling (the paper: n2n), as for `recon`; several accelerations
    // make each pair draw one.
    #[command(flatten)]
    pub mask: MaskOpts,
    /// magnitude: one real channel (the paper's experiment); complex: two channels (real,
    /// imaginary) trained with smooth synthetic phase and simulated coils, for real scans.
    #[arg(long, value_enum, default_value_t = ModeArg::Magnitude)]
    pub mode: ModeArg,
    /// complex mode: number of simulated receive coils (1: single-coil; at most 32).
    #[arg(long, default_value_t = 4, value_parser = bounded(settings::COILS))]
    pub coils: usize,
    /// complex mode: amplitude (radians) of the smooth synthetic phase's coefficients.
    #[arg(long, default_value_t = 1.5, value_parser = |s: &str| finite_in(s, 0.0, 100.0, false).map(|v| v as f32))]
    pub max_phase: f32,
    /// Feed the network the plain zero-filled image instead of the density-compensated one
    /// (targets stay compensated, so still unbiased); better for Cartesian masks at 8×.
    #[arg(long)]
    pub uncompensated_input: bool,
    /// Shift augmentation: circular shifts up to ± this many pixels per axis.
    #[arg(long, default_value_t = 64, value_parser = bounded(settings::MAX_SHIFT))]
    pub max_shift: usize,
    /// noisy: a second independently undersampled image (Noise2Noise); clean: the image.
    #[arg(long, value_enum, default_value_t = TargetsArg::Noisy)]
    pub targets: TargetsArg,
    /// l2 (the recipe), l1 or l0 (annealed).
    #[arg(long, value_enum, default_value_t = LossArg::L2)]
    pub loss: LossArg,
    /// Steps of the schedule (1 to 10⁸; the lr schedule spans them, so a resume keeps them).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(settings::STEPS))]
    pub steps: u64,
    /// Slices per step (1 to 256).
    #[arg(long, default_value_t = 4, value_parser = bounded(settings::BATCH))]
    pub batch: usize,
    /// Slices are centre-cropped / padded to CROP×CROP (16 to 1024; odd keeps DC on a bin:
    /// 255 in the paper).
    #[arg(long, default_value_t = 255, value_parser = bounded(settings::CROP))]
    pub crop: usize,
    /// U-Net width (1 to 256; 48 in the paper; default 48, unrolled: 18 per cascade).
    #[arg(long, value_parser = bounded(settings::WIDTH))]
    pub width: Option<usize>,
    /// Peak learning rate (finite, positive, at most 10).
    #[arg(long, default_value_t = 1e-3, value_parser = learning_rate)]
    pub lr: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Validation slices (evenly spaced, fixed masks).
    #[arg(long, default_value_t = 32, value_parser = bounded(settings::VAL_SIZE))]
    pub val_slices: usize,
    /// Use at most this many training slices.
    #[arg(long, value_parser = bounded(1..=u64::MAX))]
    pub max_train_slices: Option<usize>,
    #[command(flatten)]
    pub run: super::RunArgs,
}

/// `--net`: which network.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetArg {
    Unet,
    Unrolled,
}

pub fn run(a: Args) -> recon::Result<()> {
    // Every step frees and reallocates the same tens of MB of activations: keep them in the
    // process (not for batch or inference, whose many threads would each keep a heap).
    recon::reuse_freed_memory();
    if a.net == NetArg::Unrolled {
        return run_unrolled(a);
    }
    a.unrolled.reject_for_unet()?;
    let json = a.run.json;
    let mode = match a.mode {
        ModeArg::Magnitude => Mode::Magnitude,
        ModeArg::Complex => Mode::Complex { coils: a.coils, max_phase: a.max_phase },
    };
    let (mask, params) = masks(&a.mask, "n2n")?;
    let cfg = TrainConfig {
        mask,
        params,
        targets: a.targets.into(),
        mode,
        compensate_input: !a.uncompensated_input,
        max_shift: a.max_shift,
        loss: a.loss.name().into(),
        steps: a.steps,
        batch: a.batch,
        crop: a.crop,
        width: a.width.unwrap_or(48),
        lr_max: a.lr,
        seed: a.seed,
        val_slices: a.val_slices,
        max_train_slices: a.max_train_slices,
        run: a.run.into(),
        ..TrainConfig::new(a.data, a.val, PathBuf::new())
    };
    report(&train(&cfg, &Bar::for_training(json))?, json)
}

/// Prints what a training run did.
fn report(r: &recon::train::TrainReport, json: bool) -> recon::Result<()> {
    if json {
        return print_json(r);
    }
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

/// The largest acceleration `recon train` takes.
const MAX_ACCELERATION: f64 = 1000.0;

/// The family and one parameter set per acceleration (each pair draws one); `--center-fraction`
/// gives one value per acceleration or one for all (default 0.08). n2n without
/// `--acceleration` nor `p_edge` keeps the paper's p_edge = 0.025.
fn masks(m: &MaskOpts, default: &str) -> recon::Result<(&'static MaskFamily, Vec<MaskParams>)> {
    let accs = if m.acceleration.is_empty() { vec![4.0] } else { m.acceleration.clone() };
    let fracs = if m.center_fraction.is_empty() { vec![0.08] } else { m.center_fraction.clone() };
    if fracs.len() != 1 && fracs.len() != accs.len() {
        return Err(ReconError::Invalid(format!(
            "--center-fraction: give one value, or one per acceleration ({} given for {} accelerations)",
            fracs.len(),
            accs.len()
        )));
    }
    let mut family = None;
    let mut params = Vec::new();
    for (i, &acceleration) in accs.iter().enumerate() {
        if acceleration > MAX_ACCELERATION {
            return Err(ReconError::Invalid(format!(
                "--acceleration {acceleration}: must be at most {MAX_ACCELERATION}"
            )));
        }
        let base = MaskParams {
            acceleration,
            center_fraction: fracs[i.min(fracs.len() - 1)],
            p_edge: m.p_edge,
            ..Default::default()
        };
        let MaskSpec::Family { family: f, params: mut p } = m.spec_over(default, base)? else {
            return Err(ReconError::Invalid(
                "--mask: recon train draws its masks, so it needs a family (not none or file:)".into(),
            ));
        };
        if f.name == "n2n" && m.acceleration.is_empty() && p.p_edge.is_none() {
            p.p_edge = Some(0.025);
        }
        family = Some(f);
        params.push(p);
    }
    let family = family.ok_or_else(|| ReconError::Invalid("--acceleration: no value".into()))?;
    Ok((family, params))
}

/// `recon train --net unrolled`.
fn run_unrolled(a: Args) -> recon::Result<()> {
    let json = a.run.json;
    let (mask, params) = masks(&a.mask, "random")?;
    let u = &a.unrolled;
    let base = UnrolledTrainConfig::new(a.data, a.val, PathBuf::new());
    let mut net = base.net.clone();
    net.cascades = u.cascades.unwrap_or(net.cascades);
    net.levels = u.levels.unwrap_or(net.levels);
    net.width = a.width.unwrap_or(net.width);
    let cfg = UnrolledTrainConfig {
        pairs: u.pairs.unwrap_or(PairsArg::Simulate).into(),
        split: u.split.unwrap_or(SplitArg::Ssdu).into(),
        // Noisier2Noise without --split-rho keeps its own default (half the acceleration).
        rho: u.split_rho.or(if u.split == Some(SplitArg::Noisier2noise) { None } else { base.rho }),
        mask,
        params,
        coils: a.coils,
        max_phase: a.max_phase,
        crop: a.crop,
        net,
        initial: u.initial.unwrap_or(InitialArg::ZeroFilled).into(),
        steps: a.steps,
        batch: a.batch,
        lr_max: a.lr,
        seed: a.seed,
        val_slices: a.val_slices,
        max_train_slices: a.max_train_slices,
        run: a.run.into(),
        ..base
    };
    report(&train_unrolled(&cfg, &Bar::for_training(json))?, json)
}
