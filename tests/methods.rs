//! `recon --method` (zero-filled, SENSE, CS, TV, all), `recon maps` and `recon batch --method`
//! on small synthetic multi-coil and single-coil scans (an ellipse phantom with simulated coils).

mod common;

use common::{fails, json, latest, phantom, recon, s, text};
use kspace::espirit::MapsMethod;
use kspace::mask::MaskParams;
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Axis};
use recon::io::hdf5::{open_any, write_h5, H5Data};
use recon::metrics::VolumeMetrics;
use recon::reconstruct::{classical_slice, describe_maps, slice_maps};
use recon::{ClassicalOptions, MapsChoice, Method};
use std::path::{Path, PathBuf};

/// A phantom with an inner structure (so that the methods differ), `n × n`.
fn textured_phantom(n: usize) -> Array2<f32> {
    let mut p = phantom(n, n);
    let c = n as f32 / 2.0;
    p.indexed_iter_mut().for_each(|((i, j), v)| {
        let (y, x) = ((i as f32 - c) / c, (j as f32 - c) / c);
        if *v > 0.0 && ((x + 0.3).powi(2) + (y - 0.2).powi(2) < 0.03 || (x * 8.0).sin() > 0.9) {
            *v += 0.3;
        }
    });
    p
}

/// Fully sampled coil k-space `(coils, n, n)` of the textured phantom (maps from
/// `kspace::coils::synthetic_sensitivities`; one coil: the image itself).
fn coil_kspace(n: usize, coils: usize) -> Array3<C32> {
    let img = textured_phantom(n);
    if coils == 1 {
        return common::kspace_of(&img).insert_axis(Axis(0));
    }
    let sens = kspace::coils::synthetic_sensitivities(coils, n, n).unwrap();
    kspace::coils::simulate_coils(&img, &sens).unwrap()
}

/// A fastMRI-layout scan of `slices` copies of the phantom (the second one scaled by 0.8),
/// with its RSS (or magnitude) reference; `nan` puts a NaN into slice 0.
fn write_scan(dir: &Path, name: &str, n: usize, coils: usize, nan: bool) -> PathBuf {
    let k = coil_kspace(n, coils);
    let slices: Vec<Array3<C32>> = [1.0f32, 0.8].iter().map(|&a| k.mapv(|z| z * a)).collect();
    let refs: Vec<Array2<f32>> =
        slices.iter().map(|k| kspace::undersample::rss(&kspace::ifft2c(k), 0).unwrap()).collect();
    let mut kspace = ndarray::stack(Axis(0), &slices.iter().map(|a| a.view()).collect::<Vec<_>>()).unwrap();
    if nan {
        kspace[[0, 0, n / 2, n / 2]] = C32::new(f32::NAN, 0.0);
    }
    let kspace = if coils == 1 { kspace.index_axis_move(Axis(1), 0).into_dyn() } else { kspace.into_dyn() };
    let reference = ndarray::stack(Axis(0), &refs.iter().map(|a| a.view()).collect::<Vec<_>>()).unwrap();
    let path = dir.join(name);
    let data = [("kspace", H5Data::C64(kspace)), ("reconstruction_rss", H5Data::F32(reference.into_dyn()))];
    write_h5(&path, &data, &[]).unwrap();
    path
}

fn all_finite(path: &Path, dataset: &str) -> bool {
    open_any(path).unwrap().read_f32(dataset).unwrap().iter().all(|v| v.is_finite())
}

/// Random 3x with a 13-column centre of 48: large enough for ESPIRiT (12 lines).
const MASK: [&str; 6] = ["--mask", "random", "--acceleration", "3", "--center-fraction", "0.26"];

