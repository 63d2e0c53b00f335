//! Self-describing checkpoints: one safetensors file holding the weights, optionally the
//! Adam state, and in its `__metadata__` a JSON [`ModelMeta`] (architecture and shape,
//! normalisation, the caller's free-form config, step), so a model file loads without flags.
//!
//! File layout:
//! - tensors `enc_conv0.weight`, … (the parameter names), in the stored dtype;
//! - with an optimiser: `optim.m.<name>`, `optim.v.<name>` (moments, parameter dtype),
//!   `optim.step` (I64, 1), `optim.beta_powers` (F64, 2: Π β1, Π β2);
//! - `__metadata__`: `format` = [`FORMAT`], `recon.meta` = the JSON of [`ModelMeta`] (the
//!   loader reads only these two), plus informational copies `arch`, `in_channels`,
//!   `out_channels`, `width`, `step` for tools that list safetensors metadata.
//!
//! The header's JSON is written with sorted keys (tensor names and metadata keys), so the
//! same weights and metadata always give the same bytes and checksums of models are stable.
//!
//! Writes go to a temporary file `.<name>.<pid>.tmp` in the same directory (the naming of
//! `recon::io::atomic`, whose `remove_stale_temps` clears those a killed run left), are
//! fsync'ed, then renamed over the target, so a crash never leaves a truncated checkpoint. f16 / bf16 weights (shipped
//! models, see [`export_model`]) are widened to f32 on load.
//!
//! This module sits at the crate root, not under [`crate::train`]: inference loads model
//! files through it as much as training saves and resumes them, and a file holds a network
//! ([`crate::nets`]) and an optimiser state ([`crate::train`]) together.

use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
    path::Path,
};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::{
    nets::{NetConfig, Network},
    train::AdamState,
    ModelError, Result,
};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "recon-models/1";
/// Metadata key holding the JSON [`ModelMeta`].
pub const META_KEY: &str = "recon.meta";
const OPT: &str = "optim.";

/// How the caller normalised the network's inputs (e.g. `method: "max"`, `params:
/// {"offset": -0.5}`), recorded so inference can undo it the same way.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    pub method: String,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
}

/// What a model file says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Architecture name and shape (in/out channels, width, padding).
    pub arch: NetConfig,
    #[serde(default)]
    pub normalisation: Normalisation,
    /// Free-form JSON supplied by the caller (mask, training config…), stored verbatim.
    #[serde(default)]
    pub config: String,
    /// Optimiser steps taken when the file was written.
    #[serde(default)]
    pub step: u64,
    /// Training checkpoints: `(sum, count)` of the step losses since the last row of the
    /// training log, so that a resumed run logs the same mean loss at its next row as an
    /// uninterrupted run. `None` in exported models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_since_log: Option<(f64, u64)>,
}

impl ModelMeta {
    pub fn new(arch: NetConfig) -> Self {
        Self {
            arch,
            normalisation: Normalisation::default(),
            config: String::new(),
            step: 0,
            loss_since_log: None,
        }
    }
}

/// A loaded checkpoint, ready to train on.
pub struct Checkpoint {
    /// The network over `varmap`'s `Var`s (trainable).
    pub net: Network,
    pub varmap: VarMap,
    pub meta: ModelMeta,
    pub optimiser: Option<AdamState>,
    /// dtype of the weights in the file (F16 for shipped models; they are loaded as F32).
    pub stored_dtype: DType,
}

fn bad(path: &Path, msg: impl Into<String>) -> ModelError {
    ModelError::BadCheckpoint { path: path.display().to_string(), msg: msg.into() }
}

fn io(path: &Path, source: std::io::Error) -> ModelError {
    ModelError::Io { path: path.display().to_string(), source }
}

/// Saves the weights of `varmap` (in their own dtype), `meta`, and the optimiser state if
/// given. Atomic (temporary file + rename).
pub fn save_checkpoint(
    path: impl AsRef<Path>,
    varmap: &VarMap,
    meta: &ModelMeta,
    optimiser: Option<&AdamState>,
) -> Result<()> {
    write(path.as_ref(), varmap, meta, optimiser, None)
}

/// Saves only the weights, converted to `dtype` (F16 for shipped default models), with
/// `meta`. Atomic.
pub fn export_model(path: impl AsRef<Path>, varmap: &VarMap, meta: &ModelMeta, dtype: DType) -> Result<()> {
    write(path.as_ref(), varmap, meta, None, Some(dtype))
}

fn write(
    path: &Path,
    varmap: &VarMap,
    meta: &ModelMeta,
    opt: Option<&AdamState>,
    dtype: Option<DType>,
) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (name, var) in varmap.data().lock().unwrap().iter() {
        let t = var.as_tensor().to_device(&Device::Cpu)?;
        tensors.push((name.clone(), if let Some(d) = dtype { t.to_dtype(d)? } else { t }));
    }
    if let Some(s) = opt {
        for (kind, map) in [("m", &s.m), ("v", &s.v)] {
            for (name, t) in map {
                tensors.push((format!("{OPT}{kind}.{name}"), t.to_device(&Device::Cpu)?));
            }
        }
        tensors.push((format!("{OPT}step"), Tensor::new(&[s.step as i64], &Device::Cpu)?));
        tensors
            .push((format!("{OPT}beta_powers"), Tensor::new(&[s.beta1_power, s.beta2_power], &Device::Cpu)?));
    }
    let mut info = HashMap::new();
    info.insert("format".to_string(), FORMAT.to_string());
    info.insert(META_KEY.to_string(), serde_json::to_string(meta)?);
    info.insert("arch".to_string(), meta.arch.name().to_string());
    info.insert("in_channels".to_string(), meta.arch.in_channels().to_string());
    info.insert("out_channels".to_string(), meta.arch.out_channels().to_string());
    info.insert("width".to_string(), meta.arch.width().to_string());
    info.insert("step".to_string(), meta.step.to_string());
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(info))?;
    write_atomic(path, &sorted_header(path, bytes)?)
}

