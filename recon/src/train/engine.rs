//! The training loop and the inference helper.
//!
//! Every random draw of step `t` (which slices, shifts, masks) comes from generators keyed
//! by `(seed, t, …)`, and slice order from a per-epoch permutation keyed by `(seed, epoch)`,
//! so the data stream is a pure function of `(seed, step)`: resuming needs only the weights,
//! the Adam state and the step count, all in the checkpoint, and reaches the same weights
//! as an uninterrupted run (same device and thread count).
//!
//! One step: `x̂, ŷ, y, m` from the corruption for each of B slices; `f = UNet(x̂)`;
//! `g = DC(f) = Re(F⁻¹(F f·(1 − m) + y))`; `loss = mean((g − ŷ)²)`; Adam (β2 0.99, ε 1e-8)
//! with lr and β1 from [`schedule`].

use std::{
    collections::BTreeMap,
    fmt::Display,
    path::{Path, PathBuf},
    time::Instant,
};

use kspace::{mask::MaskParams, rng::MaskRng, SamplingMask, C32};
use models::{
    load_checkpoint, save_checkpoint, Adam, AdamConfig, DType, Device, Loss, ModelMeta, Module, NetConfig,
    Network, Normalisation, RampDown, Schedule, Tensor, UNetConfig, VarMap,
};
use ndarray::Array2;
use serde_json::json;

use super::{
    corruption::{Corruption, MriUndersampling, Pair, Targets},
    dataset::{epoch_permutation, SliceDataset},
    dc::DftDc,
};
use crate::{metrics::psnr_n2n, progress::Progress, ReconError, Result};

/// Everything `recon train` needs. [`TrainConfig::new`] gives the paper's settings.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Training volumes (NIfTI).
    pub data: Vec<PathBuf>,
    /// Validation volumes (NIfTI); empty: no validation.
    pub val: Vec<PathBuf>,
    /// Checkpoint / model path (`.safetensors`); the CSV log goes next to it (`.csv`).
    pub out: PathBuf,
    /// Mask family name (`kspace::mask::from_name`), "n2n" in the paper.
    pub mask: String,
    pub params: MaskParams,
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
    /// Validate (and log a CSV row) every this many steps, and at the end. 0: only at the end.
    pub val_every: u64,
    /// Save a checkpoint every this many steps, and at the end. 0: only at the end.
    pub checkpoint_every: u64,
    /// Number of validation slices (evenly spaced over the validation set).
    pub val_slices: usize,
    /// Continue from the checkpoint at `out` (its seed must match). Exact only with the
    /// same `steps`, `batch`, data and mask settings: the schedule and data stream depend on them.
    pub resume: bool,
    /// Use only this many (evenly spaced) training slices.
    pub max_train_slices: Option<usize>,
    /// Shift augmentation: circular shift up to ± this many pixels per axis (64 in the paper).
    pub max_shift: usize,
    /// Stop (validating and saving a checkpoint) after this step although the schedule runs
    /// to `steps`: for time-limited jobs, continued later with `resume`.
    pub stop_after: Option<u64>,
}

impl TrainConfig {
    /// The paper's recipe: n2n mask with p_edge 0.025, noisy targets, L2, crop 255, batch 16,
    /// width 48, lr 1e-3, shifts ±64; 10 000 steps, validation every 500 on 100 slices.
    pub fn new(data: Vec<PathBuf>, val: Vec<PathBuf>, out: PathBuf) -> Self {
        Self {
            data,
            val,
            out,
            mask: "n2n".into(),
            params: MaskParams { p_edge: Some(0.025), ..MaskParams::default() },
            targets: Targets::Noisy,
            loss: "l2".into(),
            steps: 10_000,
            batch: 16,
            crop: 255,
            width: 48,
            lr_max: 1e-3,
            seed: 0,
            val_every: 500,
            checkpoint_every: 1000,
            val_slices: 100,
            resume: false,
            max_train_slices: None,
            max_shift: 64,
            stop_after: None,
        }
    }

