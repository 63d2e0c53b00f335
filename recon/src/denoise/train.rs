//! `recon denoise train`: the Noise2Noise image experiments on photos.
//!
//! Each step draws, for every batch element, a photo (per-epoch permutation keyed by
//! `(seed, epoch)`, [`epoch_permutation`]), a random `crop × crop` window, and two
//! independent corruptions with their own strengths (the target is the clean crop with
//! `--targets clean`); with `--pairs` it draws one real pair, a common window, and swaps
//! input and target with probability ½. All draws of step `t` come from generators keyed by
//! `(seed, t, j)`, so a run is a pure function of its seed and resumes exactly.
//!
//! Loss: L2, L1, or annealed L0 (γ = 2 → 0 over the run, [`models::gamma_schedule`]); with
//! Bernoulli noise and noisy targets, the loss is masked to the target's kept pixels.
//! Adam (β2 0.99) with the paper's image schedule (constant lr, cos² ramp-down over the
//! last 30 %, [`Schedule::n2n_images`]). The CSV log, its plot, checkpoints (weights +
//! Adam state + [`ModelMeta`]), `--resume`, `--stop-after` and the f16 `--export` are
//! those of the MRI engine ([`crate::train::engine`]); validation reports the mean 8-bit
//! PSNR of the network and of the noisy input on fixed, seeded corruptions of held-back
//! photos at the test strength.

use crate::train::tensor::cerr;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use kspace::rng::MaskRng;
use models::{
    Loss, ModelMeta, Module, NetConfig, Network, Normalisation, Red30Config, Schedule, Tensor, UNetConfig,
};
use ndarray::{Array3, Axis};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    dataset::{centre_crop, crop_at, crop_origin, load_pairs, load_photos, Photo},
    infer::{Denoiser, TASK},
    noise::{NoiseKind, NoiseSpec},
};
use crate::{
    metrics::psnr_u8,
    progress::Progress,
    train::{
        engine::{run_loop, to_batch, LoopConfig, RunControl, TrainReport},
        epoch_permutation,
        settings::{check_common, check_range, config_json, VAL_SIZE},
        Targets,
    },
    ReconError, Result,
};

/// Everything `recon denoise train` needs. Stored in checkpoints (serde, without the run
/// control) and compared on resume ([`crate::train::settings::check_resume`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DenoiseConfig {
    /// Clean training photos (PNG files or folders of them); with `pairs`, unused.
    pub data: Vec<PathBuf>,
    /// A folder with two subfolders holding real noisy captures under the same names.
    pub pairs: Option<PathBuf>,
    /// Held-back clean photos for validation (empty: none).
    pub val: Vec<PathBuf>,
    /// Output, validation / checkpoint cadence, stop, resume and export: not stored, may
    /// change on resume.
    #[serde(skip)]
    pub run: RunControl,
    /// Training corruption (strength range).
    pub noise: NoiseSpec,
    /// Validation corruption (a fixed strength: the paper's test strength by default).
    pub val_noise: NoiseSpec,
    pub targets: Targets,
    /// "l2", "l1" or "l0" (annealed).
    pub loss: String,
    /// "unet" or "red30".
    pub net: String,
    /// U-Net width (48 in the paper) or RED30 features (128).
    pub width: usize,
    /// 3 (RGB; grey photos repeated) or 1 (grey; RGB photos as luma).
    pub channels: usize,
    pub steps: u64,
    pub batch: usize,
    pub crop: usize,
    pub lr_max: f64,
    pub seed: u64,
    /// Validation photos are centre-cropped to this size (0: whole photos).
    pub val_crop: usize,
}

impl DenoiseConfig {
    /// The paper's settings for `noise` (U-Net width 48, 256² crops, batch 4, lr 3e-4; its
    /// loss for the noise kind), 1000 steps.
    pub fn new(data: Vec<PathBuf>, out: PathBuf, noise: NoiseSpec) -> Self {
        let kind = noise.kind;
        Self {
            data,
            pairs: None,
            val: Vec::new(),
            run: RunControl::new(out, 100, 100),
            val_noise: noise.fixed(kind.test_strength()),
            noise,
            targets: Targets::Noisy,
            loss: kind.paper_loss().into(),
            net: "unet".into(),
            width: 48,
            channels: 3,
            steps: 1000,
            batch: 4,
            crop: 256,
            lr_max: 3e-4,
            seed: 0,
            val_crop: 256,
        }
    }

