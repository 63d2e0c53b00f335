//! What a training run must keep to be resumed: its resume key.
//!
//! A checkpoint records its whole training configuration, the recipe's typed config struct
//! itself (serde, with the run control skipped), in the JSON of its `ModelMeta.config`.
//! `--resume` deserialises the checkpoint's settings into the same struct and compares them
//! with the new run's, typed, setting by setting ([`ResumeKey::differences`], which lists
//! every field of the struct: a destructuring `let Self { .. }` without `..`, so a new field
//! does not compile until it is compared or skipped on purpose). Any difference is refused
//! ([`check_resume`]), naming the option and both values, since the data stream, the
//! corruption, the loss and the learning-rate schedule (which is compressed onto the total
//! number of steps, so `--steps` must match too) all depend on them.
//!
//! Excluded on purpose, so they may change on resume: the output and run control
//! (`--out`, `--val-every`, `--checkpoint-every`, `--stop-after`, `--export`, `--force`,
//! `--json`), which change when the log is written and the run stops, not what is learnt.

use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};

use crate::{ReconError, Result};

/// One setting that differs between a checkpoint and the new run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The command-line option (`--lr`).
    pub option: &'static str,
    /// The checkpoint's value and the new one, as JSON (`0.001`, `"l2"`, `["a.nii"]`).
    pub before: String,
    pub now: String,
}

/// The settings a resumed run must share with its checkpoint: a recipe's whole config.
pub trait ResumeKey: Serialize + DeserializeOwned {
    /// Every setting of `self` (the new run) that differs from `old` (the checkpoint's), in
    /// the order of the fields, compared typed with [`Differences::field`].
    fn differences(&self, old: &Self) -> Vec<Difference>;
}

/// Collects typed comparisons for [`ResumeKey::differences`].
#[derive(Debug, Default)]
pub struct Differences(Vec<Difference>);

impl Differences {
    /// Records `option` when `old != new`.
    pub fn field<V: PartialEq + Serialize>(&mut self, option: &'static str, old: &V, new: &V) -> &mut Self {
        if old != new {
            let json = |v: &V| serde_json::to_string(v).unwrap_or_else(|e| format!("<{e}>"));
            self.0.push(Difference { option, before: json(old), now: json(new) });
        }
        self
    }

    pub fn into_vec(self) -> Vec<Difference> {
        self.0
    }
}

/// Compares the settings recorded in the checkpoint at `path` (its `ModelMeta.config`)
/// with `new` ([`ResumeKey::differences`]); returns the checkpoint's step. A checkpoint
/// without readable settings of type `T` (another task, or an older recon) or with any
/// setting different is refused (`Invalid`), naming each differing option with both values.
pub fn check_resume<T: ResumeKey>(path: &Path, new: &T) -> Result<u64> {
    let meta = models::read_meta(path).map_err(|e| ReconError::format(path, format!("--resume: {e}")))?;
    let old: T = serde_json::from_str(&meta.config).map_err(|e| {
        ReconError::Invalid(format!(
            "{}: --resume: the checkpoint does not record the settings of this kind of training ({e}); train a new model",
            path.display()
        ))
    })?;
    let differ: Vec<String> = new
        .differences(&old)
        .into_iter()
        .map(|d| format!("{} {} in the checkpoint, {} now", d.option, d.before, d.now))
        .collect();
    if differ.is_empty() {
        return Ok(meta.step);
    }
    Err(ReconError::Invalid(format!(
        "{}: --resume: settings differ from the checkpoint's: {}; give the same settings or train a new model",
        path.display(),
        differ.join(", ")
    )))
}

/// `settings` as a JSON object with `extra` fields added (informational ones such as the
/// task and the normalisation), for `ModelMeta.config`.
pub fn config_json<T: Serialize>(settings: &T, extra: serde_json::Value) -> String {
    let mut m = match serde_json::to_value(settings) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    if let serde_json::Value::Object(e) = extra {
        m.extend(e);
    }
    serde_json::Value::Object(m).to_string()
}

/// A change of one setting, named by its option, for [`assert_resume_key`].
#[cfg(test)]
pub(crate) type Change<T> = (&'static str, fn(&mut T));

/// The check every recipe's resume key gets in its tests.
#[cfg(test)]
pub(crate) fn assert_resume_key<T: ResumeKey + Clone>(
    base: &T,
    changes: &[Change<T>],
    run_control: fn(&mut T) -> &mut super::RunControl,
    stored: &str,
) {
    for (option, change) in changes {
        let mut c = base.clone();
        change(&mut c);
        let d = c.differences(base);
        assert_eq!(d.iter().map(|d| d.option).collect::<Vec<_>>(), [*option], "{d:?}");
    }
    // The run control may change on resume.
    let mut c = base.clone();
    *run_control(&mut c) = super::RunControl {
        resume: true,
        stop_after: Some(3),
        force: true,
        ..super::RunControl::new("n".into(), 1, 1)
    };
    assert!(c.differences(base).is_empty());
    // What a checkpoint stores reads back as the same key.
    let stored: T = serde_json::from_str(stored).unwrap();
    assert!(base.differences(&stored).is_empty(), "{:?}", base.differences(&stored));
}
