//! The training loop and the inference helper.
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
//!
//! The loop itself (init or resume, Adam, CSV log, validation, checkpoints, export, plot) is
//! [`run_loop`], generic over how a step's loss is made: the photo-denoising pipeline
//! (`crate::denoise::train`) runs on it too.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use kspace::{mask::MaskParams, rng::MaskRng};
use models::{
    DType, Device, Loss, ModelMeta, Module, NetConfig, Network, Normalisation, RampDown, Schedule, Tensor,
    UNetConfig,
};
use ndarray::{Array2, Array3, Axis};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use super::log::{fmt_row, log_path, old_rows, LogRow, HEADER};
pub use super::run::{run_loop, LoopConfig, LoopReport, RunControl};
use super::tensor::cerr;
pub use super::tensor::{complex_batch, from_batch, to_batch};
use super::{
    corruption::{Corruption, Mode, MriUndersampling, Pair, Targets},
    dataset::{epoch_permutation, SliceDataset},
    dc::DftDc,
    settings::{check_common, check_range, config_json, COILS, MAX_PHASE, MAX_SHIFT, MRI_TASK, VAL_SIZE},
};
use crate::{metrics::psnr_n2n, progress::Progress, ReconError, Result};

/// Everything `recon train` needs. [`TrainConfig::new`] gives the paper's settings. Stored
/// in checkpoints (serde, without the run control) and compared on resume
/// ([`super::settings::check_resume`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Training volumes (NIfTI).
    pub data: Vec<PathBuf>,
    /// Validation volumes (NIfTI); empty: no validation.
    pub val: Vec<PathBuf>,
    /// Output, validation / checkpoint cadence, stop, resume and export: not stored, may
    /// change on resume.
    #[serde(skip)]
    pub run: RunControl,
    /// Mask family name (`kspace::mask::from_name`), "n2n" in the paper.
    pub mask: String,
    /// Mask settings (non-empty); each training pair draws one uniformly (fastMRI's
    /// `accelerations = [4, 8]`, `center_fractions = [0.08, 0.04]` style).
    #[serde(with = "super::settings::mask_params")]
    pub params: Vec<MaskParams>,
    /// Magnitude (1 channel, the paper's) or complex (2 channels, with phase and coils);
    /// stored flat: `"mode": "complex", "coils": 4, "max_phase": 1.5`.
    #[serde(flatten)]
    pub mode: Mode,
    /// Density-compensate the network input (the paper), or feed the plain zero-filled image.
    pub compensate_input: bool,
    pub targets: Targets,
    /// "l2" (the recipe), "l1" or "l0".
    pub loss: String,
    pub steps: u64,
    pub batch: usize,
    /// Slices are centre-cropped / padded to crop × crop (255 in the paper).
    pub crop: usize,
    /// U-Net width (48 in the paper).
    pub width: usize,
    pub lr_max: f64,
    pub seed: u64,
    /// Number of validation slices (evenly spaced over the validation set).
    pub val_slices: usize,
    /// Use only this many (evenly spaced) training slices.
    pub max_train_slices: Option<usize>,
    /// Shift augmentation: circular shift up to ± this many pixels per axis (64 in the paper).
    pub max_shift: usize,
}

impl TrainConfig {
    /// The paper's recipe: n2n mask with p_edge 0.025, noisy targets, L2, crop 255, batch 16,
    /// width 48, lr 1e-3, shifts ±64; 10 000 steps, validation every 500 on 100 slices.
    pub fn new(data: Vec<PathBuf>, val: Vec<PathBuf>, out: PathBuf) -> Self {
        Self {
            data,
            val,
            run: RunControl::new(out, 500, 1000),
            mask: "n2n".into(),
            params: vec![MaskParams { p_edge: Some(0.025), ..MaskParams::default() }],
            mode: Mode::Magnitude,
            compensate_input: true,
            targets: Targets::Noisy,
            loss: "l2".into(),
            steps: 10_000,
            batch: 16,
            crop: 255,
            width: 48,
            lr_max: 1e-3,
            seed: 0,
            val_slices: 100,
            max_train_slices: None,
            max_shift: 64,
        }
    }

    /// The JSON stored in `ModelMeta.config`: this config (what inference must know: mode,
    /// mask, crop; and the training settings, all a resume compares) plus the task, the
    /// channels and the normalisation.
    pub fn to_json(&self) -> String {
        let normalisation = match self.mode {
            Mode::Magnitude => "slice / max(zero-filled input), then - 0.5 (background -0.5)",
            Mode::Complex { .. } => "complex image / max |zero-filled input|",
        };
        let extra =
            json!({"task": MRI_TASK, "channels": self.mode.channels(), "normalisation": normalisation});
        config_json(self, extra)
    }

    /// Checks every numeric setting against the bounds of [`super::settings`] (`Invalid`
    /// naming the option): the CLI checks the same bounds when parsing.
    pub fn validate(&self) -> Result<()> {
        check_common(self.steps, self.batch, self.crop, self.width, self.lr_max)?;
        check_range("max-shift", self.max_shift as u64, MAX_SHIFT)?;
        check_range("val-slices", self.val_slices as u64, VAL_SIZE)?;
        if let Some(n) = self.max_train_slices {
            check_range("max-train-slices", n as u64, 1..=u64::MAX)?;
        }
        if let Mode::Complex { coils, max_phase } = self.mode {
            check_range("coils", coils as u64, COILS)?;
            if !MAX_PHASE.contains(&(max_phase as f64)) {
                return Err(ReconError::Invalid(format!(
                    "--max-phase {max_phase}: must be in {}..={}",
                    MAX_PHASE.start(),
                    MAX_PHASE.end()
                )));
            }
        }
        Ok(())
    }
}

