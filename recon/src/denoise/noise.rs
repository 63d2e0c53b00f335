//! The corruption models of the Noise2Noise image experiments (Lehtinen et al. 2018, §3).
//!
//! Images are `(C, H, W)` arrays in the paper's range `[−0.5, 0.5]` (8-bit value `v` is
//! `v / 255 − 0.5`); `C` is 1 (grey) or 3 (RGB). Every model has one *strength* parameter,
//! drawn uniformly from the training range for each image independently (so the input and
//! the target of a pair get different strengths):
//!
//! | name | strength | definition |
//! |---|---|---|
//! | `gaussian` | σ (of 255) | `y = x + (σ/255)·n`, `n ~ N(0, 1)` i.i.d. per value |
//! | `brown` | σ (of 255) | white noise blurred by a Gaussian of std `blur` px (circular), rescaled so each value has std σ/255 |
//! | `poisson` | λ | `y = Poisson(λ(x + 0.5))/λ − 0.5` per value (`E[y|x] = x`, `Var = (x + 0.5)/λ`) |
//! | `bernoulli` | p | each pixel (all channels) is dropped to black (`−0.5`) with probability p; the valid mask marks the kept ones |
//! | `text` | coverage c | random strings (embedded 8×8 font, integer scales, random colours, positions) until ≥ c of the pixels are covered |
//! | `impulse` | p | each pixel is replaced with probability p by a colour uniform on `[−0.5, 0.5]` per channel |
//!
//! Every draw comes from a [`MaskRng`] the caller seeds, so the same seed gives the same image.

use std::fmt;

use kspace::rng::MaskRng;
use ndarray::{Array2, Array3, Axis};

use super::text;
use crate::{ReconError, Result};

/// Which corruption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoiseKind {
    Gaussian,
    Brown,
    Poisson,
    Bernoulli,
    Text,
    Impulse,
}

impl NoiseKind {
    pub const NAMES: [&'static str; 6] = ["gaussian", "brown", "poisson", "bernoulli", "text", "impulse"];

    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "gaussian" | "gauss" => Self::Gaussian,
            "brown" | "correlated" => Self::Brown,
            "poisson" => Self::Poisson,
            "bernoulli" => Self::Bernoulli,
            "text" => Self::Text,
            "impulse" => Self::Impulse,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Gaussian => "gaussian",
            Self::Brown => "brown",
            Self::Poisson => "poisson",
            Self::Bernoulli => "bernoulli",
            Self::Text => "text",
            Self::Impulse => "impulse",
        }
    }

    /// The paper's training range of the strength.
    pub fn train_range(&self) -> (f64, f64) {
        match self {
            Self::Gaussian | Self::Brown => (0.0, 50.0),
            Self::Poisson => (0.001, 50.0),
            Self::Bernoulli | Self::Impulse => (0.0, 0.95),
            Self::Text => (0.0, 0.5),
        }
    }

    /// The paper's test strength.
    pub fn test_strength(&self) -> f64 {
        match self {
            Self::Gaussian | Self::Brown => 25.0,
            Self::Poisson => 30.0,
            Self::Bernoulli => 0.5,
            Self::Text => 0.25,
            Self::Impulse => 0.7,
        }
    }

    /// The loss the paper pairs with this corruption ("l2", "l1" or "l0").
    pub fn paper_loss(&self) -> &'static str {
        match self {
            Self::Text => "l1",
            Self::Impulse => "l0",
            _ => "l2",
        }
    }

    /// What the strength is, for messages.
    fn strength_name(&self) -> &'static str {
        match self {
            Self::Gaussian | Self::Brown => "sigma (of 255)",
            Self::Poisson => "lambda",
            Self::Bernoulli | Self::Impulse => "probability p",
            Self::Text => "coverage",
        }
    }

    fn check(&self, v: f64) -> std::result::Result<(), String> {
        let ok = match self {
            Self::Gaussian | Self::Brown => (0.0..=1000.0).contains(&v),
            Self::Poisson => v > 0.0 && v <= 1000.0,
            Self::Bernoulli | Self::Impulse => (0.0..=1.0).contains(&v),
            Self::Text => (0.0..=0.95).contains(&v),
        };
        let range = match self {
            Self::Gaussian | Self::Brown => "[0, 1000]",
            Self::Poisson => "(0, 1000]",
            Self::Bernoulli | Self::Impulse => "[0, 1]",
            Self::Text => "[0, 0.95]",
        };
        if ok && v.is_finite() {
            Ok(())
        } else {
            Err(format!("{} {} must be in {range}, got {v}", self.name(), self.strength_name()))
        }
    }
}

/// Default blur (std, pixels) of the `brown` noise.
pub const DEFAULT_BLUR: f64 = 2.0;

/// A corruption with its strength range: `gaussian:0-50`, `poisson:30`, `brown:25@3`
/// (σ 25, blur std 3 px), or just `text` (the paper's training range). Serialised as that
/// string.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct NoiseSpec {
    pub kind: NoiseKind,
    /// Strength range `[lo, hi]` (equal: a fixed strength).
    pub lo: f64,
    pub hi: f64,
    /// `brown` only: std of the Gaussian blur in pixels.
    pub blur: f64,
}

