//! Image-quality metrics, defined exactly as the references that researchers compare against.
//!
//! * fastMRI's `evaluate.py` ([`nmse`], [`psnr`], [`ssim`], [`VolumeMetrics`]): computed per
//!   **volume** `(slices, H, W)`, then averaged over volumes by the caller
//!   ([`VolumeMetrics::mean`]).
//!   - `NMSE = ‖gt − pred‖² / ‖gt‖²`
//!   - `PSNR = 10·log10(max(gt)² / MSE)`, `MSE = mean((gt − pred)²)`, max over the whole volume
//!     (skimage `peak_signal_noise_ratio(gt, pred, data_range=gt.max())`).
//!   - `SSIM` = mean over slices of skimage `structural_similarity(gt[s], pred[s],
//!     data_range=gt.max())`: 7×7 uniform window, K1 = 0.01, K2 = 0.03, sample covariance
//!     (`N/(N−1)` with `N = 49`), and the `(7−1)/2 = 3`-pixel border cropped before the mean.
//! * The Noise2Noise paper ([`psnr_n2n`]): `10·log10(1/MSE)` with both images clamped to
//!   `[−0.5, 0.5]` (peak 1), per image.
//! * 8-bit image PSNR ([`psnr_u8`]) for the generic denoising experiments: images in `[0, 1]`
//!   quantised to 8 bits like Noise2Noise's `clip_to_uint8`, peak 255.
//!
//! All sums are accumulated in `f64`. Inputs with NaN or ±∞ are refused with an error (a NaN
//! metric would silently poison an average). A perfect prediction gives `PSNR = +∞`, as in
//! numpy.

use crate::error::{ReconError, Result};
use ndarray::{ArrayView, ArrayView2, ArrayView3, Axis, Dimension};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// SSIM window side (skimage's default for the uniform filter).
pub const SSIM_WIN: usize = 7;
/// SSIM luminance constant: `C1 = (K1·data_range)²`.
pub const SSIM_K1: f64 = 0.01;
/// SSIM contrast constant: `C2 = (K2·data_range)²`.
pub const SSIM_K2: f64 = 0.03;

/// fastMRI's three numbers for one volume.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VolumeMetrics {
    /// `‖gt − pred‖² / ‖gt‖²` (lower is better).
    pub nmse: f64,
    /// `10·log10(max(gt)² / MSE)` in dB (higher is better).
    pub psnr: f64,
    /// Mean structural similarity over slices, in `[−1, 1]` (higher is better).
    pub ssim: f64,
}

impl VolumeMetrics {
    /// NMSE, PSNR and SSIM of `pred` against `gt`, both `(slices, H, W)` of the same shape.
    /// SSIM needs `H, W ≥ 7`.
    pub fn compute(gt: ArrayView3<f32>, pred: ArrayView3<f32>) -> Result<VolumeMetrics> {
        check_inputs(gt.shape(), pred.shape(), &gt, &pred)?;
        let max = max_of(&gt);
        Ok(VolumeMetrics {
            nmse: nmse_unchecked(&gt, &pred),
            psnr: psnr_unchecked(&gt, &pred, max),
            ssim: ssim_unchecked(gt, pred, max)?,
        })
    }

    /// The average over volumes, each volume weighing the same (fastMRI reports this mean);
    /// `None` for an empty list.
    pub fn mean(items: &[VolumeMetrics]) -> Option<VolumeMetrics> {
        if items.is_empty() {
            return None;
        }
        let n = items.len() as f64;
        Some(VolumeMetrics {
            nmse: items.iter().map(|m| m.nmse).sum::<f64>() / n,
            psnr: items.iter().map(|m| m.psnr).sum::<f64>() / n,
            ssim: items.iter().map(|m| m.ssim).sum::<f64>() / n,
        })
    }
}

