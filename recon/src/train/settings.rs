//! What a training run must keep to be resumed, and the bounds of its numeric options.
//!
//! A checkpoint records its whole training configuration, the typed config struct itself
//! (`super::TrainConfig`, `crate::denoise::DenoiseConfig`; serde, with the run control
//! skipped), in the JSON of its `ModelMeta.config`. `--resume` deserialises the checkpoint's
//! settings into the same struct and compares them field by field with the new run's
//! ([`check_resume`]): any
//! difference is refused, naming the option and both values, since the data stream, the
//! corruption, the loss and the learning-rate schedule (which is compressed onto the total
//! number of steps, so `--steps` must match too) all depend on them.
//!
//! Excluded on purpose, so they may change on resume: the output and run control
//! (`--out`, `--val-every`, `--checkpoint-every`, `--stop-after`, `--export`, `--force`,
//! `--json`), which change when the log is written and the run stops, not what is learnt.

use std::{ops::RangeInclusive, path::Path};

use kspace::mask::MaskParams;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{ReconError, Result};

/// Simulated receive coils in complex mode.
pub const COILS: RangeInclusive<u64> = 1..=32;
/// Training crop (pixels per side), MRI slices and photos.
pub const CROP: RangeInclusive<u64> = 16..=1024;
/// U-Net width / RED30 features.
pub const WIDTH: RangeInclusive<u64> = 1..=256;
/// Images per step.
pub const BATCH: RangeInclusive<u64> = 1..=256;
/// Steps of the schedule.
pub const STEPS: RangeInclusive<u64> = 1..=100_000_000;
/// Shift augmentation (± pixels per axis).
pub const MAX_SHIFT: RangeInclusive<u64> = 0..=1024;
/// Validation slices / crop side of validation photos (0: none / whole photos).
pub const VAL_SIZE: RangeInclusive<u64> = 0..=100_000;
/// Peak learning rate: finite and in this range.
pub const LR: RangeInclusive<f64> = 1e-12..=10.0;
/// Amplitude of the synthetic phase (radians).
pub const MAX_PHASE: RangeInclusive<f64> = 0.0..=100.0;
/// Cap on the estimated activation memory of one step, [`activation_bytes`].
pub const ACTIVATION_CAP: u64 = 64 << 30;

/// Rough memory of one training step's activations: the first U-Net level holds about 16
/// maps of `batch × crop² × width` f32 values for forward and backward (deeper levels add
/// less than that again). Used only to refuse settings that cannot fit in memory.
pub fn activation_bytes(batch: usize, crop: usize, width: usize) -> u64 {
    (batch as u64).saturating_mul((crop as u64).pow(2)).saturating_mul(width as u64).saturating_mul(4 * 16)
}

/// `Invalid` unless `value` is in `range`: `--flag VALUE: must be in LO..=HI`.
pub fn check_range(flag: &str, value: u64, range: RangeInclusive<u64>) -> Result<()> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(ReconError::Invalid(format!("--{flag} {value}: must be in {}..={}", range.start(), range.end())))
}

/// `Invalid` unless `lr` is finite and in [`LR`].
pub fn check_lr(lr: f64) -> Result<()> {
    if lr.is_finite() && LR.contains(&lr) {
        return Ok(());
    }
    Err(ReconError::Invalid(format!("--lr {lr}: must be a finite number in {:e}..={}", LR.start(), LR.end())))
}

/// `Invalid` when [`activation_bytes`] exceeds [`ACTIVATION_CAP`].
pub fn check_memory(batch: usize, crop: usize, width: usize) -> Result<()> {
    let need = activation_bytes(batch, crop, width);
    if need <= ACTIVATION_CAP {
        return Ok(());
    }
    Err(ReconError::Invalid(format!(
        "--batch {batch} --crop {crop} --width {width}: about {} GiB of activations per step (cap {} GiB); lower one of them",
        need >> 30,
        ACTIVATION_CAP >> 30
    )))
}

