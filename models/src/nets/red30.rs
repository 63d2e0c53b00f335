//! RED30 (Mao, Shen & Yang, "Image Restoration Using Very Deep Convolutional Encoder-Decoder
//! Networks with Symmetric Skip Connections", NIPS 2016), the network Noise2Noise used for
//! its Gaussian-noise experiments: 15 convolutions + 15 "deconvolutions", 3×3, stride 1,
//! 128 features, ReLU, no pooling, and a skip connection every two layers from a
//! convolution to its mirrored deconvolution.
//!
//! ```text
//! h₀ = x;  h_i = relu(conv_i(h_{i−1}))                    i = 1..15   (conv1: in → F)
//! skips s_i = h_i for i = 2, 4, …, 14
//! g₀ = h₁₅; for j = 1..14:  a = deconv_j(g_{j−1})
//!           g_j = relu(a + s_{16−j})   if j is even   (deconv_j mirrors conv_{16−j})
//!           g_j = relu(a)              otherwise
//! y = deconv15(g₁₄) (+ x when in_channels = out_channels: the outermost skip)
//! ```
//! A stride-1 transposed 3×3 convolution with padding 1 is exactly a 3×3 "same"
//! convolution with a flipped, transposed kernel; since the kernels are learnt, each
//! deconvolution is stored and run as an ordinary convolution (same function class, and it
//! uses candle's fast conv2d forward). He-normal weights (gain √2, gain 1 for the last),
//! zero biases. Names: `conv1.weight` … `conv15.bias`, `deconv1.weight` … `deconv15.bias`.
//!
//! Built from named blocks that follow the skips: seven [`ConvPair`]s (conv1–2 … conv13–14,
//! each pair's output is a skip), the middle `conv15`, seven [`DeconvPair`]s (deconv1–2 …
//! deconv13–14, the second of each adds the mirrored skip s₁₄ … s₂ before its ReLU) and the
//! linear output `deconv15`.

use candle_core::{bail, Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::layers::Conv3x3;

/// He-normal gain of the convolutions followed by a ReLU (the output layer has 1).
const RELU_GAIN: f64 = std::f64::consts::SQRT_2;

/// Skip-connected pairs on each side: conv1–2 … conv13–14 and deconv1–2 … deconv13–14.
const PAIRS: usize = (RED_HALF_DEPTH - 1) / 2;

/// Two encoder convolutions `conv{2k−1}`, `conv{2k}`, each with ReLU:
/// `relu(conv{2k}(relu(conv{2k−1}(x))))`, whose output is the skip s_{2k}.
#[derive(Clone, Debug)]
pub struct ConvPair {
    first: Conv3x3,
    second: Conv3x3,
}

impl ConvPair {
    /// Pair `k` (1 … 7): `conv{2k−1}` (`c_in` → `features`) and `conv{2k}` under `vb`'s prefix.
    pub fn new(vb: VarBuilder, k: usize, c_in: usize, features: usize) -> Result<Self> {
        let first = Conv3x3::new(c_in, features, RELU_GAIN, vb.pp(format!("conv{}", 2 * k - 1)))?;
        let second = Conv3x3::new(features, features, RELU_GAIN, vb.pp(format!("conv{}", 2 * k)))?;
        Ok(Self { first, second })
    }

    /// The same pair with weights cut from the autograd graph.
    pub fn detached(&self) -> Self {
        Self { first: self.first.detached(), second: self.second.detached() }
    }
}

impl Module for ConvPair {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.second.forward_leaky(&self.first.forward_leaky(x, 0.)?, 0.)
    }
}

/// Two decoder ("deconvolution") layers `deconv{2k−1}`, `deconv{2k}`:
/// `relu(deconv{2k}(relu(deconv{2k−1}(x))) + skip)`, the skip from the mirrored [`ConvPair`].
#[derive(Clone, Debug)]
pub struct DeconvPair {
    first: Conv3x3,
    second: Conv3x3,
}

impl DeconvPair {
    /// Pair `k` (1 … 7): `deconv{2k−1}` and `deconv{2k}` (`features` → `features`) under
    /// `vb`'s prefix.
    pub fn new(vb: VarBuilder, k: usize, features: usize) -> Result<Self> {
        let first = Conv3x3::new(features, features, RELU_GAIN, vb.pp(format!("deconv{}", 2 * k - 1)))?;
        let second = Conv3x3::new(features, features, RELU_GAIN, vb.pp(format!("deconv{}", 2 * k)))?;
        Ok(Self { first, second })
    }