    /// The JSON stored in `ModelMeta.config`: what inference must know (mode, mask, crop,
    /// normalisation) plus the training settings.
    pub fn to_json(&self) -> String {
        let p = &self.params;
        json!({
            "mode": "magnitude", "channels": 1,
            "mask": self.mask,
            "params": {"acceleration": p.acceleration, "center_fraction": p.center_fraction,
                       "p_edge": p.p_edge, "calib": p.calib, "offset": p.offset, "sigma": p.sigma},
            "targets": self.targets, "loss": self.loss, "crop": self.crop,
            "normalisation": "image / max, then - 0.5 (background -0.5)",
            "steps": self.steps, "batch": self.batch, "width": self.width, "lr_max": self.lr_max,
            "seed": self.seed, "max_shift": self.max_shift,
            "data": self.data, "val": self.val,
        })
        .to_string()
    }
}

/// One CSV row: mean training loss since the previous row, lr, validation PSNRs (dB).
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    pub step: u64,
    pub loss: f64,
    pub lr: f64,
    pub val_psnr: Option<f64>,
    pub val_psnr_input: Option<f64>,
    pub seconds: f64,
}

/// What [`train`] did.
#[derive(Clone, Debug)]
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

fn err(what: &str) -> impl Fn(&dyn Display) -> ReconError + '_ {
    move |e| ReconError::Invalid(format!("{what}: {e}"))
}

fn cerr(e: candle_core::Error) -> ReconError {
    ReconError::Invalid(format!("candle: {e}"))
}

/// The N2N MRI schedule (ramp-up exp(−5(1−t/10)²) over 10 of 300 "epochs", Gaussian
/// ramp-down over the last 30 with β1 0.9 → 0.5) compressed onto `steps`: `epochs =
/// min(300, steps)` units of `⌊steps / epochs⌋` steps each; peak `lr_max`.
pub fn schedule(steps: u64, lr_max: f64) -> Schedule {
    let epochs = steps.clamp(1, 300);
    let mut s = Schedule::n2n_mri(epochs, (steps / epochs).max(1));
    s.lr_max = lr_max;
    debug_assert_eq!(s.rampdown_shape, RampDown::Gaussian);
    s
}

/// (N, 1, H, W) tensor from N equally shaped images.
pub fn to_batch(images: &[&Array2<f32>], device: &Device) -> Result<Tensor> {
    let (h, w) = images[0].dim();
    let mut v: Vec<f32> = Vec::with_capacity(images.len() * h * w);
    for im in images {
        v.extend(im.iter());
    }
    Tensor::from_vec(v, (images.len(), 1, h, w), device).map_err(cerr)
}

/// Images of an (N, 1, H, W) tensor.
pub fn from_batch(t: &Tensor) -> Result<Vec<Array2<f32>>> {
    let (n, _, h, w) = t.dims4().map_err(cerr)?;
    let v: Vec<f32> = t.to_dtype(DType::F32).and_then(|t| t.flatten_all()?.to_vec1()).map_err(cerr)?;
    Ok((0..n)
        .map(|i| Array2::from_shape_vec((h, w), v[i * h * w..(i + 1) * h * w].to_vec()).unwrap()) // ok: length h·w
        .collect())
}

/// Tensors of a batch of pairs: (input, target, y_re, y_im, keep), each (N, 1, H, W).
pub fn pair_tensors(pairs: &[Pair], device: &Device) -> Result<[Tensor; 5]> {
    let re: Vec<Array2<f32>> = pairs.iter().map(|p| p.measured.mapv(|z| z.re)).collect();
    let im: Vec<Array2<f32>> = pairs.iter().map(|p| p.measured.mapv(|z| z.im)).collect();
    let refs = |f: &dyn Fn(&Pair) -> &Array2<f32>| pairs.iter().map(f).collect::<Vec<_>>();
    Ok([
        to_batch(&refs(&|p| &p.input), device)?,
        to_batch(&refs(&|p| &p.target), device)?,
        to_batch(&re.iter().collect::<Vec<_>>(), device)?,
        to_batch(&im.iter().collect::<Vec<_>>(), device)?,
        to_batch(&refs(&|p| &p.keep), device)?,
    ])
}

