//! The training loop shared by `recon train` and `recon denoise train` ([`run_loop`]) and
//! what it is told about outputs, cadences, stopping and resuming ([`RunControl`]).
//!
//! Before any work, [`RunControl::prepare`] checks the outputs ([`super::outputs`]) and, on
//! resume, the checkpoint's settings ([`super::settings::check_resume`]) and step.
//!
//! The CSV log's loss column is the mean of the step losses since the previous row; the
//! running `(sum, count)` is saved in each checkpoint (`ModelMeta.loss_since_log`), and a
//! `stop_after` stop between two `val_every` rows writes no row, so a resumed run writes the
//! same rows as an uninterrupted one (the `seconds` column aside).

use super::tensor::cerr;
use std::{path::PathBuf, time::Instant};

use models::{
    load_checkpoint, save_checkpoint, Adam, AdamConfig, DType, ModelMeta, Network, Schedule, Tensor, VarMap,
};
use serde::{de::DeserializeOwned, Serialize};

pub use super::control::RunControl;
pub use super::log::{fmt_row, log_path, old_rows, LogRow, HEADER};
use super::outputs::{check_outputs, prepare_outputs};
use crate::{io::atomic::write_atomic, progress::Progress, ReconError, Result};

impl RunControl {
    /// Checks before any work: the outputs ([`check_outputs`] against `inputs`), on resume
    /// the checkpoint's `settings` and that it has steps left before [`Self::end`]; then
    /// creates the output folders and removes stale temporary files.
    pub fn prepare<T: Serialize + DeserializeOwned>(
        &self,
        inputs: &[&std::path::Path],
        settings: &T,
        steps: u64,
    ) -> Result<()> {
        check_outputs(self, inputs)?;
        let start = if self.resume { super::settings::check_resume(&self.out, settings)? } else { 0 };
        let end = self.end(steps);
        if start >= end {
            return Err(ReconError::Invalid(format!(
                "{}: nothing to train: the run would start at step {start} and end at step {end} (of {steps}){}",
                self.out.display(),
                if self.resume { "; it is finished, or raise --stop-after" } else { "" }
            )));
        }
        prepare_outputs(self)
    }
}

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

fn merr(what: &'static str) -> impl Fn(models::ModelError) -> ReconError {
    move |e| ReconError::Failed(format!("{what}: {e}"))
}

/// The training loop shared by the MRI (`super::train`) and the photo-denoising pipelines
/// (`crate::denoise::train`), generic over where pairs come from: `step_loss(net, t)` builds
/// step `t`'s batch (a pure function of the seed and `t`) and returns the loss to minimise;
/// `val(net)` gives the validation (network, input) PSNR or `None`. Builds the network of
/// `meta.arch` (seeded He init) or resumes it with its Adam state and running log loss from
/// `lc.run.out` (same architecture required; the settings were compared by
/// [`RunControl::prepare`], which the caller runs first), runs Adam (β2 0.99, ε 1e-8) with
/// `lc.schedule`, logs a CSV row (mean loss since the previous row, lr, validation PSNRs,
/// seconds) every `val_every` steps and at the end of the schedule, saves checkpoints (weights, Adam state,
/// `meta` with the step) every `checkpoint_every` steps and at the end, then the optional
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
        let mut adam = Adam::new(&ck.varmap, AdamConfig::default()).map_err(cerr)?;
        let st = ck
            .optimiser
            .ok_or_else(|| ReconError::format(&lc.run.out, "checkpoint has no optimiser state"))?;
        adam.set_state(&st).map_err(cerr)?;
        (ck.varmap, ck.net, adam, ck.meta.step, ck.meta.loss_since_log.unwrap_or((0.0, 0)))
    } else {
        let varmap = VarMap::new();
        let net = Network::init(arch, &varmap, lc.seed, DType::F32, &device).map_err(merr("init"))?;
        let adam = Adam::new(&varmap, AdamConfig::default()).map_err(cerr)?;
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
        save_checkpoint(&lc.run.out, &varmap, &m, Some(&adam.state())).map_err(merr("checkpoint"))
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
        adam.backward_step(&loss, p).map_err(cerr)?;
        last_loss = loss.to_dtype(DType::F64).and_then(|l| l.to_scalar::<f64>()).map_err(cerr)?;
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
        models::export_model(path, &varmap, &m, DType::F16).map_err(merr("export"))?;
    }
    let plot = super::plot::after_training(&lc.run.out, &log, &rows, lc.input_label, progress);
    Ok(LoopReport { start, end, final_loss: last_loss, val: last_val, rows, log, plot })
}
