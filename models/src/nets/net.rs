//! Architectures chosen by name: [`NetConfig`] (serialisable, stored in checkpoints) and
//! [`Network`] (the built model).

use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Module, Shape, Tensor};
use candle_nn::{var_builder::SimpleBackend, Init, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use super::{
    init::{seeded_var_builder, strict_var_builder},
    red30::{Red30, Red30Config},
    unet::{UNet, UNetConfig},
    unrolled::{Unrolled, UnrolledConfig},
};
use crate::{ModelError, Result};

/// Which network, with its shape. Serialised as `{"name": "unet", "in_channels": 1, …}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum NetConfig {
    #[serde(rename = "unet")]
    UNet(UNetConfig),
    #[serde(rename = "red30")]
    Red30(Red30Config),
    /// The unrolled physics-guided network: takes k-space, maps and mask
    /// ([`Unrolled::forward`]), reconstructs a complex image (2 channels).
    #[serde(rename = "unrolled")]
    Unrolled(UnrolledConfig),
}

impl NetConfig {
    /// Architecture names accepted by [`NetConfig::by_name`].
    pub const NAMES: [&'static str; 3] = ["unet", "red30", "unrolled"];

    /// The default configuration of architecture `name` ("unet", "red30" or "unrolled",
    /// case-insensitive; "u-net" and "rednet30" also accepted) for the given channel counts
    /// ("unrolled" maps a complex image to a complex image: 2 → 2 only).
    pub fn by_name(name: &str, in_channels: usize, out_channels: usize) -> Result<Self> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "unet" => Ok(Self::UNet(UNetConfig::new(in_channels, out_channels))),
            "red30" | "rednet30" => Ok(Self::Red30(Red30Config::new(in_channels, out_channels))),
            "unrolled" if (in_channels, out_channels) == (2, 2) => Ok(Self::Unrolled(UnrolledConfig::default())),
            "unrolled" => Err(candle_core::Error::Msg(format!(
                "the unrolled network maps a complex image to a complex image (2 → 2 channels), got {in_channels} → {out_channels}"
            ))
            .into()),
            _ => Err(ModelError::UnknownArch(name.to_string())),
        }
    }

    /// "unet", "red30" or "unrolled".
    pub fn name(&self) -> &'static str {
        match self {
            Self::UNet(_) => "unet",
            Self::Red30(_) => "red30",
            Self::Unrolled(_) => "unrolled",
        }
    }

    pub fn in_channels(&self) -> usize {
        match self {
            Self::UNet(c) => c.in_channels,
            Self::Red30(c) => c.in_channels,
            Self::Unrolled(_) => 2,
        }
    }

    pub fn out_channels(&self) -> usize {
        match self {
            Self::UNet(c) => c.out_channels,
            Self::Red30(c) => c.out_channels,
            Self::Unrolled(_) => 2,
        }
    }

    /// The width knob: U-Net encoder width, RED30 feature count, the unrolled network's
    /// regulariser width.
    pub fn width(&self) -> usize {
        match self {
            Self::UNet(c) => c.width,
            Self::Red30(c) => c.features,
            Self::Unrolled(c) => c.width,
        }
    }

    /// Number of trainable parameters.
    pub fn num_parameters(&self) -> usize {
        match self {
            Self::UNet(c) => c.num_parameters(),
            Self::Red30(c) => c.num_parameters(),
            Self::Unrolled(c) => c.num_parameters(),
        }
    }
}

/// A built network. `forward` maps (N, in_channels, H, W) to (N, out_channels, H, W) for
/// the image-to-image networks; the unrolled network takes k-space, maps and mask instead
/// ([`Network::as_unrolled`], [`Unrolled::forward`]).
#[derive(Clone, Debug)]
pub enum Network {
    UNet(UNet),
    Red30(Red30),
    Unrolled(Unrolled),
}