/// The generator for sample `j` of step `step`.
fn step_rng(seed: u64, step: u64, j: usize) -> MaskRng {
    let key = [seed as u32, (seed >> 32) as u32, step as u32, (step >> 32) as u32, j as u32, 0xC0];
    MaskRng::from_key(&key).expect("non-empty key") // ok: constant-length key
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
            if perm.as_ref().map(|p| p.0) != Some(epoch) {
                perm = Some((epoch, epoch_permutation(ds.len(), seed, epoch)));
            }
            let idx = perm.as_ref().unwrap().1[(g % n) as usize]; // ok: set above
            corruption.corrupt(&ds.slices[idx], &mut step_rng(seed, step, j))
        })
        .collect()
}

/// Fixed validation pairs: clean targets, no shift, masks from `(seed, i)`.
fn validation_pairs(ds: &SliceDataset, cfg: &TrainConfig) -> Result<Vec<Pair>> {
    let mask = kspace::mask::from_name(&cfg.mask, &cfg.params)?;
    let c = MriUndersampling::new(mask, Targets::Clean, 0);
    let sub = ds.subset(cfg.val_slices);
    sub.slices
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let key = [cfg.seed as u32, (cfg.seed >> 32) as u32, i as u32, 0x7A1];
            c.corrupt(s, &mut MaskRng::from_key(&key).expect("key")) // ok: constant-length key
        })
        .collect()
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
        let [x, _, yr, yi, m] = pair_tensors(chunk, device)?;
        let out = net.forward(&x).and_then(|f| dc.apply(&f, &yr, &yi, &m)).map_err(cerr)?;
        for (p, o) in chunk.iter().zip(from_batch(&out)?) {
            sum_net += psnr_n2n(p.clean.view(), o.view())?;
            sum_in += psnr_n2n(p.clean.view(), p.input.view())?;
        }
    }
    let n = pairs.len().max(1) as f64;
    Ok((sum_net / n, sum_in / n))
}

/// The CSV log path next to `out`.
pub fn log_path(out: &Path) -> PathBuf {
    out.with_extension("csv")
}

const HEADER: &str = "step,loss,lr,val_psnr,val_psnr_input,seconds";

fn fmt_row(r: &LogRow) -> String {
    let o = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    format!(
        "{},{:.6e},{:.6e},{},{},{:.2}",
        r.step,
        r.loss,
        r.lr,
        o(r.val_psnr),
        o(r.val_psnr_input),
        r.seconds
    )
}

/// Rows of an existing log with step ≤ `upto` (kept on resume).
fn old_rows(path: &Path, upto: u64) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter(|l| l.split(',').next().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s <= upto))
        .map(str::to_string)
        .collect()
}

