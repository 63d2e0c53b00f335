//! An unrolled, physics-guided reconstruction network: the end-to-end variational network
//! (Sriram et al., "End-to-End Variational Networks for Accelerated MRI Reconstruction",
//! MICCAI 2020) written in image space, with the coil maps given (as `--method sense|cs` uses
//! them) instead of estimated by a sub-network.
//!
//! With measured coil k-space `y` `(N, C, H, W, 2)` (zero where unmeasured), the 0/1 mask
//! `M` `(N, 1, H, W, 1)`, maps `S` `(N, C, H, W, 2)` and `A = M·F·S` ([`crate::sense`]):
//! ```text
//! x⁰   = Aᴴ y = Sᴴ Fᴴ y
//! xᵗ⁺¹ = xᵗ − ηₜ · Sᴴ Fᴴ M (F S xᵗ − y) + Rₜ(xᵗ),          t = 0 … K − 1
//! ```
//! The middle term is `ηₜ ∇ ½‖A xᵗ − y‖²`: each cascade is one gradient step on the data term
//! with a learned step `ηₜ` (initialised to 1, the exact step for normalised maps, where
//! `‖A‖ ≤ 1`) plus a learned regulariser step `Rₜ` — the variational network's update
//! (Hammernik et al. 2018; Sriram et al. 2020, eq. 3 mapped from k-space to image space by
//! `Sᴴ Fᴴ`). Why this and not MoDL's conjugate-gradient step: the gradient step costs one FFT
//! pair per coil per cascade (CG costs one per inner iteration), its backward is the same
//! operators again, and with K cascades it still propagates the measured data K times.
//!
//! `Rₜ` is a small U-Net on the two-channel image (real, imaginary), made scale-equivariant as
//! fastMRI's `NormUnet`: `R(x) = s · U(x / s)` with `s = √(mean x² + 10⁻³⁰)` per sample, so the
//! network sees inputs of unit scale whatever the scanner's k-space scaling. `U` has `levels`
//! levels: two 3×3 convolutions + LeakyReLU(0.1) at width `w·2^l` then a 2×2 max-pool; a
//! bottleneck of two convolutions at `w·2^levels`; on the way up nearest ×2 upsampling,
//! concatenation of the level's skip, two convolutions; a linear 3×3 convolution to 2 channels
//! with gain 0.01 so that `Rₜ` starts near zero and the untrained network is close to `K`
//! gradient steps. H and W are padded (reflect, bottom/right) to a multiple of `2^levels` and
//! cropped back, so any size works; any coil count works (the coils only enter through `A`).
//!
//! Parameter names: `cascade{t}.eta`, `cascade{t}.down{l}.conv_a.weight`, …,
//! `cascade{t}.bottom.conv_b.bias`, `cascade{t}.up{l}.conv_a.weight`, `cascade{t}.out.weight`.

use candle_core::{bail, Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

use super::layers::Conv3x3;
use super::unet::LEAKY_SLOPE;
use crate::kernels::{max_pool2x2, pad_bottom_right, round_up, upsample_nearest2x, PadMode};
use crate::sense::{adjoint_op, forward_op, from_channels, to_channels};

/// He-normal gain of the convolutions followed by a LeakyReLU.
const RELU_GAIN: f64 = std::f64::consts::SQRT_2;
/// Gain of each regulariser's output convolution: small, so `Rₜ` starts near zero.
const OUT_GAIN: f64 = 0.01;

fn default_cascades() -> usize {
    8
}
fn default_width() -> usize {
    18
}
fn default_levels() -> usize {
    3
}

/// Shape of an [`Unrolled`] network (stored in checkpoints as `{"name": "unrolled", …}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnrolledConfig {
    /// Number of cascades K (8).
    #[serde(default = "default_cascades")]
    pub cascades: usize,
    /// Width of the regulariser U-Net's first level (18); doubled at each level.
    #[serde(default = "default_width")]
    pub width: usize,
    /// Pooling levels of the regulariser U-Net (3).
    #[serde(default = "default_levels")]
    pub levels: usize,
}

impl Default for UnrolledConfig {
    fn default() -> Self {
        Self { cascades: default_cascades(), width: default_width(), levels: default_levels() }
    }
}

impl UnrolledConfig {
    /// Channels at level `l`: `w·2^l`.
    fn ch(&self, l: usize) -> usize {
        self.width << l
    }

