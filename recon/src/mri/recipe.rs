//! The Noise2Noise MRI recipe (Lehtinen et al. 2018) on the training engine.
//!
//! Every random draw of step `t` (which slices, shifts, masks) comes from generators keyed
//! by `(seed, t, …)`, and slice order from a per-epoch permutation keyed by `(seed, epoch)`,
//! so the data stream is a pure function of `(seed, step)`: resuming needs only the weights,
//! the Adam state and the step count, all in the checkpoint, and reaches the same weights
//! as an uninterrupted run (same device and thread count).
//!
//! One step: `x̂, ŷ, y, m` from the corruption for each of B slices; `f = UNet(x̂)`;
//! `g = DC(f)`, in magnitude mode `Re(F⁻¹(F f·(1 − m) + y))`, in complex mode
//! `Σ_c conj(s_c)·F⁻¹(F(s_c f)·(1 − m) + y_c)` ([`DftDc::apply_coils`]);
//! `loss = mean((g − ŷ)²)`; Adam (β2 0.99, ε 1e-8) with lr and β1 from [`schedule`].

use kspace::rng::MaskRng;
use models::{
    DType, Device, Loss, ModelMeta, Module, NetConfig, Network, RampDown, Schedule, Tensor, UNetConfig,
};
use ndarray::{Array2, Array3, Axis};

use super::{
    config::TrainConfig,
    corruption::{Corruption, MriUndersampling, Pair, Targets},
    dataset::SliceDataset,
    dc::DftDc,
    prep::normalisation,
};
use crate::{
    engine::{self, Plan, Recipe, StepBatch, TrainReport},
    metrics::psnr_n2n,
    progress::Progress,
    tensor::{complex_batch, from_batch, to_batch},
    ReconError, Result,
};

/// The N2N MRI schedule (ramp-up exp(−5(1−t/10)²) over 10 "epochs", Gaussian ramp-down
/// over the last 30 with β1 0.9 → 0.5; 300 epochs in the paper) compressed onto `steps`:
/// `k = ⌈steps / 300⌉` steps per epoch and `⌈steps / k⌉` epochs, so the schedule ends at
/// the last step (it never leaves steps after the ramp-down); peak `lr_max`.
pub fn schedule(steps: u64, lr_max: f64) -> Schedule {
    let per_epoch = steps.max(1).div_ceil(300);
    let epochs = steps.max(1).div_ceil(per_epoch);
    let mut s = Schedule::n2n_mri(epochs, per_epoch);
    s.lr_max = lr_max;
    debug_assert_eq!(s.rampdown_shape, RampDown::Gaussian);
    s
}

/// A batch of pairs as tensors.
pub struct BatchTensors {
    /// Network input (N, ch, H, W).
    pub input: Tensor,
    pub target: Tensor,
    /// Measured samples per coil, (N, C, H, W) real and imaginary parts.
    pub measured: (Tensor, Tensor),
    /// Keep mask (N, 1, H, W).
    pub keep: Tensor,
    /// Coil maps (N, C, H, W) in complex mode.
    pub sens: Option<(Tensor, Tensor)>,
}

impl BatchTensors {
    pub fn new(pairs: &[Pair], device: &Device) -> Result<Self> {
        let refs = |f: &dyn Fn(&Pair) -> &Array3<f32>| pairs.iter().map(f).collect::<Vec<_>>();
        let keep: Vec<Array3<f32>> = pairs.iter().map(|p| p.keep.clone().insert_axis(Axis(0))).collect();
        let sens = match pairs.iter().map(|p| p.sens.as_ref()).collect::<Option<Vec<_>>>() {
            Some(s) if !s.is_empty() => Some(complex_batch(&s, device)?),
            _ => None,
        };
        Ok(Self {
            input: to_batch(&refs(&|p| &p.input), device)?,
            target: to_batch(&refs(&|p| &p.target), device)?,
            measured: complex_batch(&pairs.iter().map(|p| &p.measured).collect::<Vec<_>>(), device)?,
            keep: to_batch(&keep.iter().collect::<Vec<_>>(), device)?,
            sens,
        })
    }