/// What [`train`] did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainReport {
    pub steps: u64,
    /// Step the run started from (0, or the checkpoint's step on resume).
    pub start_step: u64,
    pub train_slices: usize,
    pub val_slices: usize,
    pub final_loss: f64,
    pub val_psnr: Option<f64>,
    pub val_psnr_input: Option<f64>,
    pub rows: Vec<LogRow>,
    pub checkpoint: PathBuf,
    pub log: PathBuf,
    /// The training-curve PNG next to the checkpoint, if it could be written.
    pub plot: Option<PathBuf>,
}

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
/// `g = step·B + j`, corrupted with [`step_rng`]. Pure function of (seed, step).
pub fn make_batch(
    ds: &SliceDataset,
    corruption: &dyn Corruption,
    seed: u64,
    step: u64,
    batch: usize,
) -> Result<Vec<Pair>> {
    let n = ds.len() as u64;
    let mut perm: Option<(u64, Vec<usize>)> = None;
    (0..batch)
        .map(|j| {
            let g = step * batch as u64 + j as u64;
            let epoch = g / n;
            let order = match &mut perm {
                Some((e, order)) if *e == epoch => order,
                slot => &mut slot.insert((epoch, epoch_permutation(ds.len(), seed, epoch))).1,
            };
            let idx = order[(g % n) as usize];
            corruption.corrupt(&ds.slices[idx], &mut step_rng(seed, step, j))
        })
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
    let masks = cfg
        .params
        .iter()
        .map(|p| kspace::mask::from_name(&cfg.mask, p))
        .collect::<kspace::Result<Vec<_>>>()?;
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
        let out = net.forward(&b.input).and_then(|f| b.consistent(dc, &f)).map_err(cerr)?;
        for (p, o) in chunk.iter().zip(from_batch(&out)?) {
            let clean = psnr_image(&p.clean, 1.0);
            sum_net += psnr_n2n(clean.view(), psnr_image(&o, p.scale).view())?;
            sum_in += psnr_n2n(clean.view(), psnr_image(&p.input, p.scale).view())?;
        }
    }
    let n = pairs.len().max(1) as f64;
    Ok((sum_net / n, sum_in / n))
}

/// Trains a 1→1 U-Net on magnitude slices with the N2N MRI recipe; see the module
/// documentation. Writes the checkpoint to `cfg.out` (every `checkpoint_every` steps and at
/// the end, with the Adam state) and the CSV log to [`log_path`].
pub fn train(cfg: &TrainConfig, progress: &dyn Progress) -> Result<TrainReport> {
    cfg.validate()?;
    let loss_fn = Loss::by_name(&cfg.loss)
        .ok_or_else(|| ReconError::Invalid(format!("unknown loss '{}'", cfg.loss)))?;
    let inputs: Vec<&Path> = cfg.data.iter().chain(&cfg.val).map(PathBuf::as_path).collect();
    cfg.run.prepare(&inputs, cfg, cfg.steps)?;
    let device = models::best_device();
    let corruption = corruption(cfg, cfg.targets, cfg.max_shift)?;
    let train_ds = SliceDataset::load(&cfg.data, cfg.crop, cfg.max_train_slices)?;
    let val_pairs = if cfg.val.is_empty() || cfg.val_slices == 0 {
        Vec::new()
    } else {
        validation_pairs(&SliceDataset::load(&cfg.val, cfg.crop, None)?, cfg)?
    };
    let dc = DftDc::new(cfg.crop, cfg.crop, DType::F32, &device).map_err(cerr)?;
    let ch = cfg.mode.channels();
    let arch = NetConfig::UNet(UNetConfig::new(ch, ch).with_width(cfg.width));
    let mut meta = ModelMeta::new(arch.clone());
    let comp = (super::infer::INPUT_COMPENSATION.to_string(), if cfg.compensate_input { 1.0 } else { 0.0 });
    meta.normalisation = match cfg.mode {
        Mode::Magnitude => Normalisation {
            method: "max".into(),
            params: BTreeMap::from([("offset".to_string(), -0.5), comp]),
        },
        Mode::Complex { .. } => Normalisation {
            method: super::infer::COMPLEX_NORMALISATION.into(),
            params: BTreeMap::from([comp]),
        },
    };
    meta.config = cfg.to_json();

    let lc = LoopConfig {
        run: &cfg.run,
        seed: cfg.seed,
        steps: cfg.steps,
        schedule: schedule(cfg.steps, cfg.lr_max),
        input_label: "zero-filled input",
    };
    let step_loss = |net: &Network, step: u64| -> Result<Tensor> {
        let pairs = make_batch(&train_ds, &corruption, cfg.seed, step, cfg.batch)?;
        let b = BatchTensors::new(&pairs, &device)?;
        let out = net.forward(&b.input).and_then(|f| b.consistent(&dc, &f)).map_err(cerr)?;
        loss_fn.compute(&out, &b.target, None, step, cfg.steps).map_err(cerr)
    };
    let val = |net: &Network| -> Result<Option<(f64, f64)>> {
        if val_pairs.is_empty() {
            return Ok(None);
        }
        validate(net, &dc, &val_pairs, cfg.batch, &device).map(Some)
    };
    let r = run_loop(&lc, &meta, step_loss, val, progress)?;
    Ok(TrainReport {
        steps: r.end,
        start_step: r.start,
        train_slices: train_ds.len(),
        val_slices: val_pairs.len(),
        final_loss: r.final_loss,
        val_psnr: r.val.map(|v| v.0),
        val_psnr_input: r.val.map(|v| v.1),
        rows: r.rows,
        checkpoint: cfg.run.out.clone(),
        log: r.log,
        plot: r.plot,
    })
}