/// Normalised mean squared error of a volume: `‖gt − pred‖² / ‖gt‖²` (fastMRI `nmse`).
/// An all-zero `gt` gives `+∞` (or NaN when `pred` is also zero), as numpy would.
pub fn nmse(gt: ArrayView3<f32>, pred: ArrayView3<f32>) -> Result<f64> {
    check_inputs(gt.shape(), pred.shape(), &gt, &pred)?;
    Ok(nmse_unchecked(&gt, &pred))
}

/// Peak signal-to-noise ratio of a volume in dB: `10·log10(max(gt)² / MSE)` with the max over
/// the whole volume (fastMRI `psnr`, i.e. skimage with `data_range = gt.max()`).
pub fn psnr(gt: ArrayView3<f32>, pred: ArrayView3<f32>) -> Result<f64> {
    check_inputs(gt.shape(), pred.shape(), &gt, &pred)?;
    Ok(psnr_unchecked(&gt, &pred, max_of(&gt)))
}

/// Structural similarity of a volume: the mean over slices of skimage's
/// `structural_similarity(gt[s], pred[s], data_range=gt.max())` (fastMRI `ssim`, default
/// `maxval`). Slices are computed in parallel.
pub fn ssim(gt: ArrayView3<f32>, pred: ArrayView3<f32>) -> Result<f64> {
    ssim_with_range(gt, pred, None)
}

/// [`ssim`] with fastMRI's optional `maxval`: `Some(r)` uses `data_range = r` for every slice,
/// `None` uses `gt.max()` over the volume.
pub fn ssim_with_range(gt: ArrayView3<f32>, pred: ArrayView3<f32>, maxval: Option<f64>) -> Result<f64> {
    check_inputs(gt.shape(), pred.shape(), &gt, &pred)?;
    let range = maxval.unwrap_or_else(|| max_of(&gt));
    ssim_unchecked(gt, pred, range)
}

/// One skimage `structural_similarity(x, y, data_range=data_range)` call on a 2-D image with
/// the defaults above. For each 7×7 window position fully inside the image (exactly the pixels
/// left after skimage's border crop):
/// `S = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))`, with window means μ
/// and sample (co)variances σ (`·49/48`); the result is the mean of `S`.
/// Errors if the shapes differ or a side is shorter than 7 (skimage raises too).
pub fn ssim_2d(x: ArrayView2<f32>, y: ArrayView2<f32>, data_range: f64) -> Result<f64> {
    check_inputs(x.shape(), y.shape(), &x, &y)?;
    check_ssim_size(x.dim())?;
    Ok(ssim_slice(x, y, data_range, SSIM_WIN))
}

/// The Noise2Noise paper's PSNR of one image: `10·log10(1 / MSE)` where both images are first
/// clamped to `[−0.5, 0.5]` (so the peak is 1). Any shape; both must match.
pub fn psnr_n2n<D: Dimension>(reference: ArrayView<f32, D>, output: ArrayView<f32, D>) -> Result<f64> {
    check_inputs(reference.shape(), output.shape(), &reference, &output)?;
    let clamp = |v: f32| (v as f64).clamp(-0.5, 0.5);
    let se = sum_sq_diff(&reference, &output, |a, b| clamp(a) - clamp(b));
    Ok(10.0 * (1.0 / (se / reference.len() as f64)).log10())
}

/// PSNR of 8-bit images in dB: `10·log10(255² / MSE)` after quantising both images from
/// `[0, 1]` to `q(v) = clip(rint(255·v), 0, 255)` (round half to even, like numpy's `rint`).
/// Any shape (e.g. `(C, H, W)`); both must match.
pub fn psnr_u8<D: Dimension>(clean: ArrayView<f32, D>, out: ArrayView<f32, D>) -> Result<f64> {
    check_inputs(clean.shape(), out.shape(), &clean, &out)?;
    let q = |v: f32| ((v as f64) * 255.0).round_ties_even().clamp(0.0, 255.0);
    let se = sum_sq_diff(&clean, &out, |a, b| q(a) - q(b));
    Ok(10.0 * (255.0 * 255.0 / (se / clean.len() as f64)).log10())
}

