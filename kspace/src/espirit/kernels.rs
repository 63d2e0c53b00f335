//! The two numerical halves of ESPIRiT (Uecker et al., MRM 71 (2014), §"Theory"), for a
//! `ky×kx` kernel (square, `k×k`, as BART, unless the calibration region is a narrow band):
//!
//! 1. **k-space**: the calibration matrix `𝒜` has one row per ky×kx patch position inside the
//!    calibration region and one column per (coil, patch offset), `C·ky·kx` columns. Its row
//!    space — the span of the patches of multi-coil k-space — is the "signal subspace" `V∥`.
//!    We form the Gram matrix `Σ_patches a aᴴ` (`C·k²` square, 288 for 8 coils and k = 6),
//!    diagonalise it ([`crate::linalg::eigh`]) and keep the eigenvectors whose eigenvalue
//!    exceeds `threshold · λ_max` (eigenvalues are the squared singular values of `𝒜`; BART
//!    compares `σ_i / σ_0 > √threshold`, the same test). `P = V∥ V∥ᴴ` projects onto them.
//! 2. **image space**: projecting every patch of full k-space onto `V∥` and averaging the k²
//!    patches that cover each sample is a multi-coil convolution; in image space it is, per
//!    pixel r, multiplication by the `C×C` Hermitian matrix
//!    `G(r)_{c'c} = (1/(ky·kx)) Σ_d K_{c'c}(d) e^{−2πi (d_y r_y/H + d_x r_x/W)}`,
//!    `K_{c'c}(d) = Σ_{p − p' = d} P[(c', p'), (c, p)]`, `d ∈ [−(ky−1), ky−1]×[−(kx−1), kx−1]`,
//!    `r` measured from the image centre. Coil images of the form `s(r)·m(r)` satisfy
//!    `G(r) s(r) = s(r)`, so the maps are the eigenvectors of G(r) with eigenvalue ≈ 1 (eq. 14).
//!    The sum over `d` is separable: per image row a `C²·(2ky−1)(2kx−1)` partial sum over `d_y`,
//!    then `C²·(2kx−1)`
//!    per pixel — far cheaper than `C²` full-size FFTs, and without their memory.
//!
//! The per-pixel eigenvectors come from orthogonal iteration ([`crate::linalg::orth_iter`],
//! 30 steps as BART), warm-started from the neighbouring pixel of the same row.

use crate::linalg::{eigh, orth_iter, Mat};
use crate::{KspaceError, Result, C32};
use ndarray::{Array3, Array4, ArrayView3, Axis};
use num_complex::Complex64 as C64;
use rayon::prelude::*;

/// The signal-subspace projector `P` (`C·ky·kx` square) of the calibration data `(C, h, w)`,
/// and the number of kernels kept. Errors when the region holds no patch or no signal.
pub(crate) fn signal_projector(
    cal: &ArrayView3<C32>,
    (ky, kx): (usize, usize),
    threshold: f32,
) -> Result<(Mat, usize)> {
    let (nc, ch, cw) = cal.dim();
    if ch < ky || cw < kx {
        return Err(KspaceError::InvalidParameter(format!(
            "calibration region {ch}×{cw} is smaller than the {ky}×{kx} kernel"
        )));
    }
    let n = nc * ky * kx;
    let (py, px) = (ch - ky + 1, cw - kx + 1);
    // Patches as rows of 𝒜 (f64), then the Gram matrix Σ a aᴴ, rows in parallel.
    let mut rows = vec![C64::new(0.0, 0.0); py * px * n];
    rows.par_chunks_mut(n).enumerate().for_each(|(idx, a)| {
        let (i, j) = (idx / px, idx % px);
        for c in 0..nc {
            for u in 0..ky {
                for v in 0..kx {
                    let z = cal[[c, i + u, j + v]];
                    a[c * ky * kx + u * kx + v] = C64::new(z.re as f64, z.im as f64);
                }
            }
        }
    });
    if rows.iter().any(|z| !z.re.is_finite() || !z.im.is_finite()) {
        return Err(KspaceError::InvalidParameter("calibration region contains NaN or Inf".into()));
    }
    let (vals, v) = if py * px < n { patch_space_eigen(&rows, n) } else { eigh(&gram_matrix(&rows, n)) };
    if vals.first().is_none_or(|&l| l <= 0.0) {
        return Err(KspaceError::InvalidParameter("calibration region holds no signal (all zero)".into()));
    }
    let kept = vals.iter().take_while(|&&l| l / vals[0] > threshold as f64).count().max(1);
    let mut p = Mat::zeros(n);
    p.a.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (j, o) in row.iter_mut().enumerate() {
            *o = (0..kept).map(|t| v.get(i, t) * v.get(j, t).conj()).sum();
        }
    });
    Ok((p, kept))
}

