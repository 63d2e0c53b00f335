//! The training engine: everything a training run does that does not depend on what is
//! learnt. It knows nothing of MRI or photos; a [`Recipe`] (`crate::mri`,
//! `crate::denoise`) says how a step's batch is made, what is validated and what the model
//! file records.
//!
//! [`train`] runs a recipe: its configuration's checks ([`Recipe::plan`]), the checks before
//! any work ([`RunControl::prepare`]: outputs that never replace data, `outputs`; on
//! resume the typed comparison of the whole configuration with the checkpoint's,
//! `resume`), the recipe's data ([`Recipe::load`]), then the loop (`run`: init or exact
//! resume, Adam, the CSV log (`log`), validation, checkpoints, f16 export, the training
//! plot (`plot`, `canvas`, `font`)) and the [`TrainReport`]. The numeric bounds every
//! run shares are in `bounds`; the per-epoch data order and the target choice in
//! `sampling`.
//!
//! Every random draw of step `t` must come from generators keyed by `(seed, t, …)` and the
//! item order from `epoch_permutation`, so that a run is a pure function of its seed and
//! resuming needs only the weights, the Adam state and the step, all in the checkpoint.

pub(crate) mod bounds;
pub(crate) mod canvas;
pub(crate) mod control;
pub(crate) mod font;
pub(crate) mod log;
pub(crate) mod outputs;
pub(crate) mod plot;
pub(crate) mod resume;
pub(crate) mod run;
pub(crate) mod sampling;

use std::path::{Path, PathBuf};

use models::{Loss, ModelMeta, Network, Schedule, Tensor};

pub use control::RunControl;
pub use log::LogRow;
pub use resume::{Difference, Differences, ResumeKey};
pub(crate) use run::{run_loop, LoopConfig};
pub use sampling::Targets;
pub(crate) use sampling::{epoch_permutation, step_items};

use crate::{progress::Progress, Result};

/// What the engine needs of a configuration, once its checks passed ([`Recipe::plan`]).
pub struct Plan<'a> {
    /// Output, cadences, stop, resume and export.
    pub run: &'a RunControl,
    /// Every file or folder the run reads (no output may replace one).
    pub inputs: Vec<&'a Path>,
    /// Steps of the schedule.
    pub steps: u64,
    /// Seed of the weight initialisation.
    pub seed: u64,
    pub schedule: Schedule,
    /// The loss, applied to [`StepBatch`] by the engine.
    pub loss: Loss,
}

/// One step's batch as the network saw it: the loss compares `output` with `target`,
/// restricted to `weight`'s pixels when given.
pub struct StepBatch {
    /// What the network (and whatever the recipe applies after it) made of the input.
    pub output: Tensor,
    pub target: Tensor,
    /// Per-pixel weight (N, 1, H, W) of the loss, e.g. a target's valid pixels.
    pub weight: Option<Tensor>,
}

/// A training recipe: what is learnt, from what data, validated how. `'a` is the borrow of
/// the configuration the recipe keeps while it runs.
pub trait Recipe<'a>: Sized {
    /// The whole configuration: stored in the checkpoint and compared on resume.
    type Config: ResumeKey + 'a;
    /// The legend of the input's validation PSNR in the plot ("zero-filled input").
    const INPUT_LABEL: &'static str;

    /// Checks `cfg` (bounds, names, combinations) before any file is touched.
    fn plan(cfg: &'a Self::Config) -> Result<Plan<'a>>;

    /// Loads the data of `cfg` (after the outputs were checked) and describes the model.
    fn load(cfg: &'a Self::Config) -> Result<Self>;

    /// The model file's metadata: architecture, normalisation, the config JSON.
    fn meta(&self) -> &ModelMeta;

    /// Step `step`'s batch through `net`: a pure function of the seed and `step`.
    fn step(&self, net: &Network, step: u64) -> Result<StepBatch>;

    /// The validation (network, input) PSNR in dB, or `None` without validation data.
    fn validate(&self, net: &Network) -> Result<Option<(f64, f64)>>;

    /// How many training and validation items (slices, photos) there are.
    fn sizes(&self) -> (usize, usize);

    /// The weights a new run starts from (fine-tuning, `--init`); `None`: seeded He
    /// initialisation. A resume ignores it (the checkpoint has the weights).
    fn init(&self) -> Option<&InitWeights> {
        None
    }
}

/// A model file's bytes to start a run from: its architecture must be the run's; its
/// weights (f16 widened to f32) are trained from step 0 with a fresh Adam state.
pub struct InitWeights {
    /// Names the model in messages (a path, or `default-gaussian` for a built-in model).
    pub name: PathBuf,
    pub bytes: std::borrow::Cow<'static, [u8]>,
}

impl std::fmt::Debug for InitWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitWeights").field("name", &self.name).field("bytes", &self.bytes.len()).finish()
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

/// Trains with recipe `R`: see the module documentation. Writes the checkpoint to
/// `run.out` (every `checkpoint_every` steps and at the end, with the Adam state), the CSV
/// log (`log_path`) and the plot beside it.
pub fn train<'a, R: Recipe<'a>>(cfg: &'a R::Config, progress: &dyn Progress) -> Result<TrainReport> {
    let plan = R::plan(cfg)?;
    plan.run.prepare(&plan.inputs, cfg, plan.steps)?;
    let recipe = R::load(cfg)?;
    let lc = LoopConfig {
        run: plan.run,
        seed: plan.seed,
        steps: plan.steps,
        schedule: plan.schedule.clone(),
        input_label: R::INPUT_LABEL,
        init: recipe.init(),
    };
    let step_loss = |net: &Network, step: u64| -> Result<Tensor> {
        let b = recipe.step(net, step)?;
        Ok(plan.loss.compute(&b.output, &b.target, b.weight.as_ref(), step, plan.steps)?)
    };
    let r = run_loop(&lc, recipe.meta(), step_loss, |net| recipe.validate(net), progress)?;
    let (train_slices, val_slices) = recipe.sizes();
    Ok(TrainReport {
        steps: r.end,
        start_step: r.start,
        train_slices,
        val_slices,
        final_loss: r.final_loss,
        val_psnr: r.val.map(|v| v.0),
        val_psnr_input: r.val.map(|v| v.1),
        rows: r.rows,
        checkpoint: plan.run.out.clone(),
        log: r.log,
        plot: r.plot,
    })
}
