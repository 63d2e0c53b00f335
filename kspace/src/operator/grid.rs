//! The normal operator `AᴴA` for 2-D sampling patterns (Poisson disc, variable density, `n2n`)
//! with one fused pass per coil that skips what the data make zero.
//!
//! Per coil `c` the operator is `Sᴴ_c F_cᴴ P F_c S_c`. As for [`super::LineNormal`] the centring
//! shifts cancel: `F_cᴴ P F_c = FFT⁻¹ · diag(P' / (H·W)) · FFT` with uncentred, unnormalised 2-D
//! transforms and `P'` the `ifftshift`-ed pattern, because the circulant `FFT⁻¹ diag(P') FFT`
//! commutes with the circular shifts. Writing the 2-D transform as an *outer* 1-D pass along one
//! axis and an *inner* pass along the other, and the inner pass transforming and weighting each
//! inner line on its own (the outer transforms commute with it):
//!
//! 1. outer FFT of every outer line of `S_c x` — skipped (left zero) on lines where coil `c`'s
//!    maps are zero (ESPIRiT's eigenvalue crop zeroes them outside the object);
//! 2. per inner line `j`, `FFT⁻¹ diag(P'_j / (H·W)) FFT` — zero when line `j` has no sample;
//! 3. outer inverse FFT, again only where the maps are non-zero (elsewhere `conj(S_c) = 0`).
//!
//! Step 2 is a circular convolution of length `N` with `h_j = IFFT(P'_j) / (H·W)`. When rustfft
//! would run a length-`N` transform by Bluestein's algorithm (two length-`L` FFTs each way, see
//! `crate::fft`), the convolution is computed directly with *one* pair of length-`L` FFTs,
//! `L ≥ 2N − 1`: `y = (IFFT_L(FFT_L(x ⊕ 0) · Ĝ_j))[0..N]` with `g_j[d mod L] = h_j[d mod N]` for
//! `|d| < N` and `Ĝ_j = FFT_L(g_j) / L` (exact: the outputs `n < N` only see lags `|n − m| < N`,
//! which `L ≥ 2N − 1` keeps apart). That halves the inner pass; the inner axis is the one with the
//! Bluestein length (else the columns, transformed directly). Rows of a prime length that
//! rustfft runs by Rader's algorithm stay in Rader's order throughout ([`RaderRows`]). The
//! coils are processed in parallel groups, each accumulating `Σ_c conj(S_c) ·` as rows come out
//! of step 3. Results equal the plain 2-D operator up to float rounding (tested against
//! [`super::SenseOperator::normal_2d`]).

use super::complex::complex_mul_assign;
use super::rader::{self, RaderRows};
use super::LineAxis;
use crate::{SamplingMask, C32};
use ndarray::Array4;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

const ZERO: C32 = C32::new(0.0, 0.0);

/// Lines transformed per batched FFT call.
const BATCH: usize = 8;

/// How each inner line is transformed, weighted and transformed back.
#[derive(Clone)]
enum Inner {
    /// `FFT_N⁻¹ diag(w_j) FFT_N`; `weights[a·N + k]` for the a-th active line.
    Direct { fwd: Arc<dyn Fft<f32>>, inv: Arc<dyn Fft<f32>>, weights: Vec<f32> },
    /// Circular convolution by zero-padded length-L FFTs; `spectra[a·L + k] = Ĝ_j[k]`.
    Conv { l: usize, fwd: Arc<dyn Fft<f32>>, inv: Arc<dyn Fft<f32>>, spectra: Vec<C32> },
}

/// `AᴴA` for a 2-D pattern by one fused pass per coil; see the module docs.
#[derive(Clone)]
pub struct GridNormal {
    h: usize,
    w: usize,
    /// Axis the inner lines run along (`Columns`: lines of length H, one per column).
    inner_axis: LineAxis,
    outer: [Arc<dyn Fft<f32>>; 2],
    inner: Inner,
    /// Per inner line: its index among the lines with a sample, or `None` (no sample).
    active: Vec<Option<usize>>,
    /// `support[c·n_outer + ℓ]`: coil `c`'s maps (any set) are non-zero on outer line ℓ.
    support: Vec<bool>,
    scratch: usize,
    /// One accumulator, coil plane and scratch per parallel group of coils, reused.
    groups: Vec<Group>,
    /// Rows of prime length transformed in Rader's order ([`RaderRows`]), with the maps stored
    /// in it (`maps`), the image reordered into `image` per application, and `column[n]` the
    /// column holding sample n.
    rader: Option<RaderPlane>,
}

