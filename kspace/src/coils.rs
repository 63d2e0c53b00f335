//! Receive-coil sensitivities: synthetic birdcage-style maps for simulation, estimation from
//! the fully sampled k-space centre, and the linear sensitivity-weighted coil combination.
//!
//! Layout: coil k-space and coil images are `(…, C, H, W)` (the coil axis is third from
//! last, fastMRI's multi-coil layout); sensitivity maps are `(C, H, W)`, shared by all the
//! leading (slice/batch) axes of the images. The forward model of coil `c` is
//! `x_c = s_c · m` for an image `m`, its k-space `k_c = fft2c(s_c · m)`.

use crate::undersample::{check_last2, par_fft2c, par_ifft2c, PAR_MIN};
use crate::{KspaceError, Result, SamplingMask, C32};
use ndarray::{Array, Array2, Array3, ArrayBase, ArrayView1, Axis, Data, Ix2, Ix3, RemoveAxis, Zip};
use std::f32::consts::PI;

const ZERO: C32 = C32::new(0.0, 0.0);

/// Apodisation applied to the calibration region before zero-padding, to suppress Gibbs
/// ringing in the low-resolution coil images (the maps must be smooth).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// No window (box): sharpest maps, with ringing.
    Rect,
    /// Hann, `w(t) = cos²(π t / (2T))`, t the offset from DC, T = half-width + 1.
    Hann,
    /// Kaiser–Bessel, `w(t) = I0(β √(1 − (t/T)²)) / I0(β)`; larger β is smoother.
    Kaiser(f32),
}

impl Window {
    /// Weights for a calibration line of `n` samples whose DC sits at index `n / 2`.
    pub fn weights(&self, n: usize) -> Vec<f32> {
        let half = (n / 2) as f32 + 1.0;
        (0..n)
            .map(|i| {
                let t = (i as f32 - (n / 2) as f32) / half;
                match *self {
                    Window::Rect => 1.0,
                    Window::Hann => (0.5 * PI * t).cos().powi(2),
                    Window::Kaiser(beta) => bessel_i0(beta * (1.0 - t * t).max(0.0).sqrt()) / bessel_i0(beta),
                }
            })
            .collect()
    }
}

/// Modified Bessel function of the first kind, order 0 (power series, f64 accumulation).
fn bessel_i0(x: f32) -> f32 {
    let y = (x as f64 / 2.0).powi(2);
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for k in 1..200 {
        term *= y / (k as f64 * k as f64);
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    sum as f32
}

/// How [`estimate_sensitivities`] turns calibration data into maps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensitivityOptions {
    /// Apodisation of the calibration region (default Hann).
    pub window: Window,
    /// Pixels whose low-resolution RSS is below `threshold · max(RSS)` get zero maps (a crude
    /// support mask, like ESPIRiT's crop); 0 keeps maps everywhere (default, so the combination
    /// stays defined in the background).
    pub threshold: f32,
}

impl Default for SensitivityOptions {
    fn default() -> Self {
        SensitivityOptions { window: Window::Hann, threshold: 0.0 }
    }
}

/// The fully sampled calibration (ACS) region of a mask: the largest `(rows, cols)` window
/// centred on DC — rows `H/2 − rows/2 ..`, cols `W/2 − cols/2 ..` — in which every bin is kept,
/// grown greedily a row / a column at a time. For fastMRI 1-D masks this is all `H` rows by
/// the contiguous low-frequency columns. `None` if DC itself is not sampled.
pub fn calibration_region(mask: &SamplingMask) -> Option<(usize, usize)> {
    let (h, w) = mask.shape();
    let keep = &mask.keep;
    if h == 0 || w == 0 || !keep[[h / 2, w / 2]] {
        return None;
    }
    // Rows (cols) covered by a centred window of `len`: start = n/2 − len/2.
    let span = |n: usize, len: usize| (n / 2 - len / 2, n / 2 - len / 2 + len);
    // The one index a window of `len + 1` adds to a window of `len`.
    let added = |n: usize, len: usize| {
        let ((a0, a1), (b0, _)) = (span(n, len), span(n, len + 1));
        if b0 < a0 {
            b0
        } else {
            a1
        }
    };
    let (mut rh, mut rw) = (1usize, 1usize);
    loop {
        let mut grew = false;
        if rh < h {
            let (i, (c0, c1)) = (added(h, rh), span(w, rw));
            if (c0..c1).all(|j| keep[[i, j]]) {
                rh += 1;
                grew = true;
            }
        }
        if rw < w {
            let (j, (r0, r1)) = (added(w, rw), span(h, rh));
            if (r0..r1).all(|i| keep[[i, j]]) {
                rw += 1;
                grew = true;
            }
        }
        if !grew {
            return Some((rh, rw));
        }
    }
}

