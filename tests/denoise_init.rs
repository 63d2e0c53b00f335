//! End-to-end tests of fine-tuning a denoiser (`recon denoise train --init default|MODEL`):
//! the run starts from the model's weights (one Adam step moves no weight by more than the
//! learning rate), takes its architecture, and refuses a mismatched one, a non-denoising
//! model, a missing file and an output over the model it starts from.

mod common;

use std::path::{Path, PathBuf};

use common::{json, recon, root};
use kspace::rng::MaskRng;
use models::{load_checkpoint, read_meta, Device};
use ndarray::s;
use recon::denoise::{write_photo, NoiseSpec};
use recon::io::png::read_png;

fn st(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// DIR/a and DIR/b: two independent Gaussian (σ 20) captures of two small photo crops.
fn pairs(dir: &Path) -> PathBuf {
    let d = dir.join("pairs");
    let crops = [
        ("chelsea.png", read_png(root().join("data/photos/skimage_chelsea.png")).unwrap().data, (50, 100)),
        ("camera.png", read_png(root().join("data/photos/skimage_camera.png")).unwrap().data, (200, 200)),
    ];
    for (sub, seed) in [("a", 1u32), ("b", 2)] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
        for (i, (name, photo, (top, left))) in crops.iter().enumerate() {
            let clean = photo.slice(s![.., *top..top + 48, *left..left + 48]).mapv(|v| v - 0.5);
            let mut rng = MaskRng::from_seed(seed * 10 + i as u32);
            let y = NoiseSpec::parse("gaussian:20").unwrap().corrupt(&clean, &mut rng).image;
            let y = y.mapv(|v| ((v + 0.5).clamp(0.0, 1.0) * 255.0).round() / 255.0);
            write_photo(&d.join(sub).join(name), &y).unwrap();
        }
    }
    d
}

fn fails_with(args: &[&str], needles: &[&str]) {
    let out = recon(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{n}' not in: {err}");
    }
}

#[test]
fn fine_tuning_starts_from_the_built_in_model_and_takes_its_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let p = pairs(dir.path());
    let out = dir.path().join("tuned.safetensors");
    let lr = 1e-4;
    // No --width / --channels: the built-in model's (an RGB U-Net of width 32) are used.
    let lr_s = lr.to_string();
    let args = ["denoise", "train", "--pairs", st(&p), "--init", "default", "--steps", "1", "--batch", "1"];
    let r =
        json(&recon(&[&args[..], &["--crop", "32", "--lr", &lr_s, "--json", "--out", st(&out)]].concat()));
    assert_eq!(r["steps"], 1);

    let start =
        load_checkpoint(root().join("data/models/denoise_gaussian.safetensors"), &Device::Cpu).unwrap();
    let tuned = load_checkpoint(&out, &Device::Cpu).unwrap();
    assert_eq!(tuned.meta.arch, start.meta.arch, "the run took the model's architecture");
    let config: serde_json::Value = serde_json::from_str(&read_meta(&out).unwrap().config).unwrap();
    assert_eq!(config["init"], "default", "the model records where it started");

    // Adam's first step moves each weight by lr · m̂/(√v̂ + ε) = lr · g/(|g| + ε): at most lr.
    // From a random init the weights would differ by far more than that.
    let (a, b) = (start.varmap.data().lock().unwrap(), tuned.varmap.data().lock().unwrap());
    assert_eq!(a.len(), b.len());
    let mut max_step = 0f32;
    for (name, w0) in a.iter() {
        let w1 = b.get(name).unwrap_or_else(|| panic!("{name} missing"));
        let d = (w1.as_tensor() - w0.as_tensor()).unwrap().abs().unwrap();
        let m = d.flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        assert!(m <= lr as f32 * 1.001, "{name}: moved {m:e} > lr {lr:e}");
        max_step = max_step.max(m);
    }
    assert!(max_step > 0.5 * lr as f32, "one step of lr {lr:e} moved no weight by more than {max_step:e}");
}

#[test]
fn fine_tuning_refuses_a_mismatched_or_wrong_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = pairs(dir.path());
    let out = dir.path().join("m.safetensors");
    let base = ["denoise", "train", "--pairs", st(&p), "--steps", "1", "--crop", "32", "--out", st(&out)];
    let with = |extra: &[&'static str]| -> Vec<&str> { [&base[..], extra].concat() };
    fails_with(&with(&["--init", "default", "--width", "16"]), &["--init", "width 16", "--width"]);
    fails_with(&with(&["--init", "default", "--channels", "1"]), &["--init", "1 channel"]);
    fails_with(
        &with(&["--init", "data/models/unrolled_2d.safetensors"]),
        &["unrolled_2d.safetensors", "not a denoising model"],
    );
    fails_with(&with(&["--init", "no/such/model.safetensors"]), &["no/such/model.safetensors"]);
    assert!(!out.exists(), "no failed run wrote its output");

    // A model to start from, then a run whose output would replace it.
    let first = dir.path().join("first.safetensors");
    let args = ["denoise", "train", "--pairs", st(&p), "--steps", "1", "--crop", "32", "--width", "8"];
    json(&recon(&[&args[..], &["--json", "--out", st(&first)]].concat()));
    let before = std::fs::read(&first).unwrap();
    let init = ["--init", st(&first), "--force"];
    fails_with(&[&base[..8], &init[..], &["--out", st(&first)]].concat(), &["first.safetensors"]);
    assert_eq!(std::fs::read(&first).unwrap(), before, "the model it starts from is untouched");
    // From a width-8 model, --width is taken from it.
    let r = json(&recon(&[&base[..8], &init[..2], &["--json", "--out", st(&out)]].concat()));
    assert_eq!(r["steps"], 1);
    assert_eq!(load_checkpoint(&out, &Device::Cpu).unwrap().meta.arch.width(), 8);
}
