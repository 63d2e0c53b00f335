//! Metrics against numbers from fastMRI's evaluate.py / scikit-image and the Noise2Noise
//! formulas (fixtures made by `tests/fixtures/metrics/make_metrics.py`).

use ndarray::{s, Array3};
use recon::metrics::{self, VolumeMetrics};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics")
}

fn load(name: &str, shape: &[usize]) -> Array3<f32> {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    let v: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    Array3::from_shape_vec((shape[0], shape[1], shape[2]), v).unwrap()
}

struct Case {
    name: String,
    gt: Array3<f32>,
    pred: Array3<f32>,
    expected: serde_json::Value,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    all.as_object()
        .unwrap()
        .iter()
        .map(|(name, e)| {
            let shape: Vec<usize> =
                e["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
            Case {
                name: name.clone(),
                gt: load(&format!("{name}_gt.f32"), &shape),
                pred: load(&format!("{name}_pred.f32"), &shape),
                expected: e.clone(),
            }
        })
        .collect()
}

/// Expected value; JSON `null` stands for +∞ (a perfect score).
fn want(c: &Case, key: &str) -> f64 {
    c.expected[key].as_f64().unwrap_or(f64::INFINITY)
}

fn assert_rel(got: f64, want: f64, what: &str) {
    if want.is_infinite() {
        assert_eq!(got, want, "{what}");
        return;
    }
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel < 1e-4, "{what}: got {got}, want {want} (rel {rel:e})");
}

#[test]
fn fastmri_metrics_match_skimage() {
    let cases = cases();
    assert_eq!(cases.len(), 5);
    for c in &cases {
        let m = VolumeMetrics::compute(c.gt.view(), c.pred.view()).unwrap();
        let rel = |got: f64, key: &str| (got - want(c, key)).abs() / want(c, key).abs();
        eprintln!(
            "{}: nmse rel {:.1e}, psnr rel {:.1e}, ssim abs {:.1e}",
            c.name,
            rel(m.nmse, "nmse"),
            rel(m.psnr, "psnr"),
            (m.ssim - want(c, "ssim")).abs()
        );
        assert_rel(m.nmse, want(c, "nmse"), &format!("{} nmse", c.name));
        assert_rel(m.psnr, want(c, "psnr"), &format!("{} psnr", c.name));
        let ssim_err = (m.ssim - want(c, "ssim")).abs();
        assert!(ssim_err < 1e-4, "{} ssim: got {}, want {}", c.name, m.ssim, want(c, "ssim"));
        // The single-metric functions agree with compute().
        assert_eq!(metrics::nmse(c.gt.view(), c.pred.view()).unwrap(), m.nmse);
        assert_eq!(metrics::psnr(c.gt.view(), c.pred.view()).unwrap(), m.psnr);
        assert_eq!(metrics::ssim(c.gt.view(), c.pred.view()).unwrap(), m.ssim);
    }
}

#[test]
fn noise2noise_and_u8_psnr_match_python() {
    for c in &cases() {
        assert_rel(metrics::psnr_n2n(c.gt.view(), c.pred.view()).unwrap(), want(c, "psnr_n2n"), &c.name);
        assert_rel(metrics::psnr_u8(c.gt.view(), c.pred.view()).unwrap(), want(c, "psnr_u8"), &c.name);
    }
}

#[test]
fn ssim_of_identical_volumes_is_one_and_per_slice_mean() {
    let c = cases().into_iter().find(|c| c.name == "smooth").unwrap();
    let one = metrics::ssim(c.gt.view(), c.gt.view()).unwrap();
    assert!((one - 1.0).abs() < 1e-12);
    // The volume SSIM is the mean of per-slice SSIMs with data_range = max over the volume.
    let range = c.gt.iter().cloned().fold(f32::MIN, f32::max) as f64;
    let mean = (0..3)
        .map(|s| metrics::ssim_2d(c.gt.slice(s![s, .., ..]), c.pred.slice(s![s, .., ..]), range).unwrap())
        .sum::<f64>()
        / 3.0;
    assert!((mean - metrics::ssim(c.gt.view(), c.pred.view()).unwrap()).abs() < 1e-12);
    let fixed = metrics::ssim_with_range(c.gt.view(), c.pred.view(), Some(range)).unwrap();
    assert!((fixed - mean).abs() < 1e-12);
}

#[test]
fn errors_are_clear() {
    let a = Array3::<f32>::zeros((1, 5, 8));
    let e = metrics::ssim(a.view(), a.view()).unwrap_err().to_string();
    assert!(e.contains("at least 7×7") && e.contains("5×8"), "{e}");
    let b = Array3::<f32>::zeros((1, 8, 8));
    let e = VolumeMetrics::compute(a.view(), b.view()).unwrap_err().to_string();
    assert!(e.contains("shape"), "{e}");
    let mut n = Array3::<f32>::ones((1, 8, 8));
    n[[0, 2, 3]] = f32::NAN;
    let e = metrics::psnr(b.view(), n.view()).unwrap_err().to_string();
    assert!(e.contains("prediction") && e.contains("NaN"), "{e}");
}

#[test]
fn perfect_prediction_and_mean_over_volumes() {
    let c = cases().into_iter().next().unwrap();
    let m = VolumeMetrics::compute(c.gt.view(), c.gt.view()).unwrap();
    assert_eq!(m.nmse, 0.0);
    assert_eq!(m.psnr, f64::INFINITY);
    let a = VolumeMetrics { nmse: 0.1, psnr: 30.0, ssim: 0.8 };
    let b = VolumeMetrics { nmse: 0.3, psnr: 20.0, ssim: 0.6 };
    let avg = VolumeMetrics::mean(&[a, b]).unwrap();
    assert!((avg.nmse - 0.2).abs() < 1e-12 && avg.psnr == 25.0 && (avg.ssim - 0.7).abs() < 1e-12);
    assert!(VolumeMetrics::mean(&[]).is_none());
}

/// Full-size fastMRI volume (16 × 320 × 320): SSIM must stay fast (separable sums, parallel).
#[test]
fn ssim_is_fast_on_fastmri_sized_volumes() {
    let gt =
        Array3::from_shape_fn((16, 320, 320), |(s, i, j)| ((i * 31 + j * 17 + s * 7) % 101) as f32 / 100.0);
    let pred = gt.mapv(|v| v * 0.9 + 0.05);
    let t = std::time::Instant::now();
    let m = VolumeMetrics::compute(gt.view(), pred.view()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(m.ssim > 0.5 && m.ssim < 1.0, "{m:?}");
    assert!(secs < 10.0, "metrics on 16×320×320 took {secs:.2} s");
}
