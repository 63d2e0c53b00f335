//! Undersampling, density compensation, zero-filled reconstruction, root-sum-of-squares and
//! centre crop/pad — the first steps of every reconstruction (fastMRI's vocabulary).
//!
//! All functions work over the last two axes (H, W) of arrays of any rank, so the same call
//! handles one slice `(H, W)`, coils `(C, H, W)` or a volume `(S, C, H, W)`; a
//! [`SamplingMask`] of shape (H, W) is broadcast over the leading axes. Large arrays are
//! processed in parallel with rayon (elementwise work via `Zip::par_*`, FFTs image by image).

use crate::{ifft2c_inplace, KspaceError, Result, SamplingMask, C32};
use ndarray::{
    Array, ArrayBase, ArrayViewMut2, ArrayViewMutD, Axis, Data, DataMut, Dimension, Ix2, RemoveAxis, Slice,
    Zip,
};
use rayon::prelude::*;

/// Below this many samples elementwise loops stay on one thread (rayon's overhead dominates).
pub(crate) const PAR_MIN: usize = 1 << 15;

const ZERO: C32 = C32::new(0.0, 0.0);

/// Checks that `shape` has at least two axes and that its last two are `(h, w)`.
pub(crate) fn check_last2(shape: &[usize], (h, w): (usize, usize), what: &str) -> Result<()> {
    let n = shape.len();
    if n < 2 || shape[n - 2] != h || shape[n - 1] != w {
        return Err(KspaceError::Shape(format!("{what}: array shape {shape:?} does not end in ({h}, {w})")));
    }
    Ok(())
}

