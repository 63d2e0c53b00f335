//! The configuration of unrolled-network training ([`UnrolledTrainConfig`]): what the
//! checkpoint records and what a resume compares ([`ResumeKey`]).

use std::{ops::RangeInclusive, path::PathBuf};

use kspace::mask::{MaskFamily, MaskParams};
use models::UnrolledConfig;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::config::{mask_family, mask_params, MaskSetting, COILS, MAX_PHASE};
use super::initial::Initial;
use crate::{
    engine::{
        bounds::{check_common, check_range, VAL_SIZE},
        resume::config_json,
        Difference, Differences, ResumeKey, RunControl,
    },
    ReconError, Result,
};

/// Cascades of the unrolled network.
pub const CASCADES: RangeInclusive<u64> = 1..=64;
/// Resolution levels of each cascade's U-Net.
pub const LEVELS: RangeInclusive<u64> = 1..=6;
/// Fraction of the acquired samples a split withholds from the input (`--split-rho`).
pub const RHO: RangeInclusive<f64> = 0.05..=0.95;
/// SSDU's ρ (Yaman et al. 2020): the default under `--split ssdu`.
pub const SSDU_RHO: f64 = 0.4;

/// How the training pairs are made (`--pairs`); see [`super::pairs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pairs {
    /// Fully sampled data, two independent masks per step (Noise2Noise, simulated).
    Simulate,
    /// One acquisition per slice, its samples split into input and loss sets each step
    /// (SSDU; Noisier2Noise with `--split noisier2noise`).
    Split,
    /// Two acquisitions of each slice (`NAME_rep1` / `NAME_rep2` files).
    Repeats,
    /// Fully sampled targets (supervised): the baseline the self-supervised modes are
    /// measured against.
    Full,
}

impl Pairs {
    pub fn name(self) -> &'static str {
        match self {
            Pairs::Simulate => "simulate",
            Pairs::Split => "split",
            Pairs::Repeats => "repeats",
            Pairs::Full => "full",
        }
    }
}

/// Which split `--pairs split` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// SSDU (Yaman et al. 2020): disjoint input and loss sets.
    Ssdu,
    /// Noisier2Noise (Millard & Chiew 2023): a second mask inside the first, weighted loss.
    Noisier2Noise,
}

/// Everything `recon train --net unrolled` needs; stored in checkpoints (without the run
/// control) and compared on resume.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnrolledTrainConfig {
    /// Training inputs: fastMRI `.h5`, BART `.cfl`, NIfTI (simulated coils), or folders.
    pub data: Vec<PathBuf>,
    /// Validation inputs (fully sampled, or with a reference); empty: no validation.
    pub val: Vec<PathBuf>,
    #[serde(skip)]
    pub run: RunControl,
    pub pairs: Pairs,
    pub split: SplitKind,
    /// `--split-rho`, the fraction ρ of the acquired samples a split withholds from the input:
    /// SSDU's loss set (default [`SSDU_RHO`]); for Noisier2Noise the expected fraction its
    /// second mask removes, drawn at acceleration `1/(1 − ρ)` (`None`, its default: at half
    /// the first setting's acceleration). See [`super::pairs::split_scheme`].
    pub rho: Option<f64>,
    /// Mask family of simulated undersampling (simulate / full pairs, the acquisition of
    /// fully sampled data under `split`, validation).
    #[serde(with = "mask_family")]
    pub mask: &'static MaskFamily,
    #[serde(with = "mask_params")]
    pub params: Vec<MaskParams>,
    /// Simulated receive coils for NIfTI inputs.
    pub coils: usize,
    /// Amplitude of the smooth synthetic phase of NIfTI inputs (radians).
    pub max_phase: f32,
    /// NIfTI slices are centre-cropped / padded to crop × crop.
    pub crop: usize,
    pub net: UnrolledConfig,
    /// The first image the cascades refine (stored in the model: inference starts alike).
    #[serde(default)]
    pub initial: Initial,
    pub steps: u64,
    pub batch: usize,
    pub lr_max: f64,
    pub seed: u64,
    pub val_slices: usize,
    pub max_train_slices: Option<usize>,
}

/// The `task` of unrolled-network checkpoints.
pub const UNROLLED_TASK: &str = "mri-unrolled";

impl UnrolledTrainConfig {
    /// Defaults: simulated Noise2Noise pairs, random 4× masks (8 % centre), 8 coils, crop
    /// 256, the default [`UnrolledConfig`], batch 1, lr 3e-4, 2000 steps.
    pub fn new(data: Vec<PathBuf>, val: Vec<PathBuf>, out: PathBuf) -> Self {
        Self {
            data,
            val,
            run: RunControl::new(out, 200, 200),
            pairs: Pairs::Simulate,
            split: SplitKind::Ssdu,
            rho: Some(SSDU_RHO),
            mask: kspace::mask::family("random").expect("random is a mask family"), // ok: a fixed family name
            params: vec![MaskParams { acceleration: 4.0, center_fraction: 0.08, ..MaskParams::default() }],
            coils: 8,
            max_phase: 1.5,
            crop: 256,
            net: UnrolledConfig::default(),
            initial: Initial::ZeroFilled,
            steps: 2000,
            batch: 1,
            lr_max: 3e-4,
            seed: 0,
            val_slices: 8,
            max_train_slices: None,
        }
    }

