//! The periodic db2 wavelet: PyWavelets equivalence (fixtures made by
//! `tests/fixtures/wavelet/make_fixtures.py`), perfect reconstruction, orthogonality
//! (Parseval), the level rule and soft-thresholding.

mod common;

use common::{read_cfl, Rand};
use kspace::wavelet::{roll, soft, Wavelet2};
use kspace::C32;
use ndarray::{Array2, Ix2};

fn energy(x: &Array2<C32>) -> f64 {
    x.iter().map(|z| z.norm_sqr() as f64).sum()
}

#[test]
fn db2_matches_pywavelets_periodization() {
    for (h, w, l) in [(32, 32, 1), (64, 48, 2), (8, 12, 1)] {
        let x = read_cfl(&format!("wavelet/db2_{h}x{w}_L{l}_x")).into_dimensionality::<Ix2>().unwrap();
        let want =
            read_cfl(&format!("wavelet/db2_{h}x{w}_L{l}_coeffs")).into_dimensionality::<Ix2>().unwrap();
        let wav = Wavelet2::with_levels(h, w, l).unwrap();
        let mut c = x.clone();
        wav.forward(&mut c.view_mut()).unwrap();
        let err = c.iter().zip(&want).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
        assert!(err < 1e-5, "{h}x{w} L{l}: max error {err}");
        wav.inverse(&mut c.view_mut()).unwrap();
        let err = c.iter().zip(&x).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
        assert!(err < 1e-5, "{h}x{w} L{l}: inverse error {err}");
    }
}

#[test]
fn perfect_reconstruction_and_parseval() {
    let mut r = Rand(7);
    for (h, w) in [(256, 256), (64, 48), (368, 320), (30, 17)] {
        let wav = Wavelet2::new(h, w);
        let x = Array2::from_shape_simple_fn((h, w), || r.c());
        let mut c = x.clone();
        wav.forward(&mut c.view_mut()).unwrap();
        let (ex, ec) = (energy(&x), energy(&c));
        assert!((ex - ec).abs() < 1e-4 * ex, "{h}x{w}: Parseval {ex} vs {ec}");
        wav.inverse(&mut c.view_mut()).unwrap();
        let err = c.iter().zip(&x).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
        assert!(err < 1e-5, "{h}x{w}: reconstruction error {err}");
    }
}

#[test]
fn level_rule_keeps_coarse_scale_at_least_16() {
    assert_eq!(Wavelet2::new(256, 256).levels, 4);
    assert_eq!(Wavelet2::new(368, 640).levels, 4); // 368 = 16·23
    assert_eq!(Wavelet2::new(32, 32).levels, 1);
    assert_eq!(Wavelet2::new(31, 64).levels, 0); // coarse scale would be under 16
    assert_eq!(Wavelet2::new(16, 16).levels, 0);
    // Sizes 2^L does not divide are padded, not left without levels.
    let odd = Wavelet2::new(233, 197);
    assert_eq!((odd.levels, odd.padded), (3, (240, 200)));
    assert_eq!(Wavelet2::new(300, 484).padded, (304, 496));
    assert_eq!(Wavelet2::new(256, 256).padded, (256, 256));
}

