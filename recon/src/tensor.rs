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
