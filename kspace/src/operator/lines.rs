//! The normal operator `AᴴA` for 1-D sampling patterns with 1-D FFTs only.
//!
//! When the pattern depends on one axis only — every row of `P` equal (a Cartesian phase-encode
//! mask over W, fastMRI's `random` / `equispaced`) or every column equal (over H) — the 2-D
//! normal operator separates. With `F = F_H ⊗ F_W` and `P = 1 ⊗ diag(p)`:
//!
//! `Fᴴ P F = (F_Hᴴ F_H) ⊗ (F_Wᴴ diag(p) F_W) = I ⊗ (F_Wᴴ diag(p) F_W)`,
//!
//! so the FFT along the fully sampled axis cancels and only the sampled axis is transformed:
//! half the FFT work of every CG / FISTA / ADMM iteration (more when the other axis has a
//! length rustfft transforms slowly, e.g. a prime). The centring shifts cancel too: with the
//! centred transform `F_c = S F U` (`S` = fftshift, `U` = ifftshift, both circular shifts),
//! `F_cᴴ diag(p) F_c = Uᴴ (Fᴴ diag(p') F) U` with `p'[k] = p[(k + ⌊n/2⌋) mod n]`, and the
//! circulant `Fᴴ diag(p') F` commutes with the circular shift `U`, so
//!
//! `F_cᴴ diag(p) F_c = FFT⁻¹ · diag(p' / n) · FFT` (unnormalised, uncentred rustfft transforms),
//!
//! the `1/n` being the orthonormal scaling of the pair. Each task takes a block of lines and,
//! for every coil `c`, forms `S_c x` on those lines, transforms, weights, transforms back and
//! accumulates `Σ_c conj(S_c) ·` into the output: one fused pass, no `(C, H, W)` buffer,
//! parallel (rayon) over line blocks, scratch reused per task.

use crate::{SamplingMask, C32};
use ndarray::{ArrayView3, ArrayViewMut3, Axis};
use rayon::prelude::*;
use rustfft::Fft;
use std::sync::Arc;

/// Lines per task (4 lines × 8 coils × 256 samples = 64 kB of scratch: stays in L2).
const LINES_PER_TASK: usize = 4;

/// The axis of the image the sampled k-space axis transforms along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineAxis {
    /// `P[i, j] = p[j]` (every row equal): FFTs along W, over each row.
    Rows,
    /// `P[i, j] = p[i]` (every column equal): FFTs along H, over each column.
    Columns,
}

/// `AᴴA` by 1-D FFTs for a pattern that depends on one axis only; see the module docs.
#[derive(Clone)]
pub struct LineNormal {
    axis: LineAxis,
    /// `p'[k] / n`: the pattern along the sampled axis, ifftshift-ed, with the 1/n scale.
    weights: Vec<f32>,
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
    scratch: usize,
}

impl std::fmt::Debug for LineNormal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineNormal").field("axis", &self.axis).field("n", &self.weights.len()).finish()
    }
}

impl LineNormal {
    /// The 1-D form of `mask`'s normal operator, or `None` when the pattern varies along both
    /// axes. A pattern constant along both (e.g. fully sampled) transforms along rows.
    pub fn new(mask: &SamplingMask) -> Option<Self> {
        let keep = &mask.keep;
        let (h, w) = keep.dim();
        if h == 0 || w == 0 {
            return None;
        }
        let (axis, line) = if keep.rows().into_iter().all(|r| r == keep.row(0)) {
            (LineAxis::Rows, keep.row(0).to_vec())
        } else if keep.columns().into_iter().all(|c| c == keep.column(0)) {
            (LineAxis::Columns, keep.column(0).to_vec())
        } else {
            return None;
        };
        let n = line.len();
        let weights = (0..n).map(|k| if line[(k + n / 2) % n] { 1.0 / n as f32 } else { 0.0 }).collect();
        let planner = crate::fft::global_planner();
        let (fwd, inv) = (planner.plan_line(n, false), planner.plan_line(n, true));
        let scratch = fwd.get_inplace_scratch_len().max(inv.get_inplace_scratch_len());
        Some(LineNormal { axis, weights, fwd, inv, scratch })
    }

    /// The axis the FFTs run along.
    pub fn axis(&self) -> LineAxis {
        self.axis
    }