    /// The JSON of `ModelMeta.config`: this config plus the task.
    pub fn to_json(&self) -> String {
        config_json(
            self,
            json!({"task": UNROLLED_TASK, "normalisation": "k-space / max |S^H F^H y| of the input"}),
        )
    }

    /// Checks every numeric setting (`Invalid` naming the option).
    pub fn validate(&self) -> Result<()> {
        check_common(self.steps, self.batch, self.crop, self.net.width, self.lr_max)?;
        check_range("val-slices", self.val_slices as u64, VAL_SIZE)?;
        check_range("coils", self.coils as u64, COILS)?;
        check_range("cascades", self.net.cascades as u64, CASCADES)?;
        check_range("levels", self.net.levels as u64, LEVELS)?;
        if let Some(n) = self.max_train_slices {
            check_range("max-train-slices", n as u64, 1..=u64::MAX)?;
        }
        if let Some(rho) = self.rho.filter(|r| !RHO.contains(r)) {
            return Err(ReconError::Invalid(format!(
                "--split-rho {rho}: must be in {}..={}",
                RHO.start(),
                RHO.end()
            )));
        }
        if !MAX_PHASE.contains(&(self.max_phase as f64)) {
            return Err(ReconError::Invalid(format!("--max-phase {}: out of range", self.max_phase)));
        }
        if self.params.is_empty() {
            return Err(ReconError::Invalid("no mask settings".into()));
        }
        Ok(())
    }
}

impl ResumeKey for UnrolledTrainConfig {
    fn differences(&self, old: &Self) -> Vec<Difference> {
        let Self {
            data,
            val,
            run: _,
            pairs,
            split,
            rho,
            mask,
            params,
            coils,
            max_phase,
            crop,
            net,
            initial,
            steps,
            batch,
            lr_max,
            seed,
            val_slices,
            max_train_slices,
        } = self;
        let settings = |p: &[MaskParams]| p.iter().map(MaskSetting::from).collect::<Vec<_>>();
        let mut d = Differences::default();
        d.field("--data", &old.data, data)
            .field("--val", &old.val, val)
            .field("--pairs", &old.pairs, pairs)
            .field("--split", &old.split, split)
            .field("--split-rho", &old.rho, rho)
            .field("--mask", &old.mask.name, &mask.name)
            .field("--acceleration/--center-fraction/--p-edge", &settings(&old.params), &settings(params))
            .field("--coils", &old.coils, coils)
            .field("--max-phase", &old.max_phase, max_phase)
            .field("--crop", &old.crop, crop)
            .field("--cascades/--width/--levels", &old.net, net)
            .field("--initial", &old.initial, initial)
            .field("--steps", &old.steps, steps)
            .field("--batch", &old.batch, batch)
            .field("--lr", &old.lr_max, lr_max)
            .field("--seed", &old.seed, seed)
            .field("--val-slices", &old.val_slices, val_slices)
            .field("--max-train-slices", &old.max_train_slices, max_train_slices);
        d.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Change = fn(&mut UnrolledTrainConfig);

    #[test]
    fn resume_key_names_each_changed_setting() {
        let base =
            UnrolledTrainConfig::new(vec!["a.h5".into()], vec!["v.nii".into()], "m.safetensors".into());
        let changes: [(&str, Change); 18] = [
            ("--data", |c| c.data.push("b.h5".into())),
            ("--val", |c| c.val.clear()),
            ("--pairs", |c| c.pairs = Pairs::Split),
            ("--split", |c| c.split = SplitKind::Noisier2Noise),
            ("--split-rho", |c| c.rho = Some(0.3)),
            ("--mask", |c| c.mask = kspace::mask::family("poisson").unwrap()),
            ("--acceleration/--center-fraction/--p-edge", |c| c.params[0].acceleration = 8.0),
            ("--coils", |c| c.coils = 4),
            ("--max-phase", |c| c.max_phase = 0.5),
            ("--crop", |c| c.crop = 128),
            ("--cascades/--width/--levels", |c| c.net.cascades += 1),
            ("--initial", |c| c.initial = Initial::Cs),
            ("--steps", |c| c.steps += 1),
            ("--batch", |c| c.batch = 2),
            ("--lr", |c| c.lr_max = 1e-4),
            ("--seed", |c| c.seed = 3),
            ("--val-slices", |c| c.val_slices = 2),
            ("--max-train-slices", |c| c.max_train_slices = Some(4)),
        ];
        crate::engine::resume::assert_resume_key(&base, &changes, |c| &mut c.run, &base.to_json());
    }
}