// ---------------------------------------------------------------------------------------------

fn nmse_unchecked(gt: &ArrayView3<f32>, pred: &ArrayView3<f32>) -> f64 {
    let err = sum_sq_diff(gt, pred, |a, b| a as f64 - b as f64);
    let norm: f64 = gt.iter().map(|&a| (a as f64) * (a as f64)).sum();
    err / norm
}

fn psnr_unchecked(gt: &ArrayView3<f32>, pred: &ArrayView3<f32>, max: f64) -> f64 {
    let mse = sum_sq_diff(gt, pred, |a, b| a as f64 - b as f64) / gt.len() as f64;
    10.0 * (max * max / mse).log10()
}

fn ssim_unchecked(gt: ArrayView3<f32>, pred: ArrayView3<f32>, range: f64) -> Result<f64> {
    let (n, h, w) = gt.dim();
    if n == 0 {
        return Err(ReconError::Invalid("SSIM of a volume with no slices".into()));
    }
    check_ssim_size((h, w))?;
    let per_slice: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|s| ssim_slice(gt.index_axis(Axis(0), s), pred.index_axis(Axis(0), s), range, SSIM_WIN))
        .collect();
    // Summed in slice order so the result does not depend on the thread schedule.
    Ok(per_slice.iter().sum::<f64>() / n as f64)
}

/// Σ f(a, b)² over paired elements, in f64.
fn sum_sq_diff<D: Dimension>(
    a: &ArrayView<f32, D>,
    b: &ArrayView<f32, D>,
    f: impl Fn(f32, f32) -> f64,
) -> f64 {
    ndarray::Zip::from(a).and(b).fold(0.0f64, |acc, &x, &y| {
        let d = f(x, y);
        acc + d * d
    })
}

fn max_of<D: Dimension>(a: &ArrayView<f32, D>) -> f64 {
    a.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64
}

fn check_inputs<D: Dimension>(
    sa: &[usize],
    sb: &[usize],
    a: &ArrayView<f32, D>,
    b: &ArrayView<f32, D>,
) -> Result<()> {
    if sa != sb {
        return Err(ReconError::Invalid(format!(
            "metric inputs differ in shape: reference {sa:?}, prediction {sb:?}"
        )));
    }
    if a.is_empty() {
        return Err(ReconError::Invalid(format!("metric inputs are empty (shape {sa:?})")));
    }
    for (what, arr) in [("reference", a), ("prediction", b)] {
        if let Some(i) = arr.iter().position(|v| !v.is_finite()) {
            return Err(ReconError::Invalid(format!(
                "metric {what} has a non-finite value (NaN or ±inf) at flat index {i} of shape {sa:?}"
            )));
        }
    }
    Ok(())
}

fn check_ssim_size((h, w): (usize, usize)) -> Result<()> {
    if h < SSIM_WIN || w < SSIM_WIN {
        return Err(ReconError::Invalid(format!(
            "SSIM needs images at least {SSIM_WIN}×{SSIM_WIN} (the window size), got {h}×{w}"
        )));
    }
    Ok(())
}

