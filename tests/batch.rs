//! End-to-end tests of `recon batch`: outputs, manifest and summary on a small dataset with
//! bad files; SIGKILL part-way and resume; reproducing one volume with `recon --input
//! --seed-from-name`; flat peak memory; non-UTF-8 names. Merging shards: tests/batch_merge.rs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::*;

#[test]
fn batch_writes_outputs_manifest_and_summary_and_reports_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dataset(dir.path(), 3);
    // A truncated file, a valid HDF5 file without k-space, and a file the pattern excludes.
    let sample = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)).unwrap();
    std::fs::write(input.join("corrupt.h5"), &sample[..5000]).unwrap();
    let layout = input.join("layout.h5");
    let foo = recon::io::hdf5::H5Data::F32(ndarray::Array3::<f32>::zeros((2, 8, 8)).into_dyn());
    recon::io::hdf5::write_h5(&layout, &[("foo", foo)], &[]).unwrap();
    std::fs::write(input.join("notes.txt"), "not a scan").unwrap();
    let before: Vec<Vec<u8>> =
        ["file0.h5", "corrupt.h5"].iter().map(|n| std::fs::read(input.join(n)).unwrap()).collect();

    let out = dir.path().join("out");
    let r = recon(&batch_args(&input, &out, &["--no-model", "--jobs", "2", "--png", "--nifti"]));
    let stdout = text(&r.stdout);
    assert!(!r.status.success(), "a failed volume must make the exit code non-zero\n{stdout}");
    assert!(text(&r.stderr).contains("2 volume(s) failed"), "{}", text(&r.stderr));
    assert!(stdout.contains("5 file(s): 3 done, skipped 0, 2 failed"), "{stdout}");
    let after: Vec<Vec<u8>> =
        ["file0.h5", "corrupt.h5"].iter().map(|n| std::fs::read(input.join(n)).unwrap()).collect();
    assert_eq!(before, after, "inputs must not change");

    // Manifest: one line per volume, failures name the file and the problem.
    let m = latest(&out.join("manifest.jsonl"));
    assert_eq!(m.keys().collect::<Vec<_>>(), ["corrupt.h5", "file0.h5", "file1.h5", "file2.h5", "layout.h5"]);
    assert_eq!(m["corrupt.h5"]["status"], "failed");
    assert!(
        m["corrupt.h5"]["error"].as_str().unwrap().contains("corrupt.h5: file is truncated"),
        "{}",
        m["corrupt.h5"]
    );
    assert!(m["layout.h5"]["error"].as_str().unwrap().contains("layout.h5"), "{}", m["layout.h5"]);
    assert!(!out.join("corrupt.h5").exists() && !out.join("layout.h5").exists());
    // Every good volume: fastMRI submission layout, previews, and its own file-name mask.
    let mut masks = Vec::new();
    for i in 0..3 {
        let name = format!("file{i}.h5");
        let e = &m[&name];
        assert_eq!(e["status"], "ok");
        assert_eq!(e["seed"], name.as_str());
        assert_eq!(e["slices"], 6);
        assert_eq!(e["acquisition"], "SIMULATED");
        let f = recon::io::hdf5::open_any(&out.join(&name)).unwrap();
        assert_eq!(f.dataset("reconstruction").unwrap().shape, vec![6, 217, 181]);
        masks.push(f.read_bool("mask").unwrap());
        assert!(
            out.join(format!("png/file{i}.png")).is_file()
                && out.join(format!("nifti/file{i}.nii.gz")).is_file()
        );
    }
    assert!(masks[0] != masks[1] && masks[1] != masks[2], "each file name seeds its own mask");
    // The NIfTI preview holds the reconstruction (axial slices in display orientation).
    let rec = recon::io::hdf5::open_any(&out.join("file2.h5")).unwrap().read_f32("reconstruction").unwrap();
    let nii = recon::io::nifti::read_volume(out.join("nifti/file2.nii.gz")).unwrap();
    assert_eq!(nii.shape(), [181, 217, 6]);
    for z in 0..6 {
        assert_eq!(nii.slice(2, z).unwrap().into_dyn(), rec.index_axis(ndarray::Axis(0), z));
    }
    no_temp_files(&out);

    // The manifest's metrics are those of `recon eval` (fastMRI's evaluation) on the outputs.
    let ev: serde_json::Value = serde_json::from_slice(
        &recon(&["eval", "--targets", s(&input), "--predictions", s(&out), "--json"]).stdout,
    )
    .unwrap();
    let mut psnrs = Vec::new();
    for v in ev["volumes"].as_array().unwrap() {
        let got = &m[v["name"].as_str().unwrap()]["metrics"]["zero_filled"];
        for k in ["psnr", "ssim", "nmse"] {
            let (a, b) = (got[k].as_f64().unwrap(), v[k].as_f64().unwrap());
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{k}: manifest {a} vs eval {b}");
        }
        psnrs.push(v["psnr"].as_f64().unwrap());
    }
    assert_eq!(psnrs.len(), 3);
    // Summary: mean ± population std per acquisition / acceleration / method, and the failures.
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows: Vec<Vec<&str>> = summary.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{summary}");
    assert_eq!(rows[0][..4], ["SIMULATED", "4", "zero_filled", "3"]);
    let mean = psnrs.iter().sum::<f64>() / 3.0;
    let std = (psnrs.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let (m_csv, s_csv): (f64, f64) = (rows[0][4].parse().unwrap(), rows[0][5].parse().unwrap());
    assert!((m_csv - mean).abs() < 1e-9 && (s_csv - std).abs() < 1e-9 && std > 0.0, "{summary}");
    assert_eq!(rows[1][..4], ["failed", "", "", "2"]);
    let csv = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(stdout.contains("SIMULATED") && stdout.contains("FAILED corrupt.h5"), "{stdout}");

    // Any volume alone: `recon --input --seed-from-name` writes the same bytes.
    let single = dir.path().join("single.h5");
    let one = recon(&[
        "--input",
        s(&input.join("file1.h5")),
        "--mask",
        "random",
        "--acceleration",
        "4",
        "--seed-from-name",
        "--no-model",
        "-o",
        s(&single),
    ]);
    assert!(one.status.success(), "{}", text(&one.stderr));
    assert_eq!(std::fs::read(&single).unwrap(), std::fs::read(out.join("file1.h5")).unwrap());

    // Re-run: the finished volumes are skipped (not rewritten), the failed ones retried.
    let stamp = |n: &str| stamp(&out.join(n));
    let stamps: Vec<_> = (0..3).map(|i| stamp(&format!("file{i}.h5"))).collect();
    let again = recon(&batch_args(&input, &out, &["--no-model", "--png", "--nifti"]));
    assert!(!again.status.success());
    assert!(text(&again.stdout).contains("0 done, skipped 3, 2 failed"), "{}", text(&again.stdout));
    assert_eq!(stamps, (0..3).map(|i| stamp(&format!("file{i}.h5"))).collect::<Vec<_>>());
    // Repaired files are done on the next run and the exit code is zero again.
    std::fs::write(input.join("corrupt.h5"), &sample).unwrap();
    std::fs::remove_file(&layout).unwrap();
    let fixed = recon(&batch_args(&input, &out, &["--no-model", "--png", "--nifti"]));
    assert!(fixed.status.success(), "{}", text(&fixed.stderr));
    assert!(
        text(&fixed.stdout).contains("4 file(s): 1 done, skipped 3, 0 failed"),
        "{}",
        text(&fixed.stdout)
    );
    // Other settings are not "done": the mask or acceleration changed, so every volume is redone.
    let other = recon(&[
        "batch",
        "--input-dir",
        s(&input),
        "--output-dir",
        s(&out),
        "--no-model",
        "--acceleration",
        "8",
    ]);
    assert!(other.status.success(), "{}", text(&other.stderr));
    assert!(text(&other.stdout).contains("4 done, skipped 0"), "{}", text(&other.stdout));
}

