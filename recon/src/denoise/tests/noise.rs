//! The corruption models of `recon::denoise` against their definitions: moments, rates,
//! zero mean given the clean image, seeding, strength ranges; and the losses the pipeline
//! trains with (masked L2 on Bernoulli targets, the annealed-L0 exponent).

use crate::denoise::{
    noise::{blur_kernel, poisson_draw},
    text, NoiseKind, NoiseSpec,
};
use kspace::rng::MaskRng;
use models::{gamma_schedule, Device, Loss, Tensor};
use ndarray::Array3;

fn rng(seed: u32) -> MaskRng {
    MaskRng::from_seed(seed)
}

/// A smooth RGB test image in [−0.4, 0.4] (no values at the clipping edges).
fn ramp(c: usize, h: usize, w: usize) -> Array3<f32> {
    Array3::from_shape_fn((c, h, w), |(k, i, j)| {
        0.4 * ((i as f32 / h as f32) * 2.0 - 1.0) * ((j as f32 + 7.0 * k as f32) / w as f32).cos()
    })
}

fn mean_var(v: impl Iterator<Item = f64>) -> (f64, f64, usize) {
    let v: Vec<f64> = v.collect();
    let n = v.len();
    let m = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    (m, var, n)
}

#[test]
fn parse_accepts_ranges_and_rejects_bad_specs() {
    let g = NoiseSpec::parse("gaussian:0-50").unwrap();
    assert_eq!((g.kind, g.lo, g.hi), (NoiseKind::Gaussian, 0.0, 50.0));
    let p = NoiseSpec::parse("poisson:30").unwrap();
    assert_eq!((p.kind, p.lo, p.hi), (NoiseKind::Poisson, 30.0, 30.0));
    let t = NoiseSpec::parse("text").unwrap();
    assert_eq!((t.lo, t.hi), (0.0, 0.5));
    let b = NoiseSpec::parse("brown:25@3").unwrap();
    assert_eq!((b.kind, b.lo, b.blur), (NoiseKind::Brown, 25.0, 3.0));
    // Display round-trips.
    for s in ["gaussian:0-50", "poisson:0.001-50", "bernoulli:0.5", "brown:0-50@2", "impulse:0.7"] {
        let n = NoiseSpec::parse(s).unwrap();
        assert_eq!(NoiseSpec::parse(&n.to_string()).unwrap(), n, "{s}");
    }
    for bad in [
        "salt:0.1",
        "gaussian:-5",
        "bernoulli:0-1.5",
        "poisson:0",
        "gaussian:50-10",
        "text:x",
        "gaussian:5@2",
    ] {
        let e = NoiseSpec::parse(bad).unwrap_err().to_string();
        assert!(e.contains(bad), "error for {bad} names the spec: {e}");
    }
}

#[test]
fn gaussian_has_the_requested_variance_and_zero_mean() {
    let clean = ramp(3, 96, 128);
    let sigma = 25.0 / 255.0;
    let y = NoiseSpec::parse("gaussian:25").unwrap().corrupt(&clean, &mut rng(1));
    assert_eq!(y.strength, 25.0);
    assert!(y.valid.is_none());
    let (m, var, n) = mean_var(y.image.iter().zip(&clean).map(|(a, b)| (a - b) as f64));
    // mean: 5 standard errors; variance: standard error σ²·sqrt(2/n) ≈ 0.7 %, allow 4 %.
    assert!(m.abs() < 5.0 * sigma / (n as f64).sqrt(), "mean {m}");
    assert!((var / (sigma * sigma) - 1.0).abs() < 0.04, "variance ratio {}", var / (sigma * sigma));
    // σ = 0 leaves the image unchanged.
    let z = NoiseSpec::parse("gaussian:0").unwrap().corrupt(&clean, &mut rng(1));
    assert_eq!(z.image, clean);
}

/// `E[y | x] = x` pixel by pixel: the average of K independent corruptions of one image
/// approaches it with per-pixel standard error `sd(x)/sqrt(K)`.
fn assert_zero_mean_given_clean(spec: &str, sd: impl Fn(f32) -> f64) {
    let clean = ramp(1, 12, 12);
    let spec = NoiseSpec::parse(spec).unwrap();
    let k = 400;
    let mut sum = Array3::<f64>::zeros(clean.dim());
    for s in 0..k {
        let y = spec.corrupt(&clean, &mut rng(100 + s));
        sum.zip_mut_with(&y.image, |a, &b| *a += b as f64);
    }
    let mut worst: f64 = 0.0;
    for (s, &x) in sum.iter().zip(&clean) {
        let z = (s / k as f64 - x as f64) / (sd(x) / (k as f64).sqrt());
        worst = worst.max(z.abs());
    }
    // 144 pixels: |z| > 4.5 has probability < 1e-3 in total.
    assert!(worst < 4.5, "{spec}: worst per-pixel z-score {worst}");
}