/// The five windowed sums of one image pair, as a separable box filter: first `win`-wide sums
/// along each row (only window positions fully inside), then `win`-tall sums of those down each
/// column. Cost `2·win` additions per output and quantity instead of `win²`.
fn ssim_slice(x: ArrayView2<f32>, y: ArrayView2<f32>, range: f64, win: usize) -> f64 {
    let (h, w) = x.dim();
    let (oh, ow) = (h + 1 - win, w + 1 - win);
    // Row pass: rows[k][r*ow + j] = Σ_{t<win} q_k(r, j+t) for q = x, y, x², y², x·y.
    let mut rows = vec![vec![0.0f64; h * ow]; 5];
    let mut qx = vec![0.0f64; w];
    let mut qy = vec![0.0f64; w];
    for r in 0..h {
        for (c, (vx, vy)) in x.row(r).iter().zip(y.row(r).iter()).enumerate() {
            qx[c] = *vx as f64;
            qy[c] = *vy as f64;
        }
        for j in 0..ow {
            let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for t in j..j + win {
                let (a, b) = (qx[t], qy[t]);
                sx += a;
                sy += b;
                sxx += a * a;
                syy += b * b;
                sxy += a * b;
            }
            let o = r * ow + j;
            rows[0][o] = sx;
            rows[1][o] = sy;
            rows[2][o] = sxx;
            rows[3][o] = syy;
            rows[4][o] = sxy;
        }
    }
    let np = (win * win) as f64;
    let cov_norm = np / (np - 1.0);
    let c1 = (SSIM_K1 * range).powi(2);
    let c2 = (SSIM_K2 * range).powi(2);
    // Column pass, one output row at a time.
    let mut col = vec![0.0f64; 5 * ow];
    let mut total = 0.0f64;
    for i in 0..oh {
        col.iter_mut().for_each(|v| *v = 0.0);
        for r in i..i + win {
            for k in 0..5 {
                let src = &rows[k][r * ow..(r + 1) * ow];
                let dst = &mut col[k * ow..(k + 1) * ow];
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            }
        }
        for j in 0..ow {
            let ux = col[j] / np;
            let uy = col[ow + j] / np;
            let uxx = col[2 * ow + j] / np;
            let uyy = col[3 * ow + j] / np;
            let uxy = col[4 * ow + j] / np;
            let vx = cov_norm * (uxx - ux * ux);
            let vy = cov_norm * (uyy - uy * uy);
            let vxy = cov_norm * (uxy - ux * uy);
            let a1 = 2.0 * ux * uy + c1;
            let a2 = 2.0 * vxy + c2;
            let b1 = ux * ux + uy * uy + c1;
            let b2 = vx + vy + c2;
            total += (a1 * a2) / (b1 * b2);
        }
    }
    total / (oh * ow) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// The textbook definition, 49 taps per pixel, to check the separable sums against.
    fn ssim_naive(x: &Array2<f32>, y: &Array2<f32>, range: f64) -> f64 {
        let (h, w) = x.dim();
        let (c1, c2) = ((SSIM_K1 * range).powi(2), (SSIM_K2 * range).powi(2));
        let mut total = 0.0;
        for i in 0..=h - 7 {
            for j in 0..=w - 7 {
                let px: Vec<f64> = (0..49).map(|t| x[[i + t / 7, j + t % 7]] as f64).collect();
                let py: Vec<f64> = (0..49).map(|t| y[[i + t / 7, j + t % 7]] as f64).collect();
                let mx = px.iter().sum::<f64>() / 49.0;
                let my = py.iter().sum::<f64>() / 49.0;
                let vx = px.iter().map(|a| (a - mx).powi(2)).sum::<f64>() / 48.0;
                let vy = py.iter().map(|a| (a - my).powi(2)).sum::<f64>() / 48.0;
                let vxy = px.iter().zip(&py).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / 48.0;
                total +=
                    (2.0 * mx * my + c1) * (2.0 * vxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
            }
        }
        total / ((h - 6) * (w - 6)) as f64
    }

    #[test]
    fn separable_ssim_matches_naive_definition() {
        let x = Array2::from_shape_fn((13, 11), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 10.0);
        let y = Array2::from_shape_fn((13, 11), |(i, j)| x[[i, j]] + (((i * j) % 5) as f32 - 2.0) * 0.05);
        let fast = ssim_2d(x.view(), y.view(), 1.0).unwrap();
        let slow = ssim_naive(&x, &y, 1.0);
        assert!((fast - slow).abs() < 1e-12, "{fast} vs {slow}");
        assert!((ssim_2d(x.view(), x.view(), 1.0).unwrap() - 1.0).abs() < 1e-12);
    }
}