/// The Gram matrix `Σ_patches a aᴴ` (`n` square, upper triangle) of the patches `rows`.
fn gram_matrix(rows: &[C64], n: usize) -> Mat {
    let mut gram = Mat::zeros(n);
    gram.a.par_chunks_mut(n).enumerate().for_each(|(r, out)| {
        for a in rows.chunks_exact(n) {
            let ar = a[r];
            if ar == C64::new(0.0, 0.0) {
                continue;
            }
            for (o, &b) in out.iter_mut().zip(a.iter()).skip(r) {
                *o += ar * b.conj();
            }
        }
    });
    gram
}

/// The eigenpairs of the Gram matrix `Σ_p a_p a_pᴴ = BᴴB` (`B` row p = `conj(a_p)`) when there
/// are fewer patches `r` than columns `n` (a small calibration region: 190 patches against 288
/// columns for 24×15 and 8 coils): from the `r`-square `K = B Bᴴ`, `K_{pq} = a_pᴴ a_q`, whose
/// nonzero eigenvalues are those of `BᴴB`, with eigenvectors `v_t = Bᴴ u_t / √λ_t`,
/// `v_t[i] = Σ_p a_p[i] u_t[p] / √λ_t` (the SVD of `B`). O(r³ + r²n) instead of O(n³); the
/// same subspace up to rounding. Eigenvalues descending; `V` is `n`-square with columns past
/// the rank left zero.
fn patch_space_eigen(rows: &[C64], n: usize) -> (Vec<f64>, Mat) {
    let r = rows.len() / n;
    let mut k = Mat::zeros(r);
    k.a.par_chunks_mut(r).enumerate().for_each(|(p, out)| {
        let ap = &rows[p * n..(p + 1) * n];
        for (q, o) in out.iter_mut().enumerate().skip(p) {
            *o = ap.iter().zip(&rows[q * n..(q + 1) * n]).map(|(x, y)| x.conj() * y).sum();
        }
    });
    let (mut vals, u) = eigh(&k);
    let mut v = Mat::zeros(n);
    v.a.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (t, o) in row.iter_mut().take(r).enumerate() {
            if vals[t] > 0.0 {
                let sum: C64 = (0..r).map(|p| rows[p * n + i] * u.get(p, t)).sum();
                *o = sum / vals[t].sqrt();
            }
        }
    });
    vals.resize(n, 0.0);
    (vals, v)
}

