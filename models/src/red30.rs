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

use candle_core::{bail, Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::unet::Conv3x3;

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
    convs: Vec<Conv3x3>,
    deconvs: Vec<Conv3x3>,
}

impl Red30 {
    pub fn new(cfg: &Red30Config, vb: VarBuilder) -> Result<Self> {
        if cfg.in_channels == 0 || cfg.out_channels == 0 || cfg.features == 0 {
            bail!("RED30: channel counts and features must be positive, got {cfg:?}")
        }
        let (f, g) = (cfg.features, std::f64::consts::SQRT_2);
        let mut convs = Vec::with_capacity(RED_HALF_DEPTH);
        let mut deconvs = Vec::with_capacity(RED_HALF_DEPTH);
        for i in 1..=RED_HALF_DEPTH {
            let c_in = if i == 1 { cfg.in_channels } else { f };
            convs.push(Conv3x3::new(c_in, f, g, vb.pp(format!("conv{i}")))?);
        }
        for j in 1..=RED_HALF_DEPTH {
            let (c_out, gain) = if j == RED_HALF_DEPTH { (cfg.out_channels, 1.0) } else { (f, g) };
            deconvs.push(Conv3x3::new(f, c_out, gain, vb.pp(format!("deconv{j}")))?);
        }
        Ok(Self { cfg: cfg.clone(), convs, deconvs })
    }

    pub fn config(&self) -> &Red30Config {
        &self.cfg
    }

    /// A copy with weights cut from the autograd graph (see `UNet::detached`).
    pub fn detached(&self) -> Self {
        Self {
            cfg: self.cfg.clone(),
            convs: self.convs.iter().map(Conv3x3::detached).collect(),
            deconvs: self.deconvs.iter().map(Conv3x3::detached).collect(),
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
        let mut skips = Vec::with_capacity(RED_HALF_DEPTH / 2);
        let mut h = x.clone();
        for (k, conv) in self.convs.iter().enumerate() {
            h = conv.forward_leaky(&h, 0.)?;
            if (k + 1) % 2 == 0 {
                skips.push(h.clone()); // s_2, s_4, …, s_14
            }
        }
        for (k, deconv) in self.deconvs.iter().enumerate().take(RED_HALF_DEPTH - 1) {
            let a = deconv.forward(&h)?;
            let j = k + 1;
            h = if j % 2 == 0 {
                a.add(&skips.pop().expect("one skip per even layer"))?.relu()?
            } else {
                a.relu()?
            };
        }
        let y = self.deconvs[RED_HALF_DEPTH - 1].forward(&h)?;
        if self.cfg.in_channels == self.cfg.out_channels {
            y.add(x)
        } else {
            Ok(y)
        }
    }
}
