//! Small dense complex linear algebra for calibration: the Hermitian eigen-decomposition of a
//! Gram matrix (ESPIRiT's `AᴴA`, at most a few hundred rows) and orthogonal (subspace)
//! iteration for the dominant eigenvectors of the many tiny per-pixel coil matrices.
//!
//! Both work in `f64` (`Complex64`): the calibration Gram matrix has a dynamic range of 10⁶ and
//! more between its largest and threshold eigenvalues, which single precision cannot resolve.

use num_complex::Complex64 as C64;

/// A dense square complex matrix, row-major: `a[i * n + j]` is row i, column j.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub n: usize,
    pub a: Vec<C64>,
}

impl Mat {
    /// The n×n zero matrix.
    pub fn zeros(n: usize) -> Self {
        Mat { n, a: vec![C64::new(0.0, 0.0); n * n] }
    }

    /// Element (i, j).
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> C64 {
        self.a[i * self.n + j]
    }
}

/// Eigen-decomposition `H = V Λ Vᴴ` of a Hermitian matrix (only the upper triangle is read),
/// in O(n³) by the classic two phases (Golub & Van Loan, *Matrix Computations*, §8.3; the
/// EISPACK `htridi`/`tqli` route):
///
/// 1. Householder tridiagonalisation: for each column k, `P_k = I − τ v vᴴ` maps the part below
///    the diagonal onto `α e₁` (`α = −e^{i arg x₀}‖x‖`), applied from both sides as the rank-2
///    update `A ← A − v wᴴ − w vᴴ`, `p = τ A v`, `w = p − (τ/2)(vᴴp) v`; `Q = P₀P₁⋯`.
///    A diagonal unitary `D` (`D_{k+1} = D_k α_k/|α_k|`) makes the tridiagonal real.
/// 2. Implicit-shift QL on the real symmetric tridiagonal (Wilkinson shifts; Numerical Recipes
///    `tqli`), accumulating the real rotations `Z`. Then `V = Q D Z`.
///
/// Returns eigenvalues in **descending** order and `V` whose column k (`v[i * n + k]`) is the
/// unit eigenvector of eigenvalue k.
pub fn eigh(h: &Mat) -> (Vec<f64>, Mat) {
    let n = h.n;
    if n == 0 {
        return (Vec::new(), Mat::zeros(0));
    }
    let zero = C64::new(0.0, 0.0);
    // Full Hermitian copy from the upper triangle.
    let mut a = h.clone();
    for i in 0..n {
        a.a[i * n + i] = C64::new(a.a[i * n + i].re, 0.0);
        for j in 0..i {
            a.a[i * n + j] = a.a[j * n + i].conj();
        }
    }
    // Q, stored by columns: q[j * n + i] = Q[i, j].
    let mut q = vec![zero; n * n];
    (0..n).for_each(|i| q[i * n + i] = C64::new(1.0, 0.0));
    let mut d = vec![0.0f64; n];
    let mut e = vec![0.0f64; n];
    let mut sub = vec![zero; n];
    let mut v = vec![zero; n];
    let mut p = vec![zero; n];
    let mut acc = vec![zero; n];
    for k in 0..n.saturating_sub(1) {
        let m = n - k - 1; // length of the column below the diagonal
        let x0 = a.a[(k + 1) * n + k];
        let xn = (k + 1..n).map(|i| a.a[i * n + k].norm_sqr()).sum::<f64>().sqrt();
        if xn == 0.0 || m == 1 && x0.im == 0.0 && x0.re <= 0.0 {
            sub[k] = x0;
            continue;
        }
        let ph = if x0.norm() > 0.0 { x0 / x0.norm() } else { C64::new(1.0, 0.0) };
        let alpha = -ph * xn;
        for (t, i) in (k + 1..n).enumerate() {
            v[t] = a.a[i * n + k];
        }
        v[0] -= alpha;
        let vv: f64 = v[..m].iter().map(|z| z.norm_sqr()).sum();
        if vv == 0.0 {
            sub[k] = x0;
            continue;
        }
        let tau = 2.0 / vv;
        // p = τ A₂₂ v, K = (τ/2) vᴴ p, w = p − K v
        for (t, i) in (k + 1..n).enumerate() {
            let row = &a.a[i * n + k + 1..i * n + n];
            p[t] = row.iter().zip(&v[..m]).map(|(x, y)| x * y).sum::<C64>() * tau;
        }
        let kf = 0.5 * tau * v[..m].iter().zip(&p[..m]).map(|(x, y)| x.conj() * y).sum::<C64>().re;
        for t in 0..m {
            p[t] -= v[t] * kf;
        }
        for (t, i) in (k + 1..n).enumerate() {
            let (vi, wi) = (v[t], p[t]);
            let row = &mut a.a[i * n + k + 1..i * n + n];
            for (u, r) in row.iter_mut().enumerate() {
                *r -= vi * p[u].conj() + wi * v[u].conj();
            }
        }
        sub[k] = alpha;
        // Q ← Q P_k: Q[:, k+1..] −= τ (Q[:, k+1..] v) vᴴ, column by column (contiguous).
        let sv = &mut acc[..n];
        sv.iter_mut().for_each(|z| *z = zero);
        for t in 0..m {
            let col = &q[(k + 1 + t) * n..(k + 2 + t) * n];
            sv.iter_mut().zip(col).for_each(|(s, &c)| *s += c * v[t]);
        }
        for t in 0..m {
            let f = v[t].conj() * tau;
            let col = &mut q[(k + 1 + t) * n..(k + 2 + t) * n];
            col.iter_mut().zip(sv.iter()).for_each(|(c, &s)| *c -= s * f);
        }
    }
    // Real tridiagonal via D; fold D into Q's columns.
    let mut dph = C64::new(1.0, 0.0);
    for k in 0..n {
        d[k] = a.a[k * n + k].re;
        if k > 0 {
            q[k * n..(k + 1) * n].iter_mut().for_each(|z| *z *= dph);
        }
        if k + 1 < n {
            let s = sub[k];
            e[k] = s.norm();
            if e[k] > 0.0 {
                dph *= s / e[k];
            }
        }
    }
    let z = tql(&mut d, &mut e);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]));
    let vals = order.iter().map(|&i| d[i]).collect();
    // V = (Q D) Z, one column at a time from contiguous columns of Q.
    let mut vs = Mat::zeros(n);
    for (col, &i) in order.iter().enumerate() {
        let zc = &z[i * n..(i + 1) * n];
        acc.iter_mut().for_each(|a| *a = zero);
        for (j, &zj) in zc.iter().enumerate() {
            if zj != 0.0 {
                acc.iter_mut().zip(&q[j * n..(j + 1) * n]).for_each(|(a, &qv)| *a += qv * zj);
            }
        }
        for (r, &a) in acc.iter().enumerate() {
            vs.a[r * n + col] = a;
        }
    }
    (vals, vs)
}