/// On an odd-size grid the thresholding step is `Pᵀ Ψᵀ soft Ψ P` with levels: τ = 0 returns
/// the image, the map is non-expansive, and a piecewise-constant image is sparse in Ψ P (its
/// wavelet L1 norm is far below its pixel L1 norm, which it equalled when such sizes had no
/// levels).
#[test]
fn odd_sizes_are_padded_and_thresholding_stays_a_proximal_step() {
    let (h, w) = (233, 197);
    let wav = Wavelet2::new(h, w);
    let blocks = Array2::from_shape_fn((h, w), |(i, j)| {
        let inside = (40..190).contains(&i) && (30..170).contains(&j);
        C32::new(if inside { 1.0 + ((i / 50 + j / 60) % 3) as f32 } else { 0.0 }, 0.0)
    });
    let pixels: f64 = blocks.iter().map(|z| z.norm() as f64).sum();
    let coeffs = wav.l1_norm(&blocks.view()).unwrap();
    assert!(coeffs < 0.3 * pixels, "wavelet L1 {coeffs} vs pixel L1 {pixels}");
    let mut y = blocks.clone();
    wav.threshold(&mut y, 0.0, (5, 3)).unwrap();
    let err = y.iter().zip(&blocks).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
    assert!(err < 1e-5, "τ=0 must return the input, error {err}");
    let mut r = Rand(11);
    let (a, b) =
        (Array2::from_shape_simple_fn((h, w), || r.c()), Array2::from_shape_simple_fn((h, w), || r.c()));
    let (mut ta, mut tb) = (a.clone(), b.clone());
    wav.threshold(&mut ta, 0.3, (7, 2)).unwrap();
    wav.threshold(&mut tb, 0.3, (7, 2)).unwrap();
    let dist = |p: &Array2<C32>, q: &Array2<C32>| {
        p.iter().zip(q).map(|(u, v)| (u - v).norm_sqr() as f64).sum::<f64>()
    };
    assert!(dist(&ta, &tb) <= dist(&a, &b) * (1.0 + 1e-5), "thresholding must be non-expansive");
    // The translation-invariant threshold (an average of such maps) is non-expansive too,
    // returns the image at τ = 0, and differs from every single-grid threshold.
    let (mut ia, mut ib) = (a.clone(), b.clone());
    wav.threshold_invariant(&mut ia, 0.3).unwrap();
    wav.threshold_invariant(&mut ib, 0.3).unwrap();
    assert!(dist(&ia, &ib) <= dist(&a, &b) * (1.0 + 1e-5), "invariant threshold must be non-expansive");
    for &shift in &wav.invariant_shifts() {
        let mut one = a.clone();
        wav.threshold(&mut one, 0.3, shift).unwrap();
        assert!(dist(&one, &ia) > 1e-3 * dist(&a, &ia), "shift {shift:?} alone equals the average");
    }
    let mut same = blocks.clone();
    wav.threshold_invariant(&mut same, 0.0).unwrap();
    assert!(dist(&same, &blocks) < 1e-8 * dist(&blocks, &Array2::zeros((h, w))));
}

/// The four invariant shifts put each axis on four different phases of every scale from
/// period 4 on (and both phases of period 2), with distinct shift pairs; fewer levels
/// remove duplicates.
#[test]
fn invariant_shifts_cover_the_phases_of_every_scale() {
    let wav = Wavelet2::new(256, 256); // 4 levels: period 16
    let shifts = wav.invariant_shifts();
    assert_eq!(shifts.len(), 4);
    for period in [4usize, 8, 16] {
        for axis in 0..2 {
            let mut phases: Vec<usize> = shifts.iter().map(|s| [s.0, s.1][axis] % period).collect();
            phases.sort_unstable();
            phases.dedup();
            assert_eq!(phases.len(), 4, "axis {axis} period {period}: {shifts:?}");
        }
    }
    assert!(shifts.iter().all(|&(y, x)| y < 16 && x < 16));
    assert_eq!(Wavelet2::new(32, 32).invariant_shifts(), vec![(0, 0), (1, 1)]); // 1 level
    assert_eq!(Wavelet2::new(16, 16).invariant_shifts(), vec![(0, 0)]); // no levels
}

#[test]
fn thresholding_zero_is_identity_and_large_is_zero() {
    let mut r = Rand(3);
    let x = Array2::from_shape_simple_fn((64, 64), || r.c());
    let wav = Wavelet2::new(64, 64);
    let mut y = x.clone();
    wav.threshold(&mut y, 0.0, (3, 5)).unwrap();
    let err = y.iter().zip(&x).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
    assert!(err < 1e-5, "λ=0 must return the input, error {err}");
    wav.threshold(&mut y, 1e6, (1, 2)).unwrap();
    assert!(y.iter().all(|z| z.norm() == 0.0));
    assert_eq!(soft(C32::new(3.0, 4.0), 2.5), C32::new(1.5, 2.0));
}

#[test]
fn roll_is_circular_and_invertible() {
    let mut x = Array2::from_shape_fn((3, 4), |(i, j)| C32::new((i * 4 + j) as f32, 0.0));
    let orig = x.clone();
    roll(&mut x, 1, -1);
    assert_eq!(x[[1, 0]], orig[[0, 1]]);
    roll(&mut x, -1, 1);
    assert_eq!(x, orig);
}

#[test]
fn explicit_levels_must_divide_the_size() {
    assert!(Wavelet2::with_levels(48, 40, 3).is_ok());
    assert!(Wavelet2::with_levels(48, 40, 4).is_err());
    assert!(Wavelet2::with_levels(48, 40, 200).is_err());
    let mut wrong = Array2::<C32>::zeros((40, 48));
    assert!(Wavelet2::new(48, 40).forward(&mut wrong.view_mut()).is_err());
    assert!(Wavelet2::new(48, 40).threshold(&mut wrong, 0.1, (0, 0)).is_err());
}
