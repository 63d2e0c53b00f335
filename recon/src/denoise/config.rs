//! The configuration of photo-denoising training ([`DenoiseConfig`]): what a checkpoint
//! records and what a resume compares ([`ResumeKey`]).

use std::path::PathBuf;

use models::{NetConfig, Red30Config, UNetConfig};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    grey::GreyNoise,
    infer::TASK,
    init::{DenoiserArch, InitModel},
    noise::{NoiseKind, NoiseSpec},
};
use crate::{
    engine::{
        bounds::{check_common, check_range, VAL_SIZE},
        resume::config_json,
        Difference, Differences, ResumeKey, RunControl, Targets,
    },
    ReconError, Result,
};

/// Everything `recon denoise train` needs. Stored in checkpoints (serde, without the run
/// control) and compared on resume ([`ResumeKey`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DenoiseConfig {
    /// Clean training photos (PNG files or folders of them); with `pairs`, unused.
    pub data: Vec<PathBuf>,
    /// A folder with two subfolders holding real noisy captures under the same names.
    pub pairs: Option<PathBuf>,
    /// Held-back clean photos for validation (empty: none).
    pub val: Vec<PathBuf>,
    /// Output, validation / checkpoint cadence, stop, resume and export: not stored, may
    /// change on resume.
    #[serde(skip)]
    pub run: RunControl,
    /// Training corruption (strength range).
    pub noise: NoiseSpec,
    /// Validation corruption (a fixed strength: the paper's test strength by default).
    pub val_noise: NoiseSpec,
    pub targets: Targets,
    /// "l2", "l1" or "l0" (annealed).
    pub loss: String,
    /// "unet" or "red30".
    pub net: String,
    /// U-Net width (48 in the paper) or RED30 features (128).
    pub width: usize,
    /// 3 (RGB; grey photos repeated) or 1 (grey; RGB photos as luma).
    pub channels: usize,
    pub steps: u64,
    pub batch: usize,
    pub crop: usize,
    pub lr_max: f64,
    pub seed: u64,
    /// Validation photos are centre-cropped to this size (0: whole photos).
    pub val_crop: usize,
    /// Start from this model's weights (fine-tuning) instead of the seeded init.
    #[serde(default)]
    pub init: Option<InitModel>,
    /// How grey photos are corrupted for an RGB model (`super::grey`); checkpoints without
    /// it used `independent`.
    #[serde(default = "GreyNoise::legacy")]
    pub grey_noise: GreyNoise,
    /// Probability that a colour training crop is turned grey before it is corrupted.
    #[serde(default)]
    pub grey_fraction: f64,
}

impl DenoiseConfig {
    /// The paper's settings for `noise` (U-Net width 48, 256² crops, batch 4, lr 3e-4; its
    /// loss for the noise kind), 1000 steps; grey photos with shared noise, a fifth of the
    /// colour crops turned grey.
    pub fn new(data: Vec<PathBuf>, out: PathBuf, noise: NoiseSpec) -> Self {
        let kind = noise.kind;
        Self {
            data,
            pairs: None,
            val: Vec::new(),
            run: RunControl::new(out, 100, 100),
            val_noise: noise.fixed(kind.test_strength()),
            noise,
            targets: Targets::Noisy,
            loss: kind.paper_loss().into(),
            net: "unet".into(),
            width: 48,
            channels: 3,
            steps: 1000,
            batch: 4,
            crop: 256,
            lr_max: 3e-4,
            seed: 0,
            val_crop: 256,
            init: None,
            grey_noise: GreyNoise::Shared,
            grey_fraction: 0.2,
        }
    }

    /// The architecture: `net` with `channels` in and out and `width`.
    pub fn arch(&self) -> Result<NetConfig> {
        let c = self.channels;
        match NetConfig::by_name(&self.net, c, c).map_err(|e| ReconError::Invalid(format!("--net: {e}")))? {
            NetConfig::UNet(_) => Ok(NetConfig::UNet(UNetConfig::new(c, c).with_width(self.width))),
            NetConfig::Red30(_) => Ok(NetConfig::Red30(Red30Config::new(c, c).with_features(self.width))),
            other => Err(ReconError::Invalid(format!("--net {}: not an image denoiser", other.name()))),
        }
    }

    /// The noise kind whose built-in model `--init default` means (Gaussian for real pairs).
    pub fn init_kind(&self) -> NoiseKind {
        if self.pairs.is_some() {
            NoiseKind::Gaussian
        } else {
            self.noise.kind
        }
    }

    /// The architecture as the options name it (`net`, `width`, `channels`).
    pub fn denoiser_arch(&self) -> DenoiserArch {
        DenoiserArch { net: self.net.clone(), width: self.width, channels: self.channels }
    }

    /// What the model was trained on: the noise spec (`gaussian:0-50`), or `pairs:DIR` for
    /// real pairs.
    pub fn trained_on(&self) -> String {
        match &self.pairs {
            Some(dir) => format!("pairs:{}", dir.display()),
            None => self.noise.to_string(),
        }
    }

