//! Inputs that used to give a silently wrong result: 3-D BART k-space, BART images, applied
//! 1-D masks, ignored mask options, misfit references, float32 overflow, empty masks, BART
//! base names and targets without a reference.

mod common;

use common::*;
use ndarray::{Array2, Array3, Array4, Axis, IxDyn, ShapeBuilder};
use num_complex::Complex32 as C32;
use recon::io::cfl;
use recon::io::hdf5::{write_h5, H5Data};
use std::path::Path;

/// A BART array `[h, w, nz]` (READ, PHS1, PHS2) from `(nz, h, w)`.
fn bart3(k: &Array3<C32>) -> ndarray::ArrayD<C32> {
    let (nz, h, w) = k.dim();
    ndarray::ArrayD::from_shape_fn(IxDyn(&[h, w, nz]).f(), |ix| k[[ix[2], ix[0], ix[1]]])
}

#[test]
fn three_d_bart_kspace_is_transformed_along_kz() {
    let (nz, h, w) = (6usize, 32usize, 32usize);
    let (a, b) = (phantom(h, w), phantom(h, w).mapv(|v| 2.0 * v * v));
    let mut object = Array3::<f32>::zeros((nz, h, w));
    object.index_axis_mut(Axis(0), 1).assign(&a);
    object.index_axis_mut(Axis(0), 4).assign(&b);
    // 3-D centred orthonormal FFT: 2-D per partition, then the centred DFT along z.
    let k2: Vec<Array2<C32>> = object.outer_iter().map(|x| kspace_of(&x.to_owned())).collect();
    let c = (nz / 2) as f64;
    let k3 = Array3::from_shape_fn((nz, h, w), |(kz, i, j)| {
        (0..nz).fold(C32::new(0.0, 0.0), |acc, z| {
            let ph = -2.0 * std::f64::consts::PI * (kz as f64 - c) * (z as f64 - c) / nz as f64;
            acc + k2[z][[i, j]] * C32::new(ph.cos() as f32, ph.sin() as f32)
        }) / (nz as f32).sqrt()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k3d.cfl");
    cfl::write_cfl(&path, &bart3(&k3).view()).unwrap();
    let out = dir.path().join("r.h5");
    let v = json(&recon(&["-i", s(&path), "--mask", "none", "--no-model", "-o", s(&out), "--json"]));
    assert_eq!(v["slices"], nz);
    let r = reconstruction(&out);
    assert!(rel_err(&r, &object) < 1e-4, "the partitions are the object's slices");
}

#[test]
fn a_bart_image_is_refused_and_its_kspace_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let img = phantom(64, 64);
    let image = dir.path().join("image.cfl");
    let c = img.mapv(|v| C32::new(v, 0.0)).insert_axis(Axis(0));
    cfl::write_cfl(&image, &cfl::images_to_cfl(c.view()).view()).unwrap();
    let r = recon(&["-i", s(&image), "--no-model", "-o", s(&dir.path().join("a.h5"))]);
    fails(&r, 3, &["image.cfl", "looks like an image, not k-space"]);
    let k = kspace_of(&img).insert_axis(Axis(0));
    let ks = dir.path().join("kspace.cfl");
    cfl::write_cfl(&ks, &cfl::images_to_cfl(k.view()).view()).unwrap();
    let out = dir.path().join("b.h5");
    assert!(recon(&["-i", s(&ks), "--mask", "none", "--no-model", "-o", s(&out)]).status.success());
}

/// One slice of the sample's k-space as BART, with every column not in `keep` zeroed.
fn sample_cfl_with_columns(path: &Path, keep: impl Fn(usize) -> bool) {
    let f = recon::io::hdf5::FastMriFile::open(&root().join(SAMPLE)).unwrap();
    let mut k = f.read_kspace_slice(3).unwrap();
    for (j, mut col) in k.axis_iter_mut(Axis(2)).enumerate() {
        if !keep(j) {
            col.fill(C32::new(0.0, 0.0));
        }
    }
    let k4: Array4<C32> = k.insert_axis(Axis(0));
    cfl::write_cfl(path, &cfl::kspace_to_cfl(k4.view()).view()).unwrap();
}

#[test]
fn an_applied_column_mask_picks_the_cartesian_model_and_models_have_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cols.cfl");
    sample_cfl_with_columns(&path, |j| (83..98).contains(&j) || j % 4 == 0);
    let v = json(&recon(&["-i", s(&path), "-o", s(&dir.path().join("a.h5")), "--json"]));
    assert_eq!(v["mask"]["acquired"], true);
    assert!(v["model"].as_str().unwrap().starts_with("default-cartesian"), "{v}");
    let v = json(&recon(&[
        "-i",
        s(&path),
        "--model",
        "default-n2n",
        "-o",
        s(&dir.path().join("b.h5")),
        "--json",
    ]));
    assert!(v["model"].as_str().unwrap().starts_with("default-n2n"), "{v}");
}

