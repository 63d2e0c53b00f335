//! `recon denoise train`: the Noise2Noise image experiments on photos.
//!
//! Each step draws, for every batch element, a photo (per-epoch permutation keyed by
//! `(seed, epoch)`, [`epoch_permutation`]), a random `crop × crop` window, and two
//! independent corruptions with their own strengths (the target is the clean crop with
//! `--targets clean`; a grey photo, or a colour crop turned grey with probability
//! `grey_fraction`, gets one noise draw in every channel, [`super::grey`]); with `--pairs` it draws one real pair, a common window, and swaps
//! input and target with probability ½. All draws of step `t` come from generators keyed by
//! `(seed, t, j)`, so a run is a pure function of its seed and resumes exactly.
//!
//! Loss: L2, L1, or annealed L0 (γ = 2 → 0 over the run, [`models::gamma_schedule`]); with
//! Bernoulli noise and noisy targets, the loss is masked to the target's kept pixels.
//! Adam (β2 0.99) with the paper's image schedule (constant lr, cos² ramp-down over the
//! last 30 %, [`Schedule::n2n_images`]). The CSV log, its plot, checkpoints (weights +
//! Adam state + [`ModelMeta`]), `--resume`, `--stop-after` and the f16 `--export` are
//! those of the training engine ([`crate::engine`], through [`DenoiseRecipe`]); validation
//! reports the mean 8-bit PSNR of the network and of the noisy input on fixed, seeded
//! corruptions of held-back photos at the test strength.

use std::collections::BTreeMap;

use kspace::rng::MaskRng;
use models::{Loss, ModelMeta, Module, Network, Normalisation, Schedule};
use ndarray::{Array3, Axis};

use super::{
    config::DenoiseConfig,
    dataset::{centre_crop, crop_at, crop_origin, load_pairs, load_photos, Photo},
    grey::{corrupt, to_grey, GreyNoise},
    infer::Denoiser,
    init::initial_weights,
    noise::{NoiseKind, NoiseSpec},
    prep::CENTRE,
};
use crate::{
    engine::{self, epoch_permutation, InitWeights, Plan, Recipe, StepBatch, Targets, TrainReport},
    metrics::psnr_u8,
    progress::Progress,
    tensor::to_batch,
    ReconError, Result,
};

/// Where training pairs come from.
pub enum PairSource {
    /// Clean photos corrupted on the fly; grey photos (and a `grey_fraction` of colour
    /// crops, turned grey) as `grey_noise` says ([`super::grey`]).
    Synthetic {
        photos: Vec<Photo>,
        noise: NoiseSpec,
        targets: Targets,
        grey_noise: GreyNoise,
        grey_fraction: f64,
    },
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