    /// The JSON stored in `ModelMeta.config`: this config (all a resume compares) plus the
    /// task, what it was trained on ([`Self::trained_on`]) and the normalisation.
    pub fn to_json(&self) -> String {
        let extra = json!({"task": TASK, "trained_on": self.trained_on(), "normalisation": "8-bit value / 255 - 0.5"});
        config_json(self, extra)
    }

    /// Checks every numeric setting against the bounds of `crate::engine::bounds`
    /// (`Invalid` naming the option): the CLI checks the same bounds when parsing.
    pub fn validate(&self) -> Result<()> {
        check_common(self.steps, self.batch, self.crop, self.width, self.lr_max)?;
        check_range("val-crop", self.val_crop as u64, VAL_SIZE)?;
        if !(0.0..=1.0).contains(&self.grey_fraction) {
            return Err(ReconError::Invalid(format!(
                "--grey-fraction {}: must be in 0..=1",
                self.grey_fraction
            )));
        }
        if ![1, 3].contains(&self.channels) {
            return Err(ReconError::Invalid(format!("--channels {}: must be 1 or 3", self.channels)));
        }
        Ok(())
    }
}

impl ResumeKey for DenoiseConfig {
    /// Every setting but the run control, typed: the data, the corruptions, the targets,
    /// the loss, the network, the schedule (steps, lr) and the batches.
    fn differences(&self, old: &Self) -> Vec<Difference> {
        let Self {
            data,
            pairs,
            val,
            run: _,
            noise,
            val_noise,
            targets,
            loss,
            net,
            width,
            channels,
            steps,
            batch,
            crop,
            lr_max,
            seed,
            val_crop,
            init,
            grey_noise,
            grey_fraction,
        } = self;
        let mut d = Differences::default();
        d.field("--data", &old.data, data)
            .field("--pairs", &old.pairs, pairs)
            .field("--val", &old.val, val)
            .field("--noise", &old.noise, noise)
            .field("--val-noise", &old.val_noise, val_noise)
            .field("--targets", &old.targets, targets)
            .field("--loss", &old.loss, loss)
            .field("--net", &old.net, net)
            .field("--width", &old.width, width)
            .field("--channels", &old.channels, channels)
            .field("--steps", &old.steps, steps)
            .field("--batch", &old.batch, batch)
            .field("--crop", &old.crop, crop)
            .field("--lr", &old.lr_max, lr_max)
            .field("--seed", &old.seed, seed)
            .field("--val-crop", &old.val_crop, val_crop)
            .field("--init", &old.init, init)
            .field("--grey-noise", &old.grey_noise, grey_noise)
            .field("--grey-fraction", &old.grey_fraction, grey_fraction);
        d.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Change = fn(&mut DenoiseConfig);

    #[test]
    fn resume_key_names_each_changed_setting_and_ignores_the_run_control() {
        let noise = NoiseSpec::parse("gaussian:0-50").unwrap();
        let mut base = DenoiseConfig::new(vec!["photos".into()], "m.safetensors".into(), noise);
        base.val = vec!["val".into()];
        let changes: [(&str, Change); 19] = [
            ("--data", |c| c.data.push("more".into())),
            ("--pairs", |c| c.pairs = Some("pairs".into())),
            ("--val", |c| c.val.clear()),
            ("--noise", |c| c.noise = NoiseSpec::parse("poisson:5-50").unwrap()),
            ("--val-noise", |c| c.val_noise = c.val_noise.fixed(10.0)),
            ("--targets", |c| c.targets = Targets::Clean),
            ("--loss", |c| c.loss = "l1".into()),
            ("--net", |c| c.net = "red30".into()),
            ("--width", |c| c.width = 8),
            ("--channels", |c| c.channels = 1),
            ("--steps", |c| c.steps += 1),
            ("--batch", |c| c.batch = 2),
            ("--crop", |c| c.crop = 64),
            ("--lr", |c| c.lr_max = 1e-3),
            ("--seed", |c| c.seed = 7),
            ("--val-crop", |c| c.val_crop = 0),
            ("--init", |c| c.init = Some(InitModel::Default)),
            ("--grey-noise", |c| c.grey_noise = GreyNoise::Independent),
            ("--grey-fraction", |c| c.grey_fraction = 0.5),
        ];
        crate::engine::resume::assert_resume_key(&base, &changes, |c| &mut c.run, &base.to_json());
    }

    #[test]
    fn a_checkpoint_without_the_newer_settings_resumes_as_it_ran() {
        let noise = NoiseSpec::parse("gaussian:0-50").unwrap();
        let cfg = DenoiseConfig::new(vec!["photos".into()], "m.safetensors".into(), noise);
        assert_eq!((cfg.grey_noise, cfg.grey_fraction, &cfg.init), (GreyNoise::Shared, 0.2, &None));
        let mut old: serde_json::Value = serde_json::from_str(&cfg.to_json()).unwrap();
        for key in ["init", "grey_noise", "grey_fraction"] {
            old.as_object_mut().unwrap().remove(key).expect("stored");
        }
        let old: DenoiseConfig = serde_json::from_value(old).unwrap();
        assert_eq!((old.grey_noise, old.grey_fraction, old.init), (GreyNoise::Independent, 0.0, None));
    }
}
