//! SENSE (CG), L1-wavelet (FISTA) and TV (ADMM): least-squares limits, optimality, monotone
//! objective, improvement over zero-filled, single coil, and bad input.

mod common;

use common::{phantom, psnr, Rand};
use kspace::coils::{simulate_coils, synthetic_sensitivities};
use kspace::operator::SenseOperator;
use kspace::pics::{
    l1_wavelet, sense, total_variation, CycleSpinning, FinalStep, PicsOptions, Scaling, TvOptions,
};
use kspace::wavelet::Wavelet2;
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Axis};

/// Phantom, maps scaled by a smooth non-uniform gain (so AᴴA ≠ I), k-space.
fn setup(nc: usize, h: usize, w: usize) -> (Array2<C32>, Array3<C32>, Array3<C32>) {
    let img = phantom(h, w).mapv(|v| C32::new(v, 0.3 * v));
    let mut s = synthetic_sensitivities(nc, h, w).unwrap();
    for ((_, i, j), v) in s.indexed_iter_mut() {
        *v *= 0.6 + 0.4 * ((i as f32 / h as f32) * 3.0).sin().abs() + 0.1 * (j as f32 / w as f32);
    }
    let k = simulate_coils(&img, &s).unwrap();
    (img, s, k)
}

/// Variable-density 2-D mask: centre 12×12 plus pseudo-random bins (≈ 3×).
fn mask(h: usize, w: usize, seed: u64) -> SamplingMask {
    let mut r = Rand(seed);
    let keep = Array2::from_shape_fn((h, w), |(i, j)| {
        let d = ((i as f32 - h as f32 / 2.0).powi(2) + (j as f32 - w as f32 / 2.0).powi(2)).sqrt()
            / (h.min(w) as f32 / 2.0);
        (i + 6 >= h / 2 && i < h / 2 + 6 && j + 6 >= w / 2 && j < w / 2 + 6)
            || r.next() + 0.5 < 0.45 * (1.0 - d).max(0.15)
    });
    let prob = Array2::ones((h, w));
    SamplingMask::new(keep, prob)
}

fn max_err(a: &Array2<C32>, b: &Array2<C32>) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0f32, f32::max)
}

#[test]
fn cg_converges_to_least_squares_on_fully_sampled_data() {
    for (nc, h, w) in [(8, 32, 32), (3, 31, 20), (1, 16, 17)] {
        let (img, s, k) = setup(nc, h, w);
        let full = SamplingMask::full((h, w));
        let mut op = SenseOperator::new(s, &full).unwrap();
        let o = PicsOptions { lambda: 0.0, iterations: 40, scaling: Scaling::None, ..Default::default() };
        let x = sense(&mut op, &k.view(), &o).unwrap();
        let e = max_err(&x.first_map_set().to_owned(), &img);
        assert!(e < 1e-4, "{nc} coils {h}x{w}: CG error {e}");
        // With BART scaling the answer is the same (the scale is undone).
        let o = PicsOptions { lambda: 0.0, iterations: 40, ..Default::default() };
        let x = sense(&mut op, &k.view(), &o).unwrap();
        assert!(max_err(&x.first_map_set().to_owned(), &img) < 1e-4);
    }
}

#[test]
fn cg_solves_regularised_normal_equations_when_undersampled() {
    let (_, s, k) = setup(6, 40, 36);
    let m = mask(40, 36, 5);
    let mut op = SenseOperator::new(s, &m).unwrap();
    let o = PicsOptions { lambda: 0.05, iterations: 200, scaling: Scaling::None, ..Default::default() };
    let x = sense(&mut op, &k.view(), &o).unwrap().image;
    let mut lhs = Array3::zeros(x.raw_dim());
    op.normal(&x.view(), 0.05, &mut lhs.view_mut()).unwrap();
    let rhs = op.apply_adjoint(&k.view()).unwrap();
    let res = (&lhs - &rhs).iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt();
    let nb = rhs.iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt();
    assert!(res < 1e-4 * nb, "normal-equation residual {res} vs ‖Aᴴy‖ {nb}");
}