    /// `DC(f)` for the network output `f`: real-image DC in magnitude mode, multi-coil
    /// complex DC otherwise ([`DftDc::apply_coils`]).
    pub fn consistent(&self, dc: &DftDc, f: &Tensor) -> candle_core::Result<Tensor> {
        match &self.sens {
            None => dc.apply(f, &self.measured.0, &self.measured.1, &self.keep),
            Some(s) => dc.apply_coils(f, s, &self.measured, &self.keep),
        }
    }
}

/// The generator for sample `j` of step `step`.
fn step_rng(seed: u64, step: u64, j: usize) -> MaskRng {
    let key = [seed as u32, (seed >> 32) as u32, step as u32, (step >> 32) as u32, j as u32, 0xC0];
    MaskRng::from_words(key)
}

/// The batch of step `step`: slice `g mod n` of epoch `⌊g / n⌋` of the shuffled order,
/// `g = step·B + j`, corrupted with `step_rng`. Pure function of (seed, step).
pub fn make_batch(
    ds: &SliceDataset,
    corruption: &dyn Corruption,
    seed: u64,
    step: u64,
    batch: usize,
) -> Result<Vec<Pair>> {
    engine::step_items(ds.len(), seed, step, batch)
        .into_iter()
        .enumerate()
        .map(|(j, idx)| corruption.corrupt(&ds.slices[idx], &mut step_rng(seed, step, j)))
        .collect()
}

/// Fixed validation pairs: clean targets, no shift, masks from `(seed, i)`.
fn validation_pairs(ds: &SliceDataset, cfg: &TrainConfig) -> Result<Vec<Pair>> {
    let c = corruption(cfg, Targets::Clean, 0)?;
    let sub = ds.subset(cfg.val_slices);
    sub.slices
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let key = [cfg.seed as u32, (cfg.seed >> 32) as u32, i as u32, 0x7A1];
            c.corrupt(s, &mut MaskRng::from_words(key))
        })
        .collect()
}

/// The corruption of `cfg` with the given targets and shift.
pub fn corruption(cfg: &TrainConfig, targets: Targets, max_shift: usize) -> Result<MriUndersampling> {
    let masks = cfg.params.iter().map(|p| cfg.mask.build(p)).collect::<kspace::Result<Vec<_>>>()?;
    if masks.is_empty() {
        return Err(ReconError::Invalid("no mask settings".into()));
    }
    Ok(MriUndersampling {
        compensate_input: cfg.compensate_input,
        ..MriUndersampling::from_masks(masks, targets, max_shift, cfg.mode)
    })
}

/// The image the PSNR is taken on, with the normalisation undone: `(v + 0.5)·scale − 0.5`
/// (magnitude mode, in [−0.5, 0.5]) or `|z|·scale − 0.5` of the two channels (complex
/// mode), so both use `psnr_n2n`.
fn psnr_image(x: &Array3<f32>, scale: f32) -> Array2<f32> {
    if x.dim().0 == 1 {
        return x.index_axis(Axis(0), 0).mapv(|v| (v + 0.5) * scale - 0.5);
    }
    let (re, im) = (x.index_axis(Axis(0), 0), x.index_axis(Axis(0), 1));
    ndarray::Zip::from(&re).and(&im).map_collect(|&a, &b| (a * a + b * b).sqrt() * scale - 0.5)
}