/// Trains a 1→1 U-Net on magnitude slices with the N2N MRI recipe; see the module
/// documentation. Writes the checkpoint to `cfg.out` (every `checkpoint_every` steps and at
/// the end, with the Adam state) and the CSV log to [`log_path`].
pub fn train(cfg: &TrainConfig, progress: &dyn Progress) -> Result<TrainReport> {
    if cfg.batch == 0 || cfg.steps == 0 {
        return Err(ReconError::Invalid("batch and steps must be > 0".into()));
    }
    let loss_fn = Loss::by_name(&cfg.loss)
        .ok_or_else(|| ReconError::Invalid(format!("unknown loss '{}'", cfg.loss)))?;
    let device = models::best_device();
    let mask = kspace::mask::from_name(&cfg.mask, &cfg.params)?;
    let corruption = MriUndersampling::new(mask, cfg.targets, cfg.max_shift);
    let train_ds = SliceDataset::load(&cfg.data, cfg.crop, cfg.max_train_slices)?;
    let val_pairs = if cfg.val.is_empty() || cfg.val_slices == 0 {
        Vec::new()
    } else {
        validation_pairs(&SliceDataset::load(&cfg.val, cfg.crop, None)?, cfg)?
    };
    let dc = DftDc::new(cfg.crop, cfg.crop, DType::F32, &device).map_err(cerr)?;
    let arch = NetConfig::UNet(UNetConfig::new(1, 1).with_width(cfg.width));
    let mut meta = ModelMeta::new(arch.clone());
    meta.normalisation =
        Normalisation { method: "max".into(), params: BTreeMap::from([("offset".to_string(), -0.5)]) };
    meta.config = cfg.to_json();

    let (varmap, net, mut adam, start) = if cfg.resume {
        let ck = load_checkpoint(&cfg.out, &device).map_err(|e| err("resume")(&e))?;
        if ck.meta.arch != arch {
            return Err(ReconError::format(&cfg.out, "checkpoint architecture differs from the config"));
        }
        let old: serde_json::Value = serde_json::from_str(&ck.meta.config).unwrap_or_default();
        if old["seed"].as_u64() != Some(cfg.seed) {
            return Err(ReconError::format(
                &cfg.out,
                format!("checkpoint seed {} ≠ {}", old["seed"], cfg.seed),
            ));
        }
        let mut adam = Adam::new(&ck.varmap, AdamConfig::default()).map_err(cerr)?;
        let st =
            ck.optimiser.ok_or_else(|| ReconError::format(&cfg.out, "checkpoint has no optimiser state"))?;
        adam.set_state(&st).map_err(cerr)?;
        (ck.varmap, ck.net, adam, ck.meta.step)
    } else {
        let varmap = VarMap::new();
        let net =
            Network::init(&arch, &varmap, cfg.seed, DType::F32, &device).map_err(|e| err("init")(&e))?;
        let adam = Adam::new(&varmap, AdamConfig::default()).map_err(cerr)?;
        (varmap, net, adam, 0)
    };
    let sched = schedule(cfg.steps, cfg.lr_max);
    let log = log_path(&cfg.out);
    let kept = if cfg.resume { old_rows(&log, start) } else { Vec::new() };
    let t_offset = kept.last().and_then(|l| l.rsplit(',').next()?.parse::<f64>().ok()).unwrap_or(0.0);
    let mut csv_text = format!("{HEADER}\n");
    for l in &kept {
        csv_text += &format!("{l}\n");
    }
    let write_log = |text: &str| std::fs::write(&log, text).map_err(|e| ReconError::io(&log, e));
    write_log(&csv_text)?;

    let save = |step: u64, adam: &Adam| -> Result<()> {
        let mut m = meta.clone();
        m.step = step;
        save_checkpoint(&cfg.out, &varmap, &m, Some(&adam.state())).map_err(|e| err("checkpoint")(&e))
    };
    let end = cfg.stop_after.map_or(cfg.steps, |s| s.min(cfg.steps));
    progress.start("steps", end.saturating_sub(start));
    let t0 = Instant::now();
    let (mut acc, mut acc_n, mut last_loss) = (0.0, 0u64, f64::NAN);
    let mut rows = Vec::new();
    let (mut vp, mut vpi) = (None, None);
    for step in start..end {
        let pairs = make_batch(&train_ds, &corruption, cfg.seed, step, cfg.batch)?;
        let [x, target, yr, yi, m] = pair_tensors(&pairs, &device)?;
        let out = net.forward(&x).and_then(|f| dc.apply(&f, &yr, &yi, &m)).map_err(cerr)?;
        let loss = loss_fn.compute(&out, &target, None, step, cfg.steps).map_err(cerr)?;
        let p = sched.at(step);
        adam.backward_step(&loss, p).map_err(cerr)?;
        last_loss = loss.to_dtype(DType::F64).and_then(|l| l.to_scalar::<f64>()).map_err(cerr)?;
        acc += last_loss;
        acc_n += 1;
        let done = step + 1;
        progress.inc(1);
        let last = done == end;
        if last || (cfg.val_every > 0 && done % cfg.val_every == 0) {
            (vp, vpi) = (None, None);
            if !val_pairs.is_empty() {
                let (a, b) = validate(&net, &dc, &val_pairs, cfg.batch, &device)?;
                (vp, vpi) = (Some(a), Some(b));
            }
            let row = LogRow {
                step: done,
                loss: acc / acc_n as f64,
                lr: p.lr,
                val_psnr: vp,
                val_psnr_input: vpi,
                seconds: t_offset + t0.elapsed().as_secs_f64(),
            };
            csv_text += &format!("{}\n", fmt_row(&row));
            write_log(&csv_text)?;
            let v = vp
                .map(|v| format!(", val PSNR {v:.2} dB (input {:.2} dB)", vpi.unwrap())) // ok: both set together
                .unwrap_or_default();
            progress.message(&format!("step {done}: loss {:.4e}, lr {:.2e}{v}", row.loss, p.lr));
            rows.push(row);
            (acc, acc_n) = (0.0, 0);
        }
        if last || (cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0) {
            save(done, &adam)?;
        }
    }
    progress.finish();
    let plot = super::plot::after_training(&cfg.out, &log, &rows, progress);
    Ok(TrainReport {
        steps: end,
        start_step: start,
        train_slices: train_ds.len(),
        val_slices: val_pairs.len(),
        final_loss: last_loss,
        val_psnr: vp,
        val_psnr_input: vpi,
        rows,
        checkpoint: cfg.out.clone(),
        log,
        plot,
    })
}