#[test]
fn gaussian_and_poisson_are_zero_mean_given_the_clean_image() {
    assert_zero_mean_given_clean("gaussian:30", |_| 30.0 / 255.0);
    assert_zero_mean_given_clean("poisson:10", |x| ((x as f64 + 0.5) / 10.0).sqrt());
    assert_zero_mean_given_clean("brown:30@1.5", |_| 30.0 / 255.0);
}

#[test]
fn poisson_matches_its_definition() {
    // The sampler: mean and variance λ for small and large means (chunked beyond 16).
    for mean in [0.3, 4.0, 37.5] {
        let mut r = rng(7);
        let (m, v, n) = mean_var((0..40_000).map(|_| poisson_draw(mean, &mut r) as f64));
        assert!((m - mean).abs() < 5.0 * (mean / n as f64).sqrt(), "mean {m} for {mean}");
        assert!((v / mean - 1.0).abs() < 0.05, "variance {v} for {mean}");
    }
    // The corruption: per grey level x, E[y] = x and Var[y] = (x + 0.5)/λ; black stays black.
    let levels = [-0.5f32, -0.3, 0.0, 0.25, 0.5];
    let clean = Array3::from_shape_fn((1, 100, 100), |(_, i, _)| levels[i % levels.len()]);
    let lambda = 20.0;
    let y = NoiseSpec::parse("poisson:20").unwrap().corrupt(&clean, &mut rng(3)).image;
    for &x in &levels {
        let (m, v, n) = mean_var(y.iter().zip(&clean).filter(|(_, &c)| c == x).map(|(&a, _)| a as f64));
        let var = (x as f64 + 0.5) / lambda;
        if var == 0.0 {
            assert_eq!((m, v), (-0.5, 0.0));
            continue;
        }
        assert!((m - x as f64).abs() < 5.0 * (var / n as f64).sqrt(), "level {x}: mean {m}");
        assert!((v / var - 1.0).abs() < 0.12, "level {x}: variance {v} vs {var}");
        // Values are k/λ − 0.5 for integer k.
        let k = (y[[0, levels.iter().position(|&l| l == x).unwrap(), 0]] as f64 + 0.5) * lambda;
        assert!((k - k.round()).abs() < 1e-3);
    }
}

#[test]
fn brown_noise_has_the_requested_variance_and_the_kernels_correlation() {
    let clean = Array3::zeros((1, 128, 128));
    let (sigma, blur) = (25.0 / 255.0, 2.0f64);
    let y = NoiseSpec::parse("brown:25@2").unwrap().corrupt(&clean, &mut rng(5)).image;
    let (m, var, _) = mean_var(y.iter().map(|&v| v as f64));
    assert!(m.abs() < 0.2 * sigma, "mean {m}");
    // Correlated noise: fewer effective samples, so a looser bound on the variance.
    assert!((var / (sigma * sigma) - 1.0).abs() < 0.15, "variance ratio {}", var / (sigma * sigma));
    // Independent reference: the lag-1 correlation of white noise filtered by k⊗k along one
    // axis is Σ k_i k_{i+1} / Σ k_i² — computed here from the Gaussian directly.
    let r = (3.0 * blur).ceil() as i64;
    let g: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * blur * blur)).exp()).collect();
    let rho = g.windows(2).map(|p| p[0] * p[1]).sum::<f64>() / g.iter().map(|v| v * v).sum::<f64>();
    assert_eq!(blur_kernel(blur).len(), g.len());
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..128 {
        for j in 0..128 {
            let (a, b) = (y[[0, i, j]] as f64, y[[0, i, (j + 1) % 128]] as f64);
            num += a * b;
            den += a * a;
        }
    }
    let measured = num / den;
    assert!((measured - rho).abs() < 0.05, "lag-1 correlation {measured} vs {rho}");
    assert!(rho > 0.8, "blur 2 px correlates neighbours strongly");
}