/// The plane in Rader's order: see [`GridNormal::rader`].
#[derive(Clone)]
struct RaderPlane {
    rows: RaderRows,
    maps: Vec<C32>,
    image: Vec<C32>,
    column: Vec<usize>,
}

/// The buffers of one task of [`GridNormal::apply`].
#[derive(Clone, Default)]
struct Group {
    /// `Σ_c conj(S_c) z_c` over the group's coils, `(M, H, W)`.
    acc: Vec<C32>,
    /// The coil plane being transformed, `(H, W)`.
    z: Vec<C32>,
    scratch: Vec<C32>,
}

impl std::fmt::Debug for GridNormal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conv = matches!(self.inner, Inner::Conv { .. });
        f.debug_struct("GridNormal")
            .field("grid", &(self.h, self.w))
            .field("inner_axis", &self.inner_axis)
            .field("convolution", &conv)
            .finish()
    }
}

/// Lines of an (H, W) plane: element (line ℓ, sample k) at `ℓ·ls + k·ks`; `count` lines of `n`.
#[derive(Clone, Copy)]
struct Lines {
    count: usize,
    n: usize,
    ls: usize,
    ks: usize,
}

impl GridNormal {
    /// The fused normal operator of `mask` with the maps `(M, C, H, W)` (standard layout).
    pub fn new(mask: &SamplingMask, maps: &Array4<C32>) -> Self {
        let (h, w) = mask.shape();
        let inner_axis = if !crate::fft::uses_bluestein(h) && crate::fft::uses_bluestein(w) {
            LineAxis::Rows
        } else {
            LineAxis::Columns
        };
        let planner = crate::fft::global_planner();
        let (inner_lines, outer_lines) = lines(h, w, inner_axis);
        let n = inner_lines.n;
        let outer = [planner.plan_line(outer_lines.n, false), planner.plan_line(outer_lines.n, true)];
        let rows = (inner_axis == LineAxis::Columns && rader::suits(w)).then(|| RaderRows::new(w));
        // The (uncentred) frequency of the outer transform that inner line j holds.
        let freq = |j: usize| rows.as_ref().map_or(j, |r| r.freq[j]);
        // p'_j[k] = P'[j, k], P' = ifftshift(P) (both axes: inner line j is the uncentred
        // frequency j of the outer transform), 1/(H·W) folded in.
        let scale = 1.0 / (h * w) as f64;
        let count = inner_lines.count;
        let mut active = vec![None; count];
        let mut patterns: Vec<Vec<f64>> = Vec::new();
        for (j, slot) in active.iter_mut().enumerate() {
            let p: Vec<f64> = (0..n)
                .map(|k| {
                    let i =
                        ((freq(j) + count / 2) % count) * inner_lines.ls + ((k + n / 2) % n) * inner_lines.ks;
                    if mask.keep[[i / w, i % w]] {
                        scale
                    } else {
                        0.0
                    }
                })
                .collect();
            if p.iter().any(|&v| v != 0.0) {
                *slot = Some(patterns.len());
                patterns.push(p);
            }
        }
        let inner = if crate::fft::uses_bluestein(n) {
            conv_kernels(n, &patterns)
        } else {
            let weights = patterns.iter().flatten().map(|&v| v as f32).collect();
            Inner::Direct { fwd: planner.plan_line(n, false), inv: planner.plan_line(n, true), weights }
        };
        let nc = maps.dim().1;
        let mut support = vec![false; nc * outer_lines.count];
        for ((_, c, i, j), s) in maps.indexed_iter() {
            if *s != C32::new(0.0, 0.0) {
                let l = if inner_axis == LineAxis::Columns { i } else { j };
                support[c * outer_lines.count + l] = true;
            }
        }
        let ffts: Vec<&Arc<dyn Fft<f32>>> = match &inner {
            Inner::Direct { fwd, inv, .. } | Inner::Conv { fwd, inv, .. } => {
                vec![fwd, inv, &outer[0], &outer[1]]
            }
        };
        let scratch = ffts.iter().map(|f| f.get_inplace_scratch_len()).max().unwrap_or(0);
        let scratch = scratch.max(rows.as_ref().map_or(0, |r| r.scratch_len()));
        let rader = rows.map(|rows| {
            let mut column = vec![0; w];
            rows.sample.iter().enumerate().for_each(|(l, &n)| column[n] = l);
            let maps = maps.rows().into_iter().flat_map(|r| rows.sample.iter().map(move |&n| r[n])).collect();
            RaderPlane { rows, maps, image: Vec::new(), column }
        });
        GridNormal { h, w, inner_axis, outer, inner, active, support, scratch, groups: Vec::new(), rader }
    }

