//! Total-variation compressed sensing, `argmin ½‖A x − y‖² + λ‖∇ x‖₁` with the anisotropic TV
//! `‖∇x‖₁ = Σ |x[i+1, j] − x[i, j]| + |x[i, j+1] − x[i, j]|` (circular differences, complex
//! magnitudes; Rudin, Osher & Fatemi 1992; BART `pics -R T:3:0:λ`), by ADMM (Boyd et al.,
//! "Distributed optimization and statistical learning via the alternating direction method of
//! multipliers", 2011, §6.4.1 — the algorithm BART selects for TV), with the split `g = ∇x`:
//!
//! - `x ← argmin ½‖A x − y‖² + (ρ/2)‖∇x − g + u‖²`, i.e. `(AᴴA + ρ ∇ᴴ∇) x = Aᴴy + ρ ∇ᴴ(g − u)`,
//!   solved by `cg_iterations` CG steps warm-started at the previous x;
//! - `g ← soft_{λ/ρ}(∇x + u)` (complex soft-thresholding of each difference);
//! - `u ← u + ∇x − g`.
//!
//! Defaults follow BART's ADMM: ρ = 0.5, 10 CG iterations per step. ADMM rather than FISTA
//! because the prox of the TV norm has no closed form, while the split makes every step exact.

use super::cg::conjugate_gradient;
use super::{check_lambda, prepare, PicsOptions, PicsResult};
use crate::operator::SenseOperator;
use crate::wavelet::soft;
use crate::{KspaceError, Result, C32};
use ndarray::{s, Array3, ArrayView3, ArrayViewMut3, Axis, Zip};
use rayon::prelude::*;

/// ADMM parameters of [`total_variation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TvOptions {
    /// Penalty parameter ρ (BART `-u`, default 0.5).
    pub rho: f32,
    /// CG iterations per x-update (BART `-C`, default 10).
    pub cg_iterations: usize,
    /// CG stops when its residual is below this fraction of the right-hand side (10⁻³).
    pub cg_tolerance: f32,
    /// Over-relaxation α ∈ (0, 2) (1.6; 1 is plain ADMM).
    pub relaxation: f32,
}

impl Default for TvOptions {
    fn default() -> Self {
        TvOptions { rho: 0.5, cg_iterations: 10, cg_tolerance: 1e-3, relaxation: 1.6 }
    }
}

/// TV reconstruction with `opts.iterations` ADMM iterations; see the module docs.
pub fn total_variation(
    op: &mut SenseOperator,
    kspace: &ArrayView3<C32>,
    opts: &PicsOptions,
    tv: &TvOptions,
) -> Result<PicsResult> {
    check_lambda(opts.lambda)?;
    let valid = tv.rho > 0.0 && tv.rho.is_finite() && tv.relaxation > 0.0 && tv.relaxation < 2.0;
    if !valid {
        return Err(KspaceError::InvalidParameter(format!(
            "ADMM ρ must be > 0 and α in (0, 2), got ρ = {}, α = {}",
            tv.rho, tv.relaxation
        )));
    }
    let (aty, _, sigma) = prepare(op, kspace, opts.scaling)?;
    let (m, h, w) = aty.dim();
    let rho = tv.rho;
    let mut x = Array3::<C32>::zeros((m, h, w));
    let mut g = Array3::<C32>::zeros((2 * m, h, w));
    let mut u = g.clone();
    let mut dx = g.clone();
    let mut rhs = x.clone();
    let mut tmp = x.clone();
    for _ in 0..opts.iterations {
        // rhs = Aᴴy + ρ ∇ᴴ(g − u)
        Zip::from(&mut dx).and(&g).and(&u).par_for_each(|d, &g, &u| *d = g - u);
        grad_adjoint(&dx.view(), &mut rhs.view_mut());
        Zip::from(&mut rhs).and(&aty).par_for_each(|r, &b| *r = b + *r * rho);
        let mut scratch = Array3::<C32>::zeros((2 * m, h, w));
        conjugate_gradient(
            |v, out| {
                op.normal(v, 0.0, out)?;
                grad(v, &mut scratch.view_mut());
                grad_adjoint(&scratch.view(), &mut tmp.view_mut());
                Zip::from(out).and(&tmp).par_for_each(|o, &t| *o += t * rho);
                Ok(())
            },
            &rhs.view(),
            &mut x,
            tv.cg_iterations,
            tv.cg_tolerance,
        )?;
        grad(&x.view(), &mut dx.view_mut());
        let (tau, a) = (opts.lambda / rho, tv.relaxation);
        Zip::from(&mut g).and(&mut u).and(&dx).par_for_each(|g, u, &d| {
            let d = d * a + *g * (1.0 - a);
            *g = soft(d + *u, tau);
            *u += d - *g;
        });
    }
    x.mapv_inplace(|v| v * sigma);
    Ok(PicsResult { image: x, scaling: sigma, iterations: opts.iterations, objective: Vec::new() })
}

/// `∇x`: `(2M, H, W)`, vertical differences of each map set first, then horizontal.
pub fn grad(x: &ArrayView3<C32>, out: &mut ArrayViewMut3<C32>) {
    let (m, h, w) = x.dim();
    let (mut dy_all, mut dx_all) = out.view_mut().split_at(Axis(0), m);
    for k in 0..m {
        let xk = x.index_axis(Axis(0), k);
        let rows = dy_all.index_axis_mut(Axis(0), k).into_axis_iter_mut(Axis(0));
        let rows_x = dx_all.index_axis_mut(Axis(0), k).into_axis_iter_mut(Axis(0));
        rows.into_par_iter().zip(rows_x).enumerate().for_each(|(i, (mut dy, mut dx))| {
            let (r, below) = (xk.row(i), xk.row((i + 1) % h));
            Zip::from(&mut dy).and(&r).and(&below).for_each(|d, &a, &b| *d = b - a);
            for j in 0..w {
                dx[j] = r[(j + 1) % w] - r[j];
            }
        });
    }
}

/// `∇ᴴ g` (the negative divergence): `g_y[i−1, j] − g_y[i, j] + g_x[i, j−1] − g_x[i, j]`.
pub fn grad_adjoint(g: &ArrayView3<C32>, out: &mut ArrayViewMut3<C32>) {
    let (m, h, w) = out.dim();
    for k in 0..m {
        let (gy, gx) = (g.slice(s![k, .., ..]), g.slice(s![m + k, .., ..]));
        out.index_axis_mut(Axis(0), k).axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(
            |(i, mut o)| {
                let (up, cur, gxr) = (gy.row((i + h - 1) % h), gy.row(i), gx.row(i));
                for j in 0..w {
                    o[j] = up[j] - cur[j] + gxr[(j + w - 1) % w] - gxr[j];
                }
            },
        );
    }
}
