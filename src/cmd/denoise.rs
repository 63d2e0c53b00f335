//! `recon denoise`: the generic image-noise pipelines of Noise2Noise. Without a subcommand it
//! denoises one photo; `train` learns a denoiser from pairs of independently corrupted photos
//! (or real noisy pairs); `eval` measures 8-bit PSNR on a folder with seeded test noise.

use super::{bounded, learning_rate, LossArg, NetArg, TargetsArg};
use crate::output::print_json;
use crate::progress::Bar;
use clap::{Args as ClapArgs, Subcommand};
use recon::denoise::{evaluate, DenoiseConfig, Denoiser, GreyNoise, InitModel, NoiseKind, NoiseSpec};
use recon::train::{settings, Targets};
use recon::ReconError;
use std::path::{Path, PathBuf};

#[derive(ClapArgs, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  recon denoise --input photo.png --output clean.png     # built-in blind Gaussian model\n  recon denoise --input photo.png --noise poisson        # built-in Poisson model\n  recon denoise train --noise gaussian:0-50 --data data/photos --targets noisy --loss l2 \\\n      --steps 1000 --crop 128 --out gauss.safetensors\n  recon denoise eval --noise gaussian:25 --data data/photos --model gauss.safetensors --seed 0"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,
    #[command(flatten)]
    pub apply: ApplyArgs,
}

#[derive(Subcommand, Debug)]
pub enum Sub {
    /// Train a denoiser (Noise2Noise: noisy targets; or clean targets as the baseline).
    Train(Box<TrainArgs>),
    /// PSNR of a model on clean photos corrupted with seeded test noise.
    Eval(EvalArgs),
}

/// Denoise one photo.
#[derive(ClapArgs, Debug)]
pub struct ApplyArgs {
    /// Noisy photo (PNG, grey or RGB, any size).
    #[arg(long, required = true)]
    pub input: Option<PathBuf>,
    /// Model written by `recon denoise train` (default: the built-in model for --noise).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Which built-in model: blind Gaussian (σ 0–50 of 255), Poisson (λ 0.001–50) or
    /// Bernoulli (pixels dropped to black, p 0–0.95).
    #[arg(long, value_enum, default_value_t = BuiltInNoise::Gaussian, conflicts_with = "model")]
    pub noise: BuiltInNoise,
    /// Output PNG (default: INPUT.denoised.png beside the input).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Noise: gaussian, brown (correlated, e.g. brown:0-50@2 = blur std 2 px), poisson, bernoulli, text, impulse;\n  NAME:LO-HI draws each image's strength from [LO, HI]; NAME alone uses the paper's range.\nExample (Noise2Noise, blind Gaussian):\n  recon denoise train --noise gaussian:0-50 --data data/photos --targets noisy --loss l2 \\\n      --steps 1000 --crop 128 --width 32 --out gauss.safetensors\nReal pairs (DIR/a/x.png pairs with DIR/b/x.png):\n  recon denoise train --pairs DIR --steps 1000 --out mine.safetensors\nFine-tune the built-in model on them (its width and channels; a lower lr):\n  recon denoise train --pairs DIR --init default --steps 300 --lr 1e-4 --out mine.safetensors\nInterrupted? Run the same command with --resume (every training setting must be the same;\n--val-every, --checkpoint-every, --stop-after and --export may change). Existing outputs\nare kept unless --force is given; outputs never go into --data, --val or --pairs folders."
)]
pub struct TrainArgs {
    /// Corruption and its training strength range, e.g. gaussian:0-50, poisson:0.001-50,
    /// bernoulli:0-0.95, text:0-0.5, impulse:0-0.95, brown:0-50@2.
    #[arg(long, default_value = "gaussian:0-50")]
    pub noise: String,
    /// Clean training photos: PNG files or folders of them.
    #[arg(long, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Train on your own real noisy–noisy pairs instead: a folder with two subfolders holding
    /// two captures of each scene under the same file names.
    #[arg(long, conflicts_with = "data")]
    pub pairs: Option<PathBuf>,
    /// Held-back clean photos for validation (PNG files or folders).
    #[arg(long, num_args = 1..)]
    pub val: Vec<PathBuf>,
    /// Validation noise (a fixed strength; default: the paper's test strength for --noise).
    #[arg(long)]
    pub val_noise: Option<String>,
    /// noisy: a second independent corruption (Noise2Noise); clean: the photo itself.
    #[arg(long, value_enum, default_value_t = TargetsArg::Noisy)]
    pub targets: TargetsArg,
    /// l2, l1 or l0 (annealed, γ 2 → 0); default: the paper's for the noise (text l1,
    /// impulse l0, others l2). Bernoulli with noisy targets masks the loss to kept pixels.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// unet (the paper's, fast; the default) or red30 (30 layers, symmetric skips). With
    /// --init: the starting model's.
    #[arg(long, value_enum, ignore_case = true)]
    pub net: Option<NetArg>,
    /// U-Net width (paper 48) or RED30 features (paper 128); default 48 / 128, or --init's;
    /// 1 to 256.
    #[arg(long, value_parser = bounded(settings::WIDTH))]
    pub width: Option<usize>,
    /// 3 (RGB, the default; grey photos are repeated) or 1 (grey; RGB photos become luma).
    /// With --init: the starting model's.
    #[arg(long, value_parser = bounded(1..=3))]
    pub channels: Option<usize>,
    /// Fine-tune: start from this model's weights (`default`: the built-in model for
    /// --noise, the Gaussian one for --pairs; or a model file) with a fresh Adam state,
    /// instead of a random init. Its net, width and channels are used unless given (and
    /// must then agree).
    #[arg(long, value_name = "default|MODEL")]
    pub init: Option<String>,
    /// How a grey photo is corrupted for an RGB model: shared (one draw in every channel,
    /// as a noisy grey photo has it) or independent (each channel its own; runs before
    /// 2026-12-06 did this, and resume with it).
    #[arg(long, value_enum, default_value_t = GreyNoiseArg::Shared)]
    pub grey_noise: GreyNoiseArg,
    /// Probability that a colour training crop is turned grey (luma) before it is
    /// corrupted, so that one RGB model also learns grey photos (0 to 1).
    #[arg(long, default_value_t = 0.2, value_parser = |s: &str| super::finite_in(s, 0.0, 1.0, false))]
    pub grey_fraction: f64,
    /// Steps of the schedule (1 to 10⁸; the lr schedule spans them, so a resume keeps them).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(settings::STEPS))]
    pub steps: u64,
    /// Crops per step (1 to 256).
    #[arg(long, default_value_t = 4, value_parser = bounded(settings::BATCH))]
    pub batch: usize,
    /// Training crops are CROP×CROP (16 to 1024; 256 in the paper).
    #[arg(long, default_value_t = 128, value_parser = bounded(settings::CROP))]
    pub crop: usize,
    /// Peak learning rate (3e-4 in the paper's code; finite, positive, at most 10).
    #[arg(long, default_value_t = 3e-4, value_parser = learning_rate)]
    pub lr: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Validation photos are centre-cropped to this size (0: whole photos).
    #[arg(long, default_value_t = 256, value_parser = bounded(settings::VAL_SIZE))]
    pub val_crop: usize,
    #[command(flatten)]
    pub run: super::RunArgs,
}

