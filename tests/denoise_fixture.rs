//! The built-in denoisers (Gaussian, Poisson, Bernoulli; `recon denoise --noise KIND`)
//! against an independent reference: two small crops of held-back photos (64×64 RGB; 48×56
//! grey, which takes the reflect padding and the grey-through-RGB path) corrupted by each
//! model's noise, denoised by `recon denoise` end to end, must score the 8-bit PSNR that a
//! PyTorch implementation of the same U-Net with the same weights scores, within 0.01 dB,
//! and agree with its 8-bit output pixel by pixel to one level.
//!
//! Fixture: `tests/fixtures/make_denoise_fixture.py` (rerun it when a shipped model
//! changes); `reference.json` records the SHA-256 of each model file it was made from.

mod common;

use std::path::Path;

use common::{json, recon, root};
use ndarray::s;
use recon::io::png::read_png;
use recon::metrics::psnr_u8;

#[test]
fn built_in_denoisers_match_the_pytorch_reference_on_committed_crops() {
    let fixtures = root().join("tests/fixtures/denoise");
    let text = std::fs::read_to_string(fixtures.join("reference.json")).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    for kind in ["gaussian", "poisson", "bernoulli"] {
        check_model(&fixtures, kind, &reference[kind]);
    }
}

fn check_model(fixtures: &Path, kind: &str, reference: &serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let crops = reference["crops"].as_object().unwrap();
    assert_eq!(crops.len(), 2);
    for (name, c) in crops {
        let range = |k: &str| (c[k][0].as_u64().unwrap() as usize, c[k][1].as_u64().unwrap() as usize);
        let ((r0, r1), (c0, c1)) = (range("rows"), range("cols"));
        let photo = read_png(root().join("data/photos").join(c["photo"].as_str().unwrap())).unwrap().data;
        let clean = photo.slice(s![.., r0..r1, c0..c1]).to_owned();
        let name = format!("{kind}_{name}");
        let noisy = fixtures.join(format!("{name}_noisy.png"));
        let out = dir.path().join(format!("{name}.png"));
        let (input, output) = (noisy.to_str().unwrap(), out.to_str().unwrap());
        let r = json(&recon(&["denoise", "--input", input, "--output", output, "--noise", kind, "--json"]));
        assert_eq!(r["model"], format!("default-{kind}"));
        let ours = read_png(&out).unwrap().data;
        let torch = read_png(fixtures.join(format!("{name}_torch.png"))).unwrap().data;
        assert_eq!(ours.dim(), clean.dim(), "{name}: the photo's own size and channels");
        let noisy = read_png(Path::new(&noisy)).unwrap().data;
        let p_in = psnr_u8(clean.view(), noisy.view()).unwrap();
        assert!((p_in - c["psnr_noisy"].as_f64().unwrap()).abs() < 1e-6, "{name}: the crop is the fixture's");
        let p = psnr_u8(clean.view(), ours.view()).unwrap();
        let want = c["psnr_denoised"].as_f64().unwrap();
        let hint = "rerun tests/fixtures/make_denoise_fixture.py if the shipped model changed";
        assert!((p - want).abs() <= 0.01, "{name}: {p:.4} dB, PyTorch reference {want:.4} dB ({hint})");
        let worst = (&ours - &torch).mapv(|v| (v * 255.0).abs()).fold(0f32, |a, &b| a.max(b));
        assert!(worst <= 1.0 + 1e-3, "{name}: an 8-bit value {worst} levels from the reference's");
        assert!(p > p_in + 5.0, "{name}: denoised {p:.2} dB, noisy {p_in:.2} dB");
    }
}

#[test]
fn a_noise_without_a_built_in_model_asks_for_one() {
    let data = root().join("data/photos/skimage_camera.png");
    let out = recon(&["denoise", "eval", "--noise", "text:0.25", "--data", data.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no built-in model for text noise") && err.contains("--model"), "{err}");
    // With a built-in model for the kind, eval uses it.
    let r = json(&recon(&[
        "denoise",
        "eval",
        "--noise",
        "poisson:30",
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(r["model"], "default-poisson");
}
