//! Physics tests: undersampling, density compensation, zero-filled reconstruction, RSS, crop/pad,
//! coil sensitivities and combination, data consistency, and sampling-pattern analysis.
//! Masks are built here from rand_mt Bernoulli draws with known probabilities, so these tests do
//! not depend on the mask families. Numpy references live in tests/fixtures/physics/.

use kspace::analysis::{self, PsfGeometry, PsfWeighting};
use kspace::coils::{self, SensitivityOptions, Window};
use kspace::consistency::DataConsistency;
use kspace::undersample::{
    center_crop, center_crop_or_pad, center_pad, density_compensate, density_compensate_inplace, rss,
    undersample, undersample_inplace, zero_filled,
};
use kspace::{fft2c, ifft2c, SamplingMask, C32};
use ndarray::{s, Array, Array2, Array3, ArrayD, Axis, IxDyn};
use rand_mt::Mt64;

// ---------------------------------------------------------------- helpers

fn uniform(rng: &mut Mt64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn gaussian(rng: &mut Mt64) -> f32 {
    let (u, v) = (uniform(rng).max(1e-300), uniform(rng));
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}

fn random_complex(shape: &[usize], seed: u64) -> ArrayD<C32> {
    let mut rng = Mt64::new(seed);
    Array::from_shape_simple_fn(IxDyn(shape), || C32::new(gaussian(&mut rng), gaussian(&mut rng)))
}

/// Independent Bernoulli mask with keep probability `p(i, j)` (clamped to [0, 1]).
fn bernoulli(h: usize, w: usize, p: impl Fn(usize, usize) -> f32, rng: &mut Mt64) -> SamplingMask {
    let prob = Array2::from_shape_fn((h, w), |(i, j)| p(i, j).clamp(0.0, 1.0));
    let keep = prob.mapv(|p| uniform(rng) < p as f64);
    SamplingMask::new(keep, prob)
}

/// The Noise2Noise density p(r) = exp(−λ r), p_edge at r_edge, DC kept with p = 1.
fn n2n_mask(h: usize, w: usize, p_edge: f32, rng: &mut Mt64) -> SamplingMask {
    let r_edge = (h.min(w) / 2) as f32;
    let lambda = -p_edge.ln() / r_edge;
    bernoulli(
        h,
        w,
        |i, j| {
            let r = ((i as f32 - (h / 2) as f32).powi(2) + (j as f32 - (w / 2) as f32).powi(2)).sqrt();
            (-lambda * r).exp()
        },
        rng,
    )
}

/// A piecewise-constant ellipse phantom (real, ≥ 0, zero background), like Shepp–Logan.
fn phantom(h: usize, w: usize) -> Array2<f32> {
    let ellipses = [
        (0.0, 0.0, 0.72, 0.85, 0.0, 1.0),
        (0.0, -0.02, 0.66, 0.78, 0.0, -0.6),
        (0.22, 0.0, 0.11, 0.31, -0.3, -0.2),
        (-0.22, 0.0, 0.16, 0.41, 0.3, -0.2),
        (0.0, 0.35, 0.21, 0.25, 0.0, 0.3),
        (0.05, -0.4, 0.08, 0.06, 0.0, 0.4),
    ];
    Array2::from_shape_fn((h, w), |(i, j)| {
        let y = (i as f32 - (h / 2) as f32) / (h as f32 / 2.0);
        let x = (j as f32 - (w / 2) as f32) / (w as f32 / 2.0);
        ellipses
            .iter()
            .filter(|&&(cx, cy, a, b, th, _)| {
                let (c, s) = (f32::cos(th), f32::sin(th));
                let (u, v) = ((x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c);
                (u / a).powi(2) + (v / b).powi(2) <= 1.0
            })
            .map(|e| e.5)
            .sum::<f32>()
    })
}

fn to_c(x: &Array2<f32>) -> Array2<C32> {
    x.mapv(|v| C32::new(v, 0.0))
}

fn max_abs_diff<D: ndarray::Dimension>(a: &Array<C32, D>, b: &Array<C32, D>) -> f32 {
    a.iter().zip(b).map(|(a, b)| (a - b).norm()).fold(0.0, f32::max)
}

/// Reads a fixture: `shape d0 d1 …` then one value (`re im` if complex) per line.
fn fixture(name: &str) -> (Vec<usize>, Vec<Vec<f32>>) {
    let path = format!("{}/tests/fixtures/physics/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let shape = lines.next().unwrap().split_whitespace().skip(1).map(|t| t.parse().unwrap()).collect();
    let vals = lines.map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect()).collect();
    (shape, vals)
}

// ---------------------------------------------------------------- undersampling

#[test]
fn undersampling_leaves_no_negative_zero() {
    let mut rng = Mt64::new(1);
    let mask = bernoulli(16, 12, |_, _| 0.4, &mut rng);
    // Negative values everywhere, and some −0.0 components, so a plain multiply would leak −0.0.
    let mut k = random_complex(&[3, 16, 12], 2).mapv(|z| C32::new(-z.re.abs() - 0.5, -z.im.abs()));
    k[[0, 0, 0]] = C32::new(-0.0, -0.0);
    let under = undersample(&k, &mask).unwrap();
    let mut inplace = k.clone();
    undersample_inplace(&mut inplace, &mask).unwrap();
    let comp = density_compensate(&k, &mask).unwrap();
    let mut dropped = 0;
    for ((idx, &orig), (&u, (&v, &c))) in k.indexed_iter().zip(under.iter().zip(inplace.iter().zip(&comp))) {
        let keep = mask.keep[[idx[1], idx[2]]];
        if keep {
            assert_eq!(u, orig + C32::new(0.0, 0.0));
            assert_eq!(c, orig / 0.4);
        } else {
            dropped += 1;
            for z in [u, v, c] {
                assert_eq!((z.re.to_bits(), z.im.to_bits()), (0, 0), "−0.0 leaked at {idx:?}");
            }
        }
        assert_eq!(u, v);
    }
    assert!(dropped > 0);
    assert!(undersample(&Array3::<C32>::zeros((2, 16, 11)), &mask).is_err());
}

#[test]
fn density_compensation_divides_by_p() {
    let mut rng = Mt64::new(3);
    let mask = bernoulli(10, 14, |i, j| 0.1 + 0.06 * i as f32 + 0.01 * j as f32, &mut rng);
    let k = random_complex(&[10, 14], 4).into_dimensionality::<ndarray::Ix2>().unwrap();
    let mut c = k.clone();
    density_compensate_inplace(&mut c, &mask).unwrap();
    for ((ij, &v), &orig) in c.indexed_iter().zip(&k) {
        let expect = if mask.keep[ij] { orig / mask.prob[ij] } else { C32::new(0.0, 0.0) };
        assert!((v - expect).norm() <= 1e-6 * expect.norm().max(1.0), "{ij:?}");
    }
}

#[test]
fn zero_filled_with_full_mask_round_trips() {
    let img = random_complex(&[2, 13, 10], 5);
    let k = fft2c(&img);
    let full = SamplingMask::full((13, 10));
    for compensate in [false, true] {
        let zf = zero_filled(&k, &full, compensate).unwrap();
        assert!(max_abs_diff(&zf, &img) < 1e-5, "compensate={compensate}");
    }
}

#[test]
fn compensated_zero_filled_is_unbiased() {
    // E[keep/p] = 1, so the mean of K compensated zero-filled images converges to the image with
    // RMS error σ/√K, σ² = (1/N) Σ_k |S_k|² (1 − p_k)/p_k.
    let (h, w) = (64, 64);
    let img = to_c(&phantom(h, w));
    let k = fft2c(&img);
    let prob = n2n_mask(h, w, 0.1, &mut Mt64::new(0)).prob;
    let n = (h * w) as f64;
    let sigma2: f64 =
        k.iter().zip(&prob).map(|(s, &p)| s.norm_sqr() as f64 * (1.0 - p as f64) / p as f64).sum::<f64>() / n;
    let trials = 3;
    let mut rng = Mt64::new(42);
    let mut rms = vec![];
    for kk in [16usize, 64, 256] {
        let mut mse = 0.0;
        for _ in 0..trials {
            let mut mean = Array2::<C32>::zeros((h, w));
            for _ in 0..kk {
                mean += &zero_filled(&k, &n2n_mask(h, w, 0.1, &mut rng), true).unwrap();
            }
            mean /= C32::new(kk as f32, 0.0);
            mse += mean.iter().zip(&img).map(|(a, b)| (a - b).norm_sqr() as f64).sum::<f64>() / n;
        }
        let mse = mse / trials as f64;
        let ratio = mse * kk as f64 / sigma2;
        assert!((0.6..1.6).contains(&ratio), "K={kk}: MSE·K/σ² = {ratio}");
        rms.push(mse.sqrt());
    }
    for pair in rms.windows(2) {
        let r = pair[0] / pair[1];
        assert!((1.6..2.5).contains(&r), "RMS error ratio per 4× K = {r} ({rms:?})");
    }
    let img_rms = (img.iter().map(|z| z.norm_sqr() as f64).sum::<f64>() / n).sqrt();
    assert!(rms[2] < 0.1 * img_rms, "{rms:?} vs image RMS {img_rms}");
}

#[test]
fn rss_matches_numpy() {
    let (shape, vals) = fixture("rss_input.txt");
    let x =
        Array::from_shape_vec(IxDyn(&shape), vals.iter().map(|v| C32::new(v[0], v[1])).collect()).unwrap();
    let (eshape, evals) = fixture("rss_expected.txt");
    let got = rss(&x, 1).unwrap();
    assert_eq!(got.shape(), &eshape[..]);
    for (g, e) in got.iter().zip(evals.iter().map(|v| v[0])) {
        assert!((g - e).abs() <= 1e-6 * e.max(1.0), "{g} vs {e}");
    }
    assert!(rss(&x, 4).is_err());
}

#[test]
fn center_crop_and_pad_follow_fastmri() {
    let x = Array2::from_shape_fn((640, 368), |(i, j)| (i * 1000 + j) as f32);
    let c = center_crop(&x, (320, 320)).unwrap();
    assert_eq!(c.dim(), (320, 320));
    assert_eq!(c[[0, 0]], (160 * 1000 + 24) as f32); // (640−320)//2, (368−320)//2
                                                     // Odd sizes: start = (H − h) // 2.
    let y = Array3::from_shape_fn((2, 7, 8), |(s, i, j)| (s * 100 + i * 10 + j) as f32);
    let c = center_crop(&y, (4, 5)).unwrap();
    assert_eq!(c[[1, 0, 0]], 100.0 + 10.0 + 1.0);
    assert!(center_crop(&y, (8, 5)).is_err());
    // Pad then crop is the identity; the padding is zero.
    let z = random_complex(&[3, 5, 6], 9);
    let p = center_pad(&z, (10, 9)).unwrap();
    assert_eq!(p.shape(), &[3, 10, 9]);
    assert_eq!(center_crop(&p, (5, 6)).unwrap(), z);
    assert_eq!(p[[0, 0, 0]], C32::new(0.0, 0.0));
    assert_eq!(p[[2, 2, 1]], z[[2, 0, 0]]);
    // Mixed: crop H, pad W (brain 640×320 → 320×320 keeps W; here 9×4 → 5×6).
    let m = Array2::from_shape_fn((9, 4), |(i, j)| (i * 10 + j) as i32);
    let r = center_crop_or_pad(&m, (5, 6), -1);
    assert_eq!(r.row(0).to_vec(), vec![-1, 20, 21, 22, 23, -1]);
    assert_eq!(r[[4, 4]], 63);
}

// ---------------------------------------------------------------- coils

#[test]
fn synthetic_maps_are_normalised_smooth_and_distinct() {
    let (c, h, w) = (8, 64, 80);
    let s = coils::synthetic_sensitivities(c, h, w).unwrap();
    assert_eq!(s.dim(), (c, h, w));
    for v in coils::sensitivity_norm(&s) {
        assert!((v - 1.0).abs() < 1e-5, "Σ|s|² = {v}");
    }
    // Smooth: the largest step between neighbouring pixels is small and halves when the grid
    // is refined 2× (a Lipschitz map, no edges); second differences are far smaller still.
    let steps = |s: &Array3<C32>| {
        let d1 = (s.slice(s![.., 1.., ..]).to_owned() - s.slice(s![.., ..-1, ..])).mapv(|z| z.norm());
        let d2 = (s.slice(s![.., .., 1..]).to_owned() - s.slice(s![.., .., ..-1])).mapv(|z| z.norm());
        d1.iter().chain(d2.iter()).cloned().fold(0.0f32, f32::max)
    };
    let curv = |s: &Array3<C32>| {
        let n = s.dim().2;
        let d = s.slice(s![.., .., 2..]).to_owned() - s.slice(s![.., .., 1..n - 1]).mapv(|z| z * 2.0)
            + s.slice(s![.., .., ..n - 2]);
        d.iter().map(|z| z.norm()).fold(0.0f32, f32::max)
    };
    let (step, step2) = (steps(&s), steps(&coils::synthetic_sensitivities(c, 2 * h, 2 * w).unwrap()));
    assert!(step < 0.1, "max neighbour step {step}");
    assert!((1.7..2.3).contains(&(step / step2)), "steps {step} → {step2} on a 2× grid");
    assert!(curv(&s) < 0.2 * step, "curvature {} vs step {step}", curv(&s));
    // Each coil is brightest near its own side: coil 0 sits at angle 0 (the +x edge).
    let m0 = s.index_axis(Axis(0), 0);
    assert!(m0[[h / 2, w - 1]].norm() > 4.0 * m0[[h / 2, 0]].norm());
    assert!(coils::synthetic_sensitivities(0, 4, 4).is_err());
}

#[test]
fn combine_inverts_simulated_coils() {
    let (h, w) = (48, 40);
    let img = phantom(h, w);
    let sens = coils::synthetic_sensitivities(6, h, w).unwrap();
    let k = coils::simulate_coils(&img, &sens).unwrap();
    assert_eq!(k.dim(), (6, h, w));
    let back = coils::combine(&ifft2c(&k), &sens).unwrap();
    assert!(max_abs_diff(&back, &to_c(&img)) < 1e-5);
    // Exactly linear, and maps broadcast over leading (slice) axes.
    let x = random_complex(&[2, 6, h, w], 11);
    let y = coils::combine(&x, &sens).unwrap();
    assert_eq!(y.shape(), &[2, h, w]);
    let x0 = x.index_axis(Axis(0), 0).to_owned().into_dimensionality::<ndarray::Ix3>().unwrap();
    let a = C32::new(0.3, -1.2);
    let lin = coils::combine(&(x0.mapv(|z| z * a) + &k), &sens).unwrap();
    let expect = coils::combine(&x0, &sens).unwrap().mapv(|z| z * a) + coils::combine(&k, &sens).unwrap();
    assert!(max_abs_diff(&lin, &expect) < 1e-4);
    // No coil sees a pixel → 0, not NaN.
    let mut zero_sens = sens.clone();
    zero_sens.slice_mut(s![.., 0, 0]).fill(C32::new(0.0, 0.0));
    let z = coils::combine(&x0, &zero_sens).unwrap();
    assert_eq!(z[[0, 0]], C32::new(0.0, 0.0));
    assert!(z.iter().all(|v| v.is_finite()));
    assert!(coils::combine(&x0, &coils::synthetic_sensitivities(5, h, w).unwrap()).is_err());
}

/// Relative L2 error of `est` against `img` over the object's interior (img > 0.05).
fn interior_error(est: &Array2<C32>, img: &Array2<f32>) -> f32 {
    let (mut e, mut n) = (0.0f32, 0.0f32);
    for (a, &b) in est.iter().zip(img) {
        if b > 0.05 {
            e += (a - C32::new(b, 0.0)).norm_sqr();
            n += b * b;
        }
    }
    (e / n).sqrt()
}

#[test]
fn estimated_sensitivities_reproduce_the_image() {
    let (h, w) = (96, 96);
    let img = phantom(h, w);
    let sens = coils::synthetic_sensitivities(8, h, w).unwrap();
    let k = coils::simulate_coils(&img, &sens).unwrap();
    let coil_imgs = ifft2c(&k);
    for window in [Window::Hann, Window::Kaiser(4.0)] {
        let opts = SensitivityOptions { window, ..Default::default() };
        let est = coils::estimate_sensitivities(&k, (24, 24), &opts).unwrap();
        let norm = coils::sensitivity_norm(&est);
        assert!(norm.iter().all(|&v| (v - 1.0).abs() < 1e-4 || v == 0.0));
        let err = interior_error(&coils::combine(&coil_imgs, &est).unwrap(), &img);
        assert!(err < 0.05, "{window:?}: interior error {err}");
    }
    // From an undersampled 1-D mask: 12 fully sampled centre columns + 30 % random columns.
    let mut rng = Mt64::new(17);
    let cols: Vec<bool> =
        (0..w).map(|j| (w / 2 - 6..w / 2 + 6).contains(&j) || uniform(&mut rng) < 0.3).collect();
    let prob: Vec<f32> = cols.iter().map(|_| 0.3).collect();
    let mask = SamplingMask::from_columns(h, &cols, &prob);
    let calib = coils::calibration_region(&mask).unwrap();
    assert_eq!(calib.0, h);
    assert!(calib.1 >= 12);
    let under = undersample(&k, &mask).unwrap();
    let est = coils::estimate_sensitivities_from_mask(&under, &mask, &SensitivityOptions::default()).unwrap();
    let err = interior_error(&coils::combine(&coil_imgs, &est).unwrap(), &img);
    assert!(err < 0.08, "1-D calibration: interior error {err}");
}

#[test]
fn calibration_region_and_windows() {
    let mut keep = Array2::from_elem((20, 16), false);
    keep.slice_mut(s![10 - 3..10 + 3, 8 - 2..8 + 2]).fill(true); // 6 × 4 around DC (10, 8)
    keep[[0, 0]] = true;
    let mask = SamplingMask::new(keep, Array2::from_elem((20, 16), 0.5));
    assert_eq!(coils::calibration_region(&mask), Some((6, 4)));
    assert_eq!(coils::calibration_region(&SamplingMask::full((5, 7))), Some((5, 7)));
    // A 2-D random mask with a fully sampled 8 × 6 block around DC (BART's `-C`), odd grid.
    let mut rnd = bernoulli(33, 27, |_, _| 0.3, &mut Mt64::new(61));
    rnd.keep.slice_mut(s![16 - 4..16 + 4, 13 - 3..13 + 3]).fill(true);
    assert_eq!(coils::calibration_region(&rnd), Some((8, 6)));
    let mut no_dc = mask.clone();
    no_dc.keep[[10, 8]] = false;
    assert_eq!(coils::calibration_region(&no_dc), None);
    for win in [Window::Rect, Window::Hann, Window::Kaiser(6.0)] {
        let wts = win.weights(9);
        assert!((wts[4] - 1.0).abs() < 1e-6);
        assert!(wts.iter().all(|&v| v > 0.0 && v <= 1.0 + 1e-6));
        assert!((wts[0] - wts[8]).abs() < 1e-6);
    }
}

// ---------------------------------------------------------------- data consistency

#[test]
fn data_consistency_puts_back_measurements() {
    let mut rng = Mt64::new(21);
    let mask = n2n_mask(32, 24, 0.2, &mut rng);
    let truth = random_complex(&[2, 32, 24], 22);
    let dc = DataConsistency::new(&truth, &mask).unwrap();
    let pred0 = random_complex(&[2, 32, 24], 23);
    let mut pred = pred0.clone();
    dc.apply_kspace(&mut pred).unwrap();
    for ((idx, &p), (&t, &p0)) in pred.indexed_iter().zip(truth.iter().zip(&pred0)) {
        if mask.keep[[idx[1], idx[2]]] {
            assert_eq!(p, t, "measured bin {idx:?}");
        } else {
            assert_eq!(p, p0, "unmeasured bin {idx:?}");
        }
    }
    let mut twice = pred.clone();
    dc.apply_kspace(&mut twice).unwrap();
    assert_eq!(twice, pred);
    // Raw values are put back, not density-compensated ones.
    let dc2 = DataConsistency::new(&density_compensate(&truth, &mask).unwrap(), &mask).unwrap();
    assert_ne!(dc2.measured(), dc.measured());
    // Image domain: ifft2c(DC(fft2c(x))) and idempotence.
    let mut im = pred0.clone();
    dc.apply_image(&mut im).unwrap();
    let mut k_im = fft2c(&pred0);
    dc.apply_kspace(&mut k_im).unwrap();
    assert!(max_abs_diff(&fft2c(&im), &k_im) < 1e-5);
    let mut im2 = im.clone();
    dc.apply_image(&mut im2).unwrap();
    assert!(max_abs_diff(&im2, &im) < 1e-5);
    // Shape errors.
    assert!(dc.apply_kspace(&mut Array3::<C32>::zeros((3, 32, 24))).is_err());
}

#[test]
fn soft_data_consistency_and_broadcast() {
    let mut rng = Mt64::new(31);
    let mask = bernoulli(16, 16, |_, _| 0.5, &mut rng);
    let meas = random_complex(&[16, 16], 32);
    let dc = DataConsistency::new(&meas, &mask).unwrap().soft(3.0).unwrap();
    assert_eq!(dc.lambda(), Some(3.0));
    let pred0 = random_complex(&[4, 16, 16], 33); // a batch against one measurement
    let mut pred = pred0.clone();
    dc.apply_kspace(&mut pred).unwrap();
    for ((idx, &p), &p0) in pred.indexed_iter().zip(&pred0) {
        let ij = [idx[1], idx[2]];
        let expect = if mask.keep[ij] { (p0 + meas[&ij[..]] * 3.0) / 4.0 } else { p0 };
        assert!((p - expect).norm() < 1e-6);
    }
    assert!(DataConsistency::new(&meas, &mask).unwrap().soft(-1.0).is_err());
    assert_eq!(DataConsistency::new(&meas, &mask).unwrap().soft(f32::INFINITY).unwrap().lambda(), None);
    // Real-image variant (Noise2Noise): Re(ifft2c(DC(fft2c(x)))).
    let img = phantom(16, 16);
    let hard = DataConsistency::new(&fft2c(&to_c(&img)), &mask).unwrap();
    let mut noisy = img.mapv(|v| v + 0.3);
    hard.apply_real_image(&mut noisy).unwrap();
    let mut cplx = to_c(&img.mapv(|v| v + 0.3));
    hard.apply_image(&mut cplx).unwrap();
    assert!(noisy.iter().zip(&cplx).all(|(a, b)| (a - b.re).abs() < 1e-5));
}

// Sampling-pattern analysis.
#[test]
fn full_mask_psf_is_a_delta() {
    let mask = SamplingMask::full((32, 24));
    let psf = analysis::point_spread_function(&mask, PsfWeighting::Mask);
    for ((i, j), &v) in psf.indexed_iter() {
        let expect = if (i, j) == (16, 12) { 1.0 } else { 0.0 };
        assert!((v - expect).abs() < 1e-5, "({i}, {j}) = {v}");
    }
    let a = analysis::analyse(&mask);
    assert_eq!(a.acceleration, 1.0);
    assert_eq!(analysis::achieved_acceleration(&mask), 1.0);
    assert_eq!(a.sampled_fraction, 1.0);
    assert!(a.psr < 1e-5 && a.incoherence < 1e-5 && a.psr_compensated < 1e-5);
    assert_eq!(a.calibration, Some((32, 24)));
}

#[test]
fn psf_matches_numpy() {
    let (shape, vals) = fixture("psf_mask.txt");
    let keep =
        Array2::from_shape_vec((shape[0], shape[1]), vals.iter().map(|v| v[0] > 0.5).collect()).unwrap();
    let mask = SamplingMask::new(keep, Array2::from_elem((shape[0], shape[1]), 0.4));
    let (_, expected) = fixture("psf_expected.txt");
    for (mode, scale) in [(PsfWeighting::Mask, 1.0), (PsfWeighting::Compensated, 1.0)] {
        let psf = analysis::point_spread_function(&mask, mode);
        for (g, e) in psf.iter().zip(&expected) {
            assert!((g - e[0] * scale).abs() < 1e-5, "{mode:?}: {g} vs {}", e[0]);
        }
    }
}

#[test]
fn equispaced_mask_aliases_coherently() {
    // Every 4th column: the PSF is a comb of W/4-spaced replicas as high as the peak (PSR = 1).
    let (h, w) = (32, 64);
    let cols: Vec<bool> = (0..w).map(|j| j % 4 == 0).collect();
    let mask = SamplingMask::from_columns(h, &cols, &vec![0.25; w]);
    assert_eq!(analysis::psf_geometry(&mask), PsfGeometry::Row);
    let psf = analysis::point_spread_function(&mask, PsfWeighting::Mask);
    for j in [w / 2 - w / 4, w / 2 + w / 4, 0] {
        assert!((psf[[h / 2, j]] - 1.0).abs() < 1e-5, "replica at column {j}: {}", psf[[h / 2, j]]);
    }
    assert!(psf.iter().enumerate().all(|(n, &v)| n / w == h / 2 || v < 1e-5), "PSF off the centre row");
    let a = analysis::analyse(&mask);
    assert!((a.psr - 1.0).abs() < 1e-4, "PSR {}", a.psr);
    assert!((a.acceleration - 4.0).abs() < 1e-12);
    assert!((analysis::peak_sidelobe_ratio(&mask) - 1.0).abs() < 1e-4);
    // Adding a fully sampled centre lowers, but does not remove, the coherent replicas.
    let cols2: Vec<bool> = (0..w).map(|j| j % 4 == 0 || (w / 2 - 4..w / 2 + 4).contains(&j)).collect();
    let psr2 = analysis::peak_sidelobe_ratio(&SamplingMask::from_columns(h, &cols2, &vec![0.25; w]));
    assert!((0.5..1.0).contains(&psr2), "PSR with centre {psr2}");
}

#[test]
fn random_mask_interference_is_incoherent() {
    // Uniform Bernoulli(f): off-peak |PSF|² has mean (1 − f)/(f N) (N bins), so the incoherence
    // is √((1 − f)/(f N)) and the largest sidelobe a few times that (max of N Rayleigh draws).
    let (h, w, f) = (128, 128, 0.25f32);
    let mask = bernoulli(h, w, |_, _| f, &mut Mt64::new(51));
    let a = analysis::analyse(&mask);
    let expect = ((1.0 - f as f64) / (f as f64 * (h * w) as f64)).sqrt();
    assert!((a.incoherence / expect - 1.0).abs() < 0.05, "incoherence {} vs {expect}", a.incoherence);
    assert!(a.psr > 2.5 * expect && a.psr < 6.0 * expect, "PSR {} (σ {expect})", a.psr);
    // Uniform p: compensation only rescales, so the normalised PSF is the same.
    assert!((a.psr_compensated - a.psr).abs() < 1e-6);
    assert!((a.sampled_fraction - f as f64).abs() < 0.01 && (a.expected_fraction - f as f64).abs() < 1e-6);
    assert_eq!(a.geometry, PsfGeometry::Plane);
    // Random 1-D column mask: a line PSF; statistics taken on the line of W samples.
    let mut rng = Mt64::new(52);
    let cols: Vec<bool> = (0..w).map(|j| j == w / 2 || uniform(&mut rng) < 0.25).collect();
    let m1 = SamplingMask::from_columns(h, &cols, &vec![0.25; w]);
    let a1 = analysis::analyse(&m1);
    assert_eq!(a1.geometry, PsfGeometry::Row);
    assert!(a1.psr > 0.05 && a1.psr < 0.6, "1-D PSR {}", a1.psr);
    let expect1 = ((1.0 - a1.sampled_fraction) / (a1.sampled_fraction * w as f64)).sqrt();
    assert!((a1.incoherence / expect1 - 1.0).abs() < 0.25, "1-D incoherence {} vs {expect1}", a1.incoherence);
    // The N2N variable-density mask: keeps ~10 % and its compensated PSF is noise-like.
    let vd = analysis::analyse(&n2n_mask(128, 128, 0.025, &mut Mt64::new(53)));
    assert!(vd.acceleration > 5.0 && vd.acceleration < 20.0, "{vd}");
    assert!(vd.psr < 0.5 && vd.psr_compensated < 0.5, "{vd}");
    assert!(!format!("{vd}").is_empty());
}
