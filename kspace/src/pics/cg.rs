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
/// Returns the number of iterations done (applications of `N` inside the loop; one more is
/// spent on the first residual when `x ≠ 0`). `apply(v, out)` must write `N v` into `out`.
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
    if norm(&x.view()) > 0.0 {
        let mut nx = Array3::zeros(b.raw_dim());
        apply(&x.view(), &mut nx.view_mut())?;
        r -= &nx;
    }
    conjugate_gradient_from_residual(apply, &mut r, x, iters, tol * norm(b))
}

/// [`conjugate_gradient`] given the residual `r = b − N x` of the starting `x` instead of `b`:
/// no application of `N` is spent on it. Stops when `‖r‖ ≤ stop`; on return `r` is the
/// (recursively updated) residual of the returned `x`, so a caller whose right-hand side
/// changes by `δb` continues with `r + δb` (what ADMM's x-update does, [`super::tv`]).
pub fn conjugate_gradient_from_residual<F>(
    mut apply: F,
    r: &mut Array3<C32>,
    x: &mut Array3<C32>,
    iters: usize,
    stop: f32,
) -> Result<usize>
where
    F: FnMut(&ArrayView3<C32>, &mut ArrayViewMut3<C32>) -> Result<()>,
{
    let mut np = Array3::zeros(r.raw_dim());
    let mut p = r.clone();
    let mut rr = norm(&r.view()).powi(2) as f64;
    let stop = (stop as f64).powi(2);
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
        Zip::from(&mut *r).and(&np).par_for_each(|r, &q| *r -= q * alpha);
        let rr_new = norm(&r.view()).powi(2) as f64;
        let beta = (rr_new / rr) as f32;
        Zip::from(&mut p).and(&*r).par_for_each(|p, &r| *p = r + *p * beta);
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
    Ok(PicsResult {
        image: x,
        scaling: sigma,
        iterations,
        normal_applications: iterations,
        objective: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small Hermitian positive definite `N = BᴴB + I` acting on `(1, 2, 3)` arrays.
    fn hpd() -> impl FnMut(&ArrayView3<C32>, &mut ArrayViewMut3<C32>) -> Result<()> {
        let b: Vec<C32> =
            (0..36).map(|i| C32::new((i % 7) as f32 - 3.0, (i % 5) as f32 * 0.5 - 1.0)).collect();
        move |v, out| {
            let v: Vec<C32> = v.iter().cloned().collect();
            let bv: Vec<C32> = (0..6).map(|i| (0..6).map(|j| b[i * 6 + j] * v[j]).sum()).collect();
            for (j, o) in out.iter_mut().enumerate() {
                *o = v[j] + (0..6).map(|i| b[i * 6 + j].conj() * bv[i]).sum::<C32>();
            }
            Ok(())
        }
    }

    /// Started from a residual, CG takes the same steps as from `b`, and the residual it
    /// hands back is `b − N x` of the `x` it returns: what TV's ADMM carries between its
    /// x-updates instead of applying `N` again.
    #[test]
    fn the_returned_residual_is_the_residual_of_the_returned_x() {
        let b = Array3::from_shape_fn((1, 2, 3), |(_, i, j)| C32::new(i as f32 + 1.0, j as f32 - 1.0));
        let x0 = Array3::from_shape_fn((1, 2, 3), |(_, i, j)| C32::new(0.5 - j as f32, i as f32 * 0.25));
        let mut n = hpd();
        let mut nx0 = Array3::zeros(b.raw_dim());
        n(&x0.view(), &mut nx0.view_mut()).unwrap();
        let (mut x, mut r) = (x0.clone(), &b - &nx0);
        let steps = conjugate_gradient_from_residual(hpd(), &mut r, &mut x, 3, 0.0).unwrap();
        let mut x_ref = x0.clone();
        assert_eq!(conjugate_gradient(hpd(), &b.view(), &mut x_ref, 3, 0.0).unwrap(), steps);
        assert!((&x - &x_ref).iter().all(|d| d.norm() < 1e-5), "{x:?} vs {x_ref:?}");
        let mut nx = Array3::zeros(b.raw_dim());
        n(&x.view(), &mut nx.view_mut()).unwrap();
        let true_r = &b - &nx;
        let scale = norm(&b.view());
        assert!((&r - &true_r).iter().all(|d| d.norm() < 1e-4 * scale), "{r:?} vs {true_r:?}");
        // Six steps solve the 6-unknown system.
        let mut x = Array3::zeros(b.raw_dim());
        conjugate_gradient(hpd(), &b.view(), &mut x, 6, 0.0).unwrap();
        n(&x.view(), &mut nx.view_mut()).unwrap();
        assert!((&nx - &b).iter().all(|d| d.norm() < 1e-3 * scale), "{nx:?} vs {b:?}");
    }
}