/// Runs `f` on every (H, W) image of `x` (the last two axes), in parallel over the leading
/// axes. Works for any memory layout (no reshape, no copy).
pub(crate) fn par_images_mut<F>(mut x: ArrayViewMutD<'_, C32>, f: &F)
where
    F: Fn(ArrayViewMut2<'_, C32>) + Sync,
{
    match x.ndim() {
        0 | 1 => panic!("an image needs two axes"),
        2 => f(x.into_dimensionality::<Ix2>().unwrap_or_else(|_| unreachable!())),
        _ => {
            if x.len_of(Axis(0)) == 1 {
                par_images_mut(x.index_axis_move(Axis(0), 0), f)
            } else {
                x.axis_iter_mut(Axis(0)).into_par_iter().for_each(|s| par_images_mut(s, f))
            }
        }
    }
}

/// Inverse centred FFT of every (H, W) image of `x` in place, images in parallel.
pub(crate) fn par_ifft2c<S: DataMut<Elem = C32>, D: Dimension>(x: &mut ArrayBase<S, D>) {
    par_images_mut(x.view_mut().into_dyn(), &|mut img| ifft2c_inplace(&mut img));
}

/// Forward centred FFT of every (H, W) image of `x` in place, images in parallel.
pub(crate) fn par_fft2c<S: DataMut<Elem = C32>, D: Dimension>(x: &mut ArrayBase<S, D>) {
    par_images_mut(x.view_mut().into_dyn(), &|mut img| crate::fft2c_inplace(&mut img));
}

/// Masks `kspace` in place: kept samples stay (plus +0.0), dropped samples become +0.0.
///
/// This is fastMRI's `kspace * mask + 0.0`: adding positive zero turns every −0.0 into +0.0,
/// so the sign bits of the zeros cannot reveal which samples were dropped. Unlike a plain
/// multiplication, non-finite values in dropped bins are also replaced by +0.0 (they were
/// never measured).
pub fn undersample_inplace<S, D>(kspace: &mut ArrayBase<S, D>, mask: &SamplingMask) -> Result<()>
where
    S: DataMut<Elem = C32>,
    D: Dimension,
{
    check_last2(kspace.shape(), mask.shape(), "undersample")?;
    let big = kspace.len() >= PAR_MIN;
    let z = Zip::from(kspace).and_broadcast(&mask.keep);
    let f = |k: &mut C32, &keep: &bool| *k = if keep { *k + ZERO } else { ZERO };
    if big {
        z.par_for_each(f)
    } else {
        z.for_each(f)
    }
    Ok(())
}

/// The measured part of `kspace`: `kspace · keep + 0.0` over the last two axes (see
/// [`undersample_inplace`]). The raw values, *not* divided by the keep probability.
pub fn undersample<S, D>(kspace: &ArrayBase<S, D>, mask: &SamplingMask) -> Result<Array<C32, D>>
where
    S: Data<Elem = C32>,
    D: Dimension,
{
    let mut out = kspace.to_owned();
    undersample_inplace(&mut out, mask)?;
    Ok(out)
}

/// Density compensation in place: `k ← k · keep / p + 0.0` ("Russian roulette" weighting).
///
/// Each bin kept with probability p is divided by p, so over random masks
/// E[keep/p · S] = S: the compensated spectrum, and hence its zero-filled image, is an
/// unbiased estimate of the full one. Dropped bins (and kept bins with p ≤ 0) become +0.0,
/// so `kspace` need not be undersampled first.
pub fn density_compensate_inplace<S, D>(kspace: &mut ArrayBase<S, D>, mask: &SamplingMask) -> Result<()>
where
    S: DataMut<Elem = C32>,
    D: Dimension,
{
    check_last2(kspace.shape(), mask.shape(), "density_compensate")?;
    let big = kspace.len() >= PAR_MIN;
    let z = Zip::from(kspace).and_broadcast(&mask.keep).and_broadcast(&mask.prob);
    let f = |k: &mut C32, &keep: &bool, &p: &f32| *k = if keep && p > 0.0 { *k / p + ZERO } else { ZERO };
    if big {
        z.par_for_each(f)
    } else {
        z.for_each(f)
    }
    Ok(())
}

/// Density-compensated measurement `kspace · keep / p + 0.0` (see [`density_compensate_inplace`]).
pub fn density_compensate<S, D>(kspace: &ArrayBase<S, D>, mask: &SamplingMask) -> Result<Array<C32, D>>
where
    S: Data<Elem = C32>,
    D: Dimension,
{
    let mut out = kspace.to_owned();
    density_compensate_inplace(&mut out, mask)?;
    Ok(out)
}

/// Zero-filled reconstruction: `ifft2c(kspace · keep)`, or with `compensate`
/// `ifft2c(kspace · keep / p)` — the unbiased Noise2Noise input/target, whose expectation over
/// masks is the fully sampled image. Complex output, same shape as the input (per-coil images
/// for multi-coil k-space: combine them with [`rss`] or [`crate::coils::combine`]).
pub fn zero_filled<S, D>(
    kspace: &ArrayBase<S, D>,
    mask: &SamplingMask,
    compensate: bool,
) -> Result<Array<C32, D>>
where
    S: Data<Elem = C32>,
    D: Dimension,
{
    let mut out = if compensate { density_compensate(kspace, mask)? } else { undersample(kspace, mask)? };
    par_ifft2c(&mut out);
    Ok(out)
}

/// Root-sum-of-squares coil combination `rss = sqrt(Σ_c |x_c|²)` over `coil_axis`
/// (fastMRI's `rss_complex`): the magnitude image used for `reconstruction_rss`.
///
/// Non-linear in the data (E[rss(noisy)] ≠ rss(clean)), so it is for display and metrics,
/// not for Noise2Noise targets (use [`crate::coils::combine`]).
pub fn rss<S, D>(coil_images: &ArrayBase<S, D>, coil_axis: usize) -> Result<Array<f32, D::Smaller>>
where
    S: Data<Elem = C32>,
    D: RemoveAxis,
{
    if coil_axis >= coil_images.ndim() {
        return Err(KspaceError::Shape(format!(
            "rss: coil axis {coil_axis} out of range for shape {:?}",
            coil_images.shape()
        )));
    }
    let z = Zip::from(coil_images.lanes(Axis(coil_axis)));
    let f = |lane: ndarray::ArrayView1<C32>| lane.iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt();
    Ok(if coil_images.len() >= PAR_MIN { z.par_map_collect(f) } else { z.map_collect(f) })
}

/// Source and destination ranges along one axis for centre crop/pad of `n` to `t`:
/// cropping starts at `(n − t) / 2`, padding places the data at `(t − n) / 2` (floor), so
/// padding then cropping back is the identity.
fn crop_pad_ranges(n: usize, t: usize) -> (Slice, Slice) {
    if t <= n {
        let s = ((n - t) / 2) as isize;
        (Slice::from(s..s + t as isize), Slice::from(..))
    } else {
        let s = ((t - n) / 2) as isize;
        (Slice::from(..), Slice::from(s..s + n as isize))
    }
}

/// Resizes the last two axes to `(h, w)` around the centre: each axis is centre-cropped when
/// larger than the target (start = (H − h) // 2, fastMRI's `center_crop`) and centre-padded
/// with `fill` when smaller (data placed at (h − H) // 2). Handles crop on one axis and pad on
/// the other (fastMRI images of 640×368 → 320×320 crop W, brain 640×320 keeps W).
pub fn center_crop_or_pad<T, S, D>(x: &ArrayBase<S, D>, (h, w): (usize, usize), fill: T) -> Array<T, D>
where
    T: Clone,
    S: Data<Elem = T>,
    D: Dimension,
{
    let nd = x.ndim();
    assert!(nd >= 2, "center_crop_or_pad needs at least two axes");
    let (sh, dh) = crop_pad_ranges(x.shape()[nd - 2], h);
    let (sw, dw) = crop_pad_ranges(x.shape()[nd - 1], w);
    let mut dim = x.raw_dim();
    dim[nd - 2] = h;
    dim[nd - 1] = w;
    let pick = |i: usize, a: Slice, b: Slice| {
        if i == nd - 2 {
            a
        } else if i == nd - 1 {
            b
        } else {
            Slice::from(..)
        }
    };
    let src = x.slice_each_axis(|ax| pick(ax.axis.index(), sh, sw));
    if h <= x.shape()[nd - 2] && w <= x.shape()[nd - 1] {
        return src.to_owned();
    }
    let mut out = Array::from_elem(dim, fill);
    out.slice_each_axis_mut(|ax| pick(ax.axis.index(), dh, dw)).assign(&src);
    out
}

/// fastMRI's `center_crop`: the central `(h, w)` window of the last two axes, starting at
/// `((H − h) // 2, (W − w) // 2)`. References are cropped to 320×320 this way.
/// Errors if the target is larger than the array on either axis.
pub fn center_crop<T, S, D>(x: &ArrayBase<S, D>, (h, w): (usize, usize)) -> Result<Array<T, D>>
where
    T: Clone,
    S: Data<Elem = T>,
    D: Dimension,
{
    let nd = x.ndim();
    if nd < 2 || h > x.shape()[nd - 2] || w > x.shape()[nd - 1] {
        return Err(KspaceError::Shape(format!("center_crop: cannot crop {:?} to ({h}, {w})", x.shape())));
    }
    let (sh, _) = crop_pad_ranges(x.shape()[nd - 2], h);
    let (sw, _) = crop_pad_ranges(x.shape()[nd - 1], w);
    let pick = |i: usize| {
        if i == nd - 2 {
            sh
        } else if i == nd - 1 {
            sw
        } else {
            Slice::from(..)
        }
    };
    Ok(x.slice_each_axis(|ax| pick(ax.axis.index())).to_owned())
}

/// Zero-pads the last two axes to `(h, w)`, the data at `((h − H) // 2, (w − W) // 2)` (the
/// inverse of [`center_crop`]). Errors if the target is smaller than the array.
pub fn center_pad<T, S, D>(x: &ArrayBase<S, D>, (h, w): (usize, usize)) -> Result<Array<T, D>>
where
    T: Clone + Default,
    S: Data<Elem = T>,
    D: Dimension,
{
    let nd = x.ndim();
    if nd < 2 || h < x.shape()[nd - 2] || w < x.shape()[nd - 1] {
        return Err(KspaceError::Shape(format!("center_pad: cannot pad {:?} to ({h}, {w})", x.shape())));
    }
    Ok(center_crop_or_pad(x, (h, w), T::default()))
}