/// Mean PSNR (`psnr_n2n`) over `pairs` of DC(net(input)) vs clean, and of the input itself.
pub fn validate(
    net: &Network,
    dc: &DftDc,
    pairs: &[Pair],
    batch: usize,
    device: &Device,
) -> Result<(f64, f64)> {
    let net = net.detached();
    let (mut sum_net, mut sum_in) = (0.0, 0.0);
    for chunk in pairs.chunks(batch.max(1)) {
        let b = BatchTensors::new(chunk, device)?;
        let out = net.forward(&b.input).and_then(|f| b.consistent(dc, &f))?;
        for (p, o) in chunk.iter().zip(from_batch(&out)?) {
            let clean = psnr_image(&p.clean, 1.0);
            sum_net += psnr_n2n(clean.view(), psnr_image(&o, p.scale).view())?;
            sum_in += psnr_n2n(clean.view(), psnr_image(&p.input, p.scale).view())?;
        }
    }
    let n = pairs.len().max(1) as f64;
    Ok((sum_net / n, sum_in / n))
}

/// The MRI recipe's data: the training slices, the corruption, the fixed validation pairs,
/// the DC layer, and the model's metadata.
pub struct MriRecipe<'a> {
    cfg: &'a TrainConfig,
    device: Device,
    corruption: MriUndersampling,
    train: SliceDataset,
    val: Vec<Pair>,
    dc: DftDc,
    meta: ModelMeta,
}

impl<'a> Recipe<'a> for MriRecipe<'a> {
    type Config = TrainConfig;
    const INPUT_LABEL: &'static str = "zero-filled input";

    fn plan(cfg: &'a TrainConfig) -> Result<Plan<'a>> {
        cfg.validate()?;
        let loss = Loss::by_name(&cfg.loss)
            .ok_or_else(|| ReconError::Invalid(format!("unknown loss '{}'", cfg.loss)))?;
        Ok(Plan {
            run: &cfg.run,
            inputs: cfg.data.iter().chain(&cfg.val).map(|p| p.as_path()).collect(),
            steps: cfg.steps,
            seed: cfg.seed,
            schedule: schedule(cfg.steps, cfg.lr_max),
            loss,
        })
    }

    fn load(cfg: &'a TrainConfig) -> Result<Self> {
        let device = models::best_device();
        let corruption = corruption(cfg, cfg.targets, cfg.max_shift)?;
        let train = SliceDataset::load(&cfg.data, cfg.crop, cfg.max_train_slices)?;
        let val = if cfg.val.is_empty() || cfg.val_slices == 0 {
            Vec::new()
        } else {
            validation_pairs(&SliceDataset::load(&cfg.val, cfg.crop, None)?, cfg)?
        };
        let dc = DftDc::new(cfg.crop, cfg.crop, DType::F32, &device)?;
        let ch = cfg.mode.channels();
        let mut meta = ModelMeta::new(NetConfig::UNet(UNetConfig::new(ch, ch).with_width(cfg.width)));
        meta.normalisation = normalisation(cfg.mode, cfg.compensate_input);
        meta.config = cfg.to_json();
        Ok(Self { cfg, device, corruption, train, val, dc, meta })
    }

    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn step(&self, net: &Network, step: u64) -> Result<StepBatch> {
        let cfg = self.cfg;
        let pairs = make_batch(&self.train, &self.corruption, cfg.seed, step, cfg.batch)?;
        let b = BatchTensors::new(&pairs, &self.device)?;
        let output = net.forward(&b.input).and_then(|f| b.consistent(&self.dc, &f))?;
        Ok(StepBatch { output, target: b.target, weight: None })
    }

    fn validate(&self, net: &Network) -> Result<Option<(f64, f64)>> {
        if self.val.is_empty() {
            return Ok(None);
        }
        validate(net, &self.dc, &self.val, self.cfg.batch, &self.device).map(Some)
    }

    fn sizes(&self) -> (usize, usize) {
        (self.train.len(), self.val.len())
    }
}

/// Trains a U-Net with the N2N MRI recipe (`MriRecipe` on [`engine::train`]); see the
/// module documentation. Writes the checkpoint to `cfg.run.out` (every `checkpoint_every`
/// steps and at the end, with the Adam state) and the CSV log to `engine::log_path`.
pub fn train(cfg: &TrainConfig, progress: &dyn Progress) -> Result<TrainReport> {
    engine::train::<MriRecipe>(cfg, progress)
}
