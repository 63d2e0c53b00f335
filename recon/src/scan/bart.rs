//! BART `.cfl` k-space as `recon` reads it: 3-D k-space, the acquired mask, and a guard
//! against image-domain data.
//!
//! * **3-D k-space.** In BART's layout a third k-space encoding lives in PHS2 (dimension 2;
//!   `bart phantom -3 -k`). When PHS2 > 1 the data is transformed along it first with the
//!   centred orthonormal inverse FFT (`bart fft -i -u 4`), and each resulting kz partition
//!   becomes one 2-D slice (multi-slice data belongs in SLICE, dimension 13, and is not
//!   transformed). The sampling pattern must then be the same in every partition: a mask
//!   that varies along kz cannot be undone slice by slice and is refused.
//! * **Acquired mask.** A (READ, PHS1) bin is acquired when any coil of any slice holds a
//!   non-zero sample there. A pattern that is constant along READ is a 1-D (column) mask, and
//!   is built with `SamplingMask::from_columns` so that the Cartesian model is chosen for it.
//! * **Image or k-space?** A BART *image* has zeros outside the object that would read as
//!   unsampled bins. k-space of an object concentrates its energy at the centre; an image
//!   does not, but its Fourier transform does. With `f(a)` the fraction of the energy
//!   `Σ_coils |a|²` in the central `⌈H/8⌉ × ⌈W/8⌉` bins of the strongest slice, the data is refused
//!   as "an image, not k-space" when `f(data) < 0.25` and `f(fft2c(data)) > 2 · f(data)`.
//!   Noise-like data (both fractions ≈ 1/64) is accepted; grids under 16 in either direction
//!   are not checked.

use crate::error::{ReconError, Result};
use crate::io::cfl::{cfl_to_kspace, PHS2_DIM};
use kspace::{SamplingMask, C32};
use ndarray::{s, Array2, Array4, ArrayD, ArrayView3, Axis, Zip};
use std::path::Path;

/// Below this central-energy fraction data may be an image (see the module doc).
const KSPACE_MIN_CENTRE_FRACTION: f64 = 0.25;
/// How much more central its Fourier transform must be for data to be called an image.
const IMAGE_CENTRE_RATIO: f64 = 2.0;
/// Smallest grid side the image check runs on.
const MIN_CHECK_SIDE: usize = 16;

/// `(slices, coils, H, W)` k-space and the acquired mask (None when fully sampled) of a BART
/// array, after the kz transform of 3-D k-space.
pub fn kspace_of(path: &Path, raw: &ArrayD<C32>) -> Result<(Array4<C32>, Option<SamplingMask>)> {
    let mut k = cfl_to_kspace(&raw.view())?;
    let (n, c, h, w) = k.dim();
    if n == 0 || c == 0 || h == 0 || w == 0 {
        return Err(ReconError::format(path, "k-space is empty"));
    }
    let nz = raw.shape().get(PHS2_DIM).copied().unwrap_or(1);
    let keep = acquired(&k);
    if nz > 1 {
        if keep.iter().any(|k| !k) {
            check_same_along_kz(path, &k, nz, &keep)?;
        }
        inverse_fft_kz(&mut k, nz);
    }
    check_not_image(path, &k)?;
    Ok((k, mask_of(keep)))
}

/// Bins that hold a non-zero sample in any coil of any slice.
fn acquired(k: &Array4<C32>) -> Array2<bool> {
    let (_, _, h, w) = k.dim();
    let mut keep = Array2::from_elem((h, w), false);
    for s in k.outer_iter() {
        keep = keep | sampled(s);
    }
    keep
}

/// Bins of one slice `(coils, H, W)` that hold a non-zero sample in any coil.
fn sampled(s: ArrayView3<C32>) -> Array2<bool> {
    let (_, h, w) = s.dim();
    let mut here = Array2::from_elem((h, w), false);
    for coil in s.outer_iter() {
        Zip::from(&mut here).and(&coil).for_each(|k, v| *k |= v.re != 0.0 || v.im != 0.0);
    }
    here
}

