//! Tests of [`super::GridNormal`] against the plain 2-D normal operator.

use super::*;
use crate::operator::testing::{assert_normal_matches_2d, noise};
use crate::operator::SenseOperator;
use ndarray::{Array2, Array3};

/// The fused operator equals the plain 2-D one: Bluestein lengths on either axis (53, 59,
/// 233: convolution form) and on neither (direct form), odd and even sizes, one and two map
/// sets, rows of prime length in Rader's order (37, 197), maps zero on some lines (skipped)
/// and on one whole coil, pattern lines with no sample, λ = 0 and λ > 0.
#[test]
fn grid_normal_equals_the_2d_normal_operator() {
    let coils = rayon::current_num_threads().max(3);
    for (h, w, conv) in [(53, 12, true), (10, 59, true), (233, 9, true), (16, 20, false), (13, 11, false)] {
        for sets in [1, 2] {
            let seed = (h * 1000 + w * 10 + sets) as u64;
            let r = noise(h * w, seed);
            // A 2-D pattern (varies along both axes), with inner line 1 of either axis empty.
            let keep = Array2::from_shape_fn((h, w), |(i, j)| {
                r[i * w + j].re > 0.0 && i != 1 && j != 1 || (i, j) == (h / 2, w / 2)
            });
            let mask = SamplingMask::new(keep, Array2::ones((h, w)));
            let mut maps =
                Array4::from_shape_vec((sets, coils, h, w), noise(sets * coils * h * w, seed + 1)).unwrap();
            for c in 0..coils {
                // Coil c is zero on rows and columns ≡ c mod 4; the last coil everywhere.
                maps.slice_mut(ndarray::s![.., c, c % 4..;4, ..]).fill(C32::new(0.0, 0.0));
                maps.slice_mut(ndarray::s![.., c, .., c % 4..;4]).fill(C32::new(0.0, 0.0));
            }
            maps.slice_mut(ndarray::s![.., coils - 1, .., ..]).fill(C32::new(0.0, 0.0));
            let mut op = SenseOperator::with_map_sets(maps.clone(), &mask).unwrap();
            assert_eq!(op.line_axis(), None);
            let grid = GridNormal::new(&mask, &maps);
            assert_eq!(grid.inner().1, conv, "{h}×{w}");
            assert_eq!(grid.rader.is_some(), w == 37 || w == 197, "{h}×{w}");
            let x = Array3::from_shape_vec((sets, h, w), noise(sets * h * w, seed + 2)).unwrap();
            assert_normal_matches_2d(&mut op, &x, &format!("{h}×{w} M={sets}"));
        }
    }
}

/// The SIMD complex product equals the scalar one, remainder lanes included.
#[test]
fn complex_products_match_the_scalar_form() {
    for n in [1, 4, 7, 513] {
        let (a, b) = (noise(n, 1), noise(n, 2));
        let mut got = a.clone();
        complex_mul_assign(&mut got, &b);
        for k in 0..n {
            assert!((got[k] - a[k] * b[k]).norm() <= 1e-7, "n={n} k={k}");
        }
    }
}

/// Runs of supported lines are cut into batches of at most `BATCH`, unsupported lines skipped.
#[test]
fn batches_cover_exactly_the_supported_lines() {
    let support: Vec<bool> = (0..40).map(|l| l % 11 != 3 && l != 20).collect();
    let mut seen = vec![false; support.len()];
    for_batches(&support, |first, n| {
        assert!((1..=BATCH).contains(&n));
        for s in &mut seen[first..first + n] {
            assert!(!*s);
            *s = true;
        }
    });
    assert_eq!(seen, support);
}
