//! Reconstruction with a trained network: which model (a file, a default shipped inside the
//! binary, or none) and how it is applied to one slice of a scan.
//!
//! Two default models ship in the binary (trained by `recon train --net unrolled` on
//! Colin27 simulated as 8-coil scans, Noise2Noise pairs in k-space — no fully sampled
//! target — with the commands in `data/README.md`): unrolled networks whose cascades refine
//! the compressed-sensing reconstruction (`--initial cs`). [`DEFAULT_N2N`] for 2-D masks
//! (`n2n`, `gaussian`, `poisson`, `radial`; trained on Poisson 4× and 8×) and
//! [`DEFAULT_CARTESIAN`] for 1-D Cartesian masks (fastMRI's families and `gaussian1d`,
//! trained on random 4× / 0.08 and 8× / 0.04). A mask with per-column structure picks the
//! Cartesian one; fully sampled data (`--mask none`) uses none. They take any coil count
//! and matrix size.
//!
//! `--model NAME` also names a built-in model: `default-cartesian` or `default-n2n`. A file
//! of that name in the current folder wins (a path that exists is always a file); otherwise
//! the name picks the built-in model whatever the mask.

use std::path::{Path, PathBuf};

use kspace::{coils, SamplingMask, C32};
use models::{Checkpoint, Device, ModelMeta, Network};
use ndarray::{Array2, Array3, Axis};

use crate::error::{ReconError, Result};
use crate::mri::{infer, unrolled, ModelMode};

/// Which network `recon --input` uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ModelChoice {
    /// The shipped default that matches the mask (none for `--mask none`).
    #[default]
    Default,
    /// Zero-filled reconstruction only (`--no-model`).
    NoModel,
    /// A model file written by `recon train`, or the name of a built-in model
    /// (`default-cartesian`, `default-n2n`) when no such file exists.
    File(PathBuf),
}

/// A model compiled into the binary.
pub struct DefaultModel {
    pub name: &'static str,
    /// What it was trained for, for messages.
    pub about: &'static str,
    pub bytes: &'static [u8],
}

/// Default for 2-D masks.
pub const DEFAULT_N2N: DefaultModel = DefaultModel {
    name: "default-n2n",
    about: "unrolled network refining CS, 2-D Poisson masks 4x and 8x, noisy k-space targets",
    bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models/unrolled_2d.safetensors")),
};

/// Default for 1-D Cartesian masks.
pub const DEFAULT_CARTESIAN: DefaultModel = DefaultModel {
    name: "default-cartesian",
    about:
        "unrolled network refining CS, 1-D random Cartesian masks 4x/0.08 and 8x/0.04, noisy k-space targets",
    bytes: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/models/unrolled_cartesian.safetensors"
    )),
};

/// Every built-in model.
pub const BUILT_IN: [&DefaultModel; 2] = [&DEFAULT_CARTESIAN, &DEFAULT_N2N];

/// The built-in model `--model p` names: none when `p` exists (a file wins) or is not a
/// built-in name.
pub fn built_in(p: &Path) -> Option<&'static DefaultModel> {
    if p.exists() {
        return None;
    }
    BUILT_IN.into_iter().find(|d| p.as_os_str() == d.name)
}

/// The default model for a mask: Cartesian for 1-D (column) masks, n2n for 2-D masks, none
/// when every bin is sampled.
pub fn default_for(mask: &SamplingMask) -> Option<&'static DefaultModel> {
    if mask.keep.iter().all(|&k| k) {
        None
    } else if mask.columns.is_some() {
        Some(&DEFAULT_CARTESIAN)
    } else {
        Some(&DEFAULT_N2N)
    }
}

/// A loaded network and how to apply it to a slice.
pub struct NetworkRecon {
    /// The file, or the default model's name.
    pub source: String,
    pub net: Network,
    pub meta: ModelMeta,
    pub mode: ModelMode,
    /// Scan-specific adaptation steps before each slice (`--adapt`; unrolled models only).
    pub adapt: usize,
    /// Where an unrolled model's cascades start (from its configuration).
    initial: unrolled::initial::Initial,
    /// Where the weights come from, to reload them trainable for `--adapt`.
    origin: Origin,
    device: Device,
}

/// A model's file or built-in bytes.
#[derive(Clone)]
enum Origin {
    /// A model file and its bytes, read once (`--adapt` reloads the weights per slice).
    File(PathBuf, Vec<u8>),
    BuiltIn(&'static DefaultModel),
}

impl NetworkRecon {
    /// The model `choice` names for `mask`, or `None` (zero-filled only).
    pub fn choose(choice: &ModelChoice, mask: &SamplingMask) -> Result<Option<Self>> {
        let device = models::best_device();
        let origin = match choice {
            ModelChoice::NoModel => return Ok(None),
            ModelChoice::File(p) => match built_in(p) {
                Some(d) => Origin::BuiltIn(d),
                None => {
                    let bytes = std::fs::read(p).map_err(|source| {
                        let e = models::ModelError::Io { path: p.display().to_string(), source };
                        ReconError::format(p, format!("not a recon model: {e}"))
                    })?;
                    Origin::File(p.clone(), bytes)
                }
            },
            ModelChoice::Default => match default_for(mask) {
                None => return Ok(None),
                Some(d) => Origin::BuiltIn(d),
            },
        };
        let ck = origin.load(&device)?;
        let source = match &origin {
            Origin::File(p, _) => p.display().to_string(),
            Origin::BuiltIn(d) => format!("{} ({})", d.name, d.about),
        };
        let (net, meta) = (ck.net.detached(), ck.meta);
        let mode = ModelMode::of(&meta).map_err(|e| ReconError::Invalid(format!("{source}: {e}")))?;
        let initial = unrolled::initial::Initial::of_model(&meta.config);
        Ok(Some(NetworkRecon { source, net, meta, mode, adapt: 0, initial, origin, device }))
    }