/// The acquired mask: None when every bin is sampled, a column mask when the pattern is the
/// same in every row (READ), else a 2-D mask.
pub fn mask_of(keep: Array2<bool>) -> Option<SamplingMask> {
    if keep.iter().all(|&k| k) {
        return None;
    }
    let (h, w) = keep.dim();
    let first = keep.row(0).to_vec();
    if keep.rows().into_iter().all(|r| r.iter().zip(&first).all(|(a, b)| a == b)) {
        return Some(SamplingMask::from_columns(h, &first, &vec![1.0; w]));
    }
    let prob = keep.mapv(|_| 1.0);
    Some(SamplingMask::new(keep, prob))
}

/// Refuses 3-D k-space whose sampling differs between kz partitions (slices `g·nz..(g+1)·nz`).
fn check_same_along_kz(path: &Path, k: &Array4<C32>, nz: usize, keep: &Array2<bool>) -> Result<()> {
    for (i, s) in k.outer_iter().enumerate() {
        if sampled(s) != *keep {
            return Err(ReconError::format(
                path,
                format!(
                    "3-D k-space (PHS2 = {nz}) whose sampling differs between kz partitions (partition {}): \
                     undersampling along kz is not supported (reconstruct it with BART, e.g. `bart pics`)",
                    i % nz
                ),
            ));
        }
    }
    Ok(())
}

/// Centred orthonormal inverse FFT along kz for each group of `nz` consecutive slices (BART's
/// PHS2 varies fastest in the slice index), done as a 2-D centred FFT over an `nz × 1` grid.
fn inverse_fft_kz(k: &mut Array4<C32>, nz: usize) {
    let (n, c, h, w) = k.dim();
    for g in 0..n / nz {
        let group = k.slice(s![g * nz..(g + 1) * nz, .., .., ..]);
        // (c, h, w, nz, 1): kz last but one, a unit axis last.
        let mut t = group.permuted_axes([1, 2, 3, 0]).as_standard_layout().into_owned().insert_axis(Axis(4));
        kspace::ifft2c_inplace(&mut t.view_mut());
        let t = t.index_axis_move(Axis(4), 0);
        k.slice_mut(s![g * nz..(g + 1) * nz, .., .., ..]).assign(&t.permuted_axes([3, 0, 1, 2]));
    }
    debug_assert_eq!(k.dim(), (n, c, h, w));
}

/// Fraction of `Σ_coils |a|²` in the central `⌈H/8⌉ × ⌈W/8⌉` bins (0 for all-zero data).
fn centre_fraction(a: &ndarray::Array3<C32>) -> f64 {
    let (_, h, w) = a.dim();
    let (bh, bw) = (h.div_ceil(8), w.div_ceil(8));
    let (r0, c0) = (h / 2 - bh / 2, w / 2 - bw / 2);
    let energy = |v: &C32| (v.re as f64).powi(2) + (v.im as f64).powi(2);
    let total: f64 = a.iter().map(energy).sum();
    let centre: f64 = a.slice(s![.., r0..r0 + bh, c0..c0 + bw]).iter().map(energy).sum();
    if total > 0.0 && total.is_finite() {
        centre / total
    } else {
        0.0
    }
}

/// The image-or-k-space rule of the module doc, on the slice with the most energy.
fn check_not_image(path: &Path, k: &Array4<C32>) -> Result<()> {
    let (_, _, h, w) = k.dim();
    if h < MIN_CHECK_SIDE || w < MIN_CHECK_SIDE {
        return Ok(());
    }
    let energy = |s: ArrayView3<C32>| s.iter().map(|v| v.norm_sqr() as f64).sum::<f64>();
    let strongest = k
        .outer_iter()
        .enumerate()
        .map(|(i, s)| (i, energy(s)))
        .fold((0, -1.0), |b, x| if x.1 > b.1 { x } else { b })
        .0;
    let mid = k.index_axis(Axis(0), strongest).to_owned();
    let as_kspace = centre_fraction(&mid);
    let as_image = centre_fraction(&kspace::fft2c(&mid));
    if as_kspace < KSPACE_MIN_CENTRE_FRACTION && as_image > IMAGE_CENTRE_RATIO * as_kspace {
        return Err(ReconError::format(
            path,
            format!(
                "looks like an image, not k-space: {:.1} % of its energy is in the central 1/8 of the grid, \
                 {:.1} % for its Fourier transform (transform it first, e.g. `bart fft -u 3`)",
                100.0 * as_kspace,
                100.0 * as_image
            ),
        ));
    }
    Ok(())
}