    /// `(c_in, c_out)` of the down blocks, the bottleneck and the up blocks (level order).
    #[allow(clippy::type_complexity)]
    fn blocks(&self) -> (Vec<(usize, usize)>, (usize, usize), Vec<(usize, usize)>) {
        let input = |l: usize| if l == 0 { 2 } else { self.ch(l - 1) };
        let down = (0..self.levels).map(|l| (input(l), self.ch(l))).collect();
        let up = (0..self.levels).map(|l| (self.ch(l + 1) + self.ch(l), self.ch(l))).collect();
        (down, (input(self.levels), self.ch(self.levels)), up)
    }

    /// Number of parameters: per cascade `η` plus `Σ (9·c_in·c_out + c_out)` over the
    /// regulariser's convolutions.
    pub fn num_parameters(&self) -> usize {
        let conv = |ci: usize, co: usize| 9 * ci * co + co;
        let pair = |&(ci, co): &(usize, usize)| conv(ci, co) + conv(co, co);
        let (down, bottom, up) = self.blocks();
        let per = 1
            + down.iter().map(pair).sum::<usize>()
            + pair(&bottom)
            + up.iter().map(pair).sum::<usize>()
            + conv(self.width, 2);
        self.cascades * per
    }
}

/// Two 3×3 convolutions, each followed by LeakyReLU(0.1): `conv_a` (c_in → c_out), `conv_b`.
#[derive(Clone, Debug)]
pub struct ConvBlock {
    conv_a: Conv3x3,
    conv_b: Conv3x3,
}

impl ConvBlock {
    pub fn new(vb: VarBuilder, c_in: usize, c_out: usize) -> Result<Self> {
        Ok(Self {
            conv_a: Conv3x3::new(c_in, c_out, RELU_GAIN, vb.pp("conv_a"))?,
            conv_b: Conv3x3::new(c_out, c_out, RELU_GAIN, vb.pp("conv_b"))?,
        })
    }

    pub fn detached(&self) -> Self {
        Self { conv_a: self.conv_a.detached(), conv_b: self.conv_b.detached() }
    }
}

impl Module for ConvBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.conv_b.forward_leaky(&self.conv_a.forward_leaky(x, LEAKY_SLOPE)?, LEAKY_SLOPE)
    }
}

/// The regulariser `Rₜ(x) = s·U(x/s)` of one cascade (module docs), on `(N, 2, H, W)`.
#[derive(Clone, Debug)]
pub struct Regulariser {
    down: Vec<ConvBlock>,
    bottom: ConvBlock,
    up: Vec<ConvBlock>,
    out: Conv3x3,
}

impl Regulariser {
    pub fn new(cfg: &UnrolledConfig, vb: VarBuilder) -> Result<Self> {
        let (down, bottom, up) = cfg.blocks();
        let block = |name: String, (ci, co): (usize, usize)| ConvBlock::new(vb.pp(name), ci, co);
        Ok(Self {
            down: down
                .into_iter()
                .enumerate()
                .map(|(l, c)| block(format!("down{l}"), c))
                .collect::<Result<_>>()?,
            bottom: block("bottom".into(), bottom)?,
            up: up.into_iter().enumerate().map(|(l, c)| block(format!("up{l}"), c)).collect::<Result<_>>()?,
            out: Conv3x3::new(cfg.width, 2, OUT_GAIN, vb.pp("out"))?,
        })
    }

    pub fn detached(&self) -> Self {
        Self {
            down: self.down.iter().map(ConvBlock::detached).collect(),
            bottom: self.bottom.detached(),
            up: self.up.iter().map(ConvBlock::detached).collect(),
            out: self.out.detached(),
        }
    }

    /// `U` on an input padded to a multiple of `2^levels`.
    fn unet(&self, x: &Tensor) -> Result<Tensor> {
        let mut skips = Vec::with_capacity(self.down.len());
        let mut n = x.clone();
        for block in &self.down {
            let s = block.forward(&n)?;
            n = max_pool2x2(&s)?;
            skips.push(s);
        }
        n = self.bottom.forward(&n)?;
        for (block, skip) in self.up.iter().zip(skips.iter()).rev() {
            n = block.forward(&Tensor::cat(&[&upsample_nearest2x(&n)?, skip], 1)?)?;
        }
        self.out.forward(&n)
    }
}

impl Module for Regulariser {
    /// `(N, 2, H, W)` → `(N, 2, H, W)`, any H, W ≥ 1.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, _, h, w) = x.dims4()?;
        let s =
            x.sqr()?.reshape((n, ()))?.mean_keepdim(1)?.affine(1., 1e-30)?.sqrt()?.reshape((n, 1, 1, 1))?;
        let multiple = 1 << self.down.len();
        let (hp, wp) = (round_up(h, multiple), round_up(w, multiple));
        let xp = pad_bottom_right(&x.broadcast_div(&s)?, hp - h, wp - w, PadMode::Reflect)?;
        let mut y = self.unet(&xp)?;
        if (hp, wp) != (h, w) {
            y = y.narrow(2, 0, h)?.narrow(3, 0, w)?;
        }
        y.broadcast_mul(&s)
    }
}