    /// The architecture: `net` with `channels` in and out and `width`.
    pub fn arch(&self) -> Result<NetConfig> {
        let c = self.channels;
        match NetConfig::by_name(&self.net, c, c).map_err(|e| ReconError::Invalid(format!("--net: {e}")))? {
            NetConfig::UNet(_) => Ok(NetConfig::UNet(UNetConfig::new(c, c).with_width(self.width))),
            NetConfig::Red30(_) => Ok(NetConfig::Red30(Red30Config::new(c, c).with_features(self.width))),
        }
    }

    /// What the model was trained on: the noise spec (`gaussian:0-50`), or `pairs:DIR` for
    /// real pairs.
    pub fn trained_on(&self) -> String {
        match &self.pairs {
            Some(dir) => format!("pairs:{}", dir.display()),
            None => self.noise.to_string(),
        }
    }

    /// The JSON stored in `ModelMeta.config`: this config (all a resume compares) plus the
    /// task, what it was trained on ([`Self::trained_on`]) and the normalisation.
    pub fn to_json(&self) -> String {
        let extra = json!({"task": TASK, "trained_on": self.trained_on(), "normalisation": "8-bit value / 255 - 0.5"});
        config_json(self, extra)
    }

    /// Checks every numeric setting against the bounds of [`crate::train::settings`]
    /// (`Invalid` naming the option): the CLI checks the same bounds when parsing.
    pub fn validate(&self) -> Result<()> {
        check_common(self.steps, self.batch, self.crop, self.width, self.lr_max)?;
        check_range("val-crop", self.val_crop as u64, VAL_SIZE)?;
        if ![1, 3].contains(&self.channels) {
            return Err(ReconError::Invalid(format!("--channels {}: must be 1 or 3", self.channels)));
        }
        Ok(())
    }
}

/// Where training pairs come from.
pub enum PairSource {
    /// Clean photos corrupted on the fly.
    Synthetic { photos: Vec<Photo>, noise: NoiseSpec, targets: Targets },
    /// Real noisy–noisy pairs.
    Real(Vec<(Photo, Photo)>),
}

/// One training pair: input, target, and the target's valid-pixel mask (Bernoulli).
pub struct TrainPair {
    pub input: Array3<f32>,
    pub target: Array3<f32>,
    pub mask: Option<ndarray::Array2<f32>>,
}

