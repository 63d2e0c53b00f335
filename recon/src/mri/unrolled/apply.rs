//! The unrolled network applied to k-space, shared by training, validation, inference and
//! scan-specific adaptation so that they cannot drift apart.
//!
//! `x̂ = P · Unrolled(y_Θ, M_Θ, S)` with `P = Σ_c |s_c|²` (1 inside the object, 0 where
//! ESPIRiT's eigenvalue crop zeroed the maps): no data constrains x̂ where the maps are zero,
//! so the image is set to zero there, as SENSE leaves it.

use kspace::C32;
use models::{Device, Tensor, Unrolled};
use ndarray::{Array2, Array3, Axis};

use crate::{
    tensor::{interleaved_batch, plane_batch},
    Result,
};

/// The network's inputs as tensors: samples y (N, C, H, W, 2), mask (N, 1, H, W, 1), maps
/// (N, C, H, W, 2).
pub struct NetInput {
    pub y: Tensor,
    pub mask: Tensor,
    pub maps: Tensor,
    /// The first image (N, 1, H, W, 2) when it is not the zero-filled one
    /// ([`super::initial::Initial`]).
    pub x0: Option<Tensor>,
}

impl NetInput {
    pub fn new(
        y: &[&Array3<C32>],
        mask: &[&Array2<f32>],
        maps: &[&Array3<C32>],
        x0: Option<&[Array2<C32>]>,
        device: &Device,
    ) -> Result<Self> {
        let x0 = match x0 {
            Some(x) => {
                let planes: Vec<Array3<C32>> = x.iter().map(|a| a.clone().insert_axis(Axis(0))).collect();
                Some(interleaved_batch(&planes.iter().collect::<Vec<_>>(), device)?)
            }
            None => None,
        };
        Ok(Self {
            y: interleaved_batch(y, device)?,
            mask: plane_batch(mask, device)?,
            maps: interleaved_batch(maps, device)?,
            x0,
        })
    }

    /// `x̂` (N, 1, H, W, 2): see the module documentation.
    pub fn image(&self, net: &Unrolled) -> candle_core::Result<Tensor> {
        let x = match &self.x0 {
            Some(x0) => net.forward_from(x0, &self.y, &self.mask, &self.maps)?,
            None => net.forward(&self.y, &self.mask, &self.maps)?,
        };
        let support = self.maps.sqr()?.sum_keepdim(4)?.sum_keepdim(1)?;
        x.broadcast_mul(&support)
    }

    /// Coil k-space `F S x̂` (N, C, H, W, 2) of an image batch: what the loss compares with
    /// the target samples.
    pub fn kspace_of(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        models::fft::fft2c(&models::sense::expand(x, &self.maps)?)
    }
}
