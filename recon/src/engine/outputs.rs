//! What a training run may write, checked before any work: training must never destroy
//! data.
//!
//! A run writes the model / checkpoint (`--out`), the CSV log and the plot beside it, and
//! the optional `--export`. Before loading anything, [`check_outputs`] refuses:
//! - two outputs that are the same file (`--out m.png` would put the plot over the model);
//! - an output inside a folder given as input (`--data`, `--val`, `--pairs`), or equal to an
//!   input file: paths are compared canonicalised (symbolic links and `..` resolved, the
//!   missing tail of a new output appended to its existing ancestor);
//! - an existing output without `--force`, except, with `--resume`, the run's own
//!   checkpoint, log and plot, which it continues;
//! - an output that is a directory.

use std::path::{Component, Path, PathBuf};

use super::{
    control::RunControl,
    log::log_path,
    plot::plot_path,
    resume::{check_resume, ResumeKey},
};
use crate::{ReconError, Result};

/// The files `run` writes: `(what, path)`.
pub fn outputs(run: &RunControl) -> Vec<(&'static str, PathBuf)> {
    let mut v = vec![
        ("model", run.out.clone()),
        ("training log", log_path(&run.out)),
        ("training plot", plot_path(&run.out)),
    ];
    if let Some(e) = &run.export {
        v.push(("--export model", e.clone()));
    }
    v
}

/// `path` made absolute with symbolic links and `..` resolved, the way the OS will resolve
/// it once missing folders are created: components are resolved one by one while they
/// exist (so the prefix is always free of links and `..` is its parent), and the missing
/// rest lexically (new folders are plain folders).
pub fn canonical(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut cur = PathBuf::new();
    let mut missing = false;
    for comp in abs.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                cur.pop();
                // Back in the resolved prefix: resolve again from here.
                missing = missing && !cur.exists();
            }
            c => {
                cur.push(c);
                if !missing {
                    match cur.canonicalize() {
                        Ok(r) => cur = r,
                        Err(_) => missing = true,
                    }
                }
            }
        }
    }
    cur
}

/// Refuses the outputs of `run` that could destroy data (see the module documentation);
/// `inputs` are every file and folder the run reads. Usage errors (`Invalid`).
pub fn check_outputs(run: &RunControl, inputs: &[&Path]) -> Result<()> {
    let outs = outputs(run);
    let canon: Vec<PathBuf> = outs.iter().map(|(_, p)| canonical(p)).collect();
    let ins: Vec<(&Path, PathBuf)> = inputs.iter().map(|p| (*p, canonical(p))).collect();
    for (i, ((what, path), c)) in outs.iter().zip(&canon).enumerate() {
        if let Some(j) = canon[..i].iter().position(|o| o == c) {
            return Err(ReconError::Invalid(format!(
                "{}: the {what} and the {} would be the same file; give --out (and --export) other names",
                path.display(),
                outs[j].0
            )));
        }
        for (input, ci) in &ins {
            if c == ci {
                return Err(ReconError::Invalid(format!(
                    "{}: the {what} would overwrite the input {}; write outputs elsewhere",
                    path.display(),
                    input.display()
                )));
            }
            if ci.is_dir() && c.starts_with(ci) {
                return Err(ReconError::Invalid(format!(
                    "{}: the {what} would be written into the input folder {}; write outputs elsewhere",
                    path.display(),
                    input.display()
                )));
            }
        }
        if path.is_dir() {
            return Err(ReconError::Invalid(format!("{}: the {what} path is a directory", path.display())));
        }
        let own = run.resume && *what != "--export model";
        if path.exists() && !run.force && !own {
            let hint = if *what == "--export model" { "" } else { " (or --resume to continue its training)" };
            return Err(ReconError::Invalid(format!(
                "{}: the {what} exists; pass --force to overwrite it{hint}",
                path.display()
            )));
        }
    }
    if run.resume && !run.out.is_file() {
        return Err(ReconError::Invalid(format!("{}: --resume: no checkpoint there", run.out.display())));
    }
    Ok(())
}

/// After [`check_outputs`]: creates the outputs' folders and removes the temporary files a
/// killed run left beside them (`crate::io::atomic::remove_stale_temps`).
pub fn prepare_outputs(run: &RunControl) -> Result<()> {
    for (_, path) in outputs(run) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ReconError::io(dir, e))?;
        }
        crate::io::atomic::remove_stale_temps(&path);
    }
    Ok(())
}

impl RunControl {
    /// Checks before any work: the outputs (`check_outputs` against `inputs`), on resume
    /// the checkpoint's `settings` (`check_resume`) and that it has steps left before
    /// [`Self::end`]; then creates the output folders and removes stale temporary files.
    pub fn prepare<T: ResumeKey>(&self, inputs: &[&Path], settings: &T, steps: u64) -> Result<()> {
        check_outputs(self, inputs)?;
        let start = if self.resume { check_resume(&self.out, settings)? } else { 0 };
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
