//! End-to-end tests of `recon study`: a tiny sweep writes its tables and report and its cells
//! equal `recon --input … --method … --json`; a stopped (and cut) study resumes to the same
//! bytes, and shards merge to them; bad input is a clear one-line error.

use std::path::{Path, PathBuf};

mod common;
use common::*;

/// Two small 4-coil volumes (one 80×80 slice each, simulated from two phantoms) in `dir/scans`.
fn volumes(dir: &Path) -> PathBuf {
    let input = dir.join("scans");
    std::fs::create_dir_all(&input).unwrap();
    let a = phantom(80, 80);
    let b = a.t().to_owned();
    for (name, img) in [("a", a), ("b", b)] {
        let png = dir.join(format!("{name}.png"));
        recon::io::png::write_png_gray(&png, &img, 0.0, 1.0, 16).unwrap();
        let h5 = input.join(format!("{name}.h5"));
        let r = recon(&["simulate", "--input", s(&png), "--coils", "4", "-o", s(&h5)]);
        assert!(r.status.success(), "{}", text(&r.stderr));
    }
    input
}

/// `recon study` over `input` into `out` with the tiny sweep's options and `extra`.
fn study(input: &Path, out: &Path, masks: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["study", "--input-dir", s(input), "--output-dir", s(out), "--masks", masks];
    args.extend_from_slice(&["--accelerations", "2,4", "--methods", "zero-filled,sense", "--seeds", "0..2"]);
    args.extend_from_slice(&["--iterations", "5", "--jobs", "2"]);
    args.extend_from_slice(extra);
    recon(&args)
}

