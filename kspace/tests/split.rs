//! Self-supervised splits (kspace::split): SSDU's disjoint sets, calibration and line-wise
//! selection, determinism; Noisier2Noise's input ⊂ Ω and the statistical check that its loss
//! weighting makes the expected loss the fully supervised one; errors instead of panics.

use kspace::coils::calibration_region;
use kspace::mask::{self, MaskFunc, MaskParams};
use kspace::rng::MaskRng;
use kspace::split::{
    acquired_density, noisier2noise, noisier2noise_from, noisier2noise_k, ssdu, Calibration, Selection,
    SplitPair, SplitScheme, SsduOptions,
};
use kspace::{KspaceError, SamplingMask, C32};
use ndarray::{Array2, Array3};

fn family(name: &str, acc: f64) -> Box<dyn MaskFunc> {
    mask::from_name(name, &MaskParams::new(acc, 0.08)).unwrap()
}

fn draw(name: &str, acc: f64, shape: (usize, usize), seed: u32) -> SamplingMask {
    family(name, acc).sample(shape, seed).unwrap()
}

/// Input and target are disjoint, their union is Ω, the weight is 1 exactly on the target.
fn assert_ssdu_partition(omega: &SamplingMask, pair: &SplitPair) {
    for ((ij, &o), &t) in omega.keep.indexed_iter().zip(pair.target.iter()) {
        let i = pair.input.keep[ij];
        assert!(!(i && t), "bin {ij:?} in both sets");
        assert_eq!(i || t, o, "bin {ij:?}: union differs from Ω");
        assert_eq!(pair.weight[ij], if t { 1.0 } else { 0.0 }, "weight at {ij:?}");
    }
}

fn round_rho(rho: f64, n: usize) -> usize {
    (rho * n as f64).round() as usize
}

#[test]
fn ssdu_sets_are_disjoint_cover_omega_and_lambda_has_rho_of_omega() {
    let omega = draw("gaussian", 4.0, (48, 40), 3);
    for selection in [Selection::Uniform, Selection::Gaussian { std_fraction: 0.25 }] {
        for rho in [0.2, 0.4, 0.6] {
            let opts = SsduOptions { rho, selection, ..Default::default() };
            let pair = ssdu(&omega, &opts, &mut MaskRng::from_seed(7)).unwrap();
            assert_ssdu_partition(&omega, &pair);
            assert_eq!(pair.target_count(), round_rho(rho, omega.count()), "{selection:?} rho {rho}");
            assert!(pair.input.columns.is_none());
        }
    }
    // A 1-D acquisition split bin-wise on request.
    let omega = draw("random", 4.0, (16, 64), 5);
    let opts = SsduOptions { line_wise: false, ..Default::default() };
    let pair = ssdu(&omega, &opts, &mut MaskRng::from_seed(1)).unwrap();
    assert_ssdu_partition(&omega, &pair);
    assert_eq!(pair.target_count(), round_rho(0.4, omega.count()));
}

#[test]
fn ssdu_keeps_the_calibration_region_in_the_input() {
    let omega = draw("gaussian", 3.0, (40, 40), 11);
    let (rows, cols) = calibration_region(&omega).unwrap();
    let (r0, c0) = (20 - rows / 2, 20 - cols / 2);
    let detect = SsduOptions { calibration: Calibration::Detect, ..Default::default() };
    for seed in 0..20 {
        let pair = ssdu(&omega, &detect, &mut MaskRng::from_seed(seed)).unwrap();
        for i in r0..r0 + rows {
            for j in c0..c0 + cols {
                assert!(pair.input.keep[[i, j]], "calibration bin ({i}, {j}) left the input");
            }
        }
    }
    // The default protects only the paper's 4×4 block at DC: the rest of a large calibration
    // region can be scored, so the loss set covers the low frequencies.
    let omega =
        mask::from_name("gaussian", &MaskParams::new(3.0, 0.25)).unwrap().sample((40, 40), 11).unwrap();
    let (rows, cols) = calibration_region(&omega).unwrap();
    assert!(rows >= 8 && cols >= 8, "calibration region {rows}×{cols}");
    let (r0, c0) = (20 - rows / 2, 20 - cols / 2);
    let block = |i: usize, j: usize| (18..22).contains(&i) && (18..22).contains(&j);
    let mut centre_scored = false;
    for seed in 0..20 {
        let pair = ssdu(&omega, &SsduOptions::default(), &mut MaskRng::from_seed(seed)).unwrap();
        assert!((18..22).all(|i| (18..22).all(|j| pair.input.keep[[i, j]])), "the 4×4 block left the input");
        centre_scored |=
            (r0..r0 + rows).any(|i| (c0..c0 + cols).any(|j| !block(i, j) && pair.target[[i, j]]));
    }
    assert!(centre_scored, "no calibration bin outside the 4×4 block was ever scored");
    // A given size protects exactly that window; with none, the centre can be taken.
    let opts = SsduOptions { calibration: Calibration::Size(2, 2), rho: 0.6, ..Default::default() };
    let pair = ssdu(&omega, &opts, &mut MaskRng::from_seed(2)).unwrap();
    assert!(pair.input.keep[[19, 19]] && pair.input.keep[[20, 20]]);
    let opts = SsduOptions { calibration: Calibration::Off, rho: 0.6, ..Default::default() };
    let taken = (0..30).any(|s| ssdu(&omega, &opts, &mut MaskRng::from_seed(s)).unwrap().target[[20, 20]]);
    assert!(taken, "without protection DC is sometimes in the loss set");
}

