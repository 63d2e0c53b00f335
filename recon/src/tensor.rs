//! Between ndarray and candle: image batches as (N, C, H, W) tensors and back. Shared by
//! training and inference (MRI and photos), so both see the same layout. Candle's errors
//! convert into [`crate::ReconError::Model`] with `?`.

use crate::{ReconError, Result};
use kspace::C32;
use models::{DType, Device, Tensor};
use ndarray::{Array3, Array4};

/// (N, C, H, W) tensor from N equally shaped (C, H, W) images.
pub fn to_batch(images: &[&Array3<f32>], device: &Device) -> Result<Tensor> {
    let (c, h, w) = images[0].dim();
    let mut v: Vec<f32> = Vec::with_capacity(images.len() * c * h * w);
    for im in images {
        v.extend(im.iter());
    }
    Ok(Tensor::from_vec(v, (images.len(), c, h, w), device)?)
}

/// (C, H, W) images of an (N, C, H, W) tensor.
pub fn from_batch(t: &Tensor) -> Result<Vec<Array3<f32>>> {
    let dims = t.dims4()?;
    let v: Vec<f32> = t.to_dtype(DType::F32).and_then(|t| t.flatten_all()?.to_vec1())?;
    let all =
        Array4::from_shape_vec(dims, v).map_err(|e| ReconError::Failed(format!("batch of {dims:?}: {e}")))?;
    Ok(all.outer_iter().map(|x| x.to_owned()).collect())
}

/// (real, imaginary) batches of equally shaped complex (C, H, W) arrays.
pub fn complex_batch(arrays: &[&Array3<C32>], device: &Device) -> Result<(Tensor, Tensor)> {
    let re: Vec<Array3<f32>> = arrays.iter().map(|a| a.mapv(|z| z.re)).collect();
    let im: Vec<Array3<f32>> = arrays.iter().map(|a| a.mapv(|z| z.im)).collect();
    Ok((to_batch(&re.iter().collect::<Vec<_>>(), device)?, to_batch(&im.iter().collect::<Vec<_>>(), device)?))
}

/// (N, C, H, W, 2) tensor of N equally shaped complex (C, H, W) arrays, real and imaginary
/// parts interleaved in the last axis (the layout of `models::fft` and `models::sense`).
pub fn interleaved_batch(arrays: &[&Array3<C32>], device: &Device) -> Result<Tensor> {
    let (c, h, w) = arrays[0].dim();
    if let Some(a) = arrays.iter().find(|a| a.dim() != (c, h, w)) {
        return Err(ReconError::Invalid(format!(
            "a batch mixes k-space of {:?} and {:?} (coils, rows, columns): use --batch 1",
            (c, h, w),
            a.dim()
        )));
    }
    let mut v: Vec<f32> = Vec::with_capacity(arrays.len() * c * h * w * 2);
    for a in arrays {
        v.extend(a.iter().flat_map(|z| [z.re, z.im]));
    }
    Ok(Tensor::from_vec(v, (arrays.len(), c, h, w, 2), device)?)
}

/// (N, 1, H, W, 1) tensor of N equally shaped (H, W) weights or masks.
pub fn plane_batch(planes: &[&ndarray::Array2<f32>], device: &Device) -> Result<Tensor> {
    let (h, w) = planes[0].dim();
    let mut v: Vec<f32> = Vec::with_capacity(planes.len() * h * w);
    for p in planes {
        v.extend(p.iter());
    }
    Ok(Tensor::from_vec(v, (planes.len(), 1, h, w, 1), device)?)
}

/// The complex (H, W) images of an (N, 1, H, W, 2) tensor.
pub fn from_interleaved(t: &Tensor) -> Result<Vec<ndarray::Array2<C32>>> {
    let dims = t.dims();
    if dims.len() != 5 || dims[1] != 1 || dims[4] != 2 {
        return Err(ReconError::Failed(format!("expected an (N, 1, H, W, 2) image batch, got {dims:?}")));
    }
    let (n, h, w) = (dims[0], dims[2], dims[3]);
    let v: Vec<f32> = t.to_dtype(DType::F32).and_then(|t| t.flatten_all()?.to_vec1())?;
    Ok(v.chunks_exact(2 * h * w)
        .take(n)
        .map(|c| {
            ndarray::Array2::from_shape_fn((h, w), |(i, j)| {
                C32::new(c[2 * (i * w + j)], c[2 * (i * w + j) + 1])
            })
        })
        .collect())
}
