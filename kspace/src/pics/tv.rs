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
use crate::{KspaceError, Result, SamplingMask, C32};
use ndarray::{s, Array3, ArrayView3, ArrayViewMut3, Axis, Zip};

/// ADMM parameters of [`total_variation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TvOptions {
    /// Penalty parameter ρ (BART `-u`, default 0.5).
    pub rho: f32,
    /// CG iterations per x-update (BART `-C`, default 10).
    pub cg_iterations: usize,
}

impl Default for TvOptions {
    fn default() -> Self {
        TvOptions { rho: 0.5, cg_iterations: 10 }
    }
}

/// TV reconstruction with `opts.iterations` ADMM iterations; see the module docs.
pub fn total_variation(
    op: &mut SenseOperator,
    kspace: &ArrayView3<C32>,
    mask: &SamplingMask,
    opts: &PicsOptions,
    tv: &TvOptions,
) -> Result<PicsResult> {
    check_lambda(opts.lambda)?;
    if !(tv.rho > 0.0 && tv.rho.is_finite()) {
        return Err(KspaceError::InvalidParameter(format!("ADMM ρ must be > 0, got {}", tv.rho)));
    }
    let (aty, _, sigma) = prepare(op, kspace, mask, opts.scaling)?;
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
            0.0,
        )?;
        grad(&x.view(), &mut dx.view_mut());
        let tau = opts.lambda / rho;
        Zip::from(&mut g).and(&mut u).and(&dx).par_for_each(|g, u, &d| {
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
    for k in 0..m {
        let xk = x.index_axis(Axis(0), k);
        let mut dy = out.index_axis_mut(Axis(0), k);
        Zip::indexed(&mut dy).for_each(|(i, j), d| *d = xk[[(i + 1) % h, j]] - xk[[i, j]]);
        let mut dxo = out.index_axis_mut(Axis(0), m + k);
        Zip::indexed(&mut dxo).for_each(|(i, j), d| *d = xk[[i, (j + 1) % w]] - xk[[i, j]]);
    }
}

/// `∇ᴴ g` (the negative divergence): `g_y[i−1, j] − g_y[i, j] + g_x[i, j−1] − g_x[i, j]`.
pub fn grad_adjoint(g: &ArrayView3<C32>, out: &mut ArrayViewMut3<C32>) {
    let (m, h, w) = out.dim();
    for k in 0..m {
        let (gy, gx) = (g.slice(s![k, .., ..]), g.slice(s![m + k, .., ..]));
        let mut o = out.index_axis_mut(Axis(0), k);
        Zip::indexed(&mut o).for_each(|(i, j), v| {
            *v = gy[[(i + h - 1) % h, j]] - gy[[i, j]] + gx[[i, (j + w - 1) % w]] - gx[[i, j]];
        });
    }
}