/// Coil sensitivity maps `(C, H, W)` from the central `calib = (rows, cols)` of coil k-space
/// `(C, H, W)` (centred, DC at (H/2, W/2); only that region is read, so undersampled data
/// with a fully sampled centre is fine).
///
/// Method (the classic low-resolution estimate, e.g. fastMRI's/SigPy's baseline): window the
/// calibration region with `opts.window`, zero-pad to (H, W), `ifft2c` → low-resolution coil
/// images `l_c`, and normalise by their root-sum-of-squares:
/// `s_c = l_c / sqrt(Σ_c |l_c|²)`, so Σ_c |s_c|² = 1 wherever the RSS is above the threshold
/// (0 elsewhere). Since `l_c ≈ S_c · m_low`, the maps are the true sensitivities divided by
/// their RSS, times the phase of the low-resolution image: combining with them returns
/// `|S| · m · e^{−iφ_low}` — the image up to a smooth intensity and phase, exactly like an RSS
/// reconstruction but linear in the data.
pub fn estimate_sensitivities<S>(
    kspace: &ArrayBase<S, Ix3>,
    calib: (usize, usize),
    opts: &SensitivityOptions,
) -> Result<Array3<C32>>
where
    S: Data<Elem = C32>,
{
    let (c, h, w) = kspace.dim();
    let (ch, cw) = calib;
    if ch == 0 || cw == 0 || ch > h || cw > w || c == 0 {
        return Err(KspaceError::InvalidParameter(format!(
            "calibration region {calib:?} must be non-empty and fit in ({h}, {w}) with ≥ 1 coil"
        )));
    }
    let (r0, c0) = (h / 2 - ch / 2, w / 2 - cw / 2);
    let (wr, wc) = (opts.window.weights(ch), opts.window.weights(cw));
    let mut low = Array3::<C32>::zeros((c, h, w));
    for (mut dst, src) in low.outer_iter_mut().zip(kspace.outer_iter()) {
        for i in 0..ch {
            for j in 0..cw {
                dst[[r0 + i, c0 + j]] = src[[r0 + i, c0 + j]] * (wr[i] * wc[j]);
            }
        }
    }
    par_ifft2c(&mut low);
    let rss = crate::undersample::rss(&low, 0)?;
    let max = rss.iter().cloned().fold(0.0f32, f32::max);
    let cutoff = (opts.threshold * max).max(1e-7 * max).max(f32::MIN_POSITIVE);
    let f = |mut lane: ndarray::ArrayViewMut1<C32>, &r: &f32| {
        if r > cutoff {
            lane.mapv_inplace(|z| z / r)
        } else {
            lane.fill(ZERO)
        }
    };
    let big = low.len() >= PAR_MIN;
    let z = Zip::from(low.lanes_mut(Axis(0))).and(&rss);
    if big {
        z.par_for_each(f)
    } else {
        z.for_each(f)
    }
    Ok(low)
}

/// [`estimate_sensitivities`] with the calibration region taken from the mask's fully sampled
/// centre ([`calibration_region`]). Errors if the mask does not sample DC.
pub fn estimate_sensitivities_from_mask<S>(
    kspace: &ArrayBase<S, Ix3>,
    mask: &SamplingMask,
    opts: &SensitivityOptions,
) -> Result<Array3<C32>>
where
    S: Data<Elem = C32>,
{
    check_last2(kspace.shape(), mask.shape(), "estimate_sensitivities")?;
    let calib = calibration_region(mask)
        .ok_or_else(|| KspaceError::InvalidParameter("mask has no fully sampled centre".into()))?;
    estimate_sensitivities(kspace, calib, opts)
}

/// Sensitivity-weighted (SENSE-1 / "adaptive") coil combination over the coil axis (third
/// from last): `m = Σ_c conj(s_c) · x_c / Σ_c |s_c|²`.
///
/// Linear in the data, so E[combine(noisy)] = combine(clean): the right target for
/// Noise2Noise (unlike [`crate::undersample::rss`]). For maps with Σ|s|² = 1 and
/// `x_c = s_c · m` it returns `m` exactly. Pixels where Σ|s|² ≤ 1e-10 · max Σ|s|² (no coil
/// sees them) are set to 0 instead of dividing by ~0. `sens` is `(C, H, W)`, broadcast over
/// the leading axes of `coil_images` (one set of maps per call; loop for per-slice maps).
pub fn combine<S, S2, D>(
    coil_images: &ArrayBase<S, D>,
    sens: &ArrayBase<S2, Ix3>,
) -> Result<Array<C32, D::Smaller>>
where
    S: Data<Elem = C32>,
    S2: Data<Elem = C32>,
    D: RemoveAxis,
{
    let nd = coil_images.ndim();
    if nd < 3 || coil_images.shape()[nd - 3..] != *sens.shape() {
        return Err(KspaceError::Shape(format!(
            "combine: images {:?} do not end in the maps' shape {:?}",
            coil_images.shape(),
            sens.shape()
        )));
    }
    let max_den = sens.lanes(Axis(0)).into_iter().map(|l| sum_sq(&l)).fold(0.0f32, f32::max);
    let eps = 1e-10 * max_den;
    let s = sens.broadcast(coil_images.raw_dim()).expect("shape checked");
    let axis = Axis(nd - 3);
    let z = Zip::from(coil_images.lanes(axis)).and(s.lanes(axis));
    let f = |x: ArrayView1<C32>, s: ArrayView1<C32>| {
        let den = sum_sq(&s);
        if den > eps && den > 0.0 {
            x.iter().zip(s.iter()).map(|(x, s)| s.conj() * x).sum::<C32>() / den
        } else {
            ZERO
        }
    };
    Ok(if coil_images.len() >= PAR_MIN { z.par_map_collect(f) } else { z.map_collect(f) })
}

