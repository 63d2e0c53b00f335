//! Helpers shared by the end-to-end tests: running the binary (under a time limit), test
//! images, and for the `recon batch` tests a dataset of copies of the sample scan, manifests
//! and outputs.
#![allow(dead_code)]

use ndarray::{Array2, Array3};
use num_complex::Complex32 as C32;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const SAMPLE: &str = "data/colin27_sim.h5";
/// No run of the binary may take longer than this (a hang is a failure, not a stuck CI).
const RUN_LIMIT_S: &str = "120";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `recon ARGS` in `cwd` under `timeout` (exit 124 when it hangs).
pub fn recon_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Output {
    Command::new("timeout")
        .arg(RUN_LIMIT_S)
        .arg(env!("CARGO_BIN_EXE_recon"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the recon binary runs")
}

/// `recon ARGS` in the repository root.
pub fn recon(args: &[&str]) -> Output {
    recon_in(&root(), args)
}

pub fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "recon failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json prints one JSON object")
}

/// Asserts a failure with exit `code` and a one-line message containing every `want`.
pub fn fails(out: &Output, code: i32, want: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "expected exit {code}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for w in want {
        assert!(err.contains(w), "error should mention {w:?}: {err}");
    }
    err
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A positive ellipse phantom, `h × w`, zero outside the ellipse (an object in a field of view).
pub fn phantom(h: usize, w: usize) -> Array2<f32> {
    let (ch, cw) = (h as f32 / 2.0, w as f32 / 2.0);
    Array2::from_shape_fn((h, w), |(i, j)| {
        let (y, x) = ((i as f32 - ch) / ch, (j as f32 - cw) / cw);
        let mut v = if (x / 0.8).powi(2) + (y / 0.65).powi(2) < 1.0 { 0.6 } else { 0.0 };
        if (x - 0.25).powi(2) + (y + 0.1).powi(2) < 0.04 {
            v = 1.0;
        }
        v
    })
}

/// Centred 2-D k-space of an image.
pub fn kspace_of(img: &Array2<f32>) -> Array2<C32> {
    kspace::fft2c(&img.mapv(|v| C32::new(v, 0.0)))
}

/// The reconstruction dataset of an h5 output.
pub fn reconstruction(path: &Path) -> Array3<f32> {
    recon::io::hdf5::open_any(path)
        .unwrap()
        .read_f32("reconstruction")
        .unwrap()
        .into_dimensionality()
        .unwrap()
}

/// Largest |a − b| relative to max |b|.
pub fn rel_err(a: &Array3<f32>, b: &Array3<f32>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    let peak = b.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs())) / peak
}

// ---- recon batch ----

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_recon"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `n` good volumes `file0.h5`… (copies of the sample scan: each gets its own mask from its
/// name) in `dir/in`.
pub fn dataset(dir: &Path, n: usize) -> PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    for i in 0..n {
        std::fs::copy(&sample, input.join(format!("file{i}.h5"))).unwrap();
    }
    input
}

pub fn batch_args<'a>(input: &'a Path, output: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["batch", "--input-dir", s(input), "--output-dir", s(output), "--mask", "random"];
    v.extend_from_slice(&["--acceleration", "4"]);
    v.extend_from_slice(extra);
    v
}

/// The parsed complete lines of a manifest.
pub fn manifest(path: &Path) -> Vec<serde_json::Value> {
    let t = std::fs::read_to_string(path).unwrap_or_default();
    let complete = t.rfind('\n').map(|i| &t[..i]).unwrap_or("");
    complete.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// The latest manifest line per file.
pub fn latest(path: &Path) -> BTreeMap<String, serde_json::Value> {
    manifest(path).into_iter().map(|v| (v["file"].as_str().unwrap().to_string(), v)).collect()
}

pub fn h5_outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".h5"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

pub fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(!n.ends_with(".tmp"), "temporary file left: {n}");
    }
}

/// Inode and modification time: unchanged when a file was not rewritten.
pub fn stamp(p: &Path) -> (u64, i64, i64) {
    let md = std::fs::metadata(p).unwrap();
    (md.ino(), md.mtime(), md.mtime_nsec())
}

/// Runs a batch that must succeed; its stdout.
pub fn batch_ok(input: &Path, output: &Path, extra: &[&str]) -> String {
    let r = recon(&batch_args(input, output, extra));
    assert!(r.status.success(), "{}", text(&r.stderr));
    text(&r.stdout)
}

/// `n` good volumes in `dir/in` and an uninterrupted `--jobs 1` zero-filled batch of them in
/// `dir/<name>`, to compare other runs against: (input folder, output folder).
pub fn dataset_and_reference_run(dir: &Path, n: usize, name: &str) -> (PathBuf, PathBuf) {
    let input = dataset(dir, n);
    let reference = dir.join(name);
    batch_ok(&input, &reference, &["--no-model", "--jobs", "1"]);
    (input, reference)
}

/// Starts `recon args` slowed down by the test-only delay before each volume (to be killed
/// or watched part-way), output discarded.
pub fn spawn_slowed(args: &[&str], delay_ms: u64) -> Child {
    bin()
        .args(args)
        .env("RECON_BATCH_TEST_DELAY_MS", delay_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