/// The bounds every training run shares: `--steps`, `--batch`, `--crop`, `--width`, `--lr`
/// and the activation memory of `batch × crop² × width`.
pub fn check_common(steps: u64, batch: usize, crop: usize, width: usize, lr: f64) -> Result<()> {
    check_range("steps", steps, STEPS)?;
    check_range("batch", batch as u64, BATCH)?;
    check_range("crop", crop as u64, CROP)?;
    check_range("width", width as u64, WIDTH)?;
    check_lr(lr)?;
    check_memory(batch, crop, width)
}

/// One mask setting of a training run as stored in checkpoints: the fields of
/// [`MaskParams`] (kspace has no serde), used through [`mask_params`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskSetting {
    pub acceleration: f64,
    pub center_fraction: f64,
    pub p_edge: Option<f64>,
    pub calib: Option<(usize, usize)>,
    pub offset: Option<usize>,
    pub sigma: Option<f64>,
}

impl From<&MaskParams> for MaskSetting {
    fn from(p: &MaskParams) -> Self {
        Self {
            acceleration: p.acceleration,
            center_fraction: p.center_fraction,
            p_edge: p.p_edge,
            calib: p.calib,
            offset: p.offset,
            sigma: p.sigma,
        }
    }
}

/// `#[serde(with = "mask_params")]` for a `Vec<MaskParams>`, as [`MaskSetting`]s.
pub mod mask_params {
    use super::{MaskParams, MaskSetting};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(params: &[MaskParams], s: S) -> Result<S::Ok, S::Error> {
        params.iter().map(MaskSetting::from).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MaskParams>, D::Error> {
        let v = Vec::<MaskSetting>::deserialize(d)?;
        Ok(v.into_iter()
            .map(|m| MaskParams {
                acceleration: m.acceleration,
                center_fraction: m.center_fraction,
                p_edge: m.p_edge,
                calib: m.calib,
                offset: m.offset,
                sigma: m.sigma,
            })
            .collect())
    }
}

/// The `task` of MRI training checkpoints.
pub const MRI_TASK: &str = "mri";

/// The command-line option of a settings field, for messages.
fn option_name(field: &str) -> String {
    match field {
        "lr_max" => "--lr".into(),
        "params" => "--acceleration/--center-fraction/--p-edge".into(),
        "compensate_input" => "--uncompensated-input".into(),
        "net" => "--net".into(),
        "task" => "the task (MRI or photo denoising)".into(),
        f => format!("--{}", f.replace('_', "-")),
    }
}

/// Compares the settings recorded in the checkpoint at `path` (its `ModelMeta.config`)
/// with `new`, field by field; returns the checkpoint's step. A checkpoint without readable
/// settings of type `T` (another task, or an older recon) or with any field different is
/// refused (`Invalid`), naming each differing option with both values.
pub fn check_resume<T: Serialize + DeserializeOwned>(path: &Path, new: &T) -> Result<u64> {
    let meta = models::read_meta(path).map_err(|e| ReconError::format(path, format!("--resume: {e}")))?;
    let old: T = serde_json::from_str(&meta.config).map_err(|e| {
        ReconError::Invalid(format!(
            "{}: --resume: the checkpoint does not record the settings of this kind of training ({e}); train a new model",
            path.display()
        ))
    })?;
    let (old, new) = (to_object(&old)?, to_object(new)?);
    let null = serde_json::Value::Null;
    let differ: Vec<String> = new
        .iter()
        .filter_map(|(field, value)| {
            let before = old.get(field).unwrap_or(&null);
            (before != value)
                .then(|| format!("{} {before} in the checkpoint, {value} now", option_name(field)))
        })
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

fn to_object<T: Serialize>(v: &T) -> Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(other) => Err(ReconError::Failed(format!("settings serialise to {other}, not an object"))),
        Err(e) => Err(ReconError::Failed(format!("settings: {e}"))),
    }
}

/// `settings` as a JSON object with `extra` fields added (informational ones such as the
/// normalisation), for `ModelMeta.config`.
pub fn config_json<T: Serialize>(settings: &T, extra: serde_json::Value) -> String {
    let mut m = to_object(settings).unwrap_or_default();
    if let serde_json::Value::Object(e) = extra {
        m.extend(e);
    }
    serde_json::Value::Object(m).to_string()
}