fn sum_sq(l: &ArrayView1<C32>) -> f32 {
    l.iter().map(|z| z.norm_sqr()).sum()
}

/// Smooth synthetic receive maps `(C, H, W)` of a birdcage-like array, for simulating
/// multi-coil data from a single image.
///
/// Coil `c` sits at angle θ_c = 2πc/C on a circle of radius 1.3 around the image centre, in
/// coordinates normalised so the image spans [−1, 1] on each axis (x along W, y along H, DC /
/// centre at (H/2, W/2)). Its magnitude falls off with the distance d_c from the coil as
/// `a_c = 1 / (1 + d_c² / 0.7²)` and its phase varies smoothly, `φ_c = θ_c + (π/2)(x cos θ_c +
/// y sin θ_c)`. The maps are then normalised, `s_c = a_c e^{iφ_c} / sqrt(Σ_c a_c²)`, so
/// Σ_c |s_c|² = 1 everywhere and `combine(s · m) = m` exactly.
pub fn synthetic_sensitivities(n_coils: usize, h: usize, w: usize) -> Result<Array3<C32>> {
    if n_coils == 0 || h == 0 || w == 0 {
        return Err(KspaceError::InvalidParameter(format!(
            "synthetic_sensitivities needs ≥ 1 coil and a non-empty grid, got {n_coils} × ({h}, {w})"
        )));
    }
    const RADIUS: f32 = 1.3;
    const FALLOFF: f32 = 0.7;
    let coils: Vec<(f32, f32, f32)> = (0..n_coils)
        .map(|c| {
            let th = 2.0 * PI * c as f32 / n_coils as f32;
            (th, th.cos(), th.sin())
        })
        .collect();
    let mut s = Array3::<C32>::zeros((n_coils, h, w));
    let (hh, hw) = ((h as f32 / 2.0).max(0.5), (w as f32 / 2.0).max(0.5));
    let f = |i: usize, j: usize, mut lane: ndarray::ArrayViewMut1<C32>| {
        let y = (i as f32 - (h / 2) as f32) / hh;
        let x = (j as f32 - (w / 2) as f32) / hw;
        let mut norm = 0.0f32;
        for (v, &(th, ct, st)) in lane.iter_mut().zip(&coils) {
            let d2 = (x - RADIUS * ct).powi(2) + (y - RADIUS * st).powi(2);
            let a = 1.0 / (1.0 + d2 / (FALLOFF * FALLOFF));
            *v = C32::from_polar(a, th + 0.5 * PI * (x * ct + y * st));
            norm += a * a;
        }
        let inv = 1.0 / norm.sqrt();
        lane.mapv_inplace(|z| z * inv);
    };
    Zip::indexed(s.lanes_mut(Axis(0))).par_for_each(|(i, j), lane| f(i, j, lane));
    Ok(s)
}

/// Multi-coil k-space `(C, H, W)` of an image `(H, W)` (real `f32` or complex): `k_c =
/// fft2c(s_c · image)`, coils transformed in parallel.
pub fn simulate_coils<T, S, S2>(image: &ArrayBase<S, Ix2>, sens: &ArrayBase<S2, Ix3>) -> Result<Array3<C32>>
where
    T: Copy + Into<C32> + Sync,
    S: Data<Elem = T>,
    S2: Data<Elem = C32>,
{
    let mut k = coil_images(image, sens)?;
    par_fft2c(&mut k);
    Ok(k)
}

/// The coil images `(C, H, W)` of an image: `s_c · image` (the image-domain forward model).
pub fn coil_images<T, S, S2>(image: &ArrayBase<S, Ix2>, sens: &ArrayBase<S2, Ix3>) -> Result<Array3<C32>>
where
    T: Copy + Into<C32> + Sync,
    S: Data<Elem = T>,
    S2: Data<Elem = C32>,
{
    check_last2(sens.shape(), image.dim(), "coil_images")?;
    Ok(Zip::from(sens).and_broadcast(image).par_map_collect(|&s, &m| s * m.into()))
}

/// Σ_c |s_c|² per pixel of maps `(C, H, W)` (1 everywhere for normalised maps).
pub fn sensitivity_norm<S: Data<Elem = C32>>(sens: &ArrayBase<S, Ix3>) -> Array2<f32> {
    sens.map_axis(Axis(0), |l| sum_sq(&l))
}
