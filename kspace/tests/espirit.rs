//! ESPIRiT maps: recovery of simulated smooth coil maps, crop, two map sets, the
//! small-calibration fallback, single coil and bad input.

mod common;

use common::{coil_similarity, phantom};
use kspace::coils::{simulate_coils, synthetic_sensitivities};
use kspace::espirit::{espirit, EspiritOptions, MapsMethod};
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3};

fn sim(nc: usize, h: usize, w: usize) -> (Array2<f32>, Array3<C32>, Array3<C32>) {
    let img = phantom(h, w);
    let s = synthetic_sensitivities(nc, h, w).unwrap();
    let k = simulate_coils(&img, &s).unwrap();
    (img, s, k)
}

/// Fraction of object pixels whose estimated coil vector agrees with the truth to ≥ `min`.
fn agreement(img: &Array2<f32>, est: &Array3<C32>, truth: &Array3<C32>, min: f32) -> f32 {
    let (mut ok, mut n) = (0, 0);
    for ((i, j), &v) in img.indexed_iter() {
        if v > 0.0 {
            let a: Vec<C32> = est.slice(ndarray::s![.., i, j]).to_vec();
            let b: Vec<C32> = truth.slice(ndarray::s![.., i, j]).to_vec();
            n += 1;
            ok += (coil_similarity(&a, &b) >= min) as usize;
        }
    }
    ok as f32 / n as f32
}

/// `k` undersampled with `mask` (returned) and its default ESPIRiT maps.
fn undersampled_maps(k: &Array3<C32>, mask: &SamplingMask) -> (Array3<C32>, kspace::espirit::Maps) {
    let mut under = k.clone();
    kspace::undersample::undersample_inplace(&mut under, mask).unwrap();
    let maps = espirit(&under.view(), mask, &EspiritOptions::default()).unwrap();
    (under, maps)
}

/// 2-D mask: a fully sampled centred `acs`×`acs` block plus every third bin.
fn mask_with_centre(h: usize, w: usize, acs: usize) -> SamplingMask {
    let keep = Array2::from_shape_fn((h, w), |(i, j)| {
        let c = |x: usize, n: usize| x + acs / 2 >= n / 2 && x < n / 2 - acs / 2 + acs;
        (c(i, h) && c(j, w)) || (i * 7 + j * 3) % 3 == 0
    });
    let prob = keep.mapv(|k| if k { 1.0 } else { 0.33 });
    SamplingMask::new(keep, prob)
}

#[test]
fn espirit_recovers_simulated_maps_up_to_phase() {
    let (img, s, k) = sim(8, 64, 64);
    let mask = mask_with_centre(64, 64, 24);
    let maps = espirit(&k.view(), &mask, &EspiritOptions::default()).unwrap();
    assert!(matches!(maps.method, MapsMethod::Espirit { calib: (24, 24), .. }), "{:?}", maps.method);
    assert_eq!(maps.maps.dim(), (1, 8, 64, 64));
    let frac = agreement(&img, &maps.first(), &s, 0.95);
    assert!(frac >= 0.99, "only {frac} of object pixels have |⟨s, s_true⟩| ≥ 0.95");
    // Eigenvalue ≈ 1 inside the object, and the crop zeroes the far background.
    let inside: Vec<f32> = img
        .indexed_iter()
        .filter(|(_, &v)| v > 0.0)
        .map(|(ij, _)| maps.eigenvalues[[0, ij.0, ij.1]])
        .collect();
    let mean = inside.iter().sum::<f32>() / inside.len() as f32;
    assert!(mean > 0.95, "mean eigenvalue in the object {mean}");
    assert!(maps.maps.iter().all(|z| z.re.is_finite() && z.im.is_finite()));
}

