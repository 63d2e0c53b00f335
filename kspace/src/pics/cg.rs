//! SENSE with Tikhonov regularisation by conjugate gradients (Pruessmann et al., "Advances in
//! sensitivity encoding with arbitrary k-space trajectories", MRM 46 (2001); Hestenes &
//! Stiefel 1952). BART `pics -l2 -r λ` solves the same normal equations
//! `(AᴴA + λ I) x = Aᴴ y` (its `iter_conjgrad` with `l2lambda = λ`) from `x₀ = 0`.

use super::{check_lambda, prepare, PicsOptions, PicsResult};
use crate::operator::{dot, norm, SenseOperator};
use crate::{Result, C32};
use ndarray::{Array3, ArrayView3, ArrayViewMut3, Zip};

/// Conjugate gradients for a Hermitian positive semi-definite `N`: solves `N x = b` starting
/// from the given `x`, at most `iters` steps, stopping early when `‖r‖ ≤ tol·‖b‖`:
///
/// `r = b − N x, p = r; repeat { α = ‖r‖²/⟨p, N p⟩; x += α p; r −= α N p;
///  β = ‖r_new‖²/‖r‖²; p = r + β p }`.
///
/// Returns the number of iterations done. `apply(v, out)` must write `N v` into `out`.
pub fn conjugate_gradient<F>(
    mut apply: F,
    b: &ArrayView3<C32>,
    x: &mut Array3<C32>,
    iters: usize,
    tol: f32,
) -> Result<usize>
where
    F: FnMut(&ArrayView3<C32>, &mut ArrayViewMut3<C32>) -> Result<()>,
{
    let mut r = b.to_owned();
    let mut np = Array3::zeros(b.raw_dim());
    if norm(&x.view()) > 0.0 {
        apply(&x.view(), &mut np.view_mut())?;
        r -= &np;
    }
    let mut p = r.clone();
    let mut rr = norm(&r.view()).powi(2) as f64;
    let stop = (tol * norm(b)).powi(2) as f64;
    for it in 0..iters {
        if rr <= stop || rr == 0.0 {
            return Ok(it);
        }
        apply(&p.view(), &mut np.view_mut())?;
        let pnp = dot(&p.view(), &np.view()).re;
        if pnp <= 0.0 || !pnp.is_finite() {
            return Ok(it);
        }
        let alpha = (rr / pnp) as f32;
        Zip::from(&mut *x).and(&p).par_for_each(|x, &p| *x += p * alpha);
        Zip::from(&mut r).and(&np).par_for_each(|r, &q| *r -= q * alpha);
        let rr_new = norm(&r.view()).powi(2) as f64;
        let beta = (rr_new / rr) as f32;
        Zip::from(&mut p).and(&r).par_for_each(|p, &r| *p = r + *p * beta);
        rr = rr_new;
    }
    Ok(iters)
}

/// SENSE reconstruction: `argmin ‖A x − y‖² + λ‖x‖²` by `opts.iterations` CG steps on the
/// normal equations, with the data scaled as in BART (`opts.scaling`, see the module docs).
/// λ = 0 gives plain (unregularised) SENSE; a fully sampled input then returns the
/// least-squares image `(AᴴA)⁻¹Aᴴy`, the sensitivity-weighted coil combination.
pub fn sense(op: &mut SenseOperator, kspace: &ArrayView3<C32>, opts: &PicsOptions) -> Result<PicsResult> {
    check_lambda(opts.lambda)?;
    let (aty, _, sigma) = prepare(op, kspace, opts.scaling)?;
    let mut x = Array3::zeros(aty.raw_dim());
    let lambda = opts.lambda;
    let iterations =
        conjugate_gradient(|v, out| op.normal(v, lambda, out), &aty.view(), &mut x, opts.iterations, 0.0)?;
    x.mapv_inplace(|z| z * sigma);
    Ok(PicsResult { image: x, scaling: sigma, iterations, objective: Vec::new() })
}
