//! The training loop every recipe runs on ([`run_loop`]): init or resume, Adam, CSV log,
//! validation, checkpoints, export, plot. Before it, [`RunControl::prepare`] checked the
//! outputs and, on resume, the checkpoint's settings and step.
//!
//! The CSV log's loss column is the mean of the step losses since the previous row; the
//! running `(sum, count)` is saved in each checkpoint (`ModelMeta.loss_since_log`), and a
//! `stop_after` stop between two `val_every` rows writes no row, so a resumed run writes the
//! same rows as an uninterrupted one (the `seconds` column aside).

use std::{path::PathBuf, time::Instant};

use models::{
    load_checkpoint, load_checkpoint_bytes, save_checkpoint, Adam, AdamConfig, DType, ModelMeta, Network,
    Schedule, Tensor, VarMap,
};

use super::{
    control::RunControl,
    log::{fmt_row, log_path, old_rows, LogRow, HEADER},
};
use crate::{io::atomic::write_atomic, progress::Progress, ReconError, Result};

/// What the generic loop ([`run_loop`]) needs besides the data: where to write, the
/// schedule, and when to validate, checkpoint, stop and export.
#[derive(Clone, Debug)]
pub struct LoopConfig<'a> {
    /// Output, cadences, stop, resume and export.
    pub run: &'a RunControl,
    /// Seed of the weight initialisation.
    pub seed: u64,
    /// Steps of the schedule.
    pub steps: u64,
    pub schedule: Schedule,
    /// Legend of the validation PSNR of the network's input in the plot ("zero-filled input").
    pub input_label: &'static str,
    /// Weights a new run starts from instead of the seeded init (ignored on resume).
    pub init: Option<&'a super::InitWeights>,
}

/// What [`run_loop`] did.
#[derive(Clone, Debug)]
pub struct LoopReport {
    pub start: u64,
    pub end: u64,
    pub final_loss: f64,
    /// Last validation (network, input) PSNR, if validated.
    pub val: Option<(f64, f64)>,
    pub rows: Vec<LogRow>,
    pub log: PathBuf,
    pub plot: Option<PathBuf>,
}