/// The safetensors file `bytes` with its JSON header rewritten with sorted keys (the
/// metadata is a `HashMap`, serialised in random order) and padded with spaces to a
/// multiple of 8 bytes as safetensors does. Tensor offsets are relative to the data
/// section, so they stay valid.
fn sorted_header(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let n = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize);
    let n = n.filter(|&n| 8 + n <= bytes.len()).ok_or_else(|| bad(path, "serialised header out of range"))?;
    // serde_json's map is a BTreeMap (no `preserve_order`): keys come out sorted.
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])?;
    let mut text = serde_json::to_vec(&header)?;
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary sibling file, fsync, rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().ok_or_else(|| bad(path, "not a file path"))?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, e));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all(); // best effort: make the rename durable
        }
    }
    Ok(())
}

/// Reads only the metadata of a model file.
pub fn read_meta(path: impl AsRef<Path>) -> Result<ModelMeta> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    parse_meta(path, &bytes)
}

fn parse_meta(path: &Path, bytes: &[u8]) -> Result<ModelMeta> {
    let (_, header) = SafeTensors::read_metadata(bytes)?;
    let info = header.metadata().as_ref().ok_or_else(|| bad(path, "no __metadata__"))?;
    match info.get("format") {
        Some(f) if f == FORMAT => {}
        Some(f) => return Err(bad(path, format!("format {f}, expected {FORMAT}"))),
        None => return Err(bad(path, "no format key: not a recon model file")),
    }
    let json = info.get(META_KEY).ok_or_else(|| bad(path, format!("no {META_KEY} key")))?;
    Ok(serde_json::from_str(json)?)
}

/// Loads a checkpoint for training: weights as `Var`s on `device` (f16/bf16 widened to
/// f32), the network built from its metadata, and the optimiser state if stored.
pub fn load_checkpoint(path: impl AsRef<Path>, device: &Device) -> Result<Checkpoint> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    load_checkpoint_bytes(path, &bytes, device)
}

/// [`load_checkpoint`] from the bytes of a model file (e.g. one compiled into a binary);
/// `path` only names it in errors.
pub fn load_checkpoint_bytes(path: &Path, bytes: &[u8], device: &Device) -> Result<Checkpoint> {
    let meta = parse_meta(path, bytes)?;
    let all = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
    let (mut weights, mut opt) = (BTreeMap::new(), BTreeMap::new());
    for (name, t) in all {
        match name.strip_prefix(OPT) {
            Some(rest) => opt.insert(rest.to_string(), t),
            None => weights.insert(name, t),
        };
    }
    let stored_dtype = weights.values().next().map(|t| t.dtype()).ok_or_else(|| bad(path, "no weights"))?;
    let dtype = match stored_dtype {
        DType::F16 | DType::BF16 | DType::F32 => DType::F32,
        DType::F64 => DType::F64,
        d => return Err(bad(path, format!("unsupported weight dtype {d:?}"))),
    };
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().unwrap();
        for (name, t) in &weights {
            if t.dtype() != stored_dtype {
                return Err(bad(path, format!("{name} is {:?}, other weights {stored_dtype:?}", t.dtype())));
            }
            data.insert(name.clone(), Var::from_tensor(&t.to_dtype(dtype)?.to_device(device)?)?);
        }
    }
    let net =
        Network::from_varmap(&meta.arch, &varmap, dtype, device).map_err(|e| bad(path, e.to_string()))?;
    let optimiser = if opt.is_empty() { None } else { Some(optimiser_state(path, &mut opt, &weights)?) };
    Ok(Checkpoint { net, varmap, meta, optimiser, stored_dtype })
}

fn optimiser_state(
    path: &Path,
    opt: &mut BTreeMap<String, Tensor>,
    weights: &BTreeMap<String, Tensor>,
) -> Result<AdamState> {
    let mut take = |k: &str| opt.remove(k).ok_or_else(|| bad(path, format!("no {OPT}{k}")));
    let step = take("step")?.to_vec1::<i64>()?;
    let powers = take("beta_powers")?.to_vec1::<f64>()?;
    if step.len() != 1 || powers.len() != 2 {
        return Err(bad(path, "malformed optimiser scalars"));
    }
    let (mut m, mut v) = (BTreeMap::new(), BTreeMap::new());
    for name in weights.keys() {
        m.insert(name.clone(), take(&format!("m.{name}"))?);
        v.insert(name.clone(), take(&format!("v.{name}"))?);
    }
    if let Some(extra) = opt.keys().next() {
        return Err(bad(path, format!("unexpected tensor {OPT}{extra}")));
    }
    Ok(AdamState { step: step[0] as u64, beta1_power: powers[0], beta2_power: powers[1], m, v })
}

/// Loads a model for inference: the network with detached weights (its forward builds no
/// autograd graph) on `device`, and its metadata.
pub fn load_model(path: impl AsRef<Path>, device: &Device) -> Result<(Network, ModelMeta)> {
    let ck = load_checkpoint(path, device)?;
    Ok((ck.net.detached(), ck.meta))
}

/// [`load_model`] from the bytes of a model file; `path` only names it in errors.
pub fn load_model_bytes(path: &Path, bytes: &[u8], device: &Device) -> Result<(Network, ModelMeta)> {
    let ck = load_checkpoint_bytes(path, bytes, device)?;
    Ok((ck.net.detached(), ck.meta))
}