    /// The axis of the per-line weighted transform, and whether it is the direct convolution.
    pub fn inner(&self) -> (LineAxis, bool) {
        (self.inner_axis, matches!(self.inner, Inner::Conv { .. }))
    }

    /// Scratch elements one call of [`GridNormal::coil`] needs.
    fn scratch_len(&self) -> usize {
        let len = match &self.inner {
            Inner::Conv { l, .. } => *l,
            Inner::Direct { .. } => self.h.max(self.w),
        };
        BATCH * len.max(self.h.max(self.w)) + self.scratch
    }

    /// `out = (AᴴA + λ I) x` for maps `s` `(M, C, H, W)`, image `x` and `out` `(M, H, W)`, all
    /// standard layout (`out` a slice of M·H·W). The coils are split into one group per rayon
    /// thread (at most one group per coil); each group accumulates its coils' `conj(S_c) z_c`
    /// into its own buffer, and the buffers are summed at the end.
    pub fn apply(&mut self, s: &[C32], x: &[C32], nm: usize, lambda: f32, out: &mut [C32]) {
        let (plane, w) = (self.h * self.w, self.w);
        let nc = s.len() / (nm * plane);
        let per = nc.div_ceil(rayon::current_num_threads().clamp(1, nc.max(1)));
        let count = nc.div_ceil(per.max(1));
        let mut groups = std::mem::take(&mut self.groups);
        groups.resize_with(count, Group::default);
        if let Some(r) = &mut self.rader {
            r.image.clear();
            r.image.extend(x.chunks_exact(w).flat_map(|row| r.rows.sample.iter().map(|&n| row[n])));
        }
        let (s, xs) = match &self.rader {
            Some(r) => (&r.maps[..], &r.image[..]),
            None => (s, x),
        };
        let scratch = self.scratch_len();
        let this = &*self;
        groups.par_iter_mut().enumerate().for_each(|(g, b)| {
            b.acc.clear();
            b.acc.resize(nm * plane, ZERO);
            b.z.resize(plane, ZERO);
            b.scratch.resize(scratch, ZERO);
            for c in g * per..nc.min((g + 1) * per) {
                this.coil(s, xs, nm, c, b);
            }
        });
        // out = Σ_groups acc + λ x, row by row (the accumulators in Rader's order, if used).
        let (parts, column) = (&groups, self.rader.as_ref().map(|r| &r.column[..]));
        out.par_chunks_mut(w).enumerate().for_each(|(t, o)| {
            let at = t * w;
            o.iter_mut().zip(&x[at..]).for_each(|(v, &x)| *v = x * lambda);
            for b in parts {
                let acc = &b.acc[at..][..w];
                match column {
                    Some(col) => o.iter_mut().zip(col).for_each(|(v, &l)| *v += acc[l]),
                    None => o.iter_mut().zip(acc).for_each(|(v, &a)| *v += a),
                }
            }
        });
        self.groups = groups;
    }

    /// The outer transform of contiguous rows: rustfft's, or [`RaderRows`] in Rader's order.
    fn outer_rows(&self, rows: &mut [C32], inverse: bool, scratch: &mut [C32]) {
        match &self.rader {
            Some(r) => r.rows.transform(rows, inverse, scratch),
            None => self.outer[inverse as usize].process_with_scratch(rows, scratch),
        }
    }

