//! What a training run is told about outputs, cadences, stopping and resuming: the part of
//! the configuration that is never compared on resume, and the checks before any work
//! (`RunControl::prepare`, beside the output checks it runs in [`super::outputs`]).

use std::path::PathBuf;

/// Where a training run writes and when it validates, checkpoints, stops and exports: the
/// part of the configuration `run_loop` reads, shared by `recon train` and
/// `recon denoise train`. None of it is compared on resume.
#[derive(Clone, Debug, Default)]
pub struct RunControl {
    /// Checkpoint / model path (`.safetensors`); the CSV log (`super::log::log_path`) and plot go
    /// beside it.
    pub out: PathBuf,
    /// Validate (and log a CSV row) every this many steps, and at the end. 0: only at the end.
    pub val_every: u64,
    /// Save a checkpoint every this many steps, and at the end. 0: only at the end.
    pub checkpoint_every: u64,
    /// Continue from the checkpoint at `out`: every training setting must match the
    /// checkpoint's (`check_resume`); the checkpoint, its log and plot
    /// are continued without `force`.
    pub resume: bool,
    /// Stop (saving a checkpoint) after this step although the schedule runs
    /// to its end: for time-limited jobs, continued later with `resume`.
    pub stop_after: Option<u64>,
    /// Also write the final weights alone, in f16, here (a small model to ship), when the
    /// schedule ends (not at a `stop_after` stop).
    pub export: Option<PathBuf>,
    /// Overwrite existing outputs.
    pub force: bool,
}

impl RunControl {
    /// A fresh run writing to `out` with these cadences; no stop, resume, export or force.
    pub fn new(out: PathBuf, val_every: u64, checkpoint_every: u64) -> Self {
        Self { out, val_every, checkpoint_every, resume: false, stop_after: None, export: None, force: false }
    }

    /// The step this run ends at: `steps`, or `stop_after` if sooner.
    pub fn end(&self, steps: u64) -> u64 {
        self.stop_after.map_or(steps, |s| s.min(steps))
    }
}