#[test]
fn bernoulli_drops_pixels_at_the_requested_rate() {
    let clean = ramp(3, 128, 128);
    let p = 0.37;
    let y = NoiseSpec::parse("bernoulli:0.37").unwrap().corrupt(&clean, &mut rng(9));
    let keep = y.valid.expect("Bernoulli returns its mask");
    let n = keep.len() as f64;
    let dropped = keep.iter().filter(|&&k| k == 0.0).count() as f64 / n;
    assert!((dropped - p).abs() < 5.0 * (p * (1.0 - p) / n).sqrt(), "drop rate {dropped}");
    for ((c, i, j), &v) in y.image.indexed_iter() {
        if keep[[i, j]] == 1.0 {
            assert_eq!(v, clean[[c, i, j]]);
        } else {
            assert_eq!(v, -0.5, "dropped pixels are black in every channel");
        }
    }
}

#[test]
fn impulse_replaces_pixels_with_uniform_colours_at_the_requested_rate() {
    let clean = ramp(3, 128, 128);
    let p = 0.7;
    let y = NoiseSpec::parse("impulse:0.7").unwrap().corrupt(&clean, &mut rng(11));
    let valid = y.valid.unwrap();
    let n = valid.len() as f64;
    let rate = valid.iter().filter(|&&k| k == 0.0).count() as f64 / n;
    assert!((rate - p).abs() < 5.0 * (p * (1.0 - p) / n).sqrt(), "impulse rate {rate}");
    let mut replaced = Vec::new();
    for ((c, i, j), &v) in y.image.indexed_iter() {
        if valid[[i, j]] == 1.0 {
            assert_eq!(v, clean[[c, i, j]]);
        } else {
            replaced.push(v as f64);
        }
    }
    // Uniform on [−0.5, 0.5]: mean 0, variance 1/12, all inside.
    let (m, var, n) = mean_var(replaced.iter().copied());
    assert!(m.abs() < 5.0 * (1.0 / 12.0 / n as f64).sqrt(), "mean {m}");
    assert!((var * 12.0 - 1.0).abs() < 0.03, "variance {var}");
    assert!(replaced.iter().all(|v| (-0.5..0.5).contains(v)));
}

#[test]
fn text_covers_the_requested_fraction_with_font_glyphs() {
    // The embedded font: 'A' row 0 is 0x0C (pixels 2 and 3 set, bit 0 = left).
    assert!(text::glyph_pixel(b'A', 0, 2) && text::glyph_pixel(b'A', 0, 3) && !text::glyph_pixel(b'A', 0, 0));
    assert!((0..8).all(|r| (0..8).all(|c| !text::glyph_pixel(b' ', r, c))));
    let rendered = text::render(b"Hi", 2);
    assert_eq!(rendered.dim(), (16, 32));
    assert!(rendered[[0, 0]] && rendered[[0, 1]] && !rendered[[0, 4]]); // 'H' row 0 = 0x33
    let clean = ramp(3, 160, 160);
    for c in [0.1, 0.25, 0.5] {
        let y = NoiseSpec::parse(&format!("text:{c}")).unwrap().corrupt(&clean, &mut rng(13));
        let valid = y.valid.unwrap();
        let n = valid.len() as f64;
        let covered = valid.iter().filter(|&&k| k == 0.0).count() as f64 / n;
        // At least c, overshooting by at most one glyph at scale 3 (64·9 pixels).
        assert!(covered >= c && covered <= c + 576.0 / n, "coverage {covered} for {c}");
        // Uncovered pixels are untouched; each covered pixel has one colour in all channels
        // drawn per string, so it generally differs from the clean value.
        let mut changed = 0;
        for ((k, i, j), &v) in y.image.indexed_iter() {
            if valid[[i, j]] == 1.0 {
                assert_eq!(v, clean[[k, i, j]]);
            } else if v != clean[[k, i, j]] {
                changed += 1;
            }
        }
        assert!(changed as f64 > 0.99 * 3.0 * covered * n);
    }
}