/// Maps `(M, C, H, W)` and eigenvalues `(M, H, W)` from the projector `P` (see module docs):
/// the `m` dominant eigenpairs of `G(r)` at every pixel.
pub(crate) fn image_space_eigen(
    p: &Mat,
    nc: usize,
    (ky, kx): (usize, usize),
    (h, w): (usize, usize),
    m: usize,
    iters: usize,
) -> (Array4<C32>, Array3<f32>) {
    let (ndy, nd) = (2 * ky - 1, 2 * kx - 1);
    // K[(a·C + b)·ndy·nd + (dy+ky−1)·nd + (dx+kx−1)] = Σ_{p−p'=d} P[(a,p'),(b,p)].
    let mut kern = vec![C64::new(0.0, 0.0); nc * nc * ndy * nd];
    let kk = ky * kx;
    for a in 0..nc {
        for b in 0..nc {
            let base = (a * nc + b) * ndy * nd;
            for p1 in 0..kk {
                for p0 in 0..kk {
                    let (dy, dx) = (p0 / kx + ky - 1 - p1 / kx, p0 % kx + kx - 1 - p1 % kx);
                    kern[base + dy * nd + dx] += p.get(a * kk + p1, b * kk + p0);
                }
            }
        }
    }
    let phase = |d: usize, k: usize, r: usize, n: usize| {
        let t = -2.0 * std::f64::consts::PI * (d as f64 - (k - 1) as f64) * (r as f64 - (n / 2) as f64)
            / n as f64;
        C64::new(t.cos(), t.sin())
    };
    let ex: Vec<C64> = (0..w).flat_map(|j| (0..nd).map(move |d| phase(d, kx, j, w))).collect();
    let norm = 1.0 / kk as f64;
    let mut maps = Array4::<C32>::zeros((h, w, m, nc));
    let mut eig = Array3::<f32>::zeros((h, w, m));
    maps.axis_iter_mut(Axis(0)).into_par_iter().zip(eig.axis_iter_mut(Axis(0))).enumerate().for_each(
        |(i, (mut mrow, mut erow))| {
            let ey: Vec<C64> = (0..ndy).map(|d| phase(d, ky, i, h)).collect();
            // T[(a·C + b)·nd + dx] = Σ_dy K_ab(dy, dx) e_y(dy), upper triangle b ≥ a only
            // (G is Hermitian).
            let mut t = vec![C64::new(0.0, 0.0); nc * nc * nd];
            for (ab, tv) in t.chunks_exact_mut(nd).enumerate() {
                if ab % nc < ab / nc {
                    continue;
                }
                let kb = &kern[ab * ndy * nd..(ab + 1) * ndy * nd];
                for (dy, &e) in ey.iter().enumerate() {
                    tv.iter_mut().zip(&kb[dy * nd..(dy + 1) * nd]).for_each(|(o, &kv)| *o += kv * e);
                }
            }
            let mut g = vec![C64::new(0.0, 0.0); nc * nc];
            let mut q = vec![C64::new(0.0, 0.0); nc * m];
            let mut vals = vec![0.0f64; m];
            for j in 0..w {
                let e = &ex[j * nd..(j + 1) * nd];
                for a in 0..nc {
                    for b in a..nc {
                        let tv = &t[(a * nc + b) * nd..(a * nc + b + 1) * nd];
                        let v = tv.iter().zip(e).map(|(x, y)| x * y).sum::<C64>() * norm;
                        g[a * nc + b] = v;
                        g[b * nc + a] = v.conj();
                    }
                }
                if j == 0 {
                    start_vectors(&g, nc, m, &mut q);
                }
                orth_iter(&g, nc, &mut q, m, iters.max(1), &mut vals);
                for s in 0..m {
                    erow[[j, s]] = vals[s] as f32;
                    for c in 0..nc {
                        let z = q[s * nc + c];
                        mrow[[j, s, c]] = C32::new(z.re as f32, z.im as f32);
                    }
                }
            }
        },
    );
    // (H, W, M, C) → (M, C, H, W)
    let maps = maps.permuted_axes([2, 3, 0, 1]).as_standard_layout().into_owned();
    let eig = eig.permuted_axes([2, 0, 1]).as_standard_layout().into_owned();
    (maps, eig)
}

/// Start of the orthogonal iteration: the columns of `G` with the largest norms (a vector in
/// the dominant subspace for a positive semi-definite G), unit vectors if G is zero.
fn start_vectors(g: &[C64], n: usize, m: usize, q: &mut [C64]) {
    let mut cols: Vec<(f64, usize)> =
        (0..n).map(|j| ((0..n).map(|i| g[i * n + j].norm_sqr()).sum::<f64>(), j)).collect();
    cols.sort_by(|a, b| b.0.total_cmp(&a.0));
    for s in 0..m {
        let j = cols[s % n].1;
        for i in 0..n {
            q[s * n + i] = if cols[s % n].0 > 0.0 {
                g[i * n + j]
            } else {
                C64::new(if i == s % n { 1.0 } else { 0.0 }, 0.0)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With fewer patches than columns, the patch-space eigenpairs equal those of the full Gram
    /// matrix: same eigenvalues, same projector onto the leading eigenvectors.
    #[test]
    fn patch_space_eigenpairs_equal_the_gram_matrix_ones() {
        let (r, n) = (9, 36);
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let rows: Vec<C64> = (0..r * n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                C64::new((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5, (s & 0xfff) as f64 / 4096.0 - 0.5)
            })
            .collect();
        let (va, a) = patch_space_eigen(&rows, n);
        let (vb, b) = eigh(&gram_matrix(&rows, n));
        for t in 0..n {
            assert!((va[t] - vb[t]).abs() < 1e-9 * vb[0], "eigenvalue {t}: {} vs {}", va[t], vb[t]);
        }
        let proj = |v: &Mat, kept: usize, i: usize, j: usize| -> C64 {
            (0..kept).map(|t| v.get(i, t) * v.get(j, t).conj()).sum()
        };
        for kept in [1, 4, r] {
            for i in 0..n {
                for j in 0..n {
                    let d = (proj(&a, kept, i, j) - proj(&b, kept, i, j)).norm();
                    assert!(d < 1e-9, "kept {kept} ({i}, {j}): {d}");
                }
            }
        }
    }
}
