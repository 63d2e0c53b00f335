//! `recon denoise eval`: the paper's test protocol on a folder of clean photos. Each photo
//! `i` (files sorted by name) is corrupted with noise drawn from `MaskRng` keyed by
//! `(seed, i)`, so the numbers are reproducible; the network output and the noisy input are
//! scored by 8-bit PSNR (`psnr_u8`: both quantised to 0…255, `10·log10(255²/MSE)`) against
//! the clean photo, per image and on average.

use std::path::{Path, PathBuf};

use kspace::rng::MaskRng;
use serde::Serialize;

use super::{
    dataset::{png_files, read_photo, write_photo},
    infer::Denoiser,
    noise::NoiseSpec,
};
use crate::{metrics::psnr_u8, progress::Progress, Result};

/// One photo's scores.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalRow {
    pub file: String,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// Noise strength drawn for this photo.
    pub strength: f64,
    pub psnr_input: f64,
    pub psnr_output: f64,
}

/// What [`evaluate`] measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub noise: String,
    pub seed: u64,
    pub images: Vec<EvalRow>,
    pub mean_psnr_input: f64,
    pub mean_psnr_output: f64,
}

/// The test noise of photo `i` for `seed`.
pub fn eval_rng(seed: u64, i: usize) -> MaskRng {
    MaskRng::from_words([seed as u32, (seed >> 32) as u32, i as u32, 0xE7A1])
    // ok: constant-length key
}

/// Evaluates `d` on the photos of `data` (files, or folders of PNGs) with `noise`; see the
/// module documentation. Photos are scored in their own channel count. With `save`, the
/// noisy and denoised images are written there as `NAME.noisy.png` and `NAME.denoised.png`.
pub fn evaluate(
    d: &Denoiser,
    data: &[PathBuf],
    noise: &NoiseSpec,
    seed: u64,
    save: Option<&Path>,
    progress: &dyn Progress,
) -> Result<EvalReport> {
    let files = png_files(data)?;
    progress.start("images", files.len() as u64);
    let mut images = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let photo = read_photo(f, 0)?;
        let c = photo.data.dim().0;
        let clean = photo.data;
        let mut rng = eval_rng(seed, i);
        let noisy = noise.corrupt(&clean, &mut rng);
        let noisy01 = noisy.image.mapv(|v| v + 0.5);
        let clean01 = clean.mapv(|v| v + 0.5);
        let out = d.denoise(&noisy01)?;
        if let Some(dir) = save {
            let stem = Path::new(&photo.name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            write_photo(&dir.join(format!("{stem}.noisy.png")), &noisy01)?;
            write_photo(&dir.join(format!("{stem}.denoised.png")), &out)?;
        }
        let (_, h, w) = clean.dim();
        images.push(EvalRow {
            file: photo.name,
            height: h,
            width: w,
            channels: c,
            strength: noisy.strength,
            psnr_input: psnr_u8(clean01.view(), noisy01.view())?,
            psnr_output: psnr_u8(clean01.view(), out.view())?,
        });
        progress.inc(1);
    }
    progress.finish();
    let n = images.len().max(1) as f64;
    Ok(EvalReport {
        model: d.name.clone(),
        noise: noise.to_string(),
        seed,
        mean_psnr_input: images.iter().map(|r| r.psnr_input).sum::<f64>() / n,
        mean_psnr_output: images.iter().map(|r| r.psnr_output).sum::<f64>() / n,
        images,
    })
}