impl PairSource {
    pub fn len(&self) -> usize {
        match self {
            Self::Synthetic { photos, .. } => photos.len(),
            Self::Real(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pair `j` of step `step`; a pure function of `(seed, step, j)`.
    pub fn pair(&self, seed: u64, step: u64, j: usize, batch: usize, crop: usize) -> TrainPair {
        let n = self.len() as u64;
        let g = step * batch as u64 + j as u64;
        let idx = epoch_permutation(self.len(), seed, g / n)[(g % n) as usize];
        let key = [seed as u32, (seed >> 32) as u32, step as u32, (step >> 32) as u32, j as u32, 0xD0];
        let mut rng = MaskRng::from_words(key);
        match self {
            Self::Synthetic { photos, noise, targets } => {
                let x = &photos[idx].data;
                let o = crop_origin(x.dim().1, x.dim().2, crop, &mut rng);
                let clean = crop_at(x, o, crop);
                let input = noise.corrupt(&clean, &mut rng).image;
                match targets {
                    Targets::Clean => TrainPair { input, target: clean, mask: None },
                    Targets::Noisy => {
                        let t = noise.corrupt(&clean, &mut rng);
                        let mask = if noise.kind == NoiseKind::Bernoulli { t.valid } else { None };
                        TrainPair { input, target: t.image, mask }
                    }
                }
            }
            Self::Real(pairs) => {
                let (a, b) = &pairs[idx];
                let o = crop_origin(a.data.dim().1, a.data.dim().2, crop, &mut rng);
                let (a, b) = (crop_at(&a.data, o, crop), crop_at(&b.data, o, crop));
                let (input, target) = if rng.uniform() < 0.5 { (a, b) } else { (b, a) };
                TrainPair { input, target, mask: None }
            }
        }
    }
}

/// A fixed validation set: `(clean, noisy)` per held-back photo, noise keyed by `(seed, i)`.
pub fn validation_set(photos: &[Photo], noise: &NoiseSpec, seed: u64) -> Vec<(Array3<f32>, Array3<f32>)> {
    photos
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let key = [seed as u32, (seed >> 32) as u32, i as u32, 0x7A1D];
            let mut rng = MaskRng::from_words(key);
            let noisy = noise.corrupt(&p.data, &mut rng).image;
            (p.data.clone(), noisy)
        })
        .collect()
}

/// Mean 8-bit PSNR (dB) over `set` of the network output and of the noisy input.
pub fn validate(d: &Denoiser, set: &[(Array3<f32>, Array3<f32>)]) -> Result<(f64, f64)> {
    let (mut net, mut inp) = (0.0, 0.0);
    for (clean, noisy) in set {
        let out = d.denoise_centred(noisy)?;
        let to01 = |x: &Array3<f32>| x.mapv(|v| v + 0.5);
        net += psnr_u8(to01(clean).view(), to01(&out).view())?;
        inp += psnr_u8(to01(clean).view(), to01(noisy).view())?;
    }
    let n = set.len().max(1) as f64;
    Ok((net / n, inp / n))
}

/// Trains a denoiser; see the module documentation. Writes the checkpoint to `cfg.run.out`, the
/// CSV log beside it ([`crate::train::log_path`]) and the plot, through the MRI engine's [`run_loop`].
pub fn train(cfg: &DenoiseConfig, progress: &dyn Progress) -> Result<TrainReport> {
    cfg.validate()?;
    let loss_fn = Loss::by_name(&cfg.loss)
        .ok_or_else(|| ReconError::Invalid(format!("unknown loss '{}' (known: l2, l1, l0)", cfg.loss)))?;
    let arch = cfg.arch()?;
    if cfg.pairs.is_none() && cfg.data.is_empty() {
        return Err(ReconError::Invalid("give --data (clean photos) or --pairs (real pairs)".into()));
    }
    let inputs: Vec<&Path> =
        cfg.data.iter().chain(&cfg.val).chain(&cfg.pairs).map(PathBuf::as_path).collect();
    cfg.run.prepare(&inputs, cfg, cfg.steps)?;
    let source = match &cfg.pairs {
        Some(dir) => PairSource::Real(load_pairs(dir, cfg.channels, cfg.crop)?),
        None => PairSource::Synthetic {
            photos: load_photos(&cfg.data, cfg.channels, cfg.crop)?,
            noise: cfg.noise.clone(),
            targets: cfg.targets,
        },
    };
    let val_set = if cfg.val.is_empty() {
        Vec::new()
    } else {
        let mut photos = load_photos(&cfg.val, cfg.channels, 1)?;
        if cfg.val_crop > 0 {
            photos.iter_mut().for_each(|p| p.data = centre_crop(&p.data, cfg.val_crop));
        }
        validation_set(&photos, &cfg.val_noise, cfg.seed)
    };
    let device = models::best_device();
    let mut meta = ModelMeta::new(arch.clone());
    meta.normalisation =
        Normalisation { method: "offset".into(), params: BTreeMap::from([("offset".to_string(), -0.5)]) };
    meta.config = cfg.to_json();

    let lc = LoopConfig {
        run: &cfg.run,
        seed: cfg.seed,
        steps: cfg.steps,
        schedule: Schedule::n2n_images(cfg.steps, cfg.lr_max, 0.3),
        input_label: "noisy input",
    };
    let step_loss = |net: &Network, step: u64| -> Result<Tensor> {
        let pairs: Vec<TrainPair> =
            (0..cfg.batch).map(|j| source.pair(cfg.seed, step, j, cfg.batch, cfg.crop)).collect();
        let input = to_batch(&pairs.iter().map(|p| &p.input).collect::<Vec<_>>(), &device)?;
        let target = to_batch(&pairs.iter().map(|p| &p.target).collect::<Vec<_>>(), &device)?;
        let masks: Option<Vec<Array3<f32>>> =
            pairs.iter().map(|p| p.mask.as_ref().map(|m| m.clone().insert_axis(Axis(0)))).collect();
        let mask = masks.map(|m| to_batch(&m.iter().collect::<Vec<_>>(), &device)).transpose()?;
        let out = net.forward(&input).map_err(cerr)?;
        loss_fn.compute(&out, &target, mask.as_ref(), step, cfg.steps).map_err(cerr)
    };
    let val = |net: &Network| -> Result<Option<(f64, f64)>> {
        if val_set.is_empty() {
            return Ok(None);
        }
        let d = Denoiser::from_network(net.detached(), meta.clone(), device.clone());
        validate(&d, &val_set).map(Some)
    };
    let r = run_loop(&lc, &meta, step_loss, val, progress)?;
    Ok(TrainReport {
        steps: r.end,
        start_step: r.start,
        train_slices: source.len(),
        val_slices: val_set.len(),
        final_loss: r.final_loss,
        val_psnr: r.val.map(|v| v.0),
        val_psnr_input: r.val.map(|v| v.1),
        rows: r.rows,
        checkpoint: cfg.run.out.clone(),
        log: r.log,
        plot: r.plot,
    })
}