#[test]
fn every_method_runs_on_multicoil_and_single_coil_input_with_finite_output() {
    let dir = tempfile::tempdir().unwrap();
    for coils in [4, 1] {
        let scan = write_scan(dir.path(), &format!("c{coils}.h5"), 48, coils, false);
        let out = dir.path().join(format!("c{coils}.recon.h5"));
        let mut args =
            vec!["--input", s(&scan), "--output", s(&out), "--method", "all", "--no-model", "--json"];
        args.extend_from_slice(&MASK);
        let r = recon(&args);
        assert!(r.status.success(), "{}", text(&r.stderr));
        let v = json(&r);
        let rows: Vec<&str> =
            v["metrics"].as_array().unwrap().iter().map(|m| m["method"].as_str().unwrap()).collect();
        // The primary (CS without a network) first, then the rest in table order.
        assert_eq!(rows, ["cs", "zero_filled", "sense", "tv"], "{coils} coil(s)");
        for m in v["metrics"].as_array().unwrap() {
            assert!(m["psnr"].as_f64().unwrap().is_finite(), "{m}");
        }
        // One timing per method, in the same order (timings are kept out of `metrics`, which
        // stay reproducible).
        let timed: Vec<&str> =
            v["methods"].as_array().unwrap().iter().map(|m| m["method"].as_str().unwrap()).collect();
        assert_eq!(timed, rows);
        assert!(v["methods"].as_array().unwrap().iter().all(|m| m["seconds"].as_f64().unwrap() >= 0.0));
        // The classical methods say how much of their time the shared maps pass took.
        for m in v["methods"].as_array().unwrap() {
            let maps = m["maps_seconds"].as_f64();
            if m["method"] == "zero_filled" {
                assert!(maps.is_none(), "{m}");
            } else {
                let maps = maps.unwrap_or_else(|| panic!("no maps_seconds in {m}"));
                assert!(maps >= 0.0 && maps <= m["seconds"].as_f64().unwrap(), "{m}");
            }
        }
        assert_eq!(v["method"], "cs");
        let maps = v["maps"].as_str().unwrap();
        assert!(maps.contains(if coils == 1 { "single coil" } else { "ESPIRiT" }), "{maps}");
        for d in [
            "reconstruction",
            "zero_filled",
            "reconstruction_sense",
            "reconstruction_cs",
            "reconstruction_tv",
        ] {
            assert!(all_finite(&out, d), "{d}, {coils} coil(s)");
        }
    }
}

#[test]
fn single_methods_write_their_reconstruction_and_need_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let scan = write_scan(dir.path(), "c4.h5", 48, 4, false);
    for method in ["sense", "tv", "zero-filled"] {
        let out = dir.path().join(format!("{method}.h5"));
        let mut args = vec!["--input", s(&scan), "--output", s(&out), "--method", method, "--json"];
        args.extend_from_slice(&["--iterations", "5", "--lambda", "0.02", "--maps", "lowres"]);
        args.extend_from_slice(&MASK);
        let r = recon(&args);
        assert!(r.status.success(), "{}", text(&r.stderr));
        let v = json(&r);
        assert_eq!(v["method"], method.replace('-', "_"));
        assert!(v["model"].is_null(), "{method}: no network for a classical method");
        assert_eq!(v["metrics"].as_array().unwrap().len(), if method == "zero-filled" { 1 } else { 2 });
        // The solver's cost over the volume's slices, in applications of AᴴA: SENSE at most
        // its 5 CG steps per slice, TV's ADMM between 1 and 10 CG steps per iteration.
        let slices = v["slices"].as_u64().unwrap();
        let cost = v["methods"][0]["normal_applications"].as_u64();
        match method {
            "sense" => assert!(cost.is_some_and(|c| (1..=5 * slices).contains(&c)), "{cost:?}"),
            "tv" => assert!(cost.is_some_and(|c| (5 * slices..=50 * slices).contains(&c)), "{cost:?}"),
            _ => assert_eq!(cost, None),
        }
        assert!(all_finite(&out, "reconstruction"));
        let h5 = open_any(&out).unwrap();
        assert!(
            h5.read_f32("reconstruction_sense").is_err(),
            "only --method all writes one dataset per method"
        );
    }
    let r = recon(&["--input", s(&scan), "--method", "cs", "--lambda=-1"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("--lambda"), "{}", text(&r.stderr));
}

#[test]
fn method_all_prints_one_table_with_every_method_and_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let scan = write_scan(dir.path(), "c4.h5", 48, 4, false);
    let out = dir.path().join("all.h5");
    let mut args = vec!["--input", s(&scan), "--output", s(&out), "--method", "all", "--iterations", "10"];
    args.extend_from_slice(&MASK);
    let r = recon(&args);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let t = text(&r.stdout);
    let header = t.lines().find(|l| l.starts_with("method")).unwrap();
    for col in ["PSNR dB", "SSIM", "NMSE", "seconds"] {
        assert!(header.contains(col), "{t}");
    }
    let rows: Vec<&str> = t.lines().skip_while(|l| !l.starts_with("method")).skip(1).take(5).collect();
    let names: Vec<&str> = rows.iter().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(names, ["network", "zero_filled", "sense", "cs", "tv"], "{t}");
    assert!(t.contains("coil maps: ESPIRiT"), "{t}");
    for d in ["reconstruction", "reconstruction_network", "reconstruction_cs"] {
        assert!(all_finite(&out, d), "{d}");
    }
}