    /// Pair `j` of step `step`; a pure function of `(seed, step, j)`.
    pub fn pair(&self, seed: u64, step: u64, j: usize, batch: usize, crop: usize) -> TrainPair {
        let n = self.len() as u64;
        let g = step * batch as u64 + j as u64;
        let idx = epoch_permutation(self.len(), seed, g / n)[(g % n) as usize];
        let key = [seed as u32, (seed >> 32) as u32, step as u32, (step >> 32) as u32, j as u32, 0xD0];
        let mut rng = MaskRng::from_words(key);
        match self {
            Self::Synthetic { photos, noise, targets, grey_noise, grey_fraction } => {
                let (x, mut grey) = (&photos[idx].data, photos[idx].grey);
                let o = crop_origin(x.dim().1, x.dim().2, crop, &mut rng);
                let mut clean = crop_at(x, o, crop);
                // Drawn only when the fraction is set: a run without it keeps its draws.
                if *grey_fraction > 0.0 && !grey && clean.dim().0 == 3 && rng.uniform() < *grey_fraction {
                    (clean, grey) = (to_grey(&clean), true);
                }
                let shared = grey && *grey_noise == GreyNoise::Shared;
                let input = corrupt(noise, &clean, shared, &mut rng).image;
                match targets {
                    Targets::Clean => TrainPair { input, target: clean, mask: None },
                    Targets::Noisy => {
                        let t = corrupt(noise, &clean, shared, &mut rng);
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

/// A fixed validation set: `(clean, noisy)` per held-back photo, noise keyed by `(seed, i)`;
/// a grey photo's noise as `grey_noise` says.
pub fn validation_set(
    photos: &[Photo],
    noise: &NoiseSpec,
    seed: u64,
    grey_noise: GreyNoise,
) -> Vec<(Array3<f32>, Array3<f32>)> {
    photos
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let key = [seed as u32, (seed >> 32) as u32, i as u32, 0x7A1D];
            let mut rng = MaskRng::from_words(key);
            let noisy = corrupt(noise, &p.data, p.grey && grey_noise == GreyNoise::Shared, &mut rng).image;
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

/// The denoising recipe's data: where pairs come from, the fixed validation set, and the
/// model's metadata.
pub struct DenoiseRecipe<'a> {
    cfg: &'a DenoiseConfig,
    device: models::Device,
    source: PairSource,
    val: Vec<(Array3<f32>, Array3<f32>)>,
    meta: ModelMeta,
    init: Option<InitWeights>,
}

impl<'a> Recipe<'a> for DenoiseRecipe<'a> {
    type Config = DenoiseConfig;
    const INPUT_LABEL: &'static str = "noisy input";

    fn plan(cfg: &'a DenoiseConfig) -> Result<Plan<'a>> {
        cfg.validate()?;
        let loss = Loss::by_name(&cfg.loss)
            .ok_or_else(|| ReconError::Invalid(format!("unknown loss '{}' (known: l2, l1, l0)", cfg.loss)))?;
        cfg.arch()?;
        if cfg.pairs.is_none() && cfg.data.is_empty() {
            return Err(ReconError::Invalid("give --data (clean photos) or --pairs (real pairs)".into()));
        }
        Ok(Plan {
            run: &cfg.run,
            inputs: cfg
                .data
                .iter()
                .chain(&cfg.val)
                .chain(&cfg.pairs)
                .map(|p| p.as_path())
                .chain(cfg.init.as_ref().and_then(|i| i.path()))
                .collect(),
            steps: cfg.steps,
            seed: cfg.seed,
            schedule: Schedule::n2n_images(cfg.steps, cfg.lr_max, 0.3),
            loss,
        })
    }

    fn load(cfg: &'a DenoiseConfig) -> Result<Self> {
        let init = initial_weights(cfg.init.as_ref(), cfg.init_kind(), &cfg.denoiser_arch())?;
        let source = match &cfg.pairs {
            Some(dir) => PairSource::Real(load_pairs(dir, cfg.channels, cfg.crop)?),
            None => PairSource::Synthetic {
                photos: load_photos(&cfg.data, cfg.channels, cfg.crop)?,
                noise: cfg.noise.clone(),
                targets: cfg.targets,
                grey_noise: cfg.grey_noise,
                grey_fraction: cfg.grey_fraction,
            },
        };
        let val = if cfg.val.is_empty() {
            Vec::new()
        } else {
            let mut photos = load_photos(&cfg.val, cfg.channels, 1)?;
            if cfg.val_crop > 0 {
                photos.iter_mut().for_each(|p| p.data = centre_crop(&p.data, cfg.val_crop));
            }
            validation_set(&photos, &cfg.val_noise, cfg.seed, cfg.grey_noise)
        };
        let mut meta = ModelMeta::new(cfg.arch()?);
        meta.normalisation = Normalisation {
            method: "offset".into(),
            params: BTreeMap::from([("offset".to_string(), -f64::from(CENTRE))]),
        };
        meta.config = cfg.to_json();
        Ok(Self { cfg, device: models::best_device(), source, val, meta, init })
    }

    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn step(&self, net: &Network, step: u64) -> Result<StepBatch> {
        let (cfg, device) = (self.cfg, &self.device);
        let pairs: Vec<TrainPair> =
            (0..cfg.batch).map(|j| self.source.pair(cfg.seed, step, j, cfg.batch, cfg.crop)).collect();
        let input = to_batch(&pairs.iter().map(|p| &p.input).collect::<Vec<_>>(), device)?;
        let target = to_batch(&pairs.iter().map(|p| &p.target).collect::<Vec<_>>(), device)?;
        let masks: Option<Vec<Array3<f32>>> =
            pairs.iter().map(|p| p.mask.as_ref().map(|m| m.clone().insert_axis(Axis(0)))).collect();
        let weight = masks.map(|m| to_batch(&m.iter().collect::<Vec<_>>(), device)).transpose()?;
        Ok(StepBatch { output: net.forward(&input)?, target, weight })
    }

    fn validate(&self, net: &Network) -> Result<Option<(f64, f64)>> {
        if self.val.is_empty() {
            return Ok(None);
        }
        let d = Denoiser::from_network(net.detached(), self.meta.clone(), self.device.clone());
        validate(&d, &self.val).map(Some)
    }

    fn sizes(&self) -> (usize, usize) {
        (self.source.len(), self.val.len())
    }

    fn init(&self) -> Option<&InitWeights> {
        self.init.as_ref()
    }
}

/// Trains a denoiser (`DenoiseRecipe` on [`engine::train`]); see the module
/// documentation. Writes the checkpoint to `cfg.run.out`, the CSV log beside it
/// (`engine::log_path`) and the plot.
pub fn train(cfg: &DenoiseConfig, progress: &dyn Progress) -> Result<TrainReport> {
    engine::train::<DenoiseRecipe>(cfg, progress)
}