    /// `out = (AᴴA + λ I) x` for maps `(M, C, H, W)` and images `(M, H, W)`; all three must be
    /// in standard layout (returns `false`, doing nothing, otherwise).
    pub fn apply(
        &self,
        maps: &ndarray::Array4<C32>,
        x: &ArrayView3<C32>,
        lambda: f32,
        out: &mut ArrayViewMut3<C32>,
    ) -> bool {
        let (Some(s), Some(xs)) = (maps.as_slice(), x.as_slice()) else { return false };
        if !out.is_standard_layout() {
            return false;
        }
        let (nm, nc, h, w) = maps.dim();
        let n = self.weights.len();
        // Element (line ℓ, sample k) of an (H, W) plane sits at `ℓ·ls + k·ks`.
        let (block_axis, ls, ks) = match self.axis {
            LineAxis::Rows => (Axis(1), w, 1),
            LineAxis::Columns => (Axis(2), 1, w),
        };
        let plane = h * w;
        out.axis_chunks_iter_mut(block_axis, LINES_PER_TASK).into_par_iter().enumerate().for_each_init(
            || vec![C32::default(); nc * LINES_PER_TASK * n + self.scratch],
            |buf, (task, mut o)| {
                let first = task * LINES_PER_TASK;
                let nl = o.len_of(block_axis);
                let (lines, scratch) = buf.split_at_mut(nc * nl * n);
                // Expand: lines[c][l][k] = Σ_m S[m, c, ℓ, k] x[m, ℓ, k].
                for c in 0..nc {
                    for l in 0..nl {
                        let dst = &mut lines[(c * nl + l) * n..][..n];
                        let base = (first + l) * ls;
                        for m in 0..nm {
                            let (sm, xm) = (&s[(m * nc + c) * plane..], &xs[m * plane..]);
                            for (k, d) in dst.iter_mut().enumerate() {
                                let v = sm[base + k * ks] * xm[base + k * ks];
                                *d = if m == 0 { v } else { *d + v };
                            }
                        }
                    }
                }
                self.fwd.process_with_scratch(lines, scratch);
                for line in lines.chunks_exact_mut(n) {
                    line.iter_mut().zip(&self.weights).for_each(|(v, &p)| *v *= p);
                }
                self.inv.process_with_scratch(lines, scratch);
                // Reduce: out[m, ℓ, k] = Σ_c conj(S[m, c, ℓ, k]) lines[c][l][k] + λ x[m, ℓ, k].
                for m in 0..nm {
                    for l in 0..nl {
                        let base = (first + l) * ls;
                        for k in 0..n {
                            let i = base + k * ks;
                            let mut acc = xs[m * plane + i] * lambda;
                            for c in 0..nc {
                                acc += s[(m * nc + c) * plane + i].conj() * lines[(c * nl + l) * n + k];
                            }
                            let (r, q) = match self.axis {
                                LineAxis::Rows => (l, k),
                                LineAxis::Columns => (k, l),
                            };
                            o[[m, r, q]] = acc;
                        }
                    }
                }
            },
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::testing::{assert_normal_matches_2d, noise};
    use crate::operator::SenseOperator;
    use ndarray::{Array1, Array2, Array3, Array4};

    /// A pattern constant along one axis: `line[k]` kept at (·, k) for `Rows`, (k, ·) for `Columns`.
    fn line_mask(h: usize, w: usize, axis: LineAxis, seed: u64) -> SamplingMask {
        let n = if axis == LineAxis::Rows { w } else { h };
        let line: Array1<bool> =
            noise(n, seed).into_iter().enumerate().map(|(k, z)| z.re > 0.1 || k == n / 2).collect();
        let keep = Array2::from_shape_fn((h, w), |(i, j)| line[if axis == LineAxis::Rows { j } else { i }]);
        SamplingMask::new(keep, Array2::ones((h, w)))
    }

    /// The 1-D normal operator equals the 2-D one on random maps and images: both orientations,
    /// odd, even and prime sizes, one and two map sets, λ = 0 and λ > 0.
    #[test]
    fn line_normal_equals_the_2d_normal_operator() {
        for (h, w) in [(13, 11), (12, 9), (16, 20), (7, 53), (37, 8)] {
            for axis in [LineAxis::Rows, LineAxis::Columns] {
                for (sets, coils) in [(1, 3), (2, 4)] {
                    let seed = (h * 1000 + w * 10 + sets) as u64;
                    let mask = line_mask(h, w, axis, seed);
                    let maps =
                        Array4::from_shape_vec((sets, coils, h, w), noise(sets * coils * h * w, seed + 1))
                            .unwrap();
                    let mut op = SenseOperator::with_map_sets(maps, &mask).unwrap();
                    let full = mask.keep.iter().all(|&k| k) || mask.keep.iter().all(|&k| !k);
                    let want_axis = if full { LineAxis::Rows } else { axis };
                    assert_eq!(op.line_axis(), Some(want_axis), "{h}×{w} {axis:?}");
                    let x = Array3::from_shape_vec((sets, h, w), noise(sets * h * w, seed + 2)).unwrap();
                    assert_normal_matches_2d(&mut op, &x, &format!("{h}×{w} {axis:?} M={sets}"));
                }
            }
        }
    }

    /// A pattern that varies along both axes keeps the 2-D operator; a non-standard-layout
    /// image falls back to it with the same result.
    #[test]
    fn two_dimensional_patterns_and_strided_views_use_the_2d_path() {
        let (h, w) = (10, 12);
        let keep = Array2::from_shape_fn((h, w), |(i, j)| (i * 7 + j * 3) % 5 < 2);
        let mask = SamplingMask::new(keep, Array2::ones((h, w)));
        assert!(LineNormal::new(&mask).is_none());
        let maps = Array3::from_shape_vec((2, h, w), noise(2 * h * w, 5)).unwrap();
        assert_eq!(SenseOperator::new(maps.clone(), &mask).unwrap().line_axis(), None);
        let mask = line_mask(h, w, LineAxis::Columns, 3);
        let mut op = SenseOperator::new(maps, &mask).unwrap();
        let xt = Array3::from_shape_vec((1, w, h), noise(h * w, 6)).unwrap();
        let x = xt.view().permuted_axes([0, 2, 1]);
        let (mut a, mut b) = (Array3::zeros((1, h, w)), Array3::zeros((1, h, w)));
        op.normal(&x, 0.1, &mut a.view_mut()).unwrap();
        op.normal_2d(&x.to_owned().view(), 0.1, &mut b.view_mut()).unwrap();
        let err = (&a - &b).iter().map(|z| z.norm()).fold(0.0f32, f32::max);
        assert!(err < 1e-5, "{err}");
    }
}