fn study_ok(input: &Path, out: &Path, masks: &str, extra: &[&str]) -> String {
    let r = study(input, out, masks, extra);
    assert!(r.status.success(), "recon study failed: {}\n{}", text(&r.stderr), text(&r.stdout));
    text(&r.stdout)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The tables that must be the same bytes however the study was run.
fn tables(out: &Path) -> Vec<String> {
    ["results.csv", "summary.csv", "paired.csv"].iter().map(|f| read(&out.join(f))).collect()
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

#[test]
fn a_tiny_study_writes_its_tables_and_report_and_its_cells_equal_recon() {
    let dir = tempfile::tempdir().unwrap();
    let input = volumes(dir.path());
    let out = dir.path().join("study");
    let stdout = study_ok(&input, &out, "random,poisson", &[]);
    assert!(stdout.contains("reconstructions/s"), "{stdout}");

    // 2 volumes × 2 masks × 2 accelerations × 2 seeds × 2 methods.
    let results = read(&out.join("results.csv"));
    assert!(results.starts_with("volume,mask,acceleration,centre,method,seed,psnr,ssim,nmse,"), "{results}");
    let cells = rows(&results);
    assert_eq!(cells.len(), 32);
    assert_eq!(manifest(&out.join("results.jsonl")).len(), 32);
    assert_eq!(&cells[0][..6], ["a.h5", "random", "2", "0.16", "zero_filled", "0"]);
    // Poisson without a calib box reads the centre fraction too: 0.32 / R.
    assert!(cells.iter().any(|c| c[1] == "poisson" && c[2] == "4" && c[3] == "0.08"));
    let summary = rows(&read(&out.join("summary.csv")));
    assert_eq!(summary.len(), 8);
    assert!(summary.iter().all(|g| g[3] == "4"), "n = 2 volumes × 2 seeds");
    let paired = rows(&read(&out.join("paired.csv")));
    assert_eq!(paired.len(), 8, "random − poisson at 2 accelerations × 2 methods × PSNR, SSIM");
    for g in &summary {
        let v: Vec<f64> = g[4..8].iter().map(|x| x.parse().unwrap()).collect();
        assert!(v[2] <= v[0] && v[0] <= v[3], "the CI holds the mean: {g:?}");
    }
    // The report's slice (first volume, middle slice, R = 4, seed 0) was saved per cell.
    assert!(out.join("slices/reference.npy").is_file());
    assert!(out.join("slices/poisson__sense.npy").is_file());
    assert!(out.join("study.json").is_file());
    // The report: one HTML file with its images, and the same figures as PNG.
    let html = read(&out.join("report.html"));
    assert!(html.contains("data:image/png;base64,"), "images embedded");
    let pngs = std::fs::read_dir(out.join("figures"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    assert!(pngs >= 3, "{pngs} figures");

    // Several cells equal `recon --input … --json` for the same cell, exactly.
    for (volume, mask, acc, seed, method) in [
        ("a.h5", "random", "4", "1", "sense"),
        ("b.h5", "poisson", "2", "0", "zero-filled"),
        ("b.h5", "random", "2", "1", "sense"),
    ] {
        let o = dir.path().join("one.h5");
        let file = input.join(volume);
        let r = recon(&[
            "--input",
            s(&file),
            "--mask",
            mask,
            "--acceleration",
            acc,
            "--seed",
            seed,
            "--method",
            method,
            "--iterations",
            "5",
            "--json",
            "--force",
            "-o",
            s(&o),
        ]);
        let j = json(&r);
        let name = method.replace('-', "_");
        let m = j["metrics"].as_array().unwrap().iter().find(|m| m["method"] == name.as_str()).unwrap();
        let cell = cells
            .iter()
            .find(|c| c[0] == volume && c[1] == mask && c[2] == acc && c[4] == name && c[5] == seed)
            .unwrap();
        for (col, key) in [(6, "psnr"), (7, "ssim"), (8, "nmse")] {
            let ours: f64 = cell[col].parse().unwrap();
            let theirs = m[key].as_f64().unwrap();
            assert!(
                (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0),
                "{volume} {mask} {acc} {seed} {method} {key}: {ours} vs {theirs}"
            );
        }
        let achieved: f64 = cell[9].parse().unwrap();
        assert!((achieved - j["mask"]["achieved_acceleration"].as_f64().unwrap()).abs() < 1e-12);
    }
}

#[test]
fn a_stopped_study_resumes_and_shards_merge_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let input = volumes(dir.path());
    // A 1-D column mask saved as .npy (every 3rd column and the centre): one unit per volume.
    let cols: Vec<bool> = (0..80).map(|j| j % 3 == 0 || (36..44).contains(&j)).collect();
    let mask = dir.path().join("cols.npy");
    recon::io::npy::write_npy(&mask, &ndarray::Array1::from(cols).view().into_dyn()).unwrap();
    let masks = format!("equispaced,file:{}", s(&mask));

    let whole = dir.path().join("whole");
    study_ok(&input, &whole, &masks, &[]);
    let expected = tables(&whole);
    // 2 volumes × (equispaced: 2 R × 2 seeds + file: 1) × 2 methods.
    assert_eq!(rows(&expected[0]).len(), 2 * 5 * 2);
    assert!(expected[0].contains(&format!("file:{}", s(&mask))), "{}", expected[0]);
    // `recon --mask file:cols.npy` reconstructs the mask file's cell exactly.
    let o = dir.path().join("one.h5");
    let file_mask = format!("file:{}", s(&mask));
    let b = input.join("b.h5");
    let r = recon(&[
        "--input",
        s(&b),
        "--mask",
        &file_mask,
        "--method",
        "sense",
        "--iterations",
        "5",
        "--json",
        "-o",
        s(&o),
    ]);
    let j = json(&r);
    let theirs = j["metrics"].as_array().unwrap().iter().find(|m| m["method"] == "sense").unwrap()["psnr"]
        .as_f64()
        .unwrap();
    let all = rows(&expected[0]);
    let cell = all.iter().find(|c| c[0] == "b.h5" && c[1] == file_mask && c[4] == "sense").unwrap();
    let ours: f64 = cell[6].parse().unwrap();
    assert!((ours - theirs).abs() <= 1e-9 * theirs, "{ours} vs {theirs}");
    assert_eq!(
        cell[2].parse::<f64>().unwrap(),
        80.0 / 32.0,
        "a mask file's acceleration is its achieved one"
    );

    // Stopped after 3 units, then a kill that cut a line: the re-run completes it.
    let resumed = dir.path().join("resumed");
    let stdout = study_ok(&input, &resumed, &masks, &["--stop-after", "3"]);
    assert!(stdout.contains("run the same command again"), "{stdout}");
    assert!(!resumed.join("results.csv").exists());
    assert_eq!(manifest(&resumed.join("results.jsonl")).len(), 6);
    std::fs::OpenOptions::new()
        .append(true)
        .open(resumed.join("results.jsonl"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, br#"{"volume":"b.h5","mask":"equi"#))
        .unwrap();
    let stdout = study_ok(&input, &resumed, &masks, &[]);
    assert!(stdout.contains("14 computed, 6 already done"), "{stdout}");
    assert_eq!(tables(&resumed), expected);
    // Nothing left: a third run computes nothing and writes the same tables.
    assert!(study_ok(&input, &resumed, &masks, &[]).contains("0 computed, 20 already done"));
    assert_eq!(tables(&resumed), expected);

    // Two shards, then merge: the same tables.
    let sharded = dir.path().join("sharded");
    study_ok(&input, &sharded, &masks, &["--shard", "0/2"]);
    let early = recon(&["study", "merge", "--output-dir", s(&sharded)]);
    fails(&early, 1, &["no results file for shard(s) [1]"]);
    study_ok(&input, &sharded, &masks, &["--shard", "1/2"]);
    let merged = recon(&["study", "merge", "--output-dir", s(&sharded)]);
    assert!(merged.status.success(), "{}", text(&merged.stderr));
    assert_eq!(tables(&sharded), expected);
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = dir.path().join("out");
    fails(&study(&empty, &out, "random", &[]), 2, &["no file matches", "empty"]);
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(root().join(SAMPLE), input.join("x.h5")).unwrap();
    fails(&study(&input, &out, "random,spiral", &[]), 2, &["--masks 'spiral'", "unknown"]);
    let r = recon(&[
        "study",
        "--input-dir",
        s(&input),
        "--output-dir",
        s(&out),
        "--masks",
        "random",
        "--accelerations",
        "4",
        "--methods",
        "cs",
        "--seeds",
        "4..2",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("--seeds '4..2': an empty range"), "{}", text(&r.stderr));
    fails(&study(&input, &out, "file:missing.npy", &[]), 1, &["missing.npy"]);
    fails(&study(&input, &out, "random", &["--report-slice", "99"]), 2, &["--report-slice 99", "6 slice(s)"]);
}