#[test]
fn ssdu_line_wise_keeps_columns_whole() {
    let omega = draw("random", 4.0, (24, 96), 9);
    let cols = omega.columns.clone().unwrap();
    let n_cols = cols.iter().filter(|&&c| c).count();
    let (_, calib_cols) = calibration_region(&omega).unwrap();
    for selection in [Selection::Uniform, Selection::Gaussian { std_fraction: 0.25 }] {
        let opts = SsduOptions { selection, calibration: Calibration::Detect, ..Default::default() };
        let pair = ssdu(&omega, &opts, &mut MaskRng::from_seed(4)).unwrap();
        assert_ssdu_partition(&omega, &pair);
        let input_cols = pair.input.columns.as_ref().expect("the input stays 1-D");
        let target_cols: Vec<bool> = (0..96).map(|j| pair.target[[0, j]]).collect();
        for j in 0..96 {
            assert!((0..24).all(|i| pair.target[[i, j]] == target_cols[j]), "column {j} cut");
            assert!((0..24).all(|i| pair.input.keep[[i, j]] == input_cols[j]), "column {j} cut");
        }
        assert_eq!(target_cols.iter().filter(|&&t| t).count(), round_rho(0.4, n_cols));
        let c0 = 48 - calib_cols / 2;
        assert!(input_cols[c0..c0 + calib_cols].iter().all(|&c| c), "a calibration column left the input");
        // By default only the 4 columns of the 4×4 block at DC are protected.
        let pair = ssdu(&omega, &SsduOptions { selection, ..Default::default() }, &mut MaskRng::from_seed(4))
            .unwrap();
        let input_cols = pair.input.columns.as_ref().expect("the input stays 1-D");
        assert!(input_cols[46..50].iter().all(|&c| c), "a column of the 4×4 block left the input");
    }
}

#[test]
fn ssdu_same_seed_same_split_other_seed_other_split() {
    let omega = draw("gaussian", 4.0, (32, 32), 1);
    let opts = SsduOptions::default();
    let a = ssdu(&omega, &opts, &mut MaskRng::from_seed(42)).unwrap();
    let b = ssdu(&omega, &opts, &mut MaskRng::from_seed(42)).unwrap();
    let c = ssdu(&omega, &opts, &mut MaskRng::from_seed(43)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.target, c.target);
}

#[test]
fn ssdu_gaussian_selection_concentrates_the_loss_set_near_dc() {
    let omega = draw("random", 3.0, (8, 128), 2);
    let mean_dist = |selection| {
        let opts = SsduOptions { selection, ..Default::default() };
        let (mut sum, mut n) = (0.0, 0usize);
        for seed in 0..40 {
            let pair = ssdu(&omega, &opts, &mut MaskRng::from_seed(seed)).unwrap();
            for j in (0..128).filter(|&j| pair.target[[0, j]]) {
                sum += (j as f64 - 64.0).abs();
                n += 1;
            }
        }
        sum / n as f64
    };
    let (uniform, gauss) =
        (mean_dist(Selection::Uniform), mean_dist(Selection::Gaussian { std_fraction: 0.1 }));
    assert!(gauss < 0.75 * uniform, "gaussian {gauss} vs uniform {uniform}");
}