/// One cascade: the learned step `eta` (shape (1)) and the regulariser.
#[derive(Clone, Debug)]
pub struct Cascade {
    pub eta: Tensor,
    pub reg: Regulariser,
}

impl Cascade {
    pub fn new(cfg: &UnrolledConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self { eta: vb.get_with_hints(1, "eta", Init::Const(1.0))?, reg: Regulariser::new(cfg, vb)? })
    }

    pub fn detached(&self) -> Self {
        Self { eta: self.eta.detach(), reg: self.reg.detached() }
    }

    /// `x − η·Aᴴ(A x − y) + R(x)` for `x` `(N, 1, H, W, 2)`.
    pub fn forward(&self, x: &Tensor, measured: &Tensor, mask: &Tensor, maps: &Tensor) -> Result<Tensor> {
        let residual = forward_op(x, maps, mask)?.sub(measured)?;
        let step = adjoint_op(&residual, maps, mask)?.broadcast_mul(&self.eta)?;
        let prior = from_channels(&self.reg.forward(&to_channels(x)?)?)?;
        x.sub(&step)?.add(&prior)
    }
}

/// The unrolled network; see the module documentation.
#[derive(Clone, Debug)]
pub struct Unrolled {
    cfg: UnrolledConfig,
    cascades: Vec<Cascade>,
}

impl Unrolled {
    /// Builds the network, its parameters from `vb` (seeded init or a checkpoint).
    pub fn new(cfg: &UnrolledConfig, vb: VarBuilder) -> Result<Self> {
        if cfg.cascades == 0 || cfg.width == 0 || cfg.levels > 8 {
            bail!("unrolled: need ≥ 1 cascade, width ≥ 1 and at most 8 levels, got {cfg:?}")
        }
        let cascades = (0..cfg.cascades)
            .map(|t| Cascade::new(cfg, vb.pp(format!("cascade{t}"))))
            .collect::<Result<_>>()?;
        Ok(Self { cfg: cfg.clone(), cascades })
    }

    pub fn config(&self) -> &UnrolledConfig {
        &self.cfg
    }

    /// The cascades, in order.
    pub fn cascades(&self) -> &[Cascade] {
        &self.cascades
    }

    /// A copy whose forward builds no autograd graph (storage shared with `self`).
    pub fn detached(&self) -> Self {
        Self { cfg: self.cfg.clone(), cascades: self.cascades.iter().map(Cascade::detached).collect() }
    }

    /// The reconstruction `x^K` `(N, 1, H, W, 2)` from measured coil k-space `(N, C, H, W, 2)`
    /// (zero where unmeasured), the 0/1 mask `(N, 1, H, W, 1)` and maps `(N, C, H, W, 2)`.
    pub fn forward(&self, measured: &Tensor, mask: &Tensor, maps: &Tensor) -> Result<Tensor> {
        let d = measured.dims();
        let ok = d.len() == 5 && d[4] == 2 && d[1] > 0;
        if !ok || maps.dims() != d || mask.dims() != [d[0], 1, d[2], d[3], 1] {
            bail!(
                "unrolled: measured {:?} and maps {:?} must be (N, C, H, W, 2), mask {:?} (N, 1, H, W, 1)",
                measured.dims(),
                maps.dims(),
                mask.dims()
            )
        }
        self.forward_from(&adjoint_op(measured, maps, mask)?, measured, mask, maps)
    }

    /// [`Unrolled::forward`] from a given first image `x0` `(N, 1, H, W, 2)` instead of
    /// `x⁰ = Sᴴ Fᴴ y` (e.g. a compressed-sensing reconstruction that the cascades refine).
    pub fn forward_from(
        &self,
        x0: &Tensor,
        measured: &Tensor,
        mask: &Tensor,
        maps: &Tensor,
    ) -> Result<Tensor> {
        let d = measured.dims();
        if d.len() != 5 || x0.dims() != [d[0], 1, d[2], d[3], 2] {
            bail!("unrolled: first image {:?} must be (N, 1, H, W, 2) for measured {d:?}", x0.dims())
        }
        let mut x = x0.clone();
        for cascade in &self.cascades {
            x = cascade.forward(&x, measured, mask, maps)?;
        }
        Ok(x)
    }
}
