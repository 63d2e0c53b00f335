//! Reproducible initialisation: same seed → same weights, on any device and any run.
//!
//! candle's CPU random generator cannot be seeded (`Device::set_seed` on the CPU returns an
//! error in 0.11.1: "cannot seed the CPU rng"), so weights are drawn here with our own
//! generator, on the host in f64, then rounded to the requested dtype and moved to the
//! device. Each parameter has its own stream, derived from `(seed, parameter name)`, so the
//! values of one layer do not depend on the order in which layers are built nor on which
//! other layers exist.
//!
//! The networks ask for their parameters through a [`candle_nn::VarBuilder`] with an
//! [`Init`] hint (`Randn { mean: 0, stdev: gain/√fan_in }` for He-normal weights,
//! `Const(0)` for biases); [`SeededInit`] is the `VarBuilder` backend that honours those
//! hints deterministically and stores every new parameter as a trainable `Var` in a
//! [`VarMap`]. [`Strict`] is the backend for loading: it only hands out what is already in
//! the map and fails on anything missing.

use candle_core::{bail, DType, Device, Result, Shape, Tensor, Var};
use candle_nn::{var_builder::SimpleBackend, Init, VarBuilder, VarMap};

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, well-mixed 64-bit generator whose output
/// sequence is fixed forever (unlike a library RNG whose algorithm may change between
/// versions).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal by Box–Muller: `√(−2 ln u₁)·cos(2π u₂)` with `u₁ ∈ (0, 1]`
    /// (one value per pair of uniforms; simple and exactly reproducible).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The stream for one parameter: FNV-1a of its name, mixed with the seed.
fn stream(seed: u64, name: &str) -> SplitMix64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut mix = SplitMix64::new(seed ^ h.rotate_left(17));
    SplitMix64::new(mix.next_u64())
}

/// Draws the initial value of parameter `name` for an [`Init`] hint. Supported hints:
/// `Const`, `Randn`, `Uniform` (the ones our networks use).
pub fn init_tensor(
    shape: &Shape,
    name: &str,
    init: Init,
    seed: u64,
    dtype: DType,
    dev: &Device,
) -> Result<Tensor> {
    let n = shape.elem_count();
    let values: Vec<f64> = match init {
        Init::Const(v) => vec![v; n],
        Init::Randn { mean, stdev } => {
            let mut rng = stream(seed, name);
            (0..n).map(|_| mean + stdev * rng.normal()).collect()
        }
        Init::Uniform { lo, up } => {
            let mut rng = stream(seed, name);
            (0..n).map(|_| lo + (up - lo) * rng.uniform()).collect()
        }
        other => bail!("seeded init of {name}: unsupported hint {other:?}"),
    };
    Tensor::from_vec(values, shape, &Device::Cpu)?.to_dtype(dtype)?.to_device(dev)
}

/// `VarBuilder` backend: returns the `Var` already in the map under that name (shape
/// checked), or draws a new one with [`init_tensor`] and stores it.
#[derive(Clone)]
pub struct SeededInit {
    pub varmap: VarMap,
    pub seed: u64,
}

impl SimpleBackend for SeededInit {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut data = self.varmap.data().lock().unwrap();
        if let Some(v) = data.get(name) {
            if v.shape() != &s {
                bail!("shape mismatch on {name}: wanted {s:?}, have {:?}", v.shape())
            }
            return Ok(v.as_tensor().clone());
        }
        let var = Var::from_tensor(&init_tensor(&s, name, h, self.seed, dtype, dev)?)?;
        let t = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        bail!("get_unchecked({name}) is not supported by SeededInit")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap.data().lock().unwrap().contains_key(name)
    }
}

/// `VarBuilder` backend for loading: hands out only the `Var`s already in the map (shape
/// and dtype checked); a missing name is an error instead of a silent random init.
#[derive(Clone)]
pub struct Strict(pub VarMap);

impl SimpleBackend for Strict {
    fn get(&self, s: Shape, name: &str, _h: Init, dtype: DType, _dev: &Device) -> Result<Tensor> {
        let data = self.0.data().lock().unwrap();
        let Some(v) = data.get(name) else { bail!("missing parameter {name}") };
        if v.shape() != &s {
            bail!("shape mismatch on {name}: wanted {s:?}, have {:?}", v.shape())
        }
        if v.dtype() != dtype {
            bail!("dtype mismatch on {name}: wanted {dtype:?}, have {:?}", v.dtype())
        }
        Ok(v.as_tensor().clone())
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        let data = self.0.data().lock().unwrap();
        match data.get(name) {
            Some(v) => Ok(v.as_tensor().clone()),
            None => bail!("missing parameter {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.0.data().lock().unwrap().contains_key(name)
    }
}

/// A `VarBuilder` that creates seeded parameters in `varmap` (see [`SeededInit`]).
pub fn seeded_var_builder(varmap: &VarMap, seed: u64, dtype: DType, dev: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(Box::new(SeededInit { varmap: varmap.clone(), seed }), dtype, dev.clone())
}

/// A `VarBuilder` that only reads existing parameters of `varmap` (see [`Strict`]).
pub fn strict_var_builder(varmap: &VarMap, dtype: DType, dev: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(Box::new(Strict(varmap.clone())), dtype, dev.clone())
}

/// He-normal hint for a k×k convolution with `c_in` input channels:
/// `N(0, (gain/√(k²·c_in))²)`; gain √2 before a (leaky) ReLU, 1 for a linear output layer
/// (as in the Noise2Noise code).
pub fn he_normal(c_in: usize, k: usize, gain: f64) -> Init {
    Init::Randn { mean: 0., stdev: gain / ((k * k * c_in) as f64).sqrt() }
}