#[test]
fn an_acquired_mask_reports_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let input = "recon/tests/fixtures/h5/multicoil.h5";
    let args = |out: &str, json: bool| {
        let mut a =
            vec!["-i", input, "--mask", "poisson", "--acceleration", "8", "--seed", "5", "--no-model"];
        a.extend(["-o", out]);
        if json {
            a.push("--json");
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let out = dir.path().join("a.h5");
    let a: Vec<String> = args(s(&out), true);
    let v = json(&recon(&a.iter().map(String::as_str).collect::<Vec<_>>()));
    let m = &v["mask"];
    assert_eq!(m["acquired"], true);
    for absent in ["center_fraction", "seed", "seed_name"] {
        assert!(m.get(absent).is_none(), "{absent} was not used: {m}");
    }
    assert!(m["note"].as_str().unwrap().contains("ignored"), "{m}");
    let out = dir.path().join("b.h5");
    let a: Vec<String> = args(s(&out), false);
    let text = recon(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(String::from_utf8_lossy(&text.stdout).contains("mask: acquired in the file"), "{text:?}");
}

/// A multi-coil fastMRI-layout file with `kspace` and an optional reference.
fn write_scan(path: &Path, k: Array4<C32>, reference: Option<Array3<f32>>) {
    let mut data = vec![("kspace", H5Data::C64(k.into_dyn()))];
    if let Some(r) = reference {
        data.push(("reconstruction_rss", H5Data::F32(r.into_dyn())));
    }
    write_h5(path, &data, &[]).unwrap();
}

fn phantom_kspace(scale: f32) -> Array4<C32> {
    (kspace_of(&phantom(64, 64)) * C32::new(scale, 0.0)).insert_axis(Axis(0)).insert_axis(Axis(0))
}

#[test]
fn a_reference_that_does_not_fit_the_kspace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, side) in [("small.h5", 10), ("large.h5", 128)] {
        let p = dir.path().join(name);
        write_scan(&p, phantom_kspace(1.0), Some(Array3::ones((1, side, side))));
        let out = dir.path().join(format!("{name}.out.h5"));
        let r = recon(&["-i", s(&p), "--no-model", "-o", s(&out)]);
        fails(&r, 3, &[name, "reconstruction_rss"]);
        assert!(!out.exists());
    }
}