#[test]
fn sense_and_cs_beat_zero_filled_on_a_multicoil_phantom_at_4x() {
    // Equispaced 4x with a 14 % centre, 8 coils, noise-free: zero-filled 25.6 dB, SENSE
    // 32.7 dB, CS 36.4 dB when written.
    let n = 96;
    let k = coil_kspace(n, 8);
    let reference = kspace::undersample::rss(&kspace::ifft2c(&k), 0).unwrap().insert_axis(Axis(0));
    let params = MaskParams { acceleration: 4.0, center_fraction: 0.14, ..Default::default() };
    let mask = kspace::mask::from_name("equispaced", &params).unwrap().sample((n, n), 3).unwrap();
    let y = kspace::undersample::undersample(&k, &mask).unwrap();
    let maps = slice_maps(&y, &mask, MapsChoice::Espirit).unwrap();
    assert!(matches!(maps.method, MapsMethod::Espirit { .. }), "{:?}", maps.method);
    let psnr = |x: Array2<f32>| {
        VolumeMetrics::compute(reference.view(), x.insert_axis(Axis(0)).view()).unwrap().psnr
    };
    let zf = psnr(recon::reconstruct::zero_filled_slice(&k, &mask, false, (n, n)).unwrap());
    let opts = ClassicalOptions::default();
    let sense = psnr(classical_slice(Method::Sense, &y, &mask, &maps, &opts, (n, n)).unwrap().image);
    let cs = psnr(classical_slice(Method::Cs, &y, &mask, &maps, &opts, (n, n)).unwrap().image);
    assert!(sense > zf + 5.0, "SENSE {sense:.2} dB vs zero-filled {zf:.2} dB");
    assert!(cs > zf + 8.0, "CS {cs:.2} dB vs zero-filled {zf:.2} dB");
}

