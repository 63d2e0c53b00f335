//! End-to-end tests of what `recon train` and `recon denoise train` accept and write: numeric
//! options are validated (usage errors, exit 2), outputs never replace inputs or existing
//! files, progress shows in logs (stderr not a terminal), and `--json` reports.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{recon, s};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name)
}

/// Two small photos in `dir/photos`.
fn photos(dir: &Path) -> PathBuf {
    let d = dir.join("photos");
    std::fs::create_dir_all(&d).unwrap();
    for f in ["skimage_chelsea.png", "skimage_camera.png"] {
        std::fs::copy(data("photos").join(f), d.join(f)).unwrap();
    }
    d
}

/// A folder's file names and contents.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

/// Tiny denoiser training on `photos` into `out`, plus `extra` options.
fn denoise_train(photos: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["denoise", "train", "--data", s(photos), "--out", s(out)];
    a.extend("--steps 4 --batch 1 --crop 32 --width 4 --val-every 2".split(' '));
    a.extend_from_slice(extra);
    recon(&a)
}

/// The error lines of a clap or recon error (without clap's "For more information" tip).
fn error_lines(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"))
        .map(str::to_string)
        .collect()
}

#[test]
fn out_of_range_numbers_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let volume = data("colin27_t1_1mm.nii.gz");
    let train: &[(&str, &str)] = &[
        ("--lr", "nan"),
        ("--lr", "inf"),
        ("--lr", "-1e-3"),
        ("--lr", "0"),
        ("--coils", "0"),
        ("--coils", "100000"),
        ("--crop", "100000"),
        ("--crop", "0"),
        ("--width", "100000"),
        ("--width", "0"),
        ("--batch", "100000"),
        ("--batch", "0"),
        ("--steps", "0"),
        ("--max-shift", "100000"),
        ("--max-phase", "nan"),
        ("--acceleration", "inf"),
        ("--p-edge", "0"),
        ("--center-fraction", "-1"),
        ("--stop-after", "0"),
        ("--val-slices", "100000000"),
    ];
    let photo_dir = photos(dir.path());
    let denoise: &[(&str, &str)] = &[
        ("--lr", "nan"),
        ("--crop", "100000"),
        ("--width", "0"),
        ("--batch", "0"),
        ("--steps", "0"),
        ("--channels", "0"),
        ("--val-crop", "100000000"),
    ];
    // `--flag=value`: a negative value is a value, not an option.
    let runs = train
        .iter()
        .map(|&(f, v)| {
            let opt = format!("{f}={v}");
            (f, v, recon(&["train", "--data", s(&volume), "--mode", "complex", "--out", s(&out), &opt]))
        })
        .chain(denoise.iter().map(|&(f, v)| {
            let opt = format!("{f}={v}");
            (f, v, recon(&["denoise", "train", "--data", s(&photo_dir), "--out", s(&out), &opt]))
        }));
    for (flag, value, r) in runs {
        assert_eq!(r.status.code(), Some(2), "{flag} {value}: {}", stderr(&r));
        let lines = error_lines(&r);
        assert_eq!(lines.len(), 1, "{flag} {value}: {lines:?}");
        assert!(lines[0].starts_with("error:") && lines[0].contains(flag), "{flag} {value}: {lines:?}");
        assert!(!stderr(&r).contains("panicked"));
    }
    assert!(!out.exists());
    // --json: the usage error is JSON on stdout too.
    let r = recon(&["train", "--data", s(&volume), "--out", s(&out), "--lr", "nan", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["exit_code"], 2);
}

#[test]
fn denoise_training_never_replaces_photos_or_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let photo_dir = photos(dir.path());
    let before = snapshot(&photo_dir);
    // Into the photo folder (where the plot once replaced a photo, then got trained on).
    for out in [photo_dir.join("m.safetensors"), photo_dir.join("skimage_camera.safetensors")] {
        let r = denoise_train(&photo_dir, &out, &["--force"]);
        assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
        assert!(stderr(&r).contains("input folder"), "{}", stderr(&r));
    }
    // Onto a photo given as a file, through the plot next to the model.
    let camera = photo_dir.join("skimage_camera.png");
    let r = recon(&[
        "denoise",
        "train",
        "--data",
        s(&camera),
        "--steps",
        "1",
        "--crop",
        "32",
        "--out",
        s(&photo_dir.join("skimage_camera.safetensors")),
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    // --pairs folders are inputs too.
    let r = recon(&[
        "denoise",
        "train",
        "--pairs",
        s(&photo_dir),
        "--out",
        s(&photo_dir.join("p/m.safetensors")),
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert_eq!(snapshot(&photo_dir), before, "the photo folder changed");

    // An existing model is kept without --force, replaced with it.
    let out = dir.path().join("m.safetensors");
    std::fs::write(&out, b"precious").unwrap();
    let r = denoise_train(&photo_dir, &out, &[]);
    assert_eq!(r.status.code(), Some(2));
    assert!(error_lines(&r).len() == 1 && stderr(&r).contains("--force"), "{}", stderr(&r));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let r = denoise_train(&photo_dir, &out, &["--force"]);
    assert!(r.status.success(), "{}", stderr(&r));
    // --resume compares every training setting with the checkpoint's.
    let r = denoise_train(&photo_dir, &out, &["--resume", "--lr", "1e-3"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("--lr") && stderr(&r).contains("0.0003"), "{}", stderr(&r));
    // --resume continues its own model, log and plot; a finished run is refused.
    let r = denoise_train(&photo_dir, &out, &["--resume"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("nothing to train"), "{}", stderr(&r));
    assert_eq!(snapshot(&photo_dir), before, "the photo folder changed");
}

#[test]
fn progress_lines_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let photo_dir = photos(dir.path());
    let r = denoise_train(&photo_dir, &dir.path().join("m.safetensors"), &[]);
    assert!(r.status.success(), "{}", stderr(&r));
    let err = stderr(&r);
    let progress: Vec<&str> = err.lines().filter(|l| l.starts_with("steps ") && l.contains("/4")).collect();
    assert!(progress.len() >= 2, "no progress lines in:\n{err}");
    let last = progress.last().unwrap();
    assert!(last.starts_with("steps 4/4") && last.contains("ETA") && last.contains("loss"), "{last}");
}

#[test]
fn train_and_denoise_train_report_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mri.safetensors");
    let volume = data("colin27_t1_1mm.nii.gz");
    let mut args = vec!["train", "--data", s(&volume), "--out", s(&out), "--json"];
    args.extend("--steps 2 --batch 1 --crop 32 --width 4 --max-train-slices 4".split(' '));
    let r = recon(&args);
    assert!(r.status.success(), "{}", stderr(&r));
    let text = String::from_utf8(r.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!((v["start_step"].as_u64(), v["steps"].as_u64()), (Some(0), Some(2)));
    assert_eq!(v["checkpoint"], s(&out));
    assert!(v["final_loss"].as_f64().unwrap().is_finite());
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    assert!(!stderr(&r).contains("steps "), "--json prints no progress: {}", stderr(&r));

    let photo_dir = photos(dir.path());
    let out = dir.path().join("d.safetensors");
    let r = denoise_train(&photo_dir, &out, &["--json"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["steps"], 4);
    assert_eq!(v["trained_on"], "gaussian:0-50");
    assert_eq!(v["log"], s(&out.with_extension("csv")));
}