/// One corrupted image.
#[derive(Clone, Debug, PartialEq)]
pub struct Corrupted {
    /// `(C, H, W)`, same shape as the clean image.
    pub image: Array3<f32>,
    /// `(H, W)`: 1 where the pixel still carries the clean value, 0 where it was dropped,
    /// covered by text or replaced by an impulse; `None` for the additive noises.
    pub valid: Option<Array2<f32>>,
    /// The strength used.
    pub strength: f64,
}

impl NoiseSpec {
    /// The paper's training range for `kind`.
    pub fn train(kind: NoiseKind) -> Self {
        let (lo, hi) = kind.train_range();
        Self { kind, lo, hi, blur: DEFAULT_BLUR }
    }

    /// The paper's test strength for `kind`.
    pub fn test(kind: NoiseKind) -> Self {
        let v = kind.test_strength();
        Self { kind, lo: v, hi: v, blur: DEFAULT_BLUR }
    }

    /// Parses `kind[:lo[-hi]][@blur]`; see the type documentation.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |msg: String| ReconError::Invalid(format!("--noise {s}: {msg}"));
        let (main, blur) = match s.split_once('@') {
            Some((m, b)) => {
                let b: f64 = b.trim().parse().map_err(|_| bad(format!("blur '{b}' is not a number")))?;
                if !(b.is_finite() && b > 0.0 && b <= 64.0) {
                    return Err(bad(format!("blur must be in (0, 64] pixels, got {b}")));
                }
                (m, Some(b))
            }
            None => (s, None),
        };
        let (name, range) = match main.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (main, None),
        };
        let kind = NoiseKind::by_name(name.trim())
            .ok_or_else(|| bad(format!("unknown noise '{name}' (known: {})", NoiseKind::NAMES.join(", "))))?;
        if blur.is_some() && kind != NoiseKind::Brown {
            return Err(bad("@blur applies to brown noise only".into()));
        }
        let num = |t: &str| -> Result<f64> {
            t.trim().parse::<f64>().map_err(|_| bad(format!("'{t}' is not a number")))
        };
        let (lo, hi) = match range {
            None => kind.train_range(),
            Some(r) => match r.split_once('-') {
                Some((a, b)) if !a.trim().is_empty() => (num(a)?, num(b)?),
                _ => {
                    let v = num(r)?;
                    (v, v)
                }
            },
        };
        kind.check(lo).map_err(bad)?;
        kind.check(hi).map_err(bad)?;
        if lo > hi {
            return Err(bad(format!("range {lo}-{hi} is reversed")));
        }
        Ok(Self { kind, lo, hi, blur: blur.unwrap_or(DEFAULT_BLUR) })
    }

    /// The same kind at the fixed strength `v`.
    pub fn fixed(&self, v: f64) -> Self {
        Self { lo: v, hi: v, ..self.clone() }
    }

    /// The strength of one image: uniform on `[lo, hi]` (no draw when `lo = hi`).
    pub fn draw_strength(&self, rng: &mut MaskRng) -> f64 {
        if self.lo == self.hi {
            self.lo
        } else {
            rng.uniform_range(self.lo, self.hi)
        }
    }

    /// Corrupts `clean` (`(C, H, W)` in `[−0.5, 0.5]`) with a strength drawn from the range.
    pub fn corrupt(&self, clean: &Array3<f32>, rng: &mut MaskRng) -> Corrupted {
        let s = self.draw_strength(rng);
        self.apply(clean, s, rng)
    }

    /// Corrupts `clean` with strength `s`.
    pub fn apply(&self, clean: &Array3<f32>, s: f64, rng: &mut MaskRng) -> Corrupted {
        let (image, valid) = match self.kind {
            NoiseKind::Gaussian => (gaussian(clean, s / 255.0, rng), None),
            NoiseKind::Brown => (brown(clean, s / 255.0, self.blur, rng), None),
            NoiseKind::Poisson => (poisson(clean, s, rng), None),
            NoiseKind::Bernoulli => {
                let (im, m) = bernoulli(clean, s, rng);
                (im, Some(m))
            }
            NoiseKind::Text => {
                let (im, m) = text::overlay(clean, s, rng);
                (im, Some(m))
            }
            NoiseKind::Impulse => {
                let (im, m) = impulse(clean, s, rng);
                (im, Some(m))
            }
        };
        Corrupted { image, valid, strength: s }
    }
}

impl From<NoiseSpec> for String {
    fn from(n: NoiseSpec) -> String {
        n.to_string()
    }
}

impl TryFrom<String> for NoiseSpec {
    type Error = crate::ReconError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl fmt::Display for NoiseSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.kind.name())?;
        if self.lo == self.hi {
            write!(f, "{}", self.lo)?;
        } else {
            write!(f, "{}-{}", self.lo, self.hi)?;
        }
        if self.kind == NoiseKind::Brown {
            write!(f, "@{}", self.blur)?;
        }
        Ok(())
    }
}

