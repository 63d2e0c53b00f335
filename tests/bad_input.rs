//! The bad-input corpus: every hostile or broken input is a clean error or a correct result —
//! never a signal (abort, OOM kill), a hang, a panic, a changed input or a file left behind.
//!
//! Cases: the small committed files of `tests/fixtures/bad/` (made by `make_bad.py` there),
//! hostile inputs generated here at run time (gzip bombs, a 16384² PNG, FIFOs, `/dev/zero`
//! behind a link, a directory named like a scan), and seeded mutations (truncations, byte
//! flips, huge length fields) of the small well-formed fixtures of every format. Each input
//! goes through `recon --input` and `recon info`, and a folder of them through `recon batch`,
//! every run under a time limit and a virtual-memory limit (`ulimit -v`).

mod corpus;

use corpus::{generated_cases, mutated_cases, run_limited, Case, Expect};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Everything `recon` may leave in `out_dir` after a run on `case`: its output when it
/// succeeded, nothing otherwise.
fn check_run(case: &Case, args: &[&str], out_dir: &Path, output: Option<&Path>) {
    let before = corpus::fingerprint(&case.input);
    let r = run_limited(args);
    let what = format!("{} ({}): recon {}", case.name, case.why, args.join(" "));
    let code = r.code.unwrap_or_else(|| panic!("{what}: killed by a signal or timed out: {}", r.stderr));
    let stderr = r.stderr.trim_end();
    assert!(!stderr.contains("panicked"), "{what}: panicked: {stderr}");
    assert!(matches!(code, 0..=3), "{what}: exit {code}: {stderr}");
    assert_eq!(corpus::fingerprint(&case.input), before, "{what}: the input changed");
    if code == 0 {
        assert!(case.expect != Expect::Error, "{what}: must be refused, got success: {}", r.stdout);
        if let Some(out) = output {
            corpus::assert_finite_output(out, &what);
        }
    } else {
        assert!(case.expect != Expect::Ok, "{what}: must succeed, exit {code}: {stderr}");
        if case.expect == Expect::Error {
            assert_eq!(code, 3, "{what}: bad input is exit code 3: {stderr}");
        }
        assert_eq!(stderr.lines().count(), 1, "{what}: one error line: {stderr}");
        let name = case.input.file_name().unwrap().to_string_lossy();
        let stem = name.split('.').next().unwrap_or(&name).to_string();
        assert!(stderr.contains(&stem), "{what}: the error must name the file: {stderr}");
    }
    // Nothing but the output (on success) is left: no temporary files.
    for e in std::fs::read_dir(out_dir).unwrap().flatten() {
        let keep = code == 0 && output.is_some_and(|o| e.path() == o);
        assert!(keep, "{what}: left {} behind", e.path().display());
    }
    if let Some(out) = output {
        let _ = std::fs::remove_file(out);
    }
}

fn check_case(case: &Case, scratch: &Path) {
    let out_dir = scratch.join(format!("out-{}", case.name));
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("out.h5");
    let input = case.input.to_str().unwrap();
    check_run(case, &["--input", input, "-o", out.to_str().unwrap(), "--no-model"], &out_dir, Some(&out));
    // `info` describes what a file declares without reading its bulk data: a file that
    // declares a huge slice may be described; it must still never crash, hang or allocate it.
    let info = Case {
        expect: Expect::ErrorOrOk,
        name: case.name.clone(),
        input: case.input.clone(),
        why: case.why.clone(),
    };
    check_run(&info, &["info", input], &out_dir, None);
}

#[test]
fn committed_hostile_files_are_refused_or_reconstructed_correctly() {
    let dir = root().join("tests/fixtures/bad");
    let scratch = tempfile::tempdir().unwrap();
    let cases = [
        ("h5_chunked_no_chunks.h5", Expect::Error, "declares a 32 TiB slice, stores nothing"),
        ("h5_gzip_slice_8gib.h5", Expect::Error, "gzip-chunked 8 GiB slice"),
        ("h5_reference_10x10.h5", Expect::Error, "reference 10x10 next to 32x32 k-space"),
        ("h5_huge_values.h5", Expect::ErrorOrOk, "|k| ~ 1e21 overflows f32"),
        ("nii_scl_slope_1e30.nii", Expect::ErrorOrOk, "scl_slope 1e30 overflows f32"),
        ("cfl_image_not_kspace.cfl", Expect::Error, "a BART image, not k-space"),
        ("cfl_3d_kspace.cfl", Expect::ErrorOrOk, "3-D k-space needs an FFT along kz"),
        ("cfl_huge_dims.cfl", Expect::Error, "header declares 2^40 values"),
    ];
    for (name, expect, why) in cases {
        let case = Case { name: name.replace('.', "_"), input: dir.join(name), expect, why: why.into() };
        check_case(&case, scratch.path());
    }
}

#[test]
fn generated_bombs_special_files_and_huge_images_are_refused() {
    let scratch = tempfile::tempdir().unwrap();
    for case in generated_cases(scratch.path()) {
        check_case(&case, scratch.path());
    }
}

#[test]
fn mutated_fixtures_never_crash() {
    let scratch = tempfile::tempdir().unwrap();
    for case in mutated_cases(&root(), scratch.path(), 12) {
        check_case(&case, scratch.path());
    }
}

/// A batch over a folder of hostile files and one good scan finishes: the good volume is
/// reconstructed, each bad one is a `failed` line, and a rerun ends the same way.
#[test]
fn batch_over_hostile_files_finishes_and_reruns() {
    let scratch = tempfile::tempdir().unwrap();
    let input = scratch.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let bad = root().join("tests/fixtures/bad");
    for name in ["h5_chunked_no_chunks.h5", "h5_gzip_slice_8gib.h5", "h5_reference_10x10.h5"] {
        std::fs::copy(bad.join(name), input.join(name)).unwrap();
    }
    corpus::write_nifti_bomb(&input.join("bomb.nii.gz"), [2048, 2048, 2048], 8 << 20);
    std::fs::copy(root().join("recon/tests/fixtures/h5/multicoil.h5"), input.join("good.h5")).unwrap();
    let out = scratch.path().join("out");
    for run in 0..2 {
        let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
        let args = ["batch", "--input-dir", i, "--output-dir", o, "--pattern", "*", "--no-model"];
        let r = run_limited(&args);
        let code = r.code.unwrap_or_else(|| panic!("batch run {run}: killed or timed out: {}", r.stderr));
        assert_eq!(code, 1, "batch run {run}: failed volumes give exit 1: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert!(out.join("good.h5").exists(), "batch run {run}: the good volume is reconstructed");
        let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
        let failed = manifest.lines().filter(|l| l.contains("\"failed\"")).count();
        assert!(failed >= 4 * (run + 1), "batch run {run}: every bad file is a failed line: {manifest}");
    }
}