fn expect_invalid<T: std::fmt::Debug>(r: Result<T, KspaceError>, what: &str) {
    match r {
        Err(KspaceError::InvalidParameter(m)) | Err(KspaceError::Shape(m)) => {
            assert!(m.contains(what), "{m:?} lacks {what:?}")
        }
        other => panic!("expected an error about {what}, got {other:?}"),
    }
}

#[test]
fn bad_input_is_a_kspace_error_not_a_panic() {
    let empty = SamplingMask::new(Array2::from_elem((8, 8), false), Array2::ones((8, 8)));
    let rng = || MaskRng::from_seed(0);
    expect_invalid(ssdu(&empty, &SsduOptions::default(), &mut rng()), "samples nothing");
    expect_invalid(
        noisier2noise(&empty, family("gaussian", 2.0).as_ref(), Calibration::Off, &mut rng()),
        "nothing",
    );
    expect_invalid(acquired_density(&empty), "nothing");
    let omega = draw("gaussian", 4.0, (32, 32), 1);
    for rho in [0.0, 1.0, -0.2, 1.5, f64::NAN] {
        expect_invalid(ssdu(&omega, &SsduOptions { rho, ..Default::default() }, &mut rng()), "rho");
    }
    let bad_std = SsduOptions { selection: Selection::Gaussian { std_fraction: 0.0 }, ..Default::default() };
    expect_invalid(ssdu(&omega, &bad_std, &mut rng()), "std_fraction");
    let big = SsduOptions { calibration: Calibration::Size(40, 4), ..Default::default() };
    expect_invalid(ssdu(&omega, &big, &mut rng()), "larger than");
    // Everything measured is calibration: nothing can be taken out.
    let mut keep = Array2::from_elem((16, 16), false);
    keep.slice_mut(ndarray::s![6..10, 6..10]).fill(true);
    let centre = SamplingMask::new(keep, Array2::ones((16, 16)));
    expect_invalid(ssdu(&centre, &SsduOptions::default(), &mut rng()), "outside");
    // One sample, nothing protected: the input would be empty.
    let mut one = Array2::from_elem((4, 4), false);
    one[[0, 0]] = true;
    let single = SamplingMask::new(one, Array2::ones((4, 4)));
    let opts = SsduOptions { rho: 0.6, calibration: Calibration::Off, ..Default::default() };
    expect_invalid(ssdu(&single, &opts, &mut rng()), "non-empty");
    // Probabilities outside [0, 1], inconsistent shapes.
    let mut bad_p = omega.clone();
    bad_p.prob[[0, 0]] = 1.5;
    expect_invalid(ssdu(&bad_p, &SsduOptions::default(), &mut rng()), "probability");
    let lam = draw("gaussian", 2.0, (16, 16), 1);
    expect_invalid(noisier2noise_from(&omega, &lam, Calibration::Off), "Λ is");
    // Mixed kinds, and a Λ that shares nothing with Ω.
    let omega_1d = draw("random", 4.0, (32, 32), 1);
    expect_invalid(
        noisier2noise_from(&omega_1d, &draw("gaussian", 2.0, (32, 32), 1), Calibration::Off),
        "kind",
    );
    let apart = omega.keep.mapv(|k| !k);
    let disjoint = SamplingMask::new(apart, Array2::from_elem((32, 32), 0.5));
    expect_invalid(noisier2noise_from(&omega, &disjoint, Calibration::Off), "empty");
    // P̃ = 1 on a bin Λ left out contradicts the draw.
    let mut liar = draw("gaussian", 2.0, (32, 32), 4);
    liar.prob.fill(1.0);
    expect_invalid(noisier2noise_from(&omega, &liar, Calibration::Off), "contradict");
    expect_invalid(noisier2noise_k(&Array2::ones((2, 2)), &Array2::ones((3, 2))), "P̃");
}