    /// Network + data consistency on one slice of coil k-space (C, H, W), magnitude
    /// cropped to `crop`. Complex models take any number of coils (maps estimated from the
    /// data, [`sensitivities`]); magnitude models take one coil.
    pub fn slice(
        &self,
        kspace: &Array3<C32>,
        mask: &SamplingMask,
        crop: (usize, usize),
    ) -> Result<Array2<f32>> {
        self.slice_at(0, kspace, mask, crop)
    }

    /// [`NetworkRecon::slice`] of slice `index` of a volume (which keys `--adapt`'s splits).
    /// Unrolled models take any number of coils with ESPIRiT maps (`unrolled::infer`).
    pub fn slice_at(
        &self,
        index: usize,
        kspace: &Array3<C32>,
        mask: &SamplingMask,
        crop: (usize, usize),
    ) -> Result<Array2<f32>> {
        if self.net.as_unrolled().is_some() {
            let y = kspace::undersample::undersample(kspace, mask)?;
            let maps = unrolled::infer::maps_for(&y, mask)?;
            let initial = self.initial;
            let x = if self.adapt > 0 {
                let ck = self.origin.load(&self.device)?;
                unrolled::infer::adapt(
                    &ck,
                    initial,
                    &y,
                    mask,
                    &maps,
                    self.adapt,
                    index as u64,
                    &self.device,
                )?;
                unrolled::infer::reconstruct(&ck.net.detached(), initial, &y, mask, &maps, &self.device)?
            } else {
                unrolled::infer::reconstruct(&self.net, initial, &y, mask, &maps, &self.device)?
            };
            return Ok(kspace::undersample::center_crop(&x.mapv(|z| z.norm()), crop)?);
        }
        let image = match self.mode {
            ModelMode::Magnitude => {
                if kspace.dim().0 != 1 {
                    return Err(ReconError::Invalid(format!(
                        "{}: a magnitude (1-channel) model handles single-coil data; this scan has {} coils (use a complex model, or --no-model)",
                        self.source,
                        kspace.dim().0
                    )));
                }
                let k = kspace.index_axis(Axis(0), 0).to_owned();
                let zf = infer::magnitude_input(&self.meta, &k, mask)?;
                infer::reconstruct_with_model(&self.net, &self.meta, &zf, &k, mask, &self.device)?
                    .mapv(f32::abs)
            }
            ModelMode::Complex => {
                let y = kspace::undersample::undersample(kspace, mask)?;
                let sens = if y.dim().0 > 1 { Some(sensitivities(&y, mask)?) } else { None };
                infer::reconstruct_complex(&self.net, &self.meta, &y, mask, sens.as_ref(), &self.device)?
                    .mapv(|z| z.norm())
            }
        };
        Ok(kspace::undersample::center_crop(&image, crop)?)
    }
}

impl Origin {
    /// The weights as a trainable checkpoint.
    fn load(&self, device: &Device) -> Result<Checkpoint> {
        match self {
            Origin::File(p, bytes) => models::load_checkpoint_bytes(p, bytes, device)
                .map_err(|e| ReconError::format(p, format!("not a recon model: {e}"))),
            Origin::BuiltIn(d) => models::load_checkpoint_bytes(Path::new(d.name), d.bytes, device)
                .map_err(|e| ReconError::Invalid(format!("built-in model {}: {e}", d.name))),
        }
    }
}

/// Smallest calibration region (rows, cols) used as it is; below it the maps come from the
/// density-compensated centre instead.
const MIN_CALIB: usize = 8;
/// Side of the compensated centre used when the mask has no fully sampled centre.
const COMPENSATED_CALIB: usize = 24;

/// Coil maps (Σ|s|² = 1) for undersampled coil k-space: from the fully sampled centre when
/// the mask has one of at least 8×8 bins (fastMRI's Cartesian masks), else from the
/// density-compensated central 24×24 bins (an unbiased estimate of them, for 2-D
/// variable-density masks such as n2n).
pub fn sensitivities(y: &Array3<C32>, mask: &SamplingMask) -> Result<Array3<C32>> {
    let opts = coils::SensitivityOptions::default();
    match coils::calibration_region(mask) {
        Some((r, c)) if r >= MIN_CALIB && c >= MIN_CALIB => {
            Ok(coils::estimate_sensitivities(y, (r, c), &opts)?)
        }
        _ => {
            let (_, h, w) = y.dim();
            let comp = kspace::undersample::density_compensate(y, mask)?;
            Ok(coils::estimate_sensitivities(
                &comp,
                (COMPENSATED_CALIB.min(h), COMPENSATED_CALIB.min(w)),
                &opts,
            )?)
        }
    }
}
