//! Data consistency: after a network (or any estimator) predicts an image, put the measured
//! k-space samples back, so the output agrees exactly with what the scanner saw.
//!
//! Hard consistency at measured bins: `k ← m` (the raw measured values, *not* divided by the
//! keep probability — the Noise2Noise recipe puts back `S · keep`); unmeasured bins keep the
//! prediction. Soft consistency for noisy data (weight λ ≥ 0): `k ← (k + λ m) / (1 + λ)` at
//! measured bins, the minimiser of `‖k − k_pred‖² + λ ‖k − m‖²`; λ → ∞ is the hard version.

use crate::undersample::{par_fft2c, par_ifft2c, undersample, PAR_MIN};
use crate::{KspaceError, Result, SamplingMask, C32};
use ndarray::{Array2, ArrayBase, ArrayD, ArrayViewD, Data, DataMut, Dimension, Zip};

/// Measured k-space plus its mask, ready to impose on predictions.
///
/// Predictions passed to the `apply_*` methods must have the measured array's shape, or a
/// shape it broadcasts to (e.g. measurements `(H, W)` applied to a batch `(B, H, W)`).
#[derive(Debug, Clone)]
pub struct DataConsistency {
    measured: ArrayD<C32>,
    keep: Array2<bool>,
    lambda: Option<f32>,
}

impl DataConsistency {
    /// From raw measured k-space (…, H, W) and its mask. The data is masked here
    /// (`undersample`), so full k-space or already undersampled k-space both work; pass raw
    /// values, not density-compensated ones. Hard consistency.
    pub fn new<S, D>(measured: &ArrayBase<S, D>, mask: &SamplingMask) -> Result<Self>
    where
        S: Data<Elem = C32>,
        D: Dimension,
    {
        Ok(DataConsistency {
            measured: undersample(measured, mask)?.into_dyn(),
            keep: mask.keep.clone(),
            lambda: None,
        })
    }

    /// Soft (weighted) consistency with weight `lambda` ≥ 0: `(k + λ m)/(1 + λ)` at measured
    /// bins; `f32::INFINITY` gives hard consistency. Unlike the hard version it is not
    /// idempotent (each application moves further towards `m`).
    pub fn soft(mut self, lambda: f32) -> Result<Self> {
        if lambda.is_nan() || lambda < 0.0 {
            return Err(KspaceError::InvalidParameter(format!(
                "data-consistency λ must be ≥ 0, got {lambda}"
            )));
        }
        self.lambda = if lambda.is_infinite() { None } else { Some(lambda) };
        Ok(self)
    }

    /// The soft-consistency weight λ, `None` for hard consistency.
    pub fn lambda(&self) -> Option<f32> {
        self.lambda
    }

    /// The measured (masked, raw) k-space.
    pub fn measured(&self) -> ArrayViewD<'_, C32> {
        self.measured.view()
    }

    /// Which bins are measured, (H, W).
    pub fn keep(&self) -> &Array2<bool> {
        &self.keep
    }

    fn check(&self, shape: &[usize]) -> Result<()> {
        if self.measured.broadcast(shape).is_none() {
            return Err(KspaceError::Shape(format!(
                "data consistency: prediction {shape:?} does not match measurements {:?}",
                self.measured.shape()
            )));
        }
        Ok(())
    }

    /// Imposes the measurements on predicted k-space in place: measured bins become the
    /// measured values (or the soft blend), unmeasured bins are left unchanged.
    pub fn apply_kspace<S, D>(&self, pred: &mut ArrayBase<S, D>) -> Result<()>
    where
        S: DataMut<Elem = C32>,
        D: Dimension,
    {
        self.check(pred.shape())?;
        let big = pred.len() >= PAR_MIN;
        let z = Zip::from(pred).and_broadcast(&self.measured).and_broadcast(&self.keep);
        // Hard: the measured value; soft: (k + λ·m)/(1 + λ).
        let blend = self.lambda.map(|l| (l, 1.0 / (1.0 + l)));
        let f = move |k: &mut C32, &m: &C32, &keep: &bool| {
            if keep {
                *k = match blend {
                    None => m,
                    Some((l, inv)) => (*k + m * l) * inv,
                }
            }
        };
        if big {
            z.par_for_each(f)
        } else {
            z.for_each(f)
        }
        Ok(())
    }

    /// Image-domain consistency in place: `image ← ifft2c(DC(fft2c(image)))`, images in
    /// parallel.
    pub fn apply_image<S, D>(&self, pred_image: &mut ArrayBase<S, D>) -> Result<()>
    where
        S: DataMut<Elem = C32>,
        D: Dimension,
    {
        self.check(pred_image.shape())?;
        par_fft2c(pred_image);
        self.apply_kspace(pred_image)?;
        par_ifft2c(pred_image);
        Ok(())
    }

    /// Consistency for a real image (the Noise2Noise MRI network output): `image ←
    /// Re(ifft2c(DC(fft2c(image))))`.
    pub fn apply_real_image<S, D>(&self, pred_image: &mut ArrayBase<S, D>) -> Result<()>
    where
        S: DataMut<Elem = f32>,
        D: Dimension,
    {
        let mut z = pred_image.mapv(|x| C32::new(x, 0.0));
        self.apply_image(&mut z)?;
        pred_image.zip_mut_with(&z, |x, z| *x = z.re);
        Ok(())
    }
}