#[test]
fn noisier2noise_input_is_inside_omega_and_lambda_with_the_paper_weight() {
    let omega = draw("gaussian", 4.0, (32, 32), 8);
    let lam = draw("gaussian", 2.0, (32, 32), 9);
    let pair = noisier2noise_from(&omega, &lam, Calibration::Off).unwrap();
    assert_eq!(pair.target, omega.keep);
    let k = noisier2noise_k(&omega.prob, &lam.prob).unwrap();
    for (ij, &o) in omega.keep.indexed_iter() {
        let input = pair.input.keep[ij];
        assert_eq!(input, o && lam.keep[ij], "input at {ij:?} is Ω ∩ Λ");
        assert!((pair.input.prob[ij] - omega.prob[ij] * lam.prob[ij]).abs() < 1e-6);
        let want = match (o, input) {
            (false, _) => 0.0,
            (true, true) => 1.0,
            (true, false) => 1.0 / (1.0 - k[ij]),
        };
        assert!((pair.weight[ij] - want).abs() <= 1e-4 * want.max(1.0), "weight at {ij:?}");
        assert!(!o || pair.weight[ij] >= 1.0);
    }
    // Protected calibration joins the input; 1-D masks stay 1-D.
    let omega = draw("random", 4.0, (8, 64), 3);
    let lam = draw("random", 2.0, (8, 64), 4);
    let pair = noisier2noise_from(&omega, &lam, Calibration::Detect).unwrap();
    let (_, cc) = calibration_region(&omega).unwrap();
    let calib = 32 - cc / 2..32 - cc / 2 + cc;
    let cols = pair.input.columns.as_ref().unwrap();
    for (j, &c) in cols.iter().enumerate() {
        assert_eq!(c, omega.keep[[0, j]] && (lam.keep[[0, j]] || calib.contains(&j)), "column {j}");
    }
}

/// For every bin, over `draws` independent (Ω, Λ), the mean of `weight·target` over the draws
/// that leave the bin out of the input — the factor by which the expected loss gradient
/// `E[∂/∂f_b weight·target·|f_b − y_b|²] = E[weight·target]·2(f_b − y₀_b)` differs from the fully
/// supervised one — must be 1, within 5 standard errors `√((1 − q)/(q·n_b))`, with
/// `q = 1 − K` the probability that an unseen bin is in Ω; the squared z-scores must average
/// about 1. Returns the largest |z| of the unweighted loss (weight 1 on Ω), which must fail.
fn check_unbiased(
    omega_f: &dyn MaskFunc,
    lambda_f: &dyn MaskFunc,
    shape: (usize, usize),
    draws: usize,
) -> f64 {
    let mut rng = MaskRng::from_seed(2023);
    let (h, w) = shape;
    let mut n = Array2::<f64>::zeros(shape);
    let mut sum = Array2::<f64>::zeros(shape);
    let mut sum_plain = Array2::<f64>::zeros(shape);
    let mut q = Array2::<f64>::zeros(shape);
    for _ in 0..draws {
        let omega = omega_f.sample_with_rng(shape, &mut rng).unwrap();
        let lam = lambda_f.sample_with_rng(shape, &mut rng).unwrap();
        let pair = noisier2noise_from(&omega, &lam, Calibration::Off).unwrap();
        let k = noisier2noise_k(&omega.prob, &lam.prob).unwrap();
        for ij in (0..h).flat_map(|i| (0..w).map(move |j| (i, j))) {
            if pair.input.keep[ij] {
                assert_eq!(pair.weight[ij], 1.0, "a seen bin counts once");
                continue;
            }
            n[ij] += 1.0;
            q[ij] = 1.0 - k[ij] as f64;
            if pair.target[ij] {
                sum[ij] += pair.weight[ij] as f64;
                sum_plain[ij] += 1.0;
            }
        }
    }
    let (mut z2, mut bins, mut worst_plain) = (0.0, 0usize, 0.0f64);
    for ij in (0..h).flat_map(|i| (0..w).map(move |j| (i, j))) {
        let (nb, qb) = (n[ij], q[ij]);
        if qb <= 0.0 {
            // P̃ = 1: a bin out of the input is out of Ω, never a target (weight undefined).
            assert_eq!(sum[ij], 0.0, "bin {ij:?} with P̃ = 1 became a target");
            continue;
        }
        if nb < 50.0 || qb >= 1.0 {
            continue;
        }
        let se = ((1.0 - qb) / (qb * nb)).sqrt();
        let z = (sum[ij] / nb - 1.0) / se;
        assert!(z.abs() < 5.0, "bin {ij:?}: E[weight·target | unseen] = {} (z = {z})", sum[ij] / nb);
        z2 += z * z;
        bins += 1;
        worst_plain = worst_plain.max(((sum_plain[ij] / nb - 1.0) / se).abs());
    }
    let mean_z2 = z2 / bins as f64;
    assert!(bins > 20 && (0.75..1.3).contains(&mean_z2), "{bins} bins, mean z² = {mean_z2}");
    worst_plain
}