/// Reconstructs one single-coil magnitude-mode slice with a trained 1→1 network.
///
/// `zero_filled` is the density-compensated zero-filled image `Re(ifft2c(y·keep/p))`, as in
/// training; `measured` the raw k-space (H, W) and `mask` its sampling mask. The image is
/// normalised like training data, `x = zf / s + offset` with `s = max(zf)` (training used
/// the volume max; a single slice only has its own) and `offset` from `meta.normalisation`
/// (−0.5); the output is mapped back, `(f − offset)·s`, and hard data consistency puts the
/// measured samples back (`kspace::consistency`, equivalent to doing it in the normalised
/// domain since DC is affine). Any H, W: the U-Net pads to multiples of 32 internally.
pub fn reconstruct_with_model(
    net: &Network,
    meta: &ModelMeta,
    zero_filled: &Array2<f32>,
    measured: &Array2<C32>,
    mask: &SamplingMask,
    device: &Device,
) -> Result<Array2<f32>> {
    if meta.arch.in_channels() != 1 || meta.arch.out_channels() != 1 {
        return Err(ReconError::Invalid(format!(
            "model has {}→{} channels; the magnitude mode needs 1→1",
            meta.arch.in_channels(),
            meta.arch.out_channels()
        )));
    }
    if zero_filled.dim() != measured.dim() || measured.dim() != mask.shape() {
        return Err(ReconError::Invalid("image, k-space and mask shapes differ".into()));
    }
    let offset = meta.normalisation.params.get("offset").copied().unwrap_or(-0.5) as f32;
    let max = zero_filled.iter().fold(0f32, |m, &v| m.max(v));
    let s = if max > 0.0 { max } else { 1.0 };
    let x = zero_filled.mapv(|v| v / s + offset);
    let f = net.detached().forward(&to_batch(&[&x], device)?).map_err(cerr)?;
    let mut out = from_batch(&f)?.remove(0).mapv(|v| (v - offset) * s);
    kspace::consistency::DataConsistency::new(measured, mask)?.apply_real_image(&mut out)?;
    Ok(out)
}
