//! End-to-end tests of `recon denoise`: the built-in model on a sample photo, reproducible
//! `eval`, `train` with checkpoints / resume / real pairs, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kspace::rng::MaskRng;
use ndarray::{s, Array3};
use recon::denoise::{write_photo, NoiseSpec};
use recon::io::png::read_png;
use recon::metrics::psnr_u8;

fn recon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the recon binary runs")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "recon failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("--json prints one JSON object")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn photo(name: &str) -> Array3<f32> {
    read_png(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/photos").join(name)).unwrap().data
}

/// `clean` (in [0, 1]) with seeded noise, quantised to 8 bits as a PNG file would be.
fn noisy(clean: &Array3<f32>, spec: &str, seed: u32) -> Array3<f32> {
    let c = clean.mapv(|v| v - 0.5);
    let y = NoiseSpec::parse(spec).unwrap().corrupt(&c, &mut MaskRng::from_seed(seed)).image;
    y.mapv(|v| ((v + 0.5).clamp(0.0, 1.0) * 255.0).round() / 255.0)
}

#[test]
fn default_model_denoises_sample_photos_better_than_their_noisy_input() {
    let dir = tempfile::tempdir().unwrap();
    // 100×140 RGB and 90×120 grey crops: neither side a multiple of 32 (pad and crop back).
    let cases = [
        ("skimage_chelsea.png", photo("skimage_chelsea.png").slice(s![.., 60..160, 150..290]).to_owned()),
        ("skimage_camera.png", photo("skimage_camera.png").slice(s![.., 100..190, 180..300]).to_owned()),
    ];
    for (name, clean) in cases {
        let input = dir.path().join(format!("noisy_{name}"));
        let output = dir.path().join(format!("out_{name}"));
        let x = noisy(&clean, "gaussian:25", 1);
        write_photo(&input, &x).unwrap();
        let r = json(&recon(&["denoise", "--input", s(&input), "--output", s(&output), "--json"]));
        assert_eq!(r["model"], "default-gaussian");
        let out = read_png(&output).unwrap().data;
        assert_eq!(out.dim(), clean.dim(), "{name}: same size and channels as the input");
        let (p_in, p_out) =
            (psnr_u8(clean.view(), x.view()).unwrap(), psnr_u8(clean.view(), out.view()).unwrap());
        assert!(p_out > p_in + 3.0, "{name}: output {p_out:.2} dB vs noisy input {p_in:.2} dB");
        // The output exists now: a second run refuses to overwrite it without --force.
        let again = recon(&["denoise", "--input", s(&input), "--output", s(&output)]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    }
}

fn small_photos(dir: &Path) -> PathBuf {
    let d = dir.join("photos");
    std::fs::create_dir_all(&d).unwrap();
    let chelsea = photo("skimage_chelsea.png");
    write_photo(&d.join("a_chelsea.png"), &chelsea.slice(s![.., 50..114, 100..180]).to_owned()).unwrap();
    let camera = photo("skimage_camera.png");
    write_photo(&d.join("b_camera.png"), &camera.slice(s![.., 200..264, 200..270]).to_owned()).unwrap();
    d
}

#[test]
fn eval_with_a_fixed_seed_gives_the_same_numbers_twice() {
    let dir = tempfile::tempdir().unwrap();
    let photos = small_photos(dir.path());
    let run = |seed: &str| {
        json(&recon(&[
            "denoise",
            "eval",
            "--noise",
            "gaussian:25",
            "--data",
            s(&photos),
            "--seed",
            seed,
            "--json",
        ]))
    };
    let (a, b, c) = (run("3"), run("3"), run("4"));
    assert_eq!(a, b, "same seed, same report");
    let rows = a["images"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["file"], "a_chelsea.png");
    assert_eq!(rows[1]["channels"], 1);
    let mean = |k: &str| rows.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>() / 2.0;
    assert!((a["mean_psnr_input"].as_f64().unwrap() - mean("psnr_input")).abs() < 1e-9);
    assert!((a["mean_psnr_output"].as_f64().unwrap() - mean("psnr_output")).abs() < 1e-9);
    // σ = 25 of 255: PSNR of the noisy input ≈ 20·log10(255/25) = 20.17 dB (a little more
    // where clipping at 0 and 255 removes noise).
    for r in rows {
        let p = r["psnr_input"].as_f64().unwrap();
        assert!((20.0..21.5).contains(&p), "input PSNR {p}");
        assert!(r["psnr_output"].as_f64().unwrap() > p + 3.0);
    }
    assert_ne!(a["images"][0]["psnr_input"], c["images"][0]["psnr_input"], "another seed, other noise");
}

#[test]
fn train_checkpoints_resumes_exactly_and_trains_on_real_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let photos = small_photos(dir.path());
    let model = |n: &str| dir.path().join(n);
    let base = |out: &Path| -> Vec<String> {
        [
            "denoise",
            "train",
            "--noise",
            "gaussian:0-50",
            "--data",
            s(&photos),
            "--val",
            s(&photos),
            "--steps",
            "4",
            "--batch",
            "2",
            "--crop",
            "32",
            "--width",
            "8",
            "--val-every",
            "2",
            "--checkpoint-every",
            "2",
            "--val-crop",
            "32",
            "--seed",
            "5",
            "--out",
            s(out),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let run = |args: Vec<String>| recon(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let full = model("full.safetensors");
    let text = ok(&run(base(&full)));
    assert!(text.contains("validation (2 photos, gaussian:25)"), "{text}");
    let csv = std::fs::read_to_string(full.with_extension("csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header + rows at steps 2 and 4: {csv}");
    // Interrupted after step 2, resumed: the same model as the uninterrupted run.
    let part = model("part.safetensors");
    let mut a = base(&part);
    a.extend(["--stop-after".into(), "2".into()]);
    ok(&run(a));
    let mut a = base(&part);
    a.push("--resume".into());
    ok(&run(a));
    let eval = |m: &Path| {
        let mut v = json(&recon(&[
            "denoise",
            "eval",
            "--noise",
            "gaussian:25",
            "--data",
            s(&photos),
            "--model",
            s(m),
            "--json",
        ]));
        v["model"] = serde_json::Value::Null;
        v
    };
    assert_eq!(eval(&full), eval(&part), "resumed run reaches the same weights");

    // Real pairs: DIR/a and DIR/b with matching names.
    let pairs = dir.path().join("pairs");
    for (sub, seed) in [("a", 1), ("b", 2)] {
        std::fs::create_dir_all(pairs.join(sub)).unwrap();
        for f in ["a_chelsea.png", "b_camera.png"] {
            let clean = read_png(photos.join(f)).unwrap().data;
            write_photo(&pairs.join(sub).join(f), &noisy(&clean, "gaussian:20", seed)).unwrap();
        }
    }
    let pm = model("pairs.safetensors");
    let out = ok(&recon(&[
        "denoise",
        "train",
        "--pairs",
        s(&pairs),
        "--steps",
        "2",
        "--batch",
        "2",
        "--crop",
        "32",
        "--width",
        "8",
        "--out",
        s(&pm),
    ]));
    assert!(out.contains("on 2 photo(s)"), "{out}");
    // The model records what it was really trained on: the pairs, not the default noise.
    let trained_on = format!("pairs:{}", pairs.display());
    assert!(out.contains(&trained_on), "{out}");
    let meta = models::read_meta(&pm).unwrap();
    let config: serde_json::Value = serde_json::from_str(&meta.config).unwrap();
    assert_eq!(config["trained_on"], trained_on.as_str());
    let applied = json(&recon(&[
        "denoise",
        "--input",
        s(&photos.join("b_camera.png")),
        "--model",
        s(&pm),
        "--output",
        s(&dir.path().join("pairs_out.png")),
        "--json",
    ]));
    assert_eq!(applied["noise"], trained_on.as_str());
    // RED30 by name: trains, and the model file denoises a photo of another size.
    let red = model("red30.safetensors");
    ok(&recon(&[
        "denoise",
        "train",
        "--net",
        "red30",
        "--width",
        "8",
        "--data",
        s(&photos),
        "--steps",
        "1",
        "--batch",
        "1",
        "--crop",
        "32",
        "--out",
        s(&red),
    ]));
    let input = photos.join("b_camera.png");
    let output = dir.path().join("red_out.png");
    let r = json(&recon(&[
        "denoise",
        "--input",
        s(&input),
        "--model",
        s(&red),
        "--output",
        s(&output),
        "--json",
    ]));
    assert_eq!(
        (r["height"].as_u64(), r["width"].as_u64(), r["channels"].as_u64()),
        (Some(64), Some(70), Some(1))
    );
    let meta = models::read_meta(&red).unwrap();
    assert_eq!(meta.arch.name(), "red30");
    // A file without its pair is named in the error.
    std::fs::copy(photos.join("a_chelsea.png"), pairs.join("a").join("lonely.png")).unwrap();
    let bad = recon(&[
        "denoise",
        "train",
        "--pairs",
        s(&pairs),
        "--steps",
        "1",
        "--crop",
        "32",
        "--out",
        s(&pm),
        "--force",
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("lonely.png") && err.lines().count() == 1, "{err}");
}

#[test]
fn bad_input_gets_a_one_line_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.png");
    let out = recon(&["denoise", "--input", s(&missing), "--output", s(&dir.path().join("o.png"))]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.png") && err.lines().count() == 1, "{err}");
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"not a png").unwrap();
    let out = recon(&["denoise", "--input", s(&junk), "--output", s(&dir.path().join("o.png"))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("junk.png") && !err.contains("panicked"), "{err}");
    // An MRI model is refused by name.
    let out = recon(&["denoise", "--input", s(&junk), "--model", "data/models/unrolled_2d.safetensors"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("unrolled_2d.safetensors")
            && err.contains("not a denoising model"),
        "{err}"
    );
    let out = recon(&["denoise", "eval", "--noise", "gausian:25", "--data", s(dir.path())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("gausian"), "{err}");
}
