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
//!
//! The levels are named blocks built from a `VarBuilder`, as in candle-transformers:
//! `enc_conv0`, then five [`EncoderBlock`]s (`enc_conv1` … `enc_conv5`, each conv + pool,
//! their outputs pool1 … pool5), the bottleneck `enc_conv6`, five [`DecoderBlock`]s (levels
//! 5 … 1: up, concat the skip, `dec_conv{level}a`, `dec_conv{level}b`) and the linear output
//! `dec_conv1`. The parameter names above are the keys of the checkpoints; the blocks ask
//! for exactly those.

use candle_core::{bail, Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::layers::Conv3x3;
pub use crate::kernels::PadMode;
use crate::kernels::{max_pool2x2, pad_bottom_right, round_up, upsample_nearest2x};

/// Negative slope of the LeakyReLU after every convolution but the last.
pub const LEAKY_SLOPE: f64 = 0.1;

/// He-normal gain of the convolutions followed by a LeakyReLU (the output layer has 1).
const RELU_GAIN: f64 = std::f64::consts::SQRT_2;

/// Poolings (encoder blocks): H and W are padded up to a multiple of `2^ENCODER_LEVELS` = 32.
pub const ENCODER_LEVELS: usize = 5;

/// One encoder level, `pool2x2(leaky_relu(enc_conv{level}(x)))`: (N, c_in, H, W) →
/// (N, c_out, H/2, W/2).
#[derive(Clone, Debug)]
pub struct EncoderBlock {
    conv: Conv3x3,
}

impl EncoderBlock {
    /// The convolution `enc_conv{level}` (`c_in` → `c_out`) under `vb`'s prefix.
    pub fn new(vb: VarBuilder, level: usize, c_in: usize, c_out: usize) -> Result<Self> {
        Ok(Self { conv: Conv3x3::new(c_in, c_out, RELU_GAIN, vb.pp(format!("enc_conv{level}")))? })
    }

    /// The same block with weights cut from the autograd graph.
    pub fn detached(&self) -> Self {
        Self { conv: self.conv.detached() }
    }
}

impl Module for EncoderBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        max_pool2x2(&self.conv.forward_leaky(x, LEAKY_SLOPE)?)
    }
}

/// One decoder level: upsample ×2, concatenate the skip after it, then `dec_conv{level}a`
/// and `dec_conv{level}b`, each with LeakyReLU.
#[derive(Clone, Debug)]
pub struct DecoderBlock {
    conv_a: Conv3x3,
    conv_b: Conv3x3,
}

impl DecoderBlock {
    /// `dec_conv{level}a` (`c_in` → `c_mid`, where `c_in` counts the upsampled tensor and
    /// the skip together) and `dec_conv{level}b` (`c_mid` → `c_out`) under `vb`'s prefix.
    pub fn new(vb: VarBuilder, level: usize, c_in: usize, c_mid: usize, c_out: usize) -> Result<Self> {
        let conv_a = Conv3x3::new(c_in, c_mid, RELU_GAIN, vb.pp(format!("dec_conv{level}a")))?;
        let conv_b = Conv3x3::new(c_mid, c_out, RELU_GAIN, vb.pp(format!("dec_conv{level}b")))?;
        Ok(Self { conv_a, conv_b })
    }

    /// The same block with weights cut from the autograd graph.
    pub fn detached(&self) -> Self {
        Self { conv_a: self.conv_a.detached(), conv_b: self.conv_b.detached() }
    }