    /// The same pair with weights cut from the autograd graph.
    pub fn detached(&self) -> Self {
        Self { first: self.first.detached(), second: self.second.detached() }
    }

    /// `x` from the layer below, `skip` the output of the mirrored [`ConvPair`]. Two inputs,
    /// so this is a method rather than `Module::forward`.
    pub fn forward(&self, x: &Tensor, skip: &Tensor) -> Result<Tensor> {
        let h = self.first.forward(x)?.relu()?;
        self.second.forward(&h)?.add(skip)?.relu()
    }
}

fn default_features() -> usize {
    128
}

/// Shape of a [`Red30`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Red30Config {
    pub in_channels: usize,
    pub out_channels: usize,
    /// Feature maps per layer (128 in the paper).
    #[serde(default = "default_features")]
    pub features: usize,
}

/// Convolutions on each side (15 + 15 = 30 layers).
pub const RED_HALF_DEPTH: usize = 15;

impl Red30Config {
    pub fn new(in_channels: usize, out_channels: usize) -> Self {
        Self { in_channels, out_channels, features: 128 }
    }

    pub fn with_features(mut self, features: usize) -> Self {
        self.features = features;
        self
    }

    /// `Σ (9·c_in·c_out + c_out)` over the 30 layers.
    pub fn num_parameters(&self) -> usize {
        let f = self.features;
        let inner = 2 * (RED_HALF_DEPTH - 1) * (9 * f * f + f);
        inner + 9 * self.in_channels * f + f + 9 * f * self.out_channels + self.out_channels
    }
}

/// RED30; see the module documentation.
#[derive(Clone, Debug)]
pub struct Red30 {
    cfg: Red30Config,
    /// conv1–2 … conv13–14.
    encoder: Vec<ConvPair>,
    /// `conv15`, the middle layer (ReLU, no skip).
    conv15: Conv3x3,
    /// deconv1–2 … deconv13–14, fed the skips s₁₄ … s₂.
    decoder: Vec<DeconvPair>,
    /// `deconv15`, the linear output layer.
    deconv15: Conv3x3,
}

impl Red30 {
    pub fn new(cfg: &Red30Config, vb: VarBuilder) -> Result<Self> {
        if cfg.in_channels == 0 || cfg.out_channels == 0 || cfg.features == 0 {
            bail!("RED30: channel counts and features must be positive, got {cfg:?}")
        }
        let f = cfg.features;
        let encoder = (1..=PAIRS)
            .map(|k| ConvPair::new(vb.clone(), k, if k == 1 { cfg.in_channels } else { f }, f))
            .collect::<Result<_>>()?;
        let conv15 = Conv3x3::new(f, f, RELU_GAIN, vb.pp(format!("conv{RED_HALF_DEPTH}")))?;
        let decoder = (1..=PAIRS).map(|k| DeconvPair::new(vb.clone(), k, f)).collect::<Result<_>>()?;
        let deconv15 = Conv3x3::new(f, cfg.out_channels, 1.0, vb.pp(format!("deconv{RED_HALF_DEPTH}")))?;
        Ok(Self { cfg: cfg.clone(), encoder, conv15, decoder, deconv15 })
    }

    pub fn config(&self) -> &Red30Config {
        &self.cfg
    }

    /// A copy with weights cut from the autograd graph (see `UNet::detached`).
    pub fn detached(&self) -> Self {
        Self {
            cfg: self.cfg.clone(),
            encoder: self.encoder.iter().map(ConvPair::detached).collect(),
            conv15: self.conv15.detached(),
            decoder: self.decoder.iter().map(DeconvPair::detached).collect(),
            deconv15: self.deconv15.detached(),
        }
    }
}

impl Module for Red30 {
    /// `x`: (N, in_channels, H, W) → (N, out_channels, H, W); any size.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = x.dim(1)?;
        if c != self.cfg.in_channels {
            bail!("RED30 expects {} input channels, got {c}", self.cfg.in_channels)
        }
        let mut skips = Vec::with_capacity(PAIRS);
        let mut h = x.clone();
        for pair in &self.encoder {
            h = pair.forward(&h)?;
            skips.push(h.clone()); // s_2, s_4, …, s_14
        }
        h = self.conv15.forward_leaky(&h, 0.)?;
        for (pair, skip) in self.decoder.iter().zip(skips.iter().rev()) {
            h = pair.forward(&h, skip)?;
        }
        let y = self.deconv15.forward(&h)?;
        if self.cfg.in_channels == self.cfg.out_channels {
            y.add(x)
        } else {
            Ok(y)
        }
    }
}
