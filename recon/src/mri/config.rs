//! The configuration of MRI training ([`TrainConfig`]): what a checkpoint records, what a
//! resume compares ([`ResumeKey`]), the bounds of the MRI options, and the mask settings as
//! stored in checkpoints ([`MaskSetting`]).

use std::{ops::RangeInclusive, path::PathBuf};

use kspace::mask::{MaskFamily, MaskParams};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::prep::Mode;
use crate::{
    engine::{
        bounds::{check_common, check_range, VAL_SIZE},
        resume::config_json,
        Difference, Differences, ResumeKey, RunControl, Targets,
    },
    ReconError, Result,
};

/// Simulated receive coils in complex mode.
pub const COILS: RangeInclusive<u64> = 1..=32;
/// Shift augmentation (± pixels per axis).
pub const MAX_SHIFT: RangeInclusive<u64> = 0..=1024;
/// Amplitude of the synthetic phase (radians).
pub const MAX_PHASE: RangeInclusive<f64> = 0.0..=100.0;

/// Everything `recon train` needs. [`TrainConfig::new`] gives the paper's settings. Stored
/// in checkpoints (serde, without the run control) and compared on resume
/// ([`ResumeKey`]).
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
    /// Mask family ("n2n" in the paper); stored by its name.
    #[serde(with = "mask_family")]
    pub mask: &'static MaskFamily,
    /// Mask settings (non-empty); each training pair draws one uniformly (fastMRI's
    /// `accelerations = [4, 8]`, `center_fractions = [0.08, 0.04]` style).
    #[serde(with = "mask_params")]
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
            mask: kspace::mask::N2N,
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

    /// Checks every numeric setting against the bounds of `crate::engine::bounds` and of this module (`Invalid`
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

impl ResumeKey for TrainConfig {
    /// Every setting but the run control, typed: the data, the corruption (mask, its
    /// settings, mode, input compensation, targets, shifts), the loss, the schedule (steps,
    /// lr) and the batches (batch, crop, width, seed, slices).
    fn differences(&self, old: &Self) -> Vec<Difference> {
        let Self {
            data,
            val,
            run: _,
            mask,
            params,
            mode,
            compensate_input,
            targets,
            loss,
            steps,
            batch,
            crop,
            width,
            lr_max,
            seed,
            val_slices,
            max_train_slices,
            max_shift,
        } = self;
        let settings = |p: &[MaskParams]| p.iter().map(MaskSetting::from).collect::<Vec<_>>();
        let mut d = Differences::default();
        d.field("--data", &old.data, data)
            .field("--val", &old.val, val)
            .field("--mask", &old.mask.name, &mask.name)
            .field("--acceleration/--center-fraction/--p-edge", &settings(&old.params), &settings(params))
            .field("--mode", &old.mode, mode)
            .field("--uncompensated-input", &old.compensate_input, compensate_input)
            .field("--targets", &old.targets, targets)
            .field("--loss", &old.loss, loss)
            .field("--steps", &old.steps, steps)
            .field("--batch", &old.batch, batch)
            .field("--crop", &old.crop, crop)
            .field("--width", &old.width, width)
            .field("--lr", &old.lr_max, lr_max)
            .field("--seed", &old.seed, seed)
            .field("--val-slices", &old.val_slices, val_slices)
            .field("--max-train-slices", &old.max_train_slices, max_train_slices)
            .field("--max-shift", &old.max_shift, max_shift);
        d.into_vec()
    }
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

/// `#[serde(with = "mask_family")]`: a family as its `--mask` name.
pub mod mask_family {
    use kspace::mask::MaskFamily;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(family: &&'static MaskFamily, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(family.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static MaskFamily, D::Error> {
        let name = String::deserialize(d)?;
        kspace::mask::family(&name).map_err(serde::de::Error::custom)
    }
}

/// The `task` of MRI training checkpoints.
pub const MRI_TASK: &str = "mri";

#[cfg(test)]
mod tests {
    use super::*;

    type Change = fn(&mut TrainConfig);

    #[test]
    fn resume_key_names_each_changed_setting_and_ignores_the_run_control() {
        let base = TrainConfig::new(vec!["a.nii".into()], vec!["v.nii".into()], "m.safetensors".into());
        let changes: [(&str, Change); 17] = [
            ("--data", |c| c.data.push("b.nii".into())),
            ("--val", |c| c.val.clear()),
            ("--mask", |c| c.mask = kspace::mask::family("poisson").unwrap()),
            ("--acceleration/--center-fraction/--p-edge", |c| c.params[0].acceleration = 8.0),
            ("--mode", |c| c.mode = Mode::Complex { coils: 4, max_phase: 1.5 }),
            ("--uncompensated-input", |c| c.compensate_input = false),
            ("--targets", |c| c.targets = Targets::Clean),
            ("--loss", |c| c.loss = "l1".into()),
            ("--steps", |c| c.steps += 1),
            ("--batch", |c| c.batch = 4),
            ("--crop", |c| c.crop = 64),
            ("--width", |c| c.width = 8),
            ("--lr", |c| c.lr_max = 1e-4),
            ("--seed", |c| c.seed = 7),
            ("--val-slices", |c| c.val_slices = 3),
            ("--max-train-slices", |c| c.max_train_slices = Some(9)),
            ("--max-shift", |c| c.max_shift = 0),
        ];
        crate::engine::resume::assert_resume_key(&base, &changes, |c| &mut c.run, &base.to_json());
        let mut lr = base.clone();
        lr.lr_max = 1e-4;
        assert_eq!(
            (lr.differences(&base)[0].before.as_str(), lr.differences(&base)[0].now.as_str()),
            ("0.001", "0.0001")
        );
    }
}
