//! Helpers of the `recon batch` tests (tests/batch.rs, tests/batch_merge.rs): running the
//! binary, a dataset of copies of the sample scan, reading manifests and outputs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const SAMPLE: &str = "data/colin27_sim.h5";

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_recon"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub fn recon(args: &[&str]) -> Output {
    bin().args(args).output().expect("the recon binary runs")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
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