#[test]
fn fista_with_zero_lambda_returns_least_squares() {
    let (img, s, k) = setup(4, 32, 32);
    let full = SamplingMask::full((32, 32));
    let mut op = SenseOperator::new(s, &full).unwrap();
    let o = PicsOptions { lambda: 0.0, iterations: 300, scaling: Scaling::None, ..Default::default() };
    let x = l1_wavelet(&mut op, &k.view(), &o).unwrap();
    let e = max_err(&x.first_map_set().to_owned(), &img);
    assert!(e < 1e-3, "FISTA λ=0 error {e}");
}

#[test]
fn fista_objective_is_monotone_with_restart_and_reaches_a_fixed_point() {
    let (mut op, k) = undersampled_problem();
    let lambda = 0.02;
    let o = PicsOptions {
        lambda,
        iterations: 300,
        cycle_spinning: CycleSpinning::None,
        final_step: FinalStep::Threshold,
        restart: true,
        track_objective: true,
        step: 1.0,
        ..Default::default()
    };
    let r = l1_wavelet(&mut op, &k.view(), &o).unwrap();
    assert!(r.objective.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-6)), "objective increased");
    assert!(r.objective.last().unwrap() < &r.objective[0]);
    // Fixed point of the proximal-gradient map on the scaled problem: x = prox(x − s∇f(x)).
    let x = r.image.mapv(|z| z / r.scaling);
    let y = k.mapv(|z| z / r.scaling);
    let aty = op.apply_adjoint(&y.view()).unwrap();
    let mut g = Array3::zeros(x.raw_dim());
    op.normal(&x.view(), 0.0, &mut g.view_mut()).unwrap();
    let step = 0.5; // any step works at the optimum; the bound L ≤ 1.36 here
    let mut p = (&x - &(&g - &aty).mapv(|z| z * step)).index_axis(Axis(0), 0).to_owned();
    Wavelet2::new(32, 32).threshold(&mut p, lambda * step, (0, 0)).unwrap();
    let diff = max_err(&p, &x.index_axis(Axis(0), 0).to_owned());
    let scale = x.iter().map(|z| z.norm()).fold(0.0f32, f32::max);
    assert!(diff < 2e-3 * scale, "prox-gradient fixed-point residual {diff} (image max {scale})");
}

/// 4 coils, 32×32, the random mask of seed 9: the operator and its k-space.
fn undersampled_problem() -> (SenseOperator, Array3<C32>) {
    let (_, s, k) = setup(4, 32, 32);
    (SenseOperator::new(s, &mask(32, 32, 9)).unwrap(), k)
}

/// FISTA's `L = max_pixel Σ_{m,c} |S_{m,c}|²` (its step is `step / L`, the FISTA docs).
fn lipschitz(op: &SenseOperator) -> f32 {
    let maps = op.maps();
    let (_, _, h, w) = maps.dim();
    (0..h * w)
        .map(|p| maps.slice(ndarray::s![.., .., p / w, p % w]).iter().map(|z| z.norm_sqr()).sum::<f32>())
        .fold(0.0f32, f32::max)
}

/// The default translation-invariant threshold is one fixed proximal map (a proximal average),
/// so FISTA converges to `x = T(x − s∇f(x))` with `T` that averaged threshold and `s` the
/// step it ran with.
#[test]
fn fista_with_invariant_threshold_reaches_its_fixed_point() {
    let (mut op, k) = undersampled_problem();
    let lambda = 0.02;
    let o = PicsOptions {
        lambda,
        iterations: 400,
        scaling: Scaling::None,
        final_step: FinalStep::Threshold,
        ..Default::default()
    };
    assert_eq!(o.cycle_spinning, CycleSpinning::Invariant, "the default");
    let x = l1_wavelet(&mut op, &k.view(), &o).unwrap().image;
    let lip = lipschitz(&op);
    let step = o.step / lip;
    let aty = op.apply_adjoint(&k.view()).unwrap();
    let mut g = Array3::zeros(x.raw_dim());
    op.normal(&x.view(), 0.0, &mut g.view_mut()).unwrap();
    let mut p = (&x - &(&g - &aty).mapv(|z| z * step)).index_axis(Axis(0), 0).to_owned();
    Wavelet2::new(32, 32).threshold_invariant(&mut p, lambda * step).unwrap();
    let diff = max_err(&p, &x.index_axis(Axis(0), 0).to_owned());
    let scale = x.iter().map(|z| z.norm()).fold(0.0f32, f32::max);
    assert!(diff < 1e-3 * scale, "fixed-point residual {diff} (image max {scale})");
    // The same run with the data-consistency output is that fixed point's gradient step.
    let dc =
        l1_wavelet(&mut op, &k.view(), &PicsOptions { final_step: FinalStep::DataConsistency, ..o }).unwrap();
    let expected = &x - &(&g - &aty).mapv(|z| z * step);
    let e = max_err(&dc.first_map_set().to_owned(), &expected.index_axis(Axis(0), 0).to_owned());
    assert!(e < 1e-3 * scale, "data-consistency output off by {e}");
}

