//! Helpers shared by the end-to-end tests of outputs and input checks.
#![allow(dead_code)]

use ndarray::{Array2, Array3};
use num_complex::Complex32 as C32;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