#[test]
fn espirit_two_map_sets_and_rectangular_grid() {
    let (img, s, k) = sim(6, 48, 40);
    let opts = EspiritOptions { maps: 2, crop: 0.0, ..Default::default() };
    let maps = espirit(&k.view(), &SamplingMask::full((48, 40)), &opts).unwrap();
    assert_eq!(maps.maps.dim(), (2, 6, 48, 40));
    assert!(agreement(&img, &maps.first(), &s, 0.95) >= 0.99);
    for ((_, i, j), &e2) in
        maps.eigenvalues.index_axis(ndarray::Axis(0), 1).indexed_iter().map(|(ij, e)| ((0, ij.0, ij.1), e))
    {
        assert!(e2 <= maps.eigenvalues[[0, i, j]] + 1e-4);
    }
}

#[test]
fn small_calibration_region_falls_back_to_low_resolution_maps() {
    let (img, s, k) = sim(8, 64, 64);
    let mask = mask_with_centre(64, 64, 8);
    let (_, maps) = undersampled_maps(&k, &mask);
    match maps.method {
        MapsMethod::LowResolution { found: Some((fh, fw)), .. } => {
            assert!(fh >= 8 && fw >= 8 && fh.min(fw) < 12)
        }
        m => panic!("expected the low-resolution fallback, got {m:?}"),
    }
    assert!(maps.maps.iter().all(|z| z.re.is_finite() && z.im.is_finite()));
    let frac = agreement(&img, &maps.first(), &s, 0.9);
    assert!(frac >= 0.8, "fallback maps agree on {frac} of the object");
}

#[test]
fn mask_without_centre_single_coil_and_bad_input() {
    let (_, _, k) = sim(4, 32, 32);
    // DC not sampled: no calibration region at all → fallback, not an error.
    let mut keep = Array2::from_elem((32, 32), true);
    keep[[16, 16]] = false;
    let mask = SamplingMask::new(keep, Array2::ones((32, 32)));
    let maps = espirit(&k.view(), &mask, &EspiritOptions::default()).unwrap();
    assert!(matches!(maps.method, MapsMethod::LowResolution { found: None, .. }));
    // One coil: maps = 1.
    let one = espirit(
        &k.slice(ndarray::s![0..1, .., ..]),
        &SamplingMask::full((32, 32)),
        &EspiritOptions::default(),
    )
    .unwrap();
    assert_eq!(one.method, MapsMethod::SingleCoil);
    assert!(one.maps.iter().all(|&z| z == C32::new(1.0, 0.0)));
    // Zero coils, all-zero data, NaN in the calibration region, bad options: errors.
    let full = SamplingMask::full((32, 32));
    assert!(espirit(&Array3::<C32>::zeros((0, 32, 32)).view(), &full, &EspiritOptions::default()).is_err());
    assert!(espirit(&Array3::<C32>::zeros((4, 32, 32)).view(), &full, &EspiritOptions::default()).is_err());
    let mut nan = k.clone();
    nan[[1, 16, 16]] = C32::new(f32::NAN, 0.0);
    assert!(espirit(&nan.view(), &full, &EspiritOptions::default()).is_err());
    assert!(espirit(&k.view(), &full, &EspiritOptions { maps: 3, ..Default::default() }).is_err());
    assert!(espirit(&k.view(), &full, &EspiritOptions { kernel: 30, ..Default::default() }).is_err());
}

#[test]
fn project_masks_at_8x_never_fail_and_report_the_method() {
    use kspace::mask::{from_name, MaskParams};
    let (img, s, k) = sim(8, 128, 128);
    for name in ["n2n", "poisson", "random", "equispaced", "gaussian"] {
        let mask = from_name(name, &MaskParams::new(8.0, 0.04)).unwrap().sample((128, 128), 3).unwrap();
        let (_, maps) = undersampled_maps(&k, &mask);
        eprintln!("{name} 8x: {:?}", maps.method);
        assert!(maps.maps.iter().all(|z| z.re.is_finite() && z.im.is_finite()), "{name}");
        let frac = agreement(&img, &maps.first(), &s, 0.9);
        assert!(frac >= 0.8, "{name} ({:?}): maps agree on {frac} of the object", maps.method);
    }
}