    /// `x` (N, ·, H, W) from the level below and `skip` (N, ·, 2H, 2W) from the encoder →
    /// (N, c_out, 2H, 2W). Two inputs, so this is a method rather than `Module::forward`.
    pub fn forward(&self, x: &Tensor, skip: &Tensor) -> Result<Tensor> {
        let n = Tensor::cat(&[&upsample_nearest2x(x)?, skip], 1)?;
        let n = self.conv_a.forward_leaky(&n, LEAKY_SLOPE)?;
        self.conv_b.forward_leaky(&n, LEAKY_SLOPE)
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

    /// `(level, c_in, c_mid, c_out)` of the [`DecoderBlock`]s, deepest first; `c_in` is the
    /// upsampled tensor's channels plus the skip's (pool4 … pool1, then the input).
    fn decoder_levels(&self) -> [(usize, usize, usize, usize); ENCODER_LEVELS] {
        let (e, d, d1a, d1b) = self.widths();
        [
            (5, e + e, d, d),
            (4, d + e, d, d),
            (3, d + e, d, d),
            (2, d + e, d, d),
            (1, d + self.in_channels, d1a, d1b),
        ]
    }

    /// Number of parameters, `Σ (9·c_in·c_out + c_out)` over the 18 convolutions.
    pub fn num_parameters(&self) -> usize {
        let conv = |c_in: usize, c_out: usize| 9 * c_in * c_out + c_out;
        let (e, _, _, d1b) = self.widths();
        // enc_conv0, the encoder blocks' convolutions and enc_conv6.
        let encoder = conv(self.in_channels, e) + (ENCODER_LEVELS + 1) * conv(e, e);
        let decoder: usize =
            self.decoder_levels().iter().map(|&(_, ci, cm, co)| conv(ci, cm) + conv(cm, co)).sum();
        encoder + decoder + conv(d1b, self.out_channels)
    }
}

/// The Noise2Noise U-Net; see the module documentation.
#[derive(Clone, Debug)]
pub struct UNet {
    cfg: UNetConfig,
    /// `enc_conv0` (input → w, LeakyReLU, no pooling: the first level has two convolutions).
    enc_conv0: Conv3x3,
    /// `enc_conv1` … `enc_conv5`, outputs pool1 … pool5.
    encoder: Vec<EncoderBlock>,
    /// `enc_conv6` on pool5 (LeakyReLU).
    enc_conv6: Conv3x3,
    /// Levels 5 … 1, fed the skips pool4 … pool1 and the input.
    decoder: Vec<DecoderBlock>,
    /// `dec_conv1`, the linear output layer.
    dec_conv1: Conv3x3,
}

impl UNet {
    /// Builds the network, taking its parameters from `vb` (seeded init or a checkpoint).
    pub fn new(cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        if cfg.in_channels == 0 || cfg.out_channels == 0 || cfg.width == 0 {
            bail!("UNet: channel counts and width must be positive, got {cfg:?}")
        }
        let (e, _, _, d1b) = cfg.widths();
        let enc_conv0 = Conv3x3::new(cfg.in_channels, e, RELU_GAIN, vb.pp("enc_conv0"))?;
        let encoder = (1..=ENCODER_LEVELS)
            .map(|level| EncoderBlock::new(vb.clone(), level, e, e))
            .collect::<Result<_>>()?;
        let enc_conv6 = Conv3x3::new(e, e, RELU_GAIN, vb.pp("enc_conv6"))?;
        let decoder = cfg
            .decoder_levels()
            .into_iter()
            .map(|(level, ci, cm, co)| DecoderBlock::new(vb.clone(), level, ci, cm, co))
            .collect::<Result<_>>()?;
        let dec_conv1 = Conv3x3::new(d1b, cfg.out_channels, 1.0, vb.pp("dec_conv1"))?;
        Ok(Self { cfg: cfg.clone(), enc_conv0, encoder, enc_conv6, decoder, dec_conv1 })
    }

    pub fn config(&self) -> &UNetConfig {
        &self.cfg
    }

    /// A copy whose weights are cut from the autograd graph: forward passes through it
    /// build no graph (for validation and inference). It shares storage with `self`, so it
    /// sees later optimiser updates.
    pub fn detached(&self) -> Self {
        Self {
            cfg: self.cfg.clone(),
            enc_conv0: self.enc_conv0.detached(),
            encoder: self.encoder.iter().map(EncoderBlock::detached).collect(),
            enc_conv6: self.enc_conv6.detached(),
            decoder: self.decoder.iter().map(DecoderBlock::detached).collect(),
            dec_conv1: self.dec_conv1.detached(),
        }
    }

    /// The network on an input already padded to multiples of 32.
    fn forward_padded(&self, x: &Tensor) -> Result<Tensor> {
        // skips[k]: the input, then pool1 … pool5.
        let mut skips = vec![x.clone()];
        let mut n = self.enc_conv0.forward_leaky(x, LEAKY_SLOPE)?;
        for block in &self.encoder {
            n = block.forward(&n)?;
            skips.push(n.clone());
        }
        skips.pop(); // pool5 feeds the bottleneck, not a decoder level
        n = self.enc_conv6.forward_leaky(&n, LEAKY_SLOPE)?;
        for (block, skip) in self.decoder.iter().zip(skips.iter().rev()) {
            n = block.forward(&n, skip)?;
        }
        self.dec_conv1.forward(&n)
    }
}

impl Module for UNet {
    /// `x`: (N, in_channels, H, W), any H, W ≥ 1 → (N, out_channels, H, W).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        if c != self.cfg.in_channels {
            bail!("UNet expects {} input channels, got {c}", self.cfg.in_channels)
        }
        let multiple = 1 << ENCODER_LEVELS;
        let (hp, wp) = (round_up(h, multiple), round_up(w, multiple));
        let xp = pad_bottom_right(x, hp - h, wp - w, self.cfg.pad)?;
        let y = self.forward_padded(&xp)?;
        if hp == h && wp == w {
            Ok(y)
        } else {
            y.narrow(2, 0, h)?.narrow(3, 0, w)
        }
    }
}