/// The training loop every recipe runs on ([`super::train`]), generic over where pairs
/// come from: `step_loss(net, t)` builds step `t`'s batch (a pure function of the seed and `t`) and returns the loss to minimise;
/// `val(net)` gives the validation (network, input) PSNR or `None`. Builds the network of
/// `meta.arch` (seeded He init, or `lc.init`'s weights) or resumes it with its Adam state and running log loss from
/// `lc.run.out` (same architecture required; the settings were compared by
/// [`RunControl::prepare`], which the caller runs first), runs Adam (β2 0.99, ε 1e-8) with
/// `lc.schedule`, logs a CSV row (mean loss since the previous row, lr, validation PSNRs,
/// seconds) every `val_every` steps and at the end of the schedule, saves checkpoints
/// (weights, Adam state, `meta` with the step) every `checkpoint_every` steps and at the end, then the optional
/// f16 export (when the schedule is complete) and the plot.
pub fn run_loop(
    lc: &LoopConfig,
    meta: &ModelMeta,
    mut step_loss: impl FnMut(&Network, u64) -> Result<Tensor>,
    val: impl Fn(&Network) -> Result<Option<(f64, f64)>>,
    progress: &dyn Progress,
) -> Result<LoopReport> {
    let device = models::best_device();
    let arch = &meta.arch;
    let (varmap, net, mut adam, start, (mut acc, mut acc_n)) = if lc.run.resume {
        let ck = load_checkpoint(&lc.run.out, &device)
            .map_err(|e| ReconError::format(&lc.run.out, format!("--resume: {e}")))?;
        if &ck.meta.arch != arch {
            return Err(ReconError::Invalid(format!(
                "{}: --resume: the checkpoint's architecture {:?} differs from this run's {arch:?}",
                lc.run.out.display(),
                ck.meta.arch
            )));
        }
        let mut adam = Adam::new(&ck.varmap, AdamConfig::default())?;
        let st = ck
            .optimiser
            .ok_or_else(|| ReconError::format(&lc.run.out, "checkpoint has no optimiser state"))?;
        adam.set_state(&st)?;
        (ck.varmap, ck.net, adam, ck.meta.step, ck.meta.loss_since_log.unwrap_or((0.0, 0)))
    } else {
        let (varmap, net) = match lc.init {
            Some(init) => initial_weights(init, arch, &device)?,
            None => {
                let varmap = VarMap::new();
                let net = Network::init(arch, &varmap, lc.seed, DType::F32, &device)?;
                (varmap, net)
            }
        };
        let adam = Adam::new(&varmap, AdamConfig::default())?;
        (varmap, net, adam, 0, (0.0, 0))
    };
    let sched = &lc.schedule;
    let log = log_path(&lc.run.out);
    let kept = if lc.run.resume { old_rows(&log, start) } else { Vec::new() };
    let t_offset = kept.last().and_then(|l| l.rsplit(',').next()?.parse::<f64>().ok()).unwrap_or(0.0);
    let mut csv_text = format!("{HEADER}\n");
    for l in &kept {
        csv_text += &format!("{l}\n");
    }
    let write_log =
        |text: &str| write_atomic(&log, |tmp| std::fs::write(tmp, text).map_err(|e| ReconError::io(&log, e)));
    write_log(&csv_text)?;

    let save = |step: u64, adam: &Adam, acc: (f64, u64)| -> Result<()> {
        let mut m = meta.clone();
        m.step = step;
        m.loss_since_log = Some(acc);
        save_checkpoint(&lc.run.out, &varmap, &m, Some(&adam.state()))?;
        Ok(())
    };
    let end = lc.run.end(lc.steps);
    progress.start("steps", end.saturating_sub(start));
    let t0 = Instant::now();
    let mut last_loss = f64::NAN;
    let mut rows = Vec::new();
    let mut last_val = None;
    for step in start..end {
        let loss = step_loss(&net, step)?;
        let p = sched.at(step);
        adam.backward_step(&loss, p)?;
        last_loss = loss.to_dtype(DType::F64).and_then(|l| l.to_scalar::<f64>())?;
        acc += last_loss;
        acc_n += 1;
        let done = step + 1;
        progress.status(&format!("loss {last_loss:.3e}"));
        progress.inc(1);
        let last = done == end;
        // A `stop_after` stop off the cadence logs no row: the running loss goes into the
        // checkpoint, so the resumed run's rows are the uninterrupted run's.
        if done == lc.steps || (lc.run.val_every > 0 && done % lc.run.val_every == 0) {
            last_val = val(&net)?;
            let row = LogRow {
                step: done,
                loss: acc / acc_n as f64,
                lr: p.lr,
                val_psnr: last_val.map(|v| v.0),
                val_psnr_input: last_val.map(|v| v.1),
                seconds: t_offset + t0.elapsed().as_secs_f64(),
            };
            csv_text += &format!("{}\n", fmt_row(&row));
            write_log(&csv_text)?;
            let v =
                last_val.map(|(a, b)| format!(", val PSNR {a:.2} dB (input {b:.2} dB)")).unwrap_or_default();
            progress.message(&format!("step {done}: loss {:.4e}, lr {:.2e}{v}", row.loss, p.lr));
            rows.push(row);
            (acc, acc_n) = (0.0, 0);
        }
        if last || (lc.run.checkpoint_every > 0 && done % lc.run.checkpoint_every == 0) {
            save(done, &adam, (acc, acc_n))?;
        }
    }
    progress.finish();
    if end < lc.steps {
        progress.message(&format!("stopped after step {end} of {}; continue with --resume", lc.steps));
    }
    if let Some(path) = lc.run.export.as_deref().filter(|_| end == lc.steps) {
        let mut m = meta.clone();
        m.step = end;
        models::export_model(path, &varmap, &m, DType::F16)?;
    }
    let plot = super::plot::after_training(&lc.run.out, &log, &rows, lc.input_label, progress);
    Ok(LoopReport { start, end, final_loss: last_loss, val: last_val, rows, log, plot })
}

/// The trainable weights of `init` (f16 / bf16 widened to f32; an optimiser state in it is
/// not used): `Invalid` naming the model unless its architecture is `arch` and it is not
/// f64.
fn initial_weights(
    init: &super::InitWeights,
    arch: &models::NetConfig,
    device: &models::Device,
) -> Result<(VarMap, Network)> {
    let name = &init.name;
    let ck = load_checkpoint_bytes(name, &init.bytes, device)
        .map_err(|e| ReconError::format(name, format!("--init: {e}")))?;
    if &ck.meta.arch != arch {
        return Err(ReconError::Invalid(format!(
            "{}: --init: the model's architecture {:?} differs from this run's {arch:?}",
            name.display(),
            ck.meta.arch
        )));
    }
    if ck.stored_dtype == DType::F64 {
        return Err(ReconError::format(name, "--init: f64 weights; training runs in f32"));
    }
    Ok((ck.varmap, ck.net))
}