/// With λ so large that every coefficient is thresholded away, FISTA's iterates stay 0: the
/// thresholded output is 0 and the data-consistency output is one gradient step from 0,
/// `s Aᴴ y`.
#[test]
fn final_step_chooses_between_the_threshold_and_one_gradient_step() {
    let (_, s, k) = setup(4, 32, 32);
    let m = mask(32, 32, 5);
    let mut op = SenseOperator::new(s, &m).unwrap();
    let o =
        PicsOptions { lambda: 1e6, iterations: 5, scaling: Scaling::None, step: 0.5, ..Default::default() };
    for spin in [CycleSpinning::Invariant, CycleSpinning::Random, CycleSpinning::None] {
        let t = l1_wavelet(
            &mut op,
            &k.view(),
            &PicsOptions { cycle_spinning: spin, final_step: FinalStep::Threshold, ..o },
        );
        assert!(t.unwrap().image.iter().all(|z| z.norm() == 0.0), "{spin:?}");
    }
    let dc = l1_wavelet(&mut op, &k.view(), &o).unwrap();
    let lip = lipschitz(&op);
    let want = op.apply_adjoint(&k.view()).unwrap().mapv(|z| z * (0.5 / lip));
    let e = max_err(&dc.first_map_set().to_owned(), &want.index_axis(Axis(0), 0).to_owned());
    let scale = want.iter().map(|z| z.norm()).fold(0.0f32, f32::max);
    assert!(e <= 1e-6 * scale, "data-consistency output is not s·Aᴴy: {e}");
}

#[test]
fn every_method_beats_zero_filled_on_undersampled_data() {
    let (img, s, k) = setup(8, 64, 64);
    let m = mask(64, 64, 3);
    let mut op = SenseOperator::new(s, &m).unwrap();
    let zf = op.apply_adjoint(&k.view()).unwrap().index_axis(Axis(0), 0).to_owned();
    let norm = kspace::coils::sensitivity_norm(&op.maps().index_axis(Axis(0), 0));
    let zf = ndarray::Zip::from(&zf).and(&norm).map_collect(|z, &n| if n > 0.0 { z / n } else { *z });
    let base = psnr(&img, &zf);
    let o = PicsOptions { lambda: 0.005, iterations: 30, ..Default::default() };
    let results = [
        ("sense", sense(&mut op, &k.view(), &o).unwrap()),
        ("l1", l1_wavelet(&mut op, &k.view(), &PicsOptions { iterations: 50, ..o }).unwrap()),
        ("tv", total_variation(&mut op, &k.view(), &o, &TvOptions::default()).unwrap()),
    ];
    // The cost in applications of AᴴA: CG steps; FISTA's iterations and its final
    // data-consistency step; ADMM's CG steps, between one and ten per iteration.
    let cost: Vec<usize> = results.iter().map(|(_, r)| r.normal_applications).collect();
    assert!(cost[0] <= 30 && cost[0] == results[0].1.iterations, "{cost:?}");
    assert_eq!(cost[1], 51);
    assert!((30..=300).contains(&cost[2]), "{cost:?}");
    for (name, r) in results {
        let p = psnr(&img, &r.first_map_set().to_owned());
        assert!(p > base + 3.0, "{name}: {p} dB vs zero-filled {base} dB");
        assert!(r.image.iter().all(|z| z.re.is_finite() && z.im.is_finite()));
    }
}