#[test]
fn bad_requests_fail_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let input = dataset(dir.path(), 1);
    let cases: [(&[&str], &str); 4] = [
        (&["--shard", "3/3"], "--shard"),
        (&["--mask", "nonsense"], "nonsense"),
        (&["--pattern", "*.nii"], "no file matches"),
        (&["--model", "missing.safetensors"], "missing.safetensors"),
    ];
    for (extra, want) in cases {
        let out = dir.path().join("out");
        let mut args = vec!["batch", "--input-dir", s(&input), "--output-dir", s(&out)];
        args.extend_from_slice(extra);
        let r = recon(&args);
        assert!(!r.status.success());
        assert!(text(&r.stderr).contains(want), "{extra:?}: {}", text(&r.stderr));
        assert!(!out.join("manifest.jsonl").exists(), "{extra:?}");
    }
    let r = recon(&batch_args(&input, &input, &["--no-model"]));
    assert!(!r.status.success() && text(&r.stderr).contains("input folder"), "{}", text(&r.stderr));
}

#[test]
fn sigkill_part_way_then_resume_gives_the_uninterrupted_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (input, whole) = dataset_and_reference_run(dir.path(), 5, "whole");

    // The same batch, slowed down (test-only delay before each volume), killed once at least
    // one volume is in the manifest.
    let out = dir.path().join("killed");
    let mut child = spawn_slowed(&batch_args(&input, &out, &["--no-model", "--jobs", "1"]), 700);
    let man = out.join("manifest.jsonl");
    let t0 = Instant::now();
    while manifest(&man).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no volume finished");
        assert!(child.try_wait().unwrap().is_none(), "the batch ended before it was killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done: Vec<String> = manifest(&man).iter().map(|v| v["file"].as_str().unwrap().to_string()).collect();
    assert!(!done.is_empty() && done.len() < 5, "killed part-way: {done:?}");
    let stamp = |n: &str| stamp(&out.join(n));
    let stamps: Vec<_> = done.iter().map(|n| stamp(n)).collect();
    // As if the kill had cut a line in half: it must be ignored, and not spoil the next line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&man)
        .and_then(|mut f| std::io::Write::write_all(&mut f, br#"{"file":"file4.h5","status":"o"#))
        .unwrap();

    // And as if a volume had been cut while its output was being written.
    std::fs::write(out.join(".file4.h5.4242.tmp"), b"half an h5").unwrap();

    let again = recon(&batch_args(&input, &out, &["--no-model", "--jobs", "1"]));
    let stdout = text(&again.stdout);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let k = done.len();
    assert!(stdout.contains(&format!("{} done, skipped {k}, 0 failed", 5 - k)), "{stdout}");
    assert_eq!(stamps, done.iter().map(|n| stamp(n)).collect::<Vec<_>>(), "finished volumes were rewritten");
    assert_eq!(h5_outputs(&out), h5_outputs(&whole), "outputs differ from an uninterrupted run");
    assert_eq!(
        std::fs::read(out.join("summary.csv")).unwrap(),
        std::fs::read(whole.join("summary.csv")).unwrap()
    );
    assert_eq!(latest(&man).len(), 5);
    assert!(manifest(&man).iter().all(|v| v["status"] == "ok"));
    no_temp_files(&out);
    // A third run has nothing left to do.
    let third = recon(&batch_args(&input, &out, &["--no-model", "--jobs", "1"]));
    assert!(text(&third.stdout).contains("0 done, skipped 5"), "{}", text(&third.stdout));
}

#[test]
fn default_model_batch_matches_recon_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dataset(dir.path(), 2);
    let out = dir.path().join("out");
    let r = recon(&batch_args(&input, &out, &["--json"]));
    assert!(r.status.success(), "{}", text(&r.stderr));
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!((report["done"].as_u64(), report["slices"].as_u64()), (Some(2), Some(12)), "{report}");
    let m = latest(&out.join("manifest.jsonl"));
    for e in m.values() {
        assert!(e["model"].as_str().unwrap().starts_with("default-cartesian"), "{e}");
        assert_eq!(e["method"], "network");
        let (net, zf) = (&e["metrics"]["network"]["psnr"], &e["metrics"]["zero_filled"]["psnr"]);
        assert!(net.as_f64().unwrap() > zf.as_f64().unwrap() + 1.0, "{e}");
    }
    let single = dir.path().join("single.h5");
    let one = recon(&["-i", s(&input.join("file0.h5")), "--seed-from-name", "-o", s(&single)]);
    assert!(one.status.success(), "{}", text(&one.stderr));
    assert_eq!(std::fs::read(&single).unwrap(), std::fs::read(out.join("file0.h5")).unwrap());
}

/// Peak memory of a batch over `n` hard links of `scan` (4 threads, zero-filled). Before the
/// fix, 4 threads meant 4 volumes in flight for 20 volumes and 2 for 2 (and glibc's
/// sliding mmap threshold let the heaps grow): 34 MiB for 2 volumes, 108 MiB for 20 and 200.
fn batch_peak(dir: &Path, scan: &Path, n: usize) -> f64 {
    let input = dir.join(format!("in{n}"));
    std::fs::create_dir_all(&input).unwrap();
    for i in 0..n {
        let f = input.join(format!("vol{i:03}.h5"));
        std::fs::hard_link(scan, &f).or_else(|_| std::fs::copy(scan, &f).map(|_| ())).unwrap();
    }
    let r =
        recon(&batch_args(&input, &dir.join(format!("out{n}")), &["--no-model", "--jobs", "4", "--json"]));
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["done"].as_u64(), Some(n as u64));
    v["peak_rss_mib"].as_f64().expect("VmHWM on Linux")
}

