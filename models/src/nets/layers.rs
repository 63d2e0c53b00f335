//! The layer both networks are made of: a 3×3 "same" convolution with bias, its parameters
//! taken from a `VarBuilder`, run on the kernels of [`crate::kernels`].

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::init::he_normal;
use crate::kernels::{conv3x3, conv3x3_leaky};

/// A 3×3 "same" convolution with bias, weights `(c_out, c_in, 3, 3)` and bias `(c_out)`.
#[derive(Clone, Debug)]
pub struct Conv3x3 {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Conv3x3 {
    /// Parameters `weight` (He-normal with `gain`) and `bias` (zeros) under `vb`'s prefix.
    pub fn new(c_in: usize, c_out: usize, gain: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints((c_out, c_in, 3, 3), "weight", he_normal(c_in, 3, gain))?;
        let bias = vb.get_with_hints(c_out, "bias", Init::Const(0.))?;
        Ok(Self { weight, bias })
    }

    /// The same layer with weights cut from the autograd graph (for inference).
    pub fn detached(&self) -> Self {
        Self { weight: self.weight.detach(), bias: self.bias.detach() }
    }

    /// `leaky_relu(W ⋆ x + b, slope)` in one fused op where the CPU kernels run
    /// ([`crate::kernels::conv_act`]).
    pub fn forward_leaky(&self, x: &Tensor, slope: f64) -> Result<Tensor> {
        conv3x3_leaky(x, &self.weight, &self.bias, slope)
    }
}

impl Module for Conv3x3 {
    /// `y = W ⋆ x + b` with zero padding 1 (output the size of the input).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        conv3x3(x, &self.weight, &self.bias)
    }
}
