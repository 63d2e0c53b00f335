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

/// Eigen-decomposition `H = V Λ Vᴴ` of a Hermitian matrix by the cyclic complex Jacobi method
/// (Golub & Van Loan, *Matrix Computations*, §8.5; the complex rotation of Forsythe & Henrici,
/// 1960). Each rotation zeroes one off-diagonal pair (p, q):
///
/// with `h_pq = |h_pq| e^{iφ}`, `θ = ½ atan2(2|h_pq|, h_qq − h_pp)`, `c = cos θ`, `s = sin θ`,
/// the unitary `J` acting on columns p, q as `[c, −s e^{iφ}; s e^{−iφ}, c]`… applied as
/// `H ← Jᴴ H J`, `V ← V J`. Sweeps repeat until the off-diagonal mass is below `1e-14·‖H‖_F`
/// (quadratic convergence; ~6–10 sweeps). Only the upper triangle is trusted on input (the
/// matrix is symmetrised first).
///
/// Returns eigenvalues in **descending** order and `V` whose column k (`v[i * n + k]`) is the
/// unit eigenvector of eigenvalue k.
pub fn eigh(h: &Mat) -> (Vec<f64>, Mat) {
    let n = h.n;
    let mut a = h.clone();
    for i in 0..n {
        a.a[i * n + i] = C64::new(a.a[i * n + i].re, 0.0);
        for j in i + 1..n {
            a.a[j * n + i] = a.a[i * n + j].conj();
        }
    }
    let mut v = Mat::zeros(n);
    (0..n).for_each(|i| v.a[i * n + i] = C64::new(1.0, 0.0));
    let fro: f64 = a.a.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
    let tol = 1e-14 * fro.max(f64::MIN_POSITIVE);
    for _sweep in 0..60 {
        let off: f64 = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| a.get(i, j).norm_sqr()).sum();
        if off.sqrt() <= tol {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a.get(p, q);
                let r = apq.norm();
                if r <= tol * 1e-3 {
                    continue;
                }
                let (app, aqq) = (a.get(p, p).re, a.get(q, q).re);
                let theta = 0.5 * (2.0 * r).atan2(aqq - app);
                let (c, s) = (theta.cos(), theta.sin());
                let e = apq / r; // e^{iφ}
                // Columns: a[:,p] ← c a[:,p] − s e^{-iφ} a[:,q]; a[:,q] ← s e^{iφ} a[:,p] + c a[:,q].
                let (sp, sq) = (e.conj() * s, e * s);
                for k in 0..n {
                    let (x, y) = (a.a[k * n + p], a.a[k * n + q]);
                    a.a[k * n + p] = x * c - y * sp;
                    a.a[k * n + q] = x * sq + y * c;
                    let (x, y) = (v.a[k * n + p], v.a[k * n + q]);
                    v.a[k * n + p] = x * c - y * sp;
                    v.a[k * n + q] = x * sq + y * c;
                }
                // Rows: the conjugate transpose of the same rotation.
                for k in 0..n {
                    let (x, y) = (a.a[p * n + k], a.a[q * n + k]);
                    a.a[p * n + k] = x * c - y * sp.conj();
                    a.a[q * n + k] = x * sq.conj() + y * c;
                }
                a.a[p * n + q] = C64::new(0.0, 0.0);
                a.a[q * n + p] = C64::new(0.0, 0.0);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a.get(j, j).re.total_cmp(&a.get(i, i).re));
    let vals = order.iter().map(|&i| a.get(i, i).re).collect();
    let mut vs = Mat::zeros(n);
    for (k, &i) in order.iter().enumerate() {
        for r in 0..n {
            vs.a[r * n + k] = v.a[r * n + i];
        }
    }
    (vals, vs)
}

/// The `m` dominant eigenpairs of a small Hermitian positive semi-definite matrix `g` (n×n,
/// row-major) by orthogonal iteration (Golub & Van Loan §8.2.4), as BART's `ecalib` does per
/// pixel (30 iterations by default): `Q ← orth(G Q)` by Gram–Schmidt, `iters` times, then the
/// Rayleigh quotients `λ_k = q_kᴴ G q_k`. `q` (n×m, column k at `q[k * n ..]`) is the start
/// (and the result); a start from the neighbouring pixel converges in a few steps and keeps
/// the phase continuous. Columns that vanish are replaced by unit vectors.
pub fn orth_iter(g: &[C64], n: usize, q: &mut [C64], m: usize, iters: usize, vals: &mut [f64]) {
    let mut t = vec![C64::new(0.0, 0.0); n * m];
    for _ in 0..iters {
        for k in 0..m {
            matvec(g, n, &q[k * n..(k + 1) * n], &mut t[k * n..(k + 1) * n]);
        }
        q.copy_from_slice(&t);
        gram_schmidt(q, n, m);
    }
    for k in 0..m {
        let col = &q[k * n..(k + 1) * n];
        matvec(g, n, col, &mut t[..n]);
        vals[k] = col.iter().zip(&t[..n]).map(|(a, b)| (a.conj() * b).re).sum();
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
            col.iter_mut().enumerate().for_each(|(i, z)| *z = C64::new(if i == k % n { 1.0 } else { 0.0 }, 0.0));
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
        for n in [1, 2, 5, 17] {
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
