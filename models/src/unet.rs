//! The Noise2Noise U-Net (Lehtinen et al. 2018, appendix; NVlabs/noise2noise `network.py`).
//!
//! All convolutions are 3×3 "same" with bias, each followed by LeakyReLU(0.1) except the
//! last, which is linear. No normalisation, no dropout. With `w` = width (48 in the paper):
//! ```text
//! enc_conv0 w, enc_conv1 w, pool1
//! enc_conv2 w, pool2 · enc_conv3 w, pool3 · enc_conv4 w, pool4 · enc_conv5 w, pool5
//! enc_conv6 w
//! up, concat pool4 → dec_conv5a 2w, dec_conv5b 2w
//! up, concat pool3 → dec_conv4a 2w, dec_conv4b 2w
//! up, concat pool2 → dec_conv3a 2w, dec_conv3b 2w
//! up, concat pool1 → dec_conv2a 2w, dec_conv2b 2w
//! up, concat input → dec_conv1a ⌈4w/3⌉ (64), dec_conv1b ⌈2w/3⌉ (32), dec_conv1 (out, linear)
//! ```
//! pool = 2×2 max-pool ([`max_pool2x2`]), up = nearest ×2 ([`upsample_nearest2x`]), concat
//! puts the upsampled tensor first. 1→1 channels at width 48: 988,609 parameters.
//!
//! Five poolings need H and W divisible by 32: the forward pads the bottom and right edges
//! up to the next multiple of 32 ([`PadMode::Reflect`] by default, numpy `reflect` as in the
//! N2N inference code; the N2N MRI code instead pads 255→256 with the constant −0.5 →
//! [`PadMode::Constant`]) and crops the output back to H×W.
//!
//! Weights: He-normal `N(0, 2/(9·c_in))`, gain 1 (`N(0, 1/(9·c_in))`) for the last layer,
//! zero biases. Names: `enc_conv0.weight`, `enc_conv0.bias`, …, `dec_conv1.bias`.

use candle_core::{bail, Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

pub use crate::ops::PadMode;
use crate::{
    init::he_normal,
    ops::{max_pool2x2, pad_bottom_right, round_up, upsample_nearest2x},
};

/// Negative slope of the LeakyReLU after every convolution but the last.
pub const LEAKY_SLOPE: f64 = 0.1;

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
}

impl Conv3x3 {
    /// `leaky_relu(W ⋆ x + b, slope)` in one fused op where the CPU kernels run
    /// ([`crate::conv_act`]).
    pub fn forward_leaky(&self, x: &Tensor, slope: f64) -> Result<Tensor> {
        crate::conv_act::conv3x3_leaky(x, &self.weight, &self.bias, slope)
    }
}

impl Module for Conv3x3 {
    /// `y = W ⋆ x + b` with zero padding 1 (output the size of the input).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        crate::conv::conv3x3(x, &self.weight, &self.bias)
    }
}

fn default_width() -> usize {
    48
}

/// Shape of a [`UNet`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Input channels: 1 magnitude MRI, 2 complex MRI (real, imaginary), 3 RGB.
    pub in_channels: usize,
    /// Output channels (usually equal to `in_channels`).
    pub out_channels: usize,
    /// Encoder width `w` (48 in the paper); the decoder uses 2w, the last two layers
    /// ⌈4w/3⌉ and ⌈2w/3⌉.
    #[serde(default = "default_width")]
    pub width: usize,
    /// How the input is padded up to a multiple of 32.
    #[serde(default = "default_pad")]
    pub pad: PadMode,
}

fn default_pad() -> PadMode {
    PadMode::Reflect
}

impl UNetConfig {
    /// The paper's network: width 48, reflect padding.
    pub fn new(in_channels: usize, out_channels: usize) -> Self {
        Self { in_channels, out_channels, width: 48, pad: PadMode::Reflect }
    }