/// Implicit QL with Wilkinson shifts on the symmetric tridiagonal (`d` diagonal, `e[i]`
/// coupling i and i+1); `d` becomes the eigenvalues. Returns the eigenvectors by columns
/// (`z[k * n + i]` = component i of vector k).
fn tql(d: &mut [f64], e: &mut [f64]) -> Vec<f64> {
    let n = d.len();
    let mut z = vec![0.0f64; n * n];
    (0..n).for_each(|i| z[i * n + i] = 1.0);
    for l in 0..n {
        for _iter in 0..100 {
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
            let mut i = m;
            let mut underflow = false;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    underflow = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
                let (lo, hi) = z.split_at_mut((i + 1) * n);
                let (zi, zi1) = (&mut lo[i * n..], &mut hi[..n]);
                for (x, y) in zi.iter_mut().zip(zi1.iter_mut()) {
                    let f = *y;
                    *y = s * *x + c * f;
                    *x = c * *x - s * f;
                }
            }
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    z
}

/// The `m` dominant eigenpairs of a small Hermitian positive semi-definite matrix `g` (n×n,
/// row-major) by orthogonal iteration (Golub & Van Loan §8.2.4), as BART's `ecalib` does per
/// pixel (at most 30 iterations by default): `Q ← orth(G Q)` by Gram–Schmidt, at most `iters`
/// times (stopping once the Rayleigh quotients `λ_k = q_kᴴ G q_k` are steady), returning the
/// `λ_k` in descending order with their vectors. `q` (n×m, column k at `q[k * n ..]`) is the start
/// (and the result); a start from the neighbouring pixel converges in a few steps and keeps
/// the phase continuous. Columns that vanish are replaced by unit vectors.
pub fn orth_iter(g: &[C64], n: usize, q: &mut [C64], m: usize, iters: usize, vals: &mut [f64]) {
    let mut t = vec![C64::new(0.0, 0.0); n * m];
    let mut prev = vec![f64::NAN; m];
    for _ in 0..iters {
        for k in 0..m {
            matvec(g, n, &q[k * n..(k + 1) * n], &mut t[k * n..(k + 1) * n]);
            // Rayleigh quotient of the current (orthonormal) column.
            vals[k] = q[k * n..(k + 1) * n]
                .iter()
                .zip(&t[k * n..(k + 1) * n])
                .map(|(a, b)| (a.conj() * b).re)
                .sum();
        }
        q.copy_from_slice(&t);
        gram_schmidt(q, n, m);
        // Converged: Rayleigh quotients steady to 1e-9 (the vectors to ~3·10⁻⁵). A warm start
        // from the neighbouring pixel usually gets here in a few steps.
        let scale = vals.iter().fold(f64::MIN_POSITIVE, |a, &b| a.max(b.abs()));
        if vals.iter().zip(&prev).all(|(v, p)| (v - p).abs() <= 1e-9 * scale) {
            break;
        }
        prev.copy_from_slice(vals);
    }
    for k in 0..m {
        let col = &q[k * n..(k + 1) * n];
        matvec(g, n, col, &mut t[..n]);
        vals[k] = col.iter().zip(&t[..n]).map(|(a, b)| (a.conj() * b).re).sum();
    }
    // Order by Rayleigh quotient (a start vector may have converged to the smaller one first).
    for k in 1..m {
        let mut j = k;
        while j > 0 && vals[j] > vals[j - 1] {
            vals.swap(j, j - 1);
            for i in 0..n {
                q.swap(j * n + i, (j - 1) * n + i);
            }
            j -= 1;
        }
    }
}

fn matvec(g: &[C64], n: usize, x: &[C64], y: &mut [C64]) {
    for (i, yi) in y.iter_mut().enumerate() {
        *yi = g[i * n..(i + 1) * n].iter().zip(x).map(|(a, b)| a * b).sum();
    }
}

/// Orthonormalise the m columns of `q` (n each) in place (modified Gram–Schmidt).
fn gram_schmidt(q: &mut [C64], n: usize, m: usize) {
    for k in 0..m {
        for j in 0..k {
            let (prev, cur) = q.split_at_mut(k * n);
            let pj = &prev[j * n..(j + 1) * n];
            let d: C64 = pj.iter().zip(cur[..n].iter()).map(|(a, b)| a.conj() * b).sum();
            cur[..n].iter_mut().zip(pj).for_each(|(c, p)| *c -= d * p);
        }
        let col = &mut q[k * n..(k + 1) * n];
        let nrm = col.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
        if nrm > 1e-300 {
            col.iter_mut().for_each(|z| *z /= nrm);
        } else {
            col.iter_mut()
                .enumerate()
                .for_each(|(i, z)| *z = C64::new(if i == k % n { 1.0 } else { 0.0 }, 0.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_hermitian(n: usize, seed: u64) -> Mat {
        let mut s = seed;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let mut h = Mat::zeros(n);
        for i in 0..n {
            for j in i..n {
                let z = if i == j { C64::new(rnd(), 0.0) } else { C64::new(rnd(), rnd()) };
                h.a[i * n + j] = z;
                h.a[j * n + i] = z.conj();
            }
        }
        h
    }

    #[test]
    fn eigh_reconstructs_and_is_orthonormal() {
        for n in [1, 2, 3, 5, 17, 40] {
            let h = random_hermitian(n, n as u64);
            let (vals, v) = eigh(&h);
            assert!(vals.windows(2).all(|w| w[0] >= w[1]));
            for i in 0..n {
                for j in 0..n {
                    let hv: C64 = (0..n).map(|k| v.get(i, k) * vals[k] * v.get(j, k).conj()).sum();
                    assert!((hv - h.get(i, j)).norm() < 1e-10, "n={n} ({i},{j})");
                    let vv: C64 = (0..n).map(|k| v.get(k, i).conj() * v.get(k, j)).sum();
                    let id = if i == j { 1.0 } else { 0.0 };
                    assert!((vv - id).norm() < 1e-10);
                }
            }
        }
    }

    #[test]
    fn orth_iter_finds_dominant_pair() {
        let n = 6;
        let mut h = random_hermitian(n, 3);
        // Make it positive definite with a clear gap.
        (0..n).for_each(|i| h.a[i * n + i] += C64::new(if i < 2 { 5.0 + i as f64 } else { 1.0 }, 0.0));
        let (vals, _) = eigh(&h);
        let mut q = vec![C64::new(1.0, 0.0); n * 2];
        q[n + 1] = C64::new(-1.0, 0.5);
        let mut ev = [0.0; 2];
        orth_iter(&h.a, n, &mut q, 2, 200, &mut ev);
        assert!((ev[0] - vals[0]).abs() < 1e-8 && (ev[1] - vals[1]).abs() < 1e-8, "{ev:?} {vals:?}");
    }
}