impl Network {
    /// Builds `cfg` from any `VarBuilder`.
    pub fn new(cfg: &NetConfig, vb: VarBuilder) -> Result<Self> {
        Ok(match cfg {
            NetConfig::UNet(c) => Self::UNet(UNet::new(c, vb)?),
            NetConfig::Red30(c) => Self::Red30(Red30::new(c, vb)?),
            NetConfig::Unrolled(c) => Self::Unrolled(Unrolled::new(c, vb)?),
        })
    }

    /// The unrolled network, if this is one (its forward needs k-space, maps and mask).
    pub fn as_unrolled(&self) -> Option<&Unrolled> {
        match self {
            Self::Unrolled(n) => Some(n),
            _ => None,
        }
    }

    /// A freshly initialised, trainable network: He-normal weights drawn from `seed`
    /// (see [`super::init`]), zero biases, stored as `Var`s in `varmap`. Same seed, config
    /// and dtype → bit-identical weights.
    pub fn init(cfg: &NetConfig, varmap: &VarMap, seed: u64, dtype: DType, device: &Device) -> Result<Self> {
        Self::new(cfg, seeded_var_builder(varmap, seed, dtype, device))
    }

    /// A trainable network over the `Var`s already in `varmap` (every parameter must be
    /// there with the right shape and dtype, and nothing else may be).
    pub fn from_varmap(cfg: &NetConfig, varmap: &VarMap, dtype: DType, device: &Device) -> Result<Self> {
        let net = Self::new(cfg, strict_var_builder(varmap, dtype, device))?;
        let want = param_names(cfg)?;
        let data = varmap.data().lock().unwrap();
        if let Some(extra) = data.keys().find(|k| !want.contains(k)) {
            return Err(
                candle_core::Error::Msg(format!("unexpected parameter {extra} for {}", cfg.name())).into()
            );
        }
        drop(data);
        Ok(net)
    }

    pub fn config(&self) -> NetConfig {
        match self {
            Self::UNet(n) => NetConfig::UNet(n.config().clone()),
            Self::Red30(n) => NetConfig::Red30(n.config().clone()),
            Self::Unrolled(n) => NetConfig::Unrolled(n.config().clone()),
        }
    }

    /// A copy whose forward builds no autograd graph (weights detached, storage shared, so
    /// it follows later optimiser steps). Use it for validation and inference.
    pub fn detached(&self) -> Self {
        match self {
            Self::UNet(n) => Self::UNet(n.detached()),
            Self::Red30(n) => Self::Red30(n.detached()),
            Self::Unrolled(n) => Self::Unrolled(n.detached()),
        }
    }
}

impl Module for Network {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::UNet(n) => n.forward(x),
            Self::Red30(n) => n.forward(x),
            Self::Unrolled(_) => candle_core::bail!(
                "the unrolled network takes k-space, maps and mask: use Unrolled::forward (Network::as_unrolled)"
            ),
        }
    }
}

/// The parameter names of `cfg`, sorted (`enc_conv0.bias`, `enc_conv0.weight`, …).
pub fn param_names(cfg: &NetConfig) -> Result<Vec<String>> {
    let rec = NameRecorder::default();
    Network::new(cfg, VarBuilder::from_backend(Box::new(rec.clone()), DType::F32, Device::Cpu))?;
    let mut names = rec.0.lock().unwrap().clone();
    names.sort();
    Ok(names)
}

/// `VarBuilder` backend that records the names asked for and hands out zeros.
#[derive(Clone, Default)]
struct NameRecorder(Arc<Mutex<Vec<String>>>);

impl SimpleBackend for NameRecorder {
    fn get(&self, s: Shape, name: &str, _h: Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.0.lock().unwrap().push(name.to_string());
        Tensor::zeros(s, dtype, dev)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("get_unchecked({name}) is not supported")
    }

    fn contains_tensor(&self, _name: &str) -> bool {
        false
    }
}

/// Total number of elements over all variables of `varmap`.
pub fn count_parameters(varmap: &VarMap) -> usize {
    varmap.all_vars().iter().map(|v| v.elem_count()).sum()
}