    /// Same, with another width.
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width;
        self
    }

    /// Same, with another padding.
    pub fn with_pad(mut self, pad: PadMode) -> Self {
        self.pad = pad;
        self
    }

    /// Channel counts (encoder, decoder, dec_conv1a, dec_conv1b).
    fn widths(&self) -> (usize, usize, usize, usize) {
        let w = self.width;
        (w, 2 * w, (4 * w).div_ceil(3), (2 * w).div_ceil(3))
    }

    /// Number of parameters, `Σ (9·c_in·c_out + c_out)` over the 18 convolutions.
    pub fn num_parameters(&self) -> usize {
        self.layers().iter().map(|&(_, ci, co, _)| 9 * ci * co + co).sum()
    }

    /// `(name, c_in, c_out, gain)` for every convolution, in forward order.
    fn layers(&self) -> Vec<(&'static str, usize, usize, f64)> {
        let (e, d, d1a, d1b) = self.widths();
        let (cin, cout) = (self.in_channels, self.out_channels);
        let g = std::f64::consts::SQRT_2;
        vec![
            ("enc_conv0", cin, e, g),
            ("enc_conv1", e, e, g),
            ("enc_conv2", e, e, g),
            ("enc_conv3", e, e, g),
            ("enc_conv4", e, e, g),
            ("enc_conv5", e, e, g),
            ("enc_conv6", e, e, g),
            ("dec_conv5a", e + e, d, g),
            ("dec_conv5b", d, d, g),
            ("dec_conv4a", d + e, d, g),
            ("dec_conv4b", d, d, g),
            ("dec_conv3a", d + e, d, g),
            ("dec_conv3b", d, d, g),
            ("dec_conv2a", d + e, d, g),
            ("dec_conv2b", d, d, g),
            ("dec_conv1a", d + cin, d1a, g),
            ("dec_conv1b", d1a, d1b, g),
            ("dec_conv1", d1b, cout, 1.0),
        ]
    }
}

/// The Noise2Noise U-Net; see the module documentation.
#[derive(Clone, Debug)]
pub struct UNet {
    cfg: UNetConfig,
    /// The 18 convolutions in forward order (names as in [`UNetConfig`]'s layer list).
    convs: Vec<Conv3x3>,
}

impl UNet {
    /// Builds the network, taking its parameters from `vb` (seeded init or a checkpoint).
    pub fn new(cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        if cfg.in_channels == 0 || cfg.out_channels == 0 || cfg.width == 0 {
            bail!("UNet: channel counts and width must be positive, got {cfg:?}")
        }
        let convs = cfg
            .layers()
            .into_iter()
            .map(|(name, ci, co, gain)| Conv3x3::new(ci, co, gain, vb.pp(name)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { cfg: cfg.clone(), convs })
    }

    pub fn config(&self) -> &UNetConfig {
        &self.cfg
    }

    /// A copy whose weights are cut from the autograd graph: forward passes through it
    /// build no graph (for validation and inference). It shares storage with `self`, so it
    /// sees later optimiser updates.
    pub fn detached(&self) -> Self {
        Self { cfg: self.cfg.clone(), convs: self.convs.iter().map(Conv3x3::detached).collect() }
    }

    /// The network on an input already padded to multiples of 32.
    fn forward_padded(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.convs;
        let conv_lr = |i: usize, t: &Tensor| c[i].forward_leaky(t, LEAKY_SLOPE);
        let mut n = conv_lr(0, x)?;
        n = conv_lr(1, &n)?;
        let pool1 = max_pool2x2(&n)?;
        let pool2 = max_pool2x2(&conv_lr(2, &pool1)?)?;
        let pool3 = max_pool2x2(&conv_lr(3, &pool2)?)?;
        let pool4 = max_pool2x2(&conv_lr(4, &pool3)?)?;
        let pool5 = max_pool2x2(&conv_lr(5, &pool4)?)?;
        n = conv_lr(6, &pool5)?;
        // Decoder: (skip, first conv index) per level.
        for (skip, i) in [(&pool4, 7), (&pool3, 9), (&pool2, 11), (&pool1, 13), (x, 15)] {
            n = Tensor::cat(&[&upsample_nearest2x(&n)?, skip], 1)?;
            n = conv_lr(i, &n)?;
            n = conv_lr(i + 1, &n)?;
        }
        c[17].forward(&n)
    }
}

impl Module for UNet {
    /// `x`: (N, in_channels, H, W), any H, W ≥ 1 → (N, out_channels, H, W).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        if c != self.cfg.in_channels {
            bail!("UNet expects {} input channels, got {c}", self.cfg.in_channels)
        }
        let (hp, wp) = (round_up(h, 32), round_up(w, 32));
        let xp = pad_bottom_right(x, hp - h, wp - w, self.cfg.pad)?;
        let y = self.forward_padded(&xp)?;
        if hp == h && wp == w {
            Ok(y)
        } else {
            y.narrow(2, 0, h)?.narrow(3, 0, w)
        }
    }
}