#[test]
fn peak_memory_does_not_grow_with_the_number_of_volumes() {
    use num_complex::Complex32;
    // One-slice 8-coil 256² volumes (4 MiB of k-space): cheap, and large enough that each
    // volume in flight, or each heap a thread keeps, shows in the peak (about 27 MiB).
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.h5");
    let k = ndarray::Array4::from_shape_fn((1, 8, 256, 256), |(_, c, y, x)| {
        let v = ((c * 31 + y * 7 + x * 13) % 97) as f32 - 48.0;
        Complex32::new(v, 0.25 * v)
    });
    recon::io::hdf5::write_h5(&scan, &[("kspace", recon::io::hdf5::H5Data::C64(k.into_dyn()))], &[]).unwrap();
    let peaks: Vec<f64> = [2, 20, 200].iter().map(|&n| batch_peak(dir.path(), &scan, n)).collect();
    let (lo, hi) = peaks.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    eprintln!("peak memory (MiB) for 2, 20, 200 volumes: {peaks:?}");
    assert!(hi <= 1.1 * lo, "peak memory (MiB) for 2, 20, 200 volumes: {peaks:?}");
}

#[cfg(unix)]
#[test]
fn non_utf8_input_names_keep_their_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let name = OsStr::from_bytes(b"scan-\xff\xfe.h5");
    std::fs::copy(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), input.join(name)).unwrap();
    let out = dir.path().join("out");
    for run in ["0 done, skipped 1", "1 done, skipped 0"].iter().rev() {
        let r = recon(&batch_args(&input, &out, &["--no-model", "--png"]));
        assert!(r.status.success(), "{}", text(&r.stderr));
        assert!(text(&r.stdout).contains(run), "{}", text(&r.stdout));
    }
    assert!(out.join(name).is_file(), "the output has the input's bytes");
    assert!(out.join("png").join(OsStr::from_bytes(b"scan-\xff\xfe.png")).is_file());
    // The name mapping itself: recon/src/batch/files.rs's unit test.
}