#[test]
fn noisier2noise_weighting_makes_the_loss_unbiased_2d() {
    let plain =
        check_unbiased(family("gaussian", 4.0).as_ref(), family("gaussian", 2.0).as_ref(), (24, 24), 3000);
    assert!(plain > 10.0, "the unweighted loss should be visibly biased (max |z| = {plain})");
}

#[test]
fn noisier2noise_weighting_makes_the_loss_unbiased_1d() {
    let plain =
        check_unbiased(family("gaussian1d", 4.0).as_ref(), family("gaussian1d", 2.0).as_ref(), (2, 96), 3000);
    assert!(plain > 10.0, "the unweighted loss should be visibly biased (max |z| = {plain})");
}

#[test]
fn input_data_and_weighted_loss_follow_the_masks() {
    let omega = draw("gaussian", 4.0, (16, 16), 2);
    let pair = noisier2noise(
        &omega,
        family("gaussian", 2.0).as_ref(),
        Calibration::Detect,
        &mut MaskRng::from_seed(5),
    )
    .unwrap();
    let y = Array3::from_shape_fn((2, 16, 16), |(c, i, j)| C32::new((c + i) as f32, j as f32 - 3.0));
    let x = pair.input_data(&y).unwrap();
    for ((c, i, j), v) in x.indexed_iter() {
        let want = if pair.input.keep[[i, j]] { y[[c, i, j]] } else { C32::new(0.0, 0.0) };
        assert_eq!(*v, want);
    }
    let pred = y.mapv(|v| v + C32::new(1.0, -1.0));
    let want: f64 = (0..16 * 16)
        .map(|b| if pair.target[[b / 16, b % 16]] { pair.weight[[b / 16, b % 16]] as f64 } else { 0.0 })
        .sum::<f64>()
        * 2.0
        * 2.0;
    let got = pair.weighted_loss(&pred, &y).unwrap();
    assert!((got - want).abs() < 1e-6 * want, "{got} vs {want}");
    assert!(pair.weighted_loss(&pred, &Array3::zeros((2, 8, 16))).is_err());
}

#[test]
fn acquired_density_estimates_the_keep_probability() {
    let omega = draw("random", 4.0, (8, 100), 6);
    let (_, cc) = calibration_region(&omega).unwrap();
    let est = acquired_density(&omega).unwrap();
    assert_eq!(est.keep, omega.keep);
    let cols = omega.columns.as_ref().unwrap();
    let c0 = 50 - cc / 2;
    let outside: Vec<usize> = (0..100).filter(|j| !(c0..c0 + cc).contains(j)).collect();
    let q = outside.iter().filter(|&&j| cols[j]).count() as f32 / outside.len() as f32;
    for j in 0..100 {
        let want = if (c0..c0 + cc).contains(&j) { 1.0 } else { q };
        assert!((est.prob[[3, j]] - want).abs() < 1e-6, "column {j}");
    }
    let full = acquired_density(&SamplingMask::full((4, 4))).unwrap();
    assert!(full.prob.iter().all(|&p| p == 1.0));
}

#[test]
fn split_scheme_draws_reproducibly() {
    let omega = draw("gaussian1d", 4.0, (12, 64), 1);
    let schemes = [
        SplitScheme::Ssdu(SsduOptions::default()),
        SplitScheme::Noisier2Noise { lambda: family("gaussian1d", 2.0), calibration: Calibration::Detect },
    ];
    for s in &schemes {
        let a = s.draw(&omega, &mut MaskRng::from_seed(3)).unwrap();
        assert_eq!(a, s.draw(&omega, &mut MaskRng::from_seed(3)).unwrap(), "{s:?}");
        assert!(a.input.keep.iter().zip(&omega.keep).all(|(&i, &o)| !i || o), "input ⊂ Ω");
        assert!(a.input.columns.is_some(), "{s:?}: a 1-D acquisition keeps a 1-D input");
    }
}