/// The noises with a built-in model (`recon denoise --noise`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltInNoise {
    Gaussian,
    Poisson,
    Bernoulli,
}

impl From<BuiltInNoise> for NoiseKind {
    fn from(n: BuiltInNoise) -> Self {
        match n {
            BuiltInNoise::Gaussian => NoiseKind::Gaussian,
            BuiltInNoise::Poisson => NoiseKind::Poisson,
            BuiltInNoise::Bernoulli => NoiseKind::Bernoulli,
        }
    }
}

/// `--grey-noise`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GreyNoiseArg {
    /// One noise draw repeated in every channel.
    Shared,
    /// Each channel its own draw.
    Independent,
}

impl From<GreyNoiseArg> for GreyNoise {
    fn from(g: GreyNoiseArg) -> Self {
        match g {
            GreyNoiseArg::Shared => GreyNoise::Shared,
            GreyNoiseArg::Independent => GreyNoise::Independent,
        }
    }
}

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Example:\n  recon denoise eval --noise gaussian:25 --data data/photos --seed 0 --json\nThe noise of the i-th photo (sorted by name) is drawn from (seed, i): same seed, same numbers."
)]
pub struct EvalArgs {
    /// Test corruption, e.g. gaussian:25, poisson:30, bernoulli:0.5, text:0.25, impulse:0.7.
    #[arg(long)]
    pub noise: String,
    /// Clean photos: PNG files or folders of them.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Model (default: the built-in model for the noise's kind: gaussian, poisson or
    /// bernoulli; other kinds need one).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write each noisy and denoised image into this folder (NAME.noisy.png, NAME.denoised.png).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn load(model: &Option<PathBuf>, kind: NoiseKind) -> recon::Result<Denoiser> {
    match model {
        Some(p) => Denoiser::from_file(p),
        None => Denoiser::built_in(kind),
    }
}

pub fn run(a: Args) -> recon::Result<()> {
    match a.command {
        Some(Sub::Train(t)) => train(*t),
        Some(Sub::Eval(e)) => eval(e),
        None => apply(a.apply),
    }
}

fn default_output(input: &Path) -> PathBuf {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    input.with_file_name(format!("{stem}.denoised.png"))
}

