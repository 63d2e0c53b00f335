//! Fine-tuning a denoiser (`recon denoise train --init default|MODEL`; `default` is the
//! built-in model for the run's noise): a run starts from a trained model's weights instead of the seeded initialisation, with a fresh Adam state
//! and the run's own schedule. The typical use is the built-in blind Gaussian model tuned
//! on a user's own noisy–noisy pairs (`--pairs`), where a few hundred steps adapt it to a
//! camera's real noise instead of thousands from scratch.
//!
//! The starting model must be a denoising model (`"task": "denoise"`) with the run's
//! architecture; [`InitModel::architecture`] gives it so that the CLI can take the net,
//! width and channels from it when they are not given.

use std::{borrow::Cow, path::PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    infer::{built_in, Denoiser},
    noise::NoiseKind,
};
use crate::{engine::InitWeights, ReconError, Result};

/// Where a run's initial weights come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitModel {
    /// The model compiled into the binary for the run's noise (Gaussian for real pairs).
    Default,
    /// A model or checkpoint written by `recon denoise train`.
    File(PathBuf),
}

/// The architecture of a denoising model, as the training options name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenoiserArch {
    /// "unet" or "red30".
    pub net: String,
    pub width: usize,
    pub channels: usize,
}

impl DenoiserArch {
    /// The architecture `model` was trained with.
    fn of(model: &Denoiser) -> Self {
        let a = &model.meta.arch;
        Self { net: a.name().into(), width: a.width(), channels: a.in_channels() }
    }
}

impl InitModel {
    /// `default` (the built-in model) or a path.
    pub fn parse(s: &str) -> Self {
        match s {
            "default" => Self::Default,
            _ => Self::File(PathBuf::from(s)),
        }
    }

    /// The file it reads, if any (outputs must never replace it).
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Default => None,
            Self::File(p) => Some(p),
        }
    }

    /// The model's bytes, checked to be a denoising model (an error names the file);
    /// `default` is the built-in model for `kind`.
    pub fn weights(&self, kind: NoiseKind) -> Result<(InitWeights, Denoiser)> {
        let (name, bytes): (PathBuf, Cow<'static, [u8]>) = match self {
            Self::Default => {
                let (name, bytes) =
                    built_in(kind).map_err(|e| ReconError::Invalid(format!("--init default: {e}")))?;
                (name.into(), Cow::Borrowed(bytes))
            }
            Self::File(p) => (p.clone(), Cow::Owned(std::fs::read(p).map_err(|e| ReconError::io(p, e))?)),
        };
        let model = Denoiser::from_bytes(&bytes, &name.display().to_string())
            .map_err(|e| ReconError::Invalid(format!("--init: {e}")))?;
        Ok((InitWeights { name, bytes }, model))
    }

    /// The starting model's architecture (`default`: the built-in model for `kind`).
    pub fn architecture(&self, kind: NoiseKind) -> Result<DenoiserArch> {
        Ok(DenoiserArch::of(&self.weights(kind)?.1))
    }
}

impl std::fmt::Display for InitModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => write!(f, "default"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The weights a run starts from, checked against its architecture (`Invalid` naming
/// `--init` and the option to change), or `None` without `--init`.
pub fn initial_weights(
    init: Option<&InitModel>,
    kind: NoiseKind,
    arch: &DenoiserArch,
) -> Result<Option<InitWeights>> {
    let Some(init) = init else { return Ok(None) };
    let (weights, model) = init.weights(kind)?;
    let theirs = DenoiserArch::of(&model);
    if &theirs != arch {
        return Err(ReconError::Invalid(format!(
            "--init {init}: a {} of width {} on {} channel(s), but this run asks for a {} of width {} on {} \
             channel(s); leave --net, --width and --channels out to take the model's",
            theirs.net, theirs.width, theirs.channels, arch.net, arch.width, arch.channels
        )));
    }
    Ok(Some(weights))
}