#[test]
fn one_dimensional_mask_calibrates_on_all_rows_limited_to_24() {
    use kspace::mask::{from_name, MaskParams};
    let (img, s, k) = sim(8, 96, 160);
    let mask = from_name("random", &MaskParams::new(4.0, 0.08)).unwrap().sample((96, 160), 1).unwrap();
    let (_, maps) = undersampled_maps(&k, &mask);
    assert!(matches!(maps.method, MapsMethod::Espirit { calib: (24, 13), .. }), "{:?}", maps.method);
    assert!(agreement(&img, &maps.first(), &s, 0.95) >= 0.99);
}

#[test]
fn low_resolution_maps_on_request() {
    use kspace::espirit::low_resolution_maps;
    let (img, s, k) = sim(8, 64, 64);
    let full = SamplingMask::full((64, 64));
    let maps = low_resolution_maps(&k.view(), &full, 24).unwrap();
    assert!(matches!(maps.method, MapsMethod::LowResolution { calib: (24, 24), found: Some((64, 64)) }));
    assert!(agreement(&img, &maps.first(), &s, 0.9) >= 0.9);
    assert!(low_resolution_maps(&k.view(), &full, 0).is_err());
    assert!(low_resolution_maps(&k.view(), &SamplingMask::full((64, 63)), 24).is_err());
}

/// A 1-D mask whose fully sampled centre is exactly `band` columns wide, every row kept there,
/// and every fourth other column not next to the band.
fn band_mask(h: usize, w: usize, band: usize) -> SamplingMask {
    let centre = |j: usize| j + band / 2 >= w / 2 && j < w / 2 - band / 2 + band;
    let near = |j: usize| j + band / 2 + 1 >= w / 2 && j <= w / 2 - band / 2 + band;
    let keep = Array2::from_shape_fn((h, w), |(_, j)| centre(j) || (j % 4 == 1 && !near(j)));
    let prob = Array2::from_shape_fn((h, w), |(_, j)| if centre(j) { 1.0 } else { 0.25 });
    SamplingMask::new(keep, prob)
}

#[test]
fn narrow_band_of_a_one_dimensional_mask_gets_espirit_with_a_narrowed_kernel() {
    use kspace::espirit::low_resolution_maps;
    let (img, s, k) = sim(8, 128, 160);
    let mask = band_mask(128, 160, 7);
    let (under, maps) = undersampled_maps(&k, &mask);
    // 7 columns → kernel 6×3, 5 patch positions across; 2·8·18 / 5 → 58 + 5 = 63 rows ≤ 96.
    assert!(
        matches!(maps.method, MapsMethod::Espirit { calib: (63, 7), kernel: (6, 3), .. }),
        "{:?}",
        maps.method
    );
    let esp = agreement(&img, &maps.first(), &s, 0.95);
    let low = agreement(&img, &low_resolution_maps(&under.view(), &mask, 24).unwrap().first(), &s, 0.95);
    assert!(esp >= 0.97 && esp > low, "band ESPIRiT agrees on {esp} of the object, low-resolution on {low}");
    // Transposed (rows are the phase-encode axis): the same rule on the other axis.
    let kt = k.clone().permuted_axes([0, 2, 1]).as_standard_layout().into_owned();
    let mt = SamplingMask::new(mask.keep.t().to_owned(), mask.prob.t().to_owned());
    let (_, maps_t) = undersampled_maps(&kt, &mt);
    assert!(
        matches!(maps_t.method, MapsMethod::Espirit { calib: (7, 63), kernel: (3, 6), .. }),
        "{:?}",
        maps_t.method
    );
}

#[test]
fn band_narrower_than_five_lines_falls_back_to_low_resolution_maps() {
    let (_, _, k) = sim(4, 64, 96);
    let mask = band_mask(64, 96, 4);
    let (_, maps) = undersampled_maps(&k, &mask);
    assert!(
        matches!(maps.method, MapsMethod::LowResolution { found: Some((64, 4)), .. }),
        "{:?}",
        maps.method
    );
}