#[test]
fn a_mask_without_calibration_region_falls_back_and_says_so() {
    let n = 48;
    let k = coil_kspace(n, 4);
    // Every third column, DC's column not among them: no fully sampled centre at all.
    let cols: Vec<bool> = (0..n).map(|j| j % 3 == 1).collect();
    let mask = SamplingMask::from_columns(n, &cols, &vec![1.0 / 3.0; n]);
    assert!(kspace::coils::calibration_region(&mask).is_none());
    let y = kspace::undersample::undersample(&k, &mask).unwrap();
    let maps = slice_maps(&y, &mask, MapsChoice::Espirit).unwrap();
    assert!(matches!(maps.method, MapsMethod::LowResolution { found: None, .. }), "{:?}", maps.method);
    let words = describe_maps(&[maps.method], MapsChoice::Espirit);
    assert!(words.contains("fallback") && words.contains("no fully sampled centre"), "{words}");
    let x =
        classical_slice(Method::Cs, &y, &mask, &maps, &ClassicalOptions::default(), (n, n)).unwrap().image;
    assert!(x.iter().all(|v| v.is_finite()));
    // Through the CLI: the acquired mask of the fixture has a 2-column centre.
    let fixture = common::root().join("recon/tests/fixtures/h5/multicoil.h5");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.h5");
    let r = recon(&["--input", s(&fixture), "--output", s(&out), "--method", "sense", "--json"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v = json(&r);
    assert!(v["maps"].as_str().unwrap().contains("fallback"), "{v}");
}

#[test]
fn nan_kspace_is_a_clear_error_for_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let scan = write_scan(dir.path(), "nan.h5", 48, 4, true);
    for method in ["sense", "all"] {
        let out = dir.path().join("o.h5");
        let r = recon(&["--input", s(&scan), "--output", s(&out), "--method", method, "--no-model"]);
        fails(&r, 3, &["nan.h5", "NaN"]);
        assert!(!out.exists());
    }
}

/// Reads `maps` of an h5 written by `recon maps`: `(slices, sets, coils, H, W)` as slices.
fn h5_maps(path: &Path, slices: usize) -> Vec<ndarray::ArrayD<C32>> {
    let f = open_any(path).unwrap();
    (0..slices).map(|i| f.read_c32_slice("maps", i).unwrap()).collect()
}

#[test]
fn recon_maps_writes_unit_norm_maps_that_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let n = 48;
    let scan = write_scan(dir.path(), "c4.h5", n, 4, false);
    let h5 = dir.path().join("maps.h5");
    let cfl = dir.path().join("maps.cfl");
    let r = recon(&["maps", "--input", s(&scan), "--output", s(&h5), "--json"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(json(&r)["maps"].as_str().unwrap().contains("ESPIRiT"));
    let h5_two = dir.path().join("maps2.h5");
    for out in [&cfl, &h5_two] {
        let r = recon(&["maps", "--input", s(&scan), "--output", s(out), "--sets", "2"]);
        assert!(r.status.success(), "{}", text(&r.stderr));
    }
    let maps = h5_maps(&h5, 2);
    assert_eq!(maps[0].shape(), [1, 4, n, n]);
    // Unit norm per pixel inside the object, as recomputed from the file's own k-space.
    let object = textured_phantom(n);
    let k = coil_kspace(n, 4);
    let direct = slice_maps(&k, &SamplingMask::full((n, n)), MapsChoice::Espirit).unwrap();
    for ((i, j), &v) in object.indexed_iter() {
        let norm: f32 = (0..4).map(|c| maps[0][[0, c, i, j]].norm_sqr()).sum();
        if v > 0.0 {
            assert!((norm - 1.0).abs() < 1e-3, "({i}, {j}): Σ|s|² = {norm}");
        }
        for c in 0..4 {
            assert!((maps[0][[0, c, i, j]] - direct.maps[[0, c, i, j]]).norm() < 1e-4);
        }
    }
    // The BART file: [X, Y, 1, COIL, MAPS, …, SLICE (13)], the same maps as the h5.
    let two = h5_maps(&h5_two, 2);
    assert_eq!(two[0].shape(), [2, 4, n, n]);
    let bart = recon::io::cfl::read_cfl(&cfl).unwrap();
    assert_eq!(&bart.shape()[..5], [n, n, 1, 4, 2]);
    assert_eq!(bart.shape()[13], 2);
    for (sl, maps) in two.iter().enumerate() {
        for (p, &v) in maps.indexed_iter() {
            let idx = [p[2], p[3], 0, p[1], p[0], 0, 0, 0, 0, 0, 0, 0, 0, sl, 0, 0];
            assert_eq!(bart[&idx[..bart.ndim()]], v, "slice {sl}, set/coil/row/col {p:?}");
        }
    }
    // Output safety: no overwrite without --force, unknown extensions refused.
    fails(&recon(&["maps", "--input", s(&scan), "--output", s(&h5)]), 2, &["--force"]);
    fails(
        &recon(&["maps", "--input", s(&scan), "--output", s(&dir.path().join("m.png"))]),
        2,
        &["extension"],
    );
    let bad_kernel = ["maps", "--input", s(&scan), "--output", s(&h5), "--force", "--kernel", "30"];
    fails(&recon(&bad_kernel), 2, &["--kernel", "--calib"]);
    let r = recon(&["maps", "--input", s(&scan), "--output", s(&h5), "--force", "--maps", "lowres"]);
    assert!(r.status.success() && text(&r.stdout).contains("low-resolution"), "{}", text(&r.stdout));
}

#[test]
fn batch_records_the_method_and_reruns_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    write_scan(&input, "v.h5", 48, 4, false);
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec!["batch", "--input-dir", s(&input), "--output-dir", s(&out), "--json"];
        args.extend_from_slice(&MASK);
        args.extend_from_slice(extra);
        let r = recon(&args);
        assert!(r.status.success(), "{}", text(&r.stderr));
        json(&r)
    };
    let sense = ["--no-model", "--method", "sense", "--iterations", "5"];
    assert_eq!(run(&sense)["done"], 1);
    let m = latest(&out.join("manifest.jsonl"));
    let settings = &m["v.h5"]["settings"];
    assert_eq!(settings["method"], "sense");
    assert_eq!(settings["classical"]["iterations"], 5);
    assert_eq!(settings["classical"]["maps"], "espirit");
    assert_eq!(m["v.h5"]["method"], "sense");
    assert_eq!(run(&sense)["skipped"], 1, "same method: nothing to redo");
    assert_eq!(
        run(&["--no-model", "--method", "cs", "--iterations", "5"])["done"],
        1,
        "a changed method re-runs"
    );
    let m = latest(&out.join("manifest.jsonl"));
    assert_eq!(m["v.h5"]["settings"]["method"], "cs");
    assert!(m["v.h5"]["metrics"]["cs"]["psnr"].as_f64().unwrap().is_finite());
}

