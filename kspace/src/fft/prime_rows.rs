//! Fast row transforms for widths W = P·Q with a small odd prime Q (AVX2 + FMA): see
//! [`PrimeRows`]. Used by the parent module's row pass; elsewhere plain rustfft runs.

use crate::C32;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

/// Length-W row transform for W = P·Q, Q an odd prime ≤ 31 and 4 | P (so W is even), by the
/// four-step `X[k1·Q + k2] = Σ_n1 ω_P^(n1·k1) · t[k2][n1] · Σ_n2 x[P·n2 + n1] ω_Q^(n2·k2)`,
/// with twiddles `t[k2][n1] = ω_W^(n1·k2) · (-1)^n1` (the (-1)^n input modulation; P even).
/// The Q-point DFTs run on 4 lanes (consecutive n1, one AVX register) at a time in the symmetric
/// direct form `Y[k], Y[Q-k] = C_k ∓ i·S_k`, `C_k = x0 + Σ_n cos(2πnk/Q)(x_n + x_(Q-n))`,
/// `S_k = Σ_n sin(2πnk/Q)(x_n − x_(Q-n))` (forward; swapped for inverse); the P-point DFTs are
/// one batched rustfft call. Only with AVX2+FMA: rustfft's scalar Q-butterflies are ~3× slower.
pub(super) struct PrimeRows {
    q: usize,
    p: usize,
    /// P-point transforms, forward and inverse.
    pub(super) inner: [Arc<dyn Fft<f32>>; 2],
    /// Twiddles `t[k2·P + n1]`, forward and inverse, in 16-float blocks per 4 lanes (see `new`).
    twiddle: [Vec<f32>; 2],
    /// `cos(2πnk/Q)`, `sin(2πnk/Q)` at `[(n-1)·m + k-1]` for n, k in 1..=m, m = (Q-1)/2.
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl PrimeRows {
    pub(super) fn new(planner: &mut FftPlanner<f32>, w: usize) -> Option<PrimeRows> {
        #[cfg(target_arch = "x86_64")]
        let simd = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let simd = false;
        let q = [31, 29, 23, 19, 17, 13].into_iter().find(|&q| simd && w % q == 0 && (w / q) % 4 == 0)?;
        let (p, m) = (w / q, q / 2);
        let ang = |a: usize, b: usize, n: usize| 2.0 * PI * ((a * b) % n) as f64 / n as f64;
        // Per 4 lanes: [re0, re0, re1, re1, ..] then [-im0, im0, -im1, im1, ..], so that
        // `v·t = v ⊙ re + swap(v) ⊙ im` is a multiply and an FMA.
        let twiddle = [-1.0, 1.0].map(|sign: f64| {
            let mut t = Vec::with_capacity(4 * w);
            for k2 in 0..q {
                for n0 in (0..p).step_by(4) {
                    let z: Vec<(f32, f32)> = (n0..n0 + 4)
                        .map(|n1| {
                            let (s, c) = (sign * ang(n1, k2, w)).sin_cos();
                            let alt = if n1 % 2 == 1 { -1.0 } else { 1.0 };
                            ((alt * c) as f32, (alt * s) as f32)
                        })
                        .collect();
                    t.extend(z.iter().flat_map(|&(c, _)| [c, c]));
                    t.extend(z.iter().flat_map(|&(_, s)| [-s, s]));
                }
            }
            t
        });
        // [n-1][k-1] layout, so that consecutive k (processed together) are adjacent.
        let table = |f: fn(f64) -> f64| -> Vec<f32> {
            (1..=m).flat_map(|n| (1..=m).map(move |k| f(ang(n, k, q)) as f32)).collect()
        };
        Some(PrimeRows {
            q,
            p,
            inner: [planner.plan_fft_forward(p), planner.plan_fft_inverse(p)],
            twiddle,
            cos: table(f64::cos),
            sin: table(f64::sin),
        })
    }

    /// Transform one row `r` (length P·Q) in place; `s` holds W + inner-scratch elements.
    pub(super) fn process(&self, r: &mut [C32], dir: usize, s: &mut [C32]) {
        let (q, p) = (self.q, self.p);
        let (y, sc) = s.split_at_mut(q * p);
        assert!(r.len() == q * p && self.twiddle[dir].len() == 4 * q * p);
        // SAFETY: PrimeRows exists only where AVX2 and FMA were detected; lengths checked above;
        // Complex<f32> is repr(C) {re, im}, so a row is 2·P·Q interleaved floats.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            self.lanes(r.as_ptr().cast(), y.as_mut_ptr().cast(), dir)
        };
        self.inner[dir].process_with_scratch(y, sc);
        // X[k1·Q + k2] = Z[k2][k1]: 4×4 tiles, then the last Q mod 4 values of k2.
        let k2_tiles = q - q % 4;
        // SAFETY: as above; `y` and `r` both hold P·Q values and 4 | P.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            transpose4(y.as_ptr(), r.as_mut_ptr(), q, p, k2_tiles)
        };
        for (k1, x) in r.chunks_exact_mut(q).enumerate() {
            for (k2, o) in x.iter_mut().enumerate().skip(k2_tiles) {
                *o = y[k2 * p + k1];
            }
        }
    }

    /// Q-point DFTs down the columns of the Q×P matrix at `src` (interleaved floats), times the
    /// twiddles, into `dst`; 4 complex lanes per register, 4 outputs k at a time (`kblock`).
    /// Safety: AVX2+FMA available; `src` and `dst` hold 2·P·Q floats.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn lanes(&self, src: *const f32, dst: *mut f32, dir: usize) {
        use std::arch::x86_64::*;
        let (q, rl, m) = (self.q, 2 * self.p, self.q / 2);
        let tw = self.twiddle[dir].as_ptr();
        let store = |k: usize, c: usize, v: __m256| {
            let o = k * rl + c;
            let (re, im) = (_mm256_loadu_ps(tw.add(2 * o)), _mm256_loadu_ps(tw.add(2 * o + 8)));
            let swapped = _mm256_permute_ps::<0b1011_0001>(v);
            _mm256_storeu_ps(dst.add(o), _mm256_fmadd_ps(swapped, im, _mm256_mul_ps(v, re)));
        };
        let neg_odd = _mm256_setr_ps(0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0, -0.0);
        for c in (0..rl).step_by(8) {
            // a_n = x_n + x_(Q-n); b_n = -i·(x_n - x_(Q-n)), so that -i·S_k = Σ sin·b_n.
            let (mut a, mut b) = ([_mm256_setzero_ps(); 15], [_mm256_setzero_ps(); 15]);
            let x0 = _mm256_loadu_ps(src.add(c));
            let mut y0 = x0;
            for n in 1..=m {
                let (u, v) =
                    (_mm256_loadu_ps(src.add(n * rl + c)), _mm256_loadu_ps(src.add((q - n) * rl + c)));
                a[n - 1] = _mm256_add_ps(u, v);
                b[n - 1] = _mm256_xor_ps(_mm256_permute_ps::<0b1011_0001>(_mm256_sub_ps(u, v)), neg_odd);
                y0 = _mm256_add_ps(y0, a[n - 1]);
            }
            store(0, c, y0);
            let mut k = 1;
            while k <= m {
                let mut out = [[_mm256_setzero_ps(); 2]; 4];
                let kb = match m + 1 - k {
                    1 => self.kblock::<1>(&a, &b, x0, k, &mut out),
                    2 => self.kblock::<2>(&a, &b, x0, k, &mut out),
                    3 => self.kblock::<3>(&a, &b, x0, k, &mut out),
                    _ => self.kblock::<4>(&a, &b, x0, k, &mut out),
                };
                for (j, &[plus, minus]) in out[..kb].iter().enumerate() {
                    // Forward Y[k] = C - i·S, Y[Q-k] = C + i·S (inverse: swapped).
                    let (lo, hi) = if dir == 0 { (plus, minus) } else { (minus, plus) };
                    store(k + j, c, lo);
                    store(q - k - j, c, hi);
                }
                k += kb;
            }
        }
    }

    /// `out[j] = (C + t, C - t)` for k = k0 + j, j < KB: `C = x0 + Σ cos·a_n`, `t = Σ sin·b_n`,
    /// with 2·KB independent FMA chains.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn kblock<const KB: usize>(
        &self,
        a: &[std::arch::x86_64::__m256; 15],
        b: &[std::arch::x86_64::__m256; 15],
        x0: std::arch::x86_64::__m256,
        k0: usize,
        out: &mut [[std::arch::x86_64::__m256; 2]; 4],
    ) -> usize {
        use std::arch::x86_64::*;
        let m = self.q / 2;
        let (mut cc, mut t) = ([x0; KB], [_mm256_setzero_ps(); KB]);
        for n in 0..m {
            let (cs, sn) = (&self.cos[n * m + k0 - 1..][..KB], &self.sin[n * m + k0 - 1..][..KB]);
            for j in 0..KB {
                cc[j] = _mm256_fmadd_ps(a[n], _mm256_set1_ps(cs[j]), cc[j]);
                t[j] = _mm256_fmadd_ps(b[n], _mm256_set1_ps(sn[j]), t[j]);
            }
        }
        for j in 0..KB {
            out[j] = [_mm256_add_ps(cc[j], t[j]), _mm256_sub_ps(cc[j], t[j])];
        }
        KB
    }
}

/// `r[k1·Q + k2] = y[k2·P + k1]` for k2 < `k2_end` (a multiple of 4) and all k1 < P (4 | P),
/// by 4×4 tiles of complex values in AVX registers.
/// Safety: AVX available; `y` and `r` hold P·Q complex values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose4(y: *const C32, r: *mut C32, q: usize, p: usize, k2_end: usize) {
    use std::arch::x86_64::*;
    for k2 in (0..k2_end).step_by(4) {
        for k1 in (0..p).step_by(4) {
            let row = |i: usize| _mm256_loadu_pd(y.add((k2 + i) * p + k1).cast());
            let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
            let (t0, t1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
            let cols = [
                _mm256_permute2f128_pd::<0x20>(t0, t2),
                _mm256_permute2f128_pd::<0x20>(t1, t3),
                _mm256_permute2f128_pd::<0x31>(t0, t2),
                _mm256_permute2f128_pd::<0x31>(t1, t3),
            ];
            for (i, c) in cols.into_iter().enumerate() {
                _mm256_storeu_pd(r.add((k1 + i) * q + k2).cast(), c);
            }
        }
    }
}