#[test]
fn same_seed_same_corruption_and_strengths_are_drawn_independently() {
    let clean = ramp(3, 32, 32);
    for name in NoiseKind::NAMES {
        let spec = NoiseSpec::parse(name).unwrap();
        let a = spec.corrupt(&clean, &mut rng(21));
        let b = spec.corrupt(&clean, &mut rng(21));
        assert_eq!(a, b, "{name}: same seed, same result");
        let c = spec.corrupt(&clean, &mut rng(22));
        assert_ne!(a.image, c.image, "{name}: another seed, another result");
    }
    // Strengths: uniform on [lo, hi]; consecutive draws (input, then target) independent.
    let spec = NoiseSpec::parse("gaussian:0-50").unwrap();
    let mut r = rng(4);
    let s: Vec<f64> = (0..20_000).map(|_| spec.draw_strength(&mut r)).collect();
    let (m, var, _) = mean_var(s.iter().copied());
    assert!(s.iter().all(|&v| (0.0..=50.0).contains(&v)));
    assert!((m - 25.0).abs() < 0.5 && (var / (2500.0 / 12.0) - 1.0).abs() < 0.05, "mean {m} var {var}");
    let (a, b): (Vec<f64>, Vec<f64>) = s.chunks(2).map(|p| (p[0] - 25.0, p[1] - 25.0)).unzip();
    let corr = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>() / a.iter().map(|x| x * x).sum::<f64>();
    assert!(corr.abs() < 0.05, "input/target strengths correlate: {corr}");
}

fn tensor(a: &Array3<f32>) -> Tensor {
    let (c, h, w) = a.dim();
    Tensor::from_vec(a.iter().copied().collect::<Vec<_>>(), (1, c, h, w), &Device::Cpu).unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(models::DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn masked_l2_on_bernoulli_targets_ignores_dropped_pixels() {
    let clean = ramp(3, 40, 40);
    let t = NoiseSpec::parse("bernoulli:0.5").unwrap().corrupt(&clean, &mut rng(31));
    let keep = t.valid.clone().unwrap();
    let mask =
        Tensor::from_vec(keep.iter().copied().collect::<Vec<_>>(), (1, 1, 40, 40), &Device::Cpu).unwrap();
    let pred = ramp(3, 40, 40).mapv(|v| v * 0.9 + 0.01);
    // Reference: the mean of squared errors over kept pixels only, all channels.
    let (mut se, mut n) = (0.0, 0);
    for ((c, i, j), &p) in pred.indexed_iter() {
        if keep[[i, j]] == 1.0 {
            se += ((p - t.image[[c, i, j]]) as f64).powi(2);
            n += 1;
        }
    }
    let want = se / n as f64;
    let got = scalar(&Loss::L2.compute(&tensor(&pred), &tensor(&t.image), Some(&mask), 0, 1).unwrap());
    assert!((got - want).abs() < 1e-6 * want.max(1e-9), "masked L2 {got} vs {want}");
    // Anything at dropped pixels changes nothing; a change at a kept pixel does.
    let mut wild = pred.clone();
    let mut kept_pixel = None;
    for ((c, i, j), v) in wild.indexed_iter_mut() {
        if keep[[i, j]] == 0.0 {
            *v = 7.0;
        } else if kept_pixel.is_none() {
            kept_pixel = Some((c, i, j));
        }
    }
    let same = scalar(&Loss::L2.compute(&tensor(&wild), &tensor(&t.image), Some(&mask), 0, 1).unwrap());
    assert!((same - got).abs() < 1e-7, "{same} vs {got}");
    let (c, i, j) = kept_pixel.unwrap();
    wild[[c, i, j]] += 1.0;
    let moved = scalar(&Loss::L2.compute(&tensor(&wild), &tensor(&t.image), Some(&mask), 0, 1).unwrap());
    assert!(moved > got + 0.5 / n as f64);
    // Unmasked, the dropped (black) target pixels would count.
    let unmasked = scalar(&Loss::L2.compute(&tensor(&pred), &tensor(&t.image), None, 0, 1).unwrap());
    assert!(unmasked > 2.0 * got);
}

#[test]
fn annealed_l0_exponent_goes_linearly_from_2_to_0() {
    // γ(t) = 2·(1 − t/T): the loss of a constant residual d is (|d| + 1e-8)^γ.
    let total = 1000;
    let d = 0.3f32;
    let pred = Array3::from_elem((1, 4, 4), d);
    let target = Array3::zeros((1, 4, 4));
    let mut last = f64::INFINITY;
    for step in [0u64, 100, 250, 500, 750, 999, 1000, 1500] {
        let gamma = 2.0 * (1.0 - step as f64 / total as f64);
        assert!((gamma_schedule(step, total) - gamma.max(0.0)).abs() < 1e-12);
        let l = scalar(&Loss::L0.compute(&tensor(&pred), &tensor(&target), None, step, total).unwrap());
        let want = (d as f64 + 1e-8).powf(gamma.max(0.0));
        assert!((l - want).abs() < 1e-5, "step {step}: {l} vs {want}");
        // |d| < 1, so the loss grows as γ falls: the mode-seeking end weighs all errors alike.
        assert!(l >= last - 1e-9 || step == 0);
        last = l;
    }
}
