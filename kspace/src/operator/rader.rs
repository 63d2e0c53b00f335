//! Prime-length row transforms of [`super::GridNormal`] without Rader's permutations.
//!
//! Rader's algorithm (C. M. Rader, "Discrete Fourier transforms when the number of data samples
//! is prime", Proc. IEEE 56 (1968)) turns a length-p DFT (p prime) into a cyclic convolution of
//! length p − 1 by reordering samples and frequencies along the powers of a primitive root g.
//! rustfft gathers into that order and scatters back on every call, a third of the cost at
//! p = 197 (an MNI152 axis). Inside the normal operator the order never needs to be undone:
//! rows are kept *in* it. A row of length p is stored as `[r_0 … r_{p−2}, r_{p−1}]` with
//!
//! - sample layout: `r_l = v[g^l mod p]` (l < p − 1), `r_{p−1} = v[0]`;
//! - frequency layout: `r_l = V[g^{−l} mod p]`, `r_{p−1} = V[0]`.
//!
//! With ω = e^{−2πi/p} the forward DFT takes the sample layout to the frequency layout:
//! `V[0] = v[0] + Σ_m a_m` and `V[g^{−l}] = v[0] + Σ_m a_m ω^{g^{m−l}} = v[0] + (a ⊛ b)[l]`,
//! `a_m = v[g^m]`, `b_j = ω^{g^{−j}}`. The unnormalised inverse takes the frequency layout back
//! to the sample layout: `y[g^l] = V[0] + (f ⊛ c)[l]`, `f_m = V[g^{−m}]`, `c_j = ω^{−g^j}`, and
//! `y[0] = V[0] + Σ_m f_m`. Each cyclic convolution is an FFT of length p − 1, a product with
//! the precomputed `FFT(b)/(p − 1)` (or `FFT(c)/(p − 1)`) and an inverse FFT; the sum `Σ a_m`
//! is the FFT's first output. The maps are stored in the sample layout once, the image is
//! reordered once per operator application, and the frequency layout only changes which
//! frequency each column of the plane holds.

use crate::C32;
use num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Length-p transforms between the sample and frequency layouts (module docs).
#[derive(Clone)]
pub(super) struct RaderRows {
    p: usize,
    /// `sample[l]`: the natural index held by column l (`g^l`, and 0 for l = p − 1).
    pub(super) sample: Vec<usize>,
    /// `freq[l]`: the frequency held by column l in the frequency layout (`g^{−l}`, 0 last).
    pub(super) freq: Vec<usize>,
    /// `FFT(b)/(p − 1)` (forward) and `FFT(c)/(p − 1)` (inverse).
    kernel: [Vec<C32>; 2],
    fft: [Arc<dyn Fft<f32>>; 2],
}

impl RaderRows {
    /// The layout for prime `p` (> 2), with FFTs of length p − 1 from the shared planner.
    pub(super) fn new(p: usize) -> Self {
        let g = primitive_root(p);
        let g_inv = pow_mod(g, p - 2, p);
        let q = p - 1;
        let mut sample: Vec<usize> = (0..q).map(|l| pow_mod(g, l, p)).collect();
        let mut freq: Vec<usize> = (0..q).map(|l| pow_mod(g_inv, l, p)).collect();
        sample.push(0);
        freq.push(0);
        let mut planner = FftPlanner::<f64>::new();
        let f64_fft = planner.plan_fft_forward(q);
        let kernel = [(&freq, -1.0), (&sample, 1.0)].map(|(index, sign): (&Vec<usize>, f64)| {
            // b_j = ω^{g^{−j}} (forward), c_j = ω^{−g^j} (inverse), ω = e^{−2πi/p}.
            let mut k: Vec<Complex64> = (0..q)
                .map(|j| {
                    Complex64::from_polar(1.0, sign * 2.0 * std::f64::consts::PI * index[j] as f64 / p as f64)
                })
                .collect();
            f64_fft.process(&mut k);
            k.iter().map(|v| C32::new((v.re / q as f64) as f32, (v.im / q as f64) as f32)).collect()
        });
        let planner = crate::fft::global_planner();
        RaderRows { p, sample, freq, kernel, fft: [planner.plan_line(q, false), planner.plan_line(q, true)] }
    }

    /// Scratch elements [`RaderRows::transform`] needs.
    pub(super) fn scratch_len(&self) -> usize {
        self.fft.iter().map(|f| f.get_inplace_scratch_len()).max().unwrap_or(0)
    }

    /// Forward (`inverse = false`: sample → frequency layout) or unnormalised inverse
    /// (frequency → sample layout) transform of every length-p row of `rows`, in place.
    pub(super) fn transform(&self, rows: &mut [C32], inverse: bool, scratch: &mut [C32]) {
        let (p, d) = (self.p, inverse as usize);
        for row in rows.chunks_exact_mut(p) {
            let (a, last) = row.split_at_mut(p - 1);
            let zero = last[0];
            self.fft[0].process_with_scratch(a, scratch);
            let sum = a[0];
            super::complex::complex_mul_assign(a, &self.kernel[d]);
            self.fft[1].process_with_scratch(a, scratch);
            a.iter_mut().for_each(|v| *v += zero);
            last[0] = zero + sum;
        }
    }
}

/// Whether [`RaderRows`] should transform rows of length `n`: a prime that rustfft would run by
/// its own Rader (not a butterfly, not Bluestein: `crate::fft`).
pub(super) fn suits(n: usize) -> bool {
    n > 31 && crate::fft::is_prime(n) && !crate::fft::uses_bluestein(n)
}

fn pow_mod(base: usize, mut e: usize, m: usize) -> usize {
    let (mut b, mut r) = ((base % m) as u64, 1u64);
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % m as u64;
        }
        b = b * b % m as u64;
        e >>= 1;
    }
    r as usize
}

/// The smallest primitive root of the prime `p`: g with g^((p−1)/q) ≠ 1 for every prime q | p − 1.
fn primitive_root(p: usize) -> usize {
    let mut factors = Vec::new();
    let (mut n, mut d) = (p - 1, 2);
    while d * d <= n {
        if n % d == 0 {
            factors.push(d);
            while n % d == 0 {
                n /= d;
            }
        }
        d += 1;
    }
    if n > 1 {
        factors.push(n);
    }
    (2..p).find(|&g| factors.iter().all(|&q| pow_mod(g, (p - 1) / q, p) != 1)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forward then inverse equal rustfft's DFT in the two layouts, for primes 37 and 197.
    #[test]
    fn layouts_carry_the_dft_and_its_inverse() {
        for p in [37usize, 197] {
            assert!(suits(p));
            let r = RaderRows::new(p);
            let v: Vec<C32> =
                (0..p).map(|n| C32::new((n as f32 * 0.37).sin(), (n as f32 * 0.11).cos())).collect();
            let mut want = v.clone();
            FftPlanner::<f32>::new().plan_fft_forward(p).process(&mut want);
            let mut row: Vec<C32> = r.sample.iter().map(|&n| v[n]).collect();
            let mut scratch = vec![C32::default(); r.scratch_len()];
            r.transform(&mut row, false, &mut scratch);
            for (l, &k) in r.freq.iter().enumerate() {
                assert!((row[l] - want[k]).norm() < 2e-4, "p={p} k={k}: {} vs {}", row[l], want[k]);
            }
            r.transform(&mut row, true, &mut scratch);
            for (l, &n) in r.sample.iter().enumerate() {
                assert!((row[l] / p as f32 - v[n]).norm() < 1e-5, "p={p} n={n}");
            }
        }
        assert!(!suits(233) && !suits(196) && !suits(31));
    }
}