/// `x + sigma·n`, `n ~ N(0, 1)` i.i.d. (`sigma` in image units).
pub fn gaussian(clean: &Array3<f32>, sigma: f64, rng: &mut MaskRng) -> Array3<f32> {
    let mut y = clean.clone();
    if sigma > 0.0 {
        y.iter_mut().for_each(|v| *v += (sigma * rng.standard_normal()) as f32);
    }
    y
}

/// The normalised 1-D Gaussian kernel of std `blur`, radius `⌈3·blur⌉`.
pub fn blur_kernel(blur: f64) -> Vec<f64> {
    let r = (3.0 * blur).ceil().max(1.0) as i64;
    let k: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * blur * blur)).exp()).collect();
    let s: f64 = k.iter().sum();
    k.into_iter().map(|v| v / s).collect()
}

/// Spatially correlated Gaussian noise: per channel, white `N(0, 1)` noise convolved
/// (circularly) with the separable Gaussian kernel `k⊗k` of std `blur`, divided by
/// `sqrt(Σ (k⊗k)²) = Σ k²` so each value has variance 1, times `sigma`, added to `x`.
pub fn brown(clean: &Array3<f32>, sigma: f64, blur: f64, rng: &mut MaskRng) -> Array3<f32> {
    let (c, h, w) = clean.dim();
    let k = blur_kernel(blur);
    let r = (k.len() / 2) as i64;
    let norm: f64 = k.iter().map(|v| v * v).sum();
    let mut y = clean.clone();
    if sigma == 0.0 {
        return y;
    }
    for ch in 0..c {
        let white = Array2::from_shape_simple_fn((h, w), || rng.standard_normal());
        let wrap = |i: i64, n: usize| i.rem_euclid(n as i64) as usize;
        let rows = Array2::from_shape_fn((h, w), |(i, j)| {
            k.iter().enumerate().map(|(t, kv)| kv * white[[i, wrap(j as i64 + t as i64 - r, w)]]).sum::<f64>()
        });
        let both = Array2::from_shape_fn((h, w), |(i, j)| {
            k.iter().enumerate().map(|(t, kv)| kv * rows[[wrap(i as i64 + t as i64 - r, h), j]]).sum::<f64>()
        });
        let mut out = y.index_axis_mut(Axis(0), ch);
        ndarray::Zip::from(&mut out).and(&both).for_each(|o, &n| *o += (sigma * n / norm) as f32);
    }
    y
}

/// One Poisson(mean) draw: Knuth's product-of-uniforms method on chunks of mean ≤ 16 (a sum
/// of independent Poisson variables is Poisson with the summed mean), so it is exact for any
/// mean and never underflows.
pub fn poisson_draw(mean: f64, rng: &mut MaskRng) -> u64 {
    let mut left = mean.max(0.0);
    let mut total = 0;
    while left > 0.0 {
        let m = left.min(16.0);
        left -= m;
        let limit = (-m).exp();
        let mut p = rng.uniform();
        while p > limit {
            total += 1;
            p *= rng.uniform();
        }
    }
    total
}

/// `Poisson(λ(x + 0.5))/λ − 0.5` per value (negative `x + 0.5` counts as 0).
pub fn poisson(clean: &Array3<f32>, lambda: f64, rng: &mut MaskRng) -> Array3<f32> {
    clean.mapv(|x| {
        let mean = lambda * (x as f64 + 0.5).max(0.0);
        (poisson_draw(mean, rng) as f64 / lambda - 0.5) as f32
    })
}

/// Drops each pixel (all channels) with probability `p` to black (`−0.5`); returns the
/// image and the mask of kept pixels.
pub fn bernoulli(clean: &Array3<f32>, p: f64, rng: &mut MaskRng) -> (Array3<f32>, Array2<f32>) {
    let (_, h, w) = clean.dim();
    let keep = Array2::from_shape_simple_fn((h, w), || if rng.uniform() < p { 0.0f32 } else { 1.0 });
    let mut y = clean.clone();
    for mut ch in y.outer_iter_mut() {
        ndarray::Zip::from(&mut ch).and(&keep).for_each(|v, &k| {
            if k == 0.0 {
                *v = -0.5;
            }
        });
    }
    (y, keep)
}

/// Replaces each pixel with probability `p` by a colour uniform on `[−0.5, 0.5]` per
/// channel; returns the image and the mask of untouched pixels.
pub fn impulse(clean: &Array3<f32>, p: f64, rng: &mut MaskRng) -> (Array3<f32>, Array2<f32>) {
    let (c, h, w) = clean.dim();
    let mut y = clean.clone();
    let mut valid = Array2::ones((h, w));
    for i in 0..h {
        for j in 0..w {
            if rng.uniform() < p {
                valid[[i, j]] = 0.0;
                for ch in 0..c {
                    y[[ch, i, j]] = (rng.uniform() - 0.5) as f32;
                }
            }
        }
    }
    (y, valid)
}
