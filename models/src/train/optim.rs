//! Adam with β1 set per step (for the N2N ramp-down) and a state that can be saved and
//! restored for bit-exact resumption.
//!
//! Why not candle-nn's `AdamW`: with `weight_decay = 0` its update is Adam, but its state
//! (moments, step count) is private, so training cannot be resumed exactly, and its bias
//! correction uses `β1^t` with the *current* β1, which is wrong once β1 changes.
//!
//! The update is TensorFlow's `AdamOptimizer` (which the Noise2Noise code used), for each
//! parameter θ with gradient g at step t = 1, 2, …:
//! ```text
//! P1 ← P1·β1_t,   P2 ← P2·β2                  (running products, P1 = P2 = 1 at t = 0)
//! m  ← β1_t·m + (1 − β1_t)·g
//! v  ← β2·v + (1 − β2)·g²
//! θ  ← θ − lr_t·√(1 − P2)/(1 − P1) · m / (√v + ε)
//! ```
//! With a constant β1 this is Kingma & Ba's Adam with ε applied to the un-corrected √v
//! ("ε-hat"); the product P1 is the correct bias correction when β1 varies. A parameter
//! with no gradient in the store is left untouched (its moments too).

use std::collections::BTreeMap;

use candle_core::{backprop::GradStore, bail, Result, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::schedule::StepParams;

/// Fixed Adam hyper-parameters (lr and β1 come with each step).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// 0.99 in Noise2Noise.
    pub beta2: f64,
    /// 1e-8.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { beta2: 0.99, eps: 1e-8 }
    }
}

/// Everything needed to resume: step count, the β products and both moments per parameter
/// name (same shape and dtype as the parameter).
#[derive(Clone, Debug)]
pub struct AdamState {
    pub step: u64,
    pub beta1_power: f64,
    pub beta2_power: f64,
    pub m: BTreeMap<String, Tensor>,
    pub v: BTreeMap<String, Tensor>,
}

struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// The optimiser; see the module documentation.
pub struct Adam {
    slots: Vec<Slot>,
    cfg: AdamConfig,
    step: u64,
    beta1_power: f64,
    beta2_power: f64,
}

impl Adam {
    /// Adam over every floating-point variable of `varmap` (sorted by name), moments zero.
    pub fn new(varmap: &VarMap, cfg: AdamConfig) -> Result<Self> {
        let data = varmap.data().lock().unwrap();
        let mut named: Vec<(&String, &Var)> = data.iter().filter(|(_, v)| v.dtype().is_float()).collect();
        named.sort_by(|a, b| a.0.cmp(b.0));
        let slots = named
            .into_iter()
            .map(|(name, var)| {
                let z = var.as_tensor().zeros_like()?;
                Ok(Slot { name: name.clone(), var: var.clone(), m: z.clone(), v: z })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { slots, cfg, step: 0, beta1_power: 1.0, beta2_power: 1.0 })
    }

    pub fn config(&self) -> AdamConfig {
        self.cfg
    }

    /// Number of steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update with learning rate `lr` and first-moment decay `beta1`.
    pub fn step(&mut self, grads: &GradStore, lr: f64, beta1: f64) -> Result<()> {
        let beta2 = self.cfg.beta2;
        self.step += 1;
        self.beta1_power *= beta1;
        self.beta2_power *= beta2;
        let alpha = lr * (1.0 - self.beta2_power).sqrt() / (1.0 - self.beta1_power);
        for slot in self.slots.iter_mut() {
            let Some(g) = grads.get(slot.var.as_tensor()) else { continue };
            let m = slot.m.affine(beta1, 0.)?.add(&g.affine(1.0 - beta1, 0.)?)?;
            let v = slot.v.affine(beta2, 0.)?.add(&g.sqr()?.affine(1.0 - beta2, 0.)?)?;
            let update = m.div(&v.sqrt()?.affine(1., self.cfg.eps)?)?.affine(alpha, 0.)?;
            slot.var.set(&slot.var.as_tensor().sub(&update)?)?;
            slot.m = m;
            slot.v = v;
        }
        Ok(())
    }

    /// `loss.backward()` then [`Adam::step`] with the schedule's values.
    pub fn backward_step(&mut self, loss: &Tensor, p: StepParams) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads, p.lr, p.beta1)
    }

    /// A copy of the state (tensors share storage with the optimiser's, which it never
    /// writes in place, so the copy stays valid).
    pub fn state(&self) -> AdamState {
        AdamState {
            step: self.step,
            beta1_power: self.beta1_power,
            beta2_power: self.beta2_power,
            m: self.slots.iter().map(|s| (s.name.clone(), s.m.clone())).collect(),
            v: self.slots.iter().map(|s| (s.name.clone(), s.v.clone())).collect(),
        }
    }

    /// Restores a saved state: every parameter must have both moments with its shape;
    /// they are moved to the parameter's device and dtype.
    pub fn set_state(&mut self, state: &AdamState) -> Result<()> {
        let mut new = Vec::with_capacity(self.slots.len());
        for s in &self.slots {
            let t = s.var.as_tensor();
            let fetch = |map: &BTreeMap<String, Tensor>, what: &str| -> Result<Tensor> {
                let Some(x) = map.get(&s.name) else { bail!("optimiser state has no {what} for {}", s.name) };
                if x.shape() != t.shape() {
                    bail!("optimiser {what} for {} has shape {:?}, want {:?}", s.name, x.shape(), t.shape())
                }
                x.to_device(t.device())?.to_dtype(t.dtype())
            };
            new.push((fetch(&state.m, "m")?, fetch(&state.v, "v")?));
        }
        for (s, (m, v)) in self.slots.iter_mut().zip(new) {
            s.m = m;
            s.v = v;
        }
        self.step = state.step;
        self.beta1_power = state.beta1_power;
        self.beta2_power = state.beta2_power;
        Ok(())
    }
}
