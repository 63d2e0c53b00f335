//! End to end: `recon train --net unrolled` on a folder of undersampled fastMRI-layout files
//! with a `mask` dataset and no reference at all (`--pairs split`), then `recon --model` with
//! and without `--adapt`; the options of the unrolled network refused where they do not apply.

mod common;

use common::{fails, json, phantom, recon, s};
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex32 as C32;
use recon::io::hdf5::{write_h5, H5Data};
use std::path::{Path, PathBuf};

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recon-e2e-unrolled-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An undersampled 4-coil scan of `slices` phantom slices (n × n), measured on every other
/// column plus the 6 central ones, with the `mask` dataset and no reference.
fn undersampled_scan(path: &Path, slices: usize, n: usize, shift: usize) {
    let maps = kspace::coils::synthetic_sensitivities(4, n, n).unwrap();
    let keep: Vec<bool> =
        (0..n).map(|j| (j + shift) % 2 == 0 || (n / 2 - 3..n / 2 + 3).contains(&j)).collect();
    let mut k = ArrayD::<C32>::zeros(IxDyn(&[slices, 4, n, n]));
    for sl in 0..slices {
        let img = phantom(n, n).mapv(|v| v * (1.0 + 0.1 * sl as f32));
        let coils = kspace::coils::simulate_coils(&img, &maps).unwrap();
        for ((c, i, j), z) in coils.indexed_iter() {
            if keep[j] {
                k[[sl, c, i, j]] = *z;
            }
        }
    }
    let mask = ArrayD::from_shape_vec(IxDyn(&[n]), keep).unwrap();
    write_h5(path, &[("kspace", H5Data::C64(k)), ("mask", H5Data::Bool(mask))], &[]).unwrap();
}

#[test]
fn split_training_on_undersampled_files_writes_a_model_that_reconstructs_and_adapts() {
    let dir = scratch("split");
    let data = dir.join("scans");
    std::fs::create_dir_all(&data).unwrap();
    undersampled_scan(&data.join("a.h5"), 2, 32, 0);
    undersampled_scan(&data.join("b.h5"), 1, 32, 1);
    let model = dir.join("m.safetensors");
    let out = recon(&[
        "train",
        "--net",
        "unrolled",
        "--pairs",
        "split",
        "--data",
        s(&data),
        "--steps",
        "3",
        "--batch",
        "1",
        "--cascades",
        "2",
        "--width",
        "4",
        "--levels",
        "1",
        "--out",
        s(&model),
        "--json",
    ]);
    let r = json(&out);
    assert_eq!((r["steps"].as_u64(), r["train_slices"].as_u64()), (Some(3), Some(3)), "{r}");
    assert!(r["final_loss"].as_f64().unwrap().is_finite());
    assert!(model.exists());

    for adapt in ["0", "2"] {
        let o = dir.join(format!("r{adapt}.h5"));
        let out = recon(&[
            "--input",
            s(&data.join("a.h5")),
            "--model",
            s(&model),
            "--adapt",
            adapt,
            "-o",
            s(&o),
            "--json",
        ]);
        let r = json(&out);
        assert_eq!(r["method"], "network", "{r}");
        assert_eq!(r["mask"]["acquired"], true, "{r}");
        let img = common::reconstruction(&o);
        assert_eq!(img.dim(), (2, 32, 32));
        assert!(img.iter().all(|v| v.is_finite()) && img.iter().any(|&v| v > 0.0));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unrolled_options_are_refused_where_they_do_not_apply() {
    let dir = scratch("refuse");
    let scan = dir.join("u.h5");
    undersampled_scan(&scan, 1, 16, 0);
    let out =
        recon(&["train", "--data", s(&scan), "--pairs", "split", "--out", s(&dir.join("m.safetensors"))]);
    fails(&out, 2, &["--pairs", "--net unrolled"]);
    // Simulated pairs need fully sampled data; this file is undersampled.
    let out = recon(&[
        "train",
        "--net",
        "unrolled",
        "--pairs",
        "simulate",
        "--data",
        s(&scan),
        "--steps",
        "1",
        "--out",
        s(&dir.join("m.safetensors")),
    ]);
    fails(&out, 2, &["u.h5", "--pairs split"]);
    // --adapt needs an unrolled model: a U-Net is refused.
    let unet = dir.join("unet.safetensors");
    let out = recon(&[
        "train",
        "--data",
        "data/colin27_t1_1mm.nii.gz",
        "--steps",
        "1",
        "--batch",
        "1",
        "--crop",
        "32",
        "--width",
        "2",
        "--max-train-slices",
        "1",
        "--val-slices",
        "0",
        "--out",
        s(&unet),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out =
        recon(&["--input", common::SAMPLE, "--model", s(&unet), "--adapt", "3", "-o", s(&dir.join("o.h5"))]);
    fails(&out, 2, &["--adapt", "unrolled"]);
    std::fs::remove_dir_all(&dir).ok();
}