#[test]
fn huge_values_reconstruct_in_range_or_fail_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run =
        |input: &Path, out: &Path| recon(&["-i", s(input), "--mask", "none", "--no-model", "-o", s(out)]);
    // |k| ≈ 1e21: the reconstruction is 1e21 × that of the unscaled k-space.
    let (one, big) = (d.join("one.h5"), d.join("big.h5"));
    write_scan(&one, phantom_kspace(1.0), None);
    write_scan(&big, phantom_kspace(1e21), None);
    assert!(run(&one, &d.join("one.out.h5")).status.success());
    assert!(run(&big, &d.join("big.out.h5")).status.success());
    let (r1, rb) = (reconstruction(&d.join("one.out.h5")), reconstruction(&d.join("big.out.h5")));
    assert!(rb.iter().all(|v| v.is_finite()));
    assert!(rel_err(&rb, &(r1 * 1e21)) < 1e-5);
    // An image beyond float32: refused, nothing written.
    let over = d.join("over.h5");
    write_scan(&over, Array4::from_elem((1, 1, 64, 64), C32::new(3e38, 0.0)), None);
    fails(&run(&over, &d.join("over.out.h5")), 3, &["over.h5", "not finite"]);
    assert!(!d.join("over.out.h5").exists());
    // NIfTI scl_slope 1e30 on values ≤ 1: in range of float32 (1e30), reconstructed exactly.
    let img = phantom(32, 32);
    let vol = recon::io::nifti::Volume::new(img.clone().insert_axis(Axis(2)), [1.0; 3]);
    for (name, slope, ok) in [("slope30.nii", 1e30f32, true), ("slope38.nii", 1e38f32, false)] {
        let p = d.join(name);
        recon::io::nifti::write_volume(&p, &vol).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[112..116].copy_from_slice(&slope.to_le_bytes()); // scl_slope
        if !ok {
            bytes[352..356].copy_from_slice(&1000f32.to_le_bytes()); // 1000 × 1e38 overflows
        }
        std::fs::write(&p, &bytes).unwrap();
        let out = d.join(format!("{name}.h5"));
        let r = run(&p, &out);
        if ok {
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            let got = reconstruction(&out);
            let want = recon::io::nifti::read_volume(&p).unwrap();
            assert!(got.iter().all(|v| v.is_finite()));
            assert!((got.sum() as f64 / want.data.sum() as f64 - 1.0).abs() < 1e-4);
        } else {
            fails(&r, 3, &[name, "overflows float32"]);
            assert!(!out.exists());
        }
    }
}

#[test]
fn mask_options_are_validated_and_an_empty_mask_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.h5");
    let o = s(&out);
    let r = recon(&["-i", SAMPLE, "--no-model", "--acceleration", "1e9", "-o", o]);
    fails(&r, 2, &["keeps 0", "sample count 0"]);
    for (opt, val) in [("--acceleration", "nan"), ("--acceleration", "0.5"), ("--center-fraction", "1.5")] {
        fails(&recon(&["-i", SAMPLE, "--no-model", opt, val, "-o", o]), 2, &[opt]);
    }
    fails(&recon(&["-i", SAMPLE, "--no-model", "--mask", "n2n", "--p-edge", "0", "-o", o]), 2, &["--p-edge"]);
    assert!(!out.exists());
}

#[test]
fn a_bart_base_name_is_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let k = kspace_of(&phantom(32, 32)).insert_axis(Axis(0));
    cfl::write_cfl(dir.path().join("k"), &cfl::images_to_cfl(k.view()).view()).unwrap();
    let base = dir.path().join("k");
    let v = json(&recon(&["info", s(&base), "--json"]));
    assert_eq!(v["format"], "cfl", "{v}");
    assert_eq!(v["scan"]["kspace_shape"], serde_json::json!([32, 32]));
    let out = dir.path().join("r.h5");
    assert!(recon(&["-i", s(&base), "--mask", "none", "--no-model", "-o", s(&out)]).status.success());
    // The base name's files are the input: never overwritten, even with --force.
    let before = std::fs::read(dir.path().join("k.cfl")).unwrap();
    let again = dir.path().join("k.cfl");
    let r = recon(&["-i", s(&base), "--mask", "none", "--no-model", "--force", "-o", s(&again)]);
    fails(&r, 2, &["refusing to overwrite the input"]);
    assert_eq!(std::fs::read(dir.path().join("k.cfl")).unwrap(), before);
}

#[test]
fn eval_skips_targets_without_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (t, p) = (dir.path().join("t"), dir.path().join("p"));
    std::fs::create_dir_all(&t).unwrap();
    std::fs::create_dir_all(&p).unwrap();
    std::fs::copy(root().join(SAMPLE), t.join("vol.h5")).unwrap();
    assert!(recon(&["-i", SAMPLE, "--no-model", "-o", s(&p.join("vol.h5"))]).status.success());
    write_scan(&t.join("noref.h5"), phantom_kspace(1.0), None);
    std::fs::copy(p.join("vol.h5"), p.join("noref.h5")).unwrap();
    let v = json(&recon(&["eval", "--targets", s(&t), "--predictions", s(&p), "--json"]));
    assert_eq!(v["volumes"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["skipped"][0]["name"], "noref.h5", "{v}");
    std::fs::remove_file(t.join("vol.h5")).unwrap();
    fails(&recon(&["eval", "--targets", s(&t), "--predictions", s(&p)]), 2, &["noref.h5"]);
}