#[test]
fn single_coil_works_with_every_method() {
    let (img, _, _) = setup(1, 32, 32);
    let maps = Array3::from_elem((1, 32, 32), C32::new(1.0, 0.0));
    let k = simulate_coils(&img, &maps).unwrap();
    let full = SamplingMask::full((32, 32));
    let mut op = SenseOperator::new(maps, &full).unwrap();
    let o = PicsOptions { lambda: 0.0, iterations: 100, step: 1.0, ..Default::default() };
    for x in [
        sense(&mut op, &k.view(), &o).unwrap(),
        l1_wavelet(&mut op, &k.view(), &o).unwrap(),
        total_variation(&mut op, &k.view(), &o, &TvOptions { cg_tolerance: 0.0, ..Default::default() })
            .unwrap(),
    ] {
        assert!(max_err(&x.first_map_set().to_owned(), &img) < 1e-3);
    }
}

#[test]
fn nan_data_and_bad_options_are_errors() {
    let (_, s, k) = setup(3, 16, 16);
    let m = mask(16, 16, 1);
    let mut op = SenseOperator::new(s, &m).unwrap();
    let o = PicsOptions::default();
    // NaN at an unsampled position is ignored (never measured); at a sampled one it is an error.
    let (mut bad, mut ignored) = (k.clone(), k.clone());
    let (si, sj) = (8, 8);
    let (ui, uj) = m.keep.indexed_iter().find(|(_, &kp)| !kp).map(|(ij, _)| ij).unwrap();
    bad[[1, si, sj]] = C32::new(f32::NAN, 0.0);
    ignored[[1, ui, uj]] = C32::new(f32::NAN, f32::INFINITY);
    assert!(sense(&mut op, &bad.view(), &o).is_err());
    assert!(l1_wavelet(&mut op, &bad.view(), &o).is_err());
    assert!(total_variation(&mut op, &bad.view(), &o, &TvOptions::default()).is_err());
    let r = sense(&mut op, &ignored.view(), &o).unwrap();
    assert!(r.image.iter().all(|z| z.re.is_finite() && z.im.is_finite()));
    assert!(sense(&mut op, &k.view(), &PicsOptions { lambda: -1.0, ..o }).is_err());
    assert!(sense(&mut op, &k.view(), &PicsOptions { scaling: Scaling::Fixed(0.0), ..o }).is_err());
    assert!(l1_wavelet(&mut op, &k.view(), &PicsOptions { step: f32::NAN, ..o }).is_err());
    assert!(total_variation(&mut op, &k.view(), &o, &TvOptions { rho: 0.0, ..Default::default() }).is_err());
    assert!(sense(&mut op, &k.slice(ndarray::s![..2, .., ..]), &o).is_err());
    // All-zero data: zeros, not NaN.
    let z = sense(&mut op, &Array3::zeros((3, 16, 16)).view(), &o).unwrap();
    assert!(z.image.iter().all(|v| *v == C32::new(0.0, 0.0)));
}

#[test]
fn two_espirit_map_sets_reconstruct_with_every_method() {
    use kspace::espirit::{espirit, EspiritOptions};
    let (img, _, k) = setup(6, 48, 48);
    let m = mask(48, 48, 4);
    let mut under = k.clone();
    kspace::undersample::undersample_inplace(&mut under, &m).unwrap();
    let maps = espirit(&under.view(), &m, &EspiritOptions { maps: 2, ..Default::default() }).unwrap();
    let mut op = SenseOperator::with_map_sets(maps.maps, &m).unwrap();
    assert_eq!(op.image_shape(), (2, 48, 48));
    let o = PicsOptions { lambda: 0.005, iterations: 30, ..Default::default() };
    for r in [
        sense(&mut op, &under.view(), &o).unwrap(),
        l1_wavelet(&mut op, &under.view(), &o).unwrap(),
        total_variation(&mut op, &under.view(), &o, &TvOptions::default()).unwrap(),
    ] {
        assert_eq!(r.image.dim(), (2, 48, 48));
        // The first set carries the image (up to the maps' smooth phase): compare magnitudes.
        let first = r.first_map_set().to_owned();
        let p = psnr(&img.mapv(|z| C32::new(z.norm(), 0.0)), &first.mapv(|z| C32::new(z.norm(), 0.0)));
        assert!(p > 20.0, "first map set PSNR {p}");
    }
}