/// `cs`'s default translation-invariant threshold and `--cycle-spinning none` (BART
/// `pics -n`) are each one fixed problem: FISTA reaches its minimiser, so 600 and 1200
/// iterations give the same image; with `--cycle-spinning random` (BART's default) the last
/// thresholding grid differs between runs of different length, and so do the images.
/// `--final-step threshold` returns a different image from the default data-consistency step.
/// `recon batch` records both options, so changing one re-runs the volume.
#[test]
fn cs_cycle_spinning_and_final_step_and_batch_records_them() {
    let dir = tempfile::tempdir().unwrap();
    let scan = write_scan(dir.path(), "c4.h5", 48, 4, false);
    let cs = |iterations: &str, extra: &[&str]| {
        let out = dir.path().join(format!("cs_{iterations}_{}.h5", extra.join("_")));
        let mut args = vec!["--input", s(&scan), "--output", s(&out), "--method", "cs", "--force"];
        args.extend_from_slice(&["--iterations", iterations]);
        args.extend_from_slice(extra);
        args.extend_from_slice(&MASK);
        let r = recon(&args);
        assert!(r.status.success(), "{}", text(&r.stderr));
        open_any(&out).unwrap().read_f32("reconstruction").unwrap()
    };
    let change = |a: &ndarray::ArrayD<f32>, b: &ndarray::ArrayD<f32>| {
        let peak = a.iter().cloned().fold(0.0f32, f32::max);
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max) / peak
    };
    // Measured: 0.0015 without the shifts, 0.11 with random ones (0.03 and 0.12 at 150 and 300).
    let none = ["--cycle-spinning", "none"];
    let fixed = change(&cs("600", &none), &cs("1200", &none));
    let invariant = change(&cs("600", &[]), &cs("1200", &[]));
    let random = ["--cycle-spinning", "random"];
    let spinning = change(&cs("600", &random), &cs("1200", &random));
    assert!(fixed < 4e-3, "without cycle spinning 600 and 1200 iterations differ by {fixed}");
    assert!(invariant < 4e-3, "invariant: 600 and 1200 iterations differ by {invariant}");
    assert!(spinning > 10.0 * fixed.max(invariant), "random shifts should move the image: {spinning}");
    let threshold = cs("1200", &["--final-step", "threshold"]);
    assert!(change(&threshold, &cs("1200", &[])) > 10.0 * invariant, "the final step must matter");

    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(&scan, input.join("v.h5")).unwrap();
    let out = dir.path().join("out");
    let batch = |extra: &[&str]| {
        let mut args = vec!["batch", "--input-dir", s(&input), "--output-dir", s(&out), "--json"];
        args.extend_from_slice(&["--no-model", "--method", "cs", "--iterations", "5"]);
        args.extend_from_slice(extra);
        args.extend_from_slice(&MASK);
        let r = recon(&args);
        assert!(r.status.success(), "{}", text(&r.stderr));
        json(&r)
    };
    assert_eq!(batch(&[])["done"], 1);
    let m = latest(&out.join("manifest.jsonl"));
    assert_eq!(m["v.h5"]["settings"]["classical"]["cycle_spinning"], "invariant");
    assert_eq!(m["v.h5"]["settings"]["classical"]["final_step"], "data-consistency");
    assert_eq!(batch(&random)["done"], 1, "a changed option re-runs");
    let m = latest(&out.join("manifest.jsonl"));
    assert_eq!(m["v.h5"]["settings"]["classical"]["cycle_spinning"], "random");
    assert_eq!(batch(&random)["skipped"], 1);
    assert_eq!(batch(&["--cycle-spinning", "random", "--final-step", "threshold"])["done"], 1);
}