fn apply(a: ApplyArgs) -> recon::Result<()> {
    let input = a.input.ok_or_else(|| ReconError::Invalid("--input is required".into()))?;
    let output = a.output.clone().unwrap_or_else(|| default_output(&input));
    if output.exists() && !a.force {
        return Err(ReconError::Invalid(format!("{}: exists; pass --force to overwrite", output.display())));
    }
    let d = load(&a.model, a.noise.into())?;
    let t0 = std::time::Instant::now();
    let photo = recon::io::png::read_png(&input)?;
    let out = d.denoise(&photo.data)?.mapv(|v| v.clamp(0.0, 1.0));
    let (c, h, w) = out.dim();
    recon::denoise::write_photo(&output, &out)?;
    let secs = t0.elapsed().as_secs_f64();
    if a.json {
        return print_json(&serde_json::json!({
            "input": input, "output": output, "model": d.name, "noise": d.noise(),
            "height": h, "width": w, "channels": c, "seconds": secs,
        }));
    }
    println!("{}: {h}x{w}, {c} channel(s); model {} (trained on {})", input.display(), d.name, d.noise());
    println!("wrote {} in {secs:.2} s", output.display());
    Ok(())
}

fn train(a: TrainArgs) -> recon::Result<()> {
    // Every step frees and reallocates the same tens of MB of activations: keep them in the
    // process (not for batch or inference, whose many threads would each keep a heap).
    recon::reuse_freed_memory();
    let json = a.run.json;
    let noise = NoiseSpec::parse(&a.noise)?;
    let targets: Targets = a.targets.into();
    let val_noise = match &a.val_noise {
        Some(s) => NoiseSpec::parse(s)?,
        None => noise.fixed(noise.kind.test_strength()),
    };
    let data = a.data.clone();
    let mut cfg = DenoiseConfig {
        pairs: a.pairs,
        val: a.val,
        val_noise,
        targets,
        loss: a.loss.map_or_else(|| noise.kind.paper_loss().to_string(), |l| l.name().to_string()),
        net: a.net.unwrap_or(NetArg::Unet).name().into(),
        channels: a.channels.unwrap_or(3),
        steps: a.steps,
        batch: a.batch,
        crop: a.crop,
        lr_max: a.lr,
        seed: a.seed,
        val_crop: a.val_crop,
        run: a.run.into(),
        init: a.init.as_deref().map(InitModel::parse),
        grey_noise: a.grey_noise.into(),
        grey_fraction: a.grey_fraction,
        ..DenoiseConfig::new(data, PathBuf::new(), noise)
    };
    // With --init, the starting model's architecture fills what was not given.
    let from = cfg.init.as_ref().map(|i| i.architecture(cfg.init_kind())).transpose()?;
    if let Some(f) = &from {
        cfg.net = a.net.map_or(f.net.clone(), |n| n.name().into());
        cfg.channels = a.channels.unwrap_or(f.channels);
    }
    cfg.width = match (a.width, &from) {
        (Some(w), _) => w,
        (None, Some(f)) => f.width,
        (None, None) if cfg.net == NetArg::Red30.name() => 128,
        (None, None) => 48,
    };
    let r = recon::denoise::train(&cfg, &Bar::for_training(json))?;
    if json {
        let mut v = serde_json::to_value(&r).map_err(|e| ReconError::Failed(format!("JSON: {e}")))?;
        v["trained_on"] = cfg.trained_on().into();
        v["targets"] = serde_json::to_value(cfg.targets).unwrap_or_default();
        v["loss"] = cfg.loss.clone().into();
        v["init"] = cfg.init.as_ref().map(|i| i.to_string()).into();
        return print_json(&v);
    }
    println!(
        "trained steps {}..{} on {} photo(s) ({}, {} targets, loss {}); final loss {:.5}",
        r.start_step,
        r.steps,
        r.train_slices,
        cfg.trained_on(),
        if cfg.targets == Targets::Clean { "clean" } else { "noisy" },
        cfg.loss,
        r.final_loss
    );
    if let Some(init) = &cfg.init {
        println!("fine-tuned from {init} ({} of width {})", cfg.net, cfg.width);
    }
    if let (Some(v), Some(vi)) = (r.val_psnr, r.val_psnr_input) {
        println!(
            "validation ({} photos, {}): network {v:.2} dB, noisy input {vi:.2} dB",
            r.val_slices, cfg.val_noise
        );
    }
    println!("model {}\nlog   {}", r.checkpoint.display(), r.log.display());
    if let Some(p) = &r.plot {
        println!("plot  {}", p.display());
    }
    Ok(())
}

fn eval(a: EvalArgs) -> recon::Result<()> {
    let noise = NoiseSpec::parse(&a.noise)?;
    let d = load(&a.model, noise.kind)?;
    if let Some(dir) = &a.save {
        std::fs::create_dir_all(dir).map_err(|e| ReconError::io(dir, e))?;
    }
    let r = evaluate(&d, &a.data, &noise, a.seed, a.save.as_deref(), &Bar::new(a.json))?;
    if a.json {
        return print_json(&r);
    }
    println!("model {}, noise {}, seed {}", r.model, r.noise, r.seed);
    println!("{:<32} {:>10} {:>12} {:>12}", "image", "strength", "input dB", "output dB");
    for row in &r.images {
        println!(
            "{:<32} {:>10.4} {:>12.3} {:>12.3}",
            row.file, row.strength, row.psnr_input, row.psnr_output
        );
    }
    println!("{:<32} {:>10} {:>12.3} {:>12.3}", "mean", "", r.mean_psnr_input, r.mean_psnr_output);
    Ok(())
}