#[test]
fn summary_groups_by_acquisition_with_an_all_row() {
    use num_complex::Complex32;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    // Small fully-sampled multi-coil scans (2 slices, 2 coils, 32×24) of two acquisitions.
    for (i, acq) in ["CORPD_FBK", "CORPD_FBK", "CORPDFS_FBK"].iter().enumerate() {
        let k = ndarray::Array4::from_shape_fn((2, 2, 32, 24), |(s, c, y, x)| {
            let v = ((s * 7 + c * 3 + y * 5 + x * 11 + i * 13) % 17) as f32 - 8.0;
            Complex32::new(v, 0.5 * v + (y as f32 - 16.0).abs())
        });
        recon::io::hdf5::write_h5(
            &input.join(format!("scan{i}.h5")),
            &[("kspace", recon::io::hdf5::H5Data::C64(k.into_dyn()))],
            &[("acquisition", recon::io::hdf5::AttrValue::Str(acq.to_string()))],
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    let r = recon(&batch_args(&input, &out, &["--no-model"]));
    assert!(r.status.success(), "{}", text(&r.stderr));
    let m = latest(&out.join("manifest.jsonl"));
    let psnr = |f: &str| m[f]["metrics"]["zero_filled"]["psnr"].as_f64().unwrap();
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows: Vec<Vec<&str>> = summary.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let heads: Vec<&[&str]> = rows.iter().map(|r| &r[..4]).collect();
    assert_eq!(
        heads,
        [
            ["CORPDFS_FBK", "4", "zero_filled", "1"].as_slice(),
            ["CORPD_FBK", "4", "zero_filled", "2"].as_slice(),
            ["all", "all", "zero_filled", "3"].as_slice()
        ],
        "{summary}"
    );
    let close = |cell: &str, want: f64| (cell.parse::<f64>().unwrap() - want).abs() < 1e-9;
    assert!(close(rows[0][4], psnr("scan2.h5")) && close(rows[0][5], 0.0), "{summary}");
    assert!(close(rows[1][4], (psnr("scan0.h5") + psnr("scan1.h5")) / 2.0), "{summary}");
    assert!(close(rows[2][4], (psnr("scan0.h5") + psnr("scan1.h5") + psnr("scan2.h5")) / 3.0), "{summary}");
}

/// `--model` takes a built-in model's name in a batch as in `recon --input`.
#[test]
fn batch_accepts_a_built_in_model_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(root().join("recon/tests/fixtures/h5/multicoil.h5"), input.join("a.h5")).unwrap();
    let out = dir.path().join("out");
    let r = recon(&batch_args(&input, &out, &["--model", "default-cartesian"]));
    assert!(r.status.success(), "{}", text(&r.stderr));
    let m = latest(&out.join("manifest.jsonl"));
    assert_eq!(m["a.h5"]["status"], "ok", "{m:?}");
    assert_eq!(m["a.h5"]["method"], "network", "{m:?}");
}

/// `--jobs` beyond any machine is a usage error, not a process that spawns threads forever.
#[test]
fn absurd_jobs_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dataset(dir.path(), 1);
    let out = dir.path().join("out");
    let r = recon(&batch_args(&input, &out, &["--no-model", "--jobs", "100000"]));
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    assert!(text(&r.stderr).contains("--jobs"), "{}", text(&r.stderr));
}