    /// Add `conj(S_c) F_cᴴ P F_c (Σ_m S_{m,c} x_m)` for coil `c` to `b.acc`, from the maps `s`
    /// `(M, C, H, W)` and the image `x` `(M, H, W)`; `b.z` is the coil's plane.
    fn coil(&self, s: &[C32], x: &[C32], nm: usize, c: usize, b: &mut Group) {
        let (z, acc) = (&mut b.z[..], &mut b.acc[..]);
        let (h, w) = (self.h, self.w);
        let plane = h * w;
        let nc = s.len() / (nm * plane);
        let (inner, outer) = lines(h, w, self.inner_axis);
        let support = &self.support[c * outer.count..][..outer.count];
        let split = b.scratch.len() - self.scratch;
        let (buf, fft_scratch) = b.scratch.split_at_mut(split);
        let expand = |i: usize| {
            let mut v = s[c * plane + i] * x[i];
            for m in 1..nm {
                v += s[(m * nc + c) * plane + i] * x[m * plane + i];
            }
            v
        };
        // 1. Expand and outer forward FFT, batch by batch of supported lines; rows (contiguous,
        // consecutive) are transformed in place.
        for_batches(support, |first, nl| {
            if outer.ks == 1 {
                let rows = &mut z[first * outer.ls..][..nl * outer.n];
                let at = first * outer.ls;
                rows.iter_mut().enumerate().for_each(|(k, d)| *d = expand(at + k));
                self.outer_rows(rows, false, fft_scratch);
            } else {
                let b = &mut buf[..nl * outer.n];
                for (l, line) in b.chunks_exact_mut(outer.n).enumerate() {
                    let base = (first + l) * outer.ls;
                    line.iter_mut().enumerate().for_each(|(k, d)| *d = expand(base + k * outer.ks));
                }
                self.outer[0].process_with_scratch(b, fft_scratch);
                scatter(b, outer.n, z, outer, first);
            }
        });
        zero_unsupported(z, outer, support);
        // 2. Inner lines: weighted transform pair, or the zero-padded convolution.
        let (len, fwd, inv) = match &self.inner {
            Inner::Direct { fwd, inv, .. } => (inner.n, fwd, inv),
            Inner::Conv { l, fwd, inv, .. } => (*l, fwd, inv),
        };
        let mut j = 0;
        while j < inner.count {
            let nl = BATCH.min(inner.count - j);
            let b = &mut buf[..nl * len];
            gather(z, b, len, inner, j);
            fwd.process_with_scratch(b, fft_scratch);
            for (l, line) in b.chunks_exact_mut(len).enumerate() {
                match (self.active[j + l], &self.inner) {
                    (Some(a), Inner::Direct { weights, .. }) => {
                        line.iter_mut().zip(&weights[a * len..]).for_each(|(v, &p)| *v *= p)
                    }
                    (Some(a), Inner::Conv { spectra, .. }) => {
                        complex_mul_assign(line, &spectra[a * len..][..len])
                    }
                    (None, _) => line.fill(C32::new(0.0, 0.0)),
                }
            }
            inv.process_with_scratch(b, fft_scratch);
            scatter(b, len, z, inner, j);
            j += nl;
        }
        // 3. Outer inverse FFT where the coil's maps are non-zero (elsewhere conj(S_c) = 0),
        // accumulated at once: acc_m += conj(S_{m,c}) z.
        for_batches(support, |first, nl| {
            if outer.ks == 1 {
                let at = first * outer.ls;
                let rows = &mut z[at..][..nl * outer.n];
                self.outer_rows(rows, true, fft_scratch);
                for m in 0..nm {
                    let sm = &s[(m * nc + c) * plane + at..][..rows.len()];
                    let am = &mut acc[m * plane + at..][..rows.len()];
                    am.iter_mut().zip(sm).zip(&*rows).for_each(|((a, s), v)| *a += s.conj() * v);
                }
            } else {
                let b = &mut buf[..nl * outer.n];
                gather(z, b, outer.n, outer, first);
                self.outer[1].process_with_scratch(b, fft_scratch);
                for (l, line) in b.chunks_exact(outer.n).enumerate() {
                    for (k, v) in line.iter().enumerate() {
                        let i = (first + l) * outer.ls + k * outer.ks;
                        for m in 0..nm {
                            acc[m * plane + i] += s[(m * nc + c) * plane + i].conj() * v;
                        }
                    }
                }
            }
        });
    }
}

/// The inner and outer lines of an (H, W) plane for the given inner axis.
fn lines(h: usize, w: usize, inner_axis: LineAxis) -> (Lines, Lines) {
    let rows = Lines { count: h, n: w, ls: w, ks: 1 };
    let cols = Lines { count: w, n: h, ls: 1, ks: w };
    match inner_axis {
        LineAxis::Columns => (cols, rows),
        LineAxis::Rows => (rows, cols),
    }
}

/// Call `f(first, count)` for runs of at most [`BATCH`] consecutive `true` lines.
fn for_batches(support: &[bool], mut f: impl FnMut(usize, usize)) {
    let mut l = 0;
    while l < support.len() {
        if !support[l] {
            l += 1;
            continue;
        }
        let end = (l..support.len()).take(BATCH).take_while(|&e| support[e]).last().map_or(l, |e| e + 1);
        f(l, end - l);
        l = end;
    }
}

fn zero_unsupported(z: &mut [C32], lines: Lines, support: &[bool]) {
    for (l, _) in support.iter().enumerate().filter(|(_, &s)| !s) {
        if lines.ks == 1 {
            z[l * lines.ls..][..lines.n].fill(C32::new(0.0, 0.0));
        } else {
            (0..lines.n).for_each(|k| z[l * lines.ls + k * lines.ks] = C32::new(0.0, 0.0));
        }
    }
}

/// `b[l·stride + k] = z[(first + l)·ls + k·ks]` (k < n) for the `b.len() / stride` lines of
/// `b`, and `b[l·stride + k] = 0` for n ≤ k < stride (the convolution's zero padding).
fn gather(z: &[C32], b: &mut [C32], stride: usize, lines: Lines, first: usize) {
    let nl = b.len() / stride;
    for line in b.chunks_exact_mut(stride) {
        line[lines.n..].fill(C32::new(0.0, 0.0));
    }
    if lines.ks == 1 {
        for (l, line) in b.chunks_exact_mut(stride).enumerate() {
            line[..lines.n].copy_from_slice(&z[(first + l) * lines.ls..][..lines.n]);
        }
    } else {
        // Lines are columns: read each row's run of `nl` neighbours at once.
        for k in 0..lines.n {
            let row = &z[k * lines.ks + first * lines.ls..][..nl];
            for (l, &v) in row.iter().enumerate() {
                b[l * stride + k] = v;
            }
        }
    }
}

/// The inverse of [`gather`] (the padding is dropped).
fn scatter(b: &[C32], stride: usize, z: &mut [C32], lines: Lines, first: usize) {
    let nl = b.len() / stride;
    if lines.ks == 1 {
        for (l, line) in b.chunks_exact(stride).enumerate() {
            z[(first + l) * lines.ls..][..lines.n].copy_from_slice(&line[..lines.n]);
        }
    } else {
        for k in 0..lines.n {
            let row = &mut z[k * lines.ks + first * lines.ls..][..nl];
            for (l, v) in row.iter_mut().enumerate() {
                *v = b[l * stride + k];
            }
        }
    }
}

/// The convolution form of the inner pass: `L` = the power of two ≥ 2N − 1 and, per active line,
/// `Ĝ = FFT_L(g) / L` with `g[d mod L] = h[d mod N]` (|d| < N), `h = IFFT_N(p')` (f64).
fn conv_kernels(n: usize, patterns: &[Vec<f64>]) -> Inner {
    let l = (2 * n - 1).next_power_of_two();
    let mut planner64 = FftPlanner::<f64>::new();
    let (inv_n, fwd_l) = (planner64.plan_fft_inverse(n), planner64.plan_fft_forward(l));
    let mut spectra = Vec::with_capacity(patterns.len() * l);
    for p in patterns {
        let mut hk: Vec<num_complex::Complex64> =
            p.iter().map(|&v| num_complex::Complex64::new(v, 0.0)).collect();
        inv_n.process(&mut hk);
        let mut g = vec![num_complex::Complex64::new(0.0, 0.0); l];
        g[..n].copy_from_slice(&hk);
        for d in 1..n {
            g[l - d] = hk[n - d];
        }
        fwd_l.process(&mut g);
        spectra.extend(g.iter().map(|v| C32::new((v.re / l as f64) as f32, (v.im / l as f64) as f32)));
    }
    let planner = crate::fft::global_planner();
    Inner::Conv { l, fwd: planner.plan_line(l, false), inv: planner.plan_line(l, true), spectra }
}

#[cfg(test)]
#[path = "grid_tests.rs"]
mod tests;
