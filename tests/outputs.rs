//! Outputs are what their names say: the format the extension names, in the input's space,
//! named after the input's bytes, and checked before any work.

mod common;

use common::*;
use ndarray::{Array3, Axis};
use recon::io::{cfl, nifti};
use std::path::Path;

/// A volume whose voxel axis 0 points along world z (superior–inferior), axis 1 along x and
/// axis 2 along y, with anisotropic voxels: "axial" slices are along voxel axis 0.
fn permuted_volume() -> nifti::Volume {
    let ph = phantom(20, 24);
    let data = Array3::from_shape_fn((6, 20, 24), |(i, j, k)| 0.5 + 0.1 * i as f32 + ph[[j, k]]);
    let affine = [[0.0, 1.0, 0.0, -10.0], [0.0, 0.0, 1.5, 20.0], [2.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 1.0]];
    nifti::Volume { data, affine, voxel_size: [2.0, 1.0, 1.5] }
}

fn assert_same_geometry(got: &nifti::Volume, want: &nifti::Volume) {
    assert_eq!(got.shape(), want.shape());
    for (g, w) in got.affine.iter().flatten().zip(want.affine.iter().flatten()) {
        assert!((g - w).abs() < 1e-5, "affine {:?} vs {:?}", got.affine, want.affine);
    }
    for (g, w) in got.voxel_size.iter().zip(&want.voxel_size) {
        assert!((g - w).abs() < 1e-6, "voxel size {:?} vs {:?}", got.voxel_size, want.voxel_size);
    }
}

#[test]
fn nifti_slices_follow_the_axis_closest_to_superior_inferior() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("perm.nii");
    nifti::write_volume(&input, &permuted_volume()).unwrap();
    let out = dir.path().join("r.h5");
    let v = json(&recon(&["-i", s(&input), "--mask", "none", "--no-model", "-o", s(&out), "--json"]));
    assert_eq!(v["slices"], 6, "{v}");
    assert!(v["slice_axis"].as_str().unwrap().contains("voxel axis 0"), "{v}");
    assert_eq!(reconstruction(&out).dim(), (6, 24, 20));
    let info = recon(&["info", s(&input)]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("voxel axis 0"), "{info:?}");
}

#[test]
fn reconstruct_writes_the_format_the_extension_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vol = permuted_volume();
    let input = d.join("perm.nii.gz");
    nifti::write_volume(&input, &vol).unwrap();
    let run = |out: &Path| recon(&["-i", s(&input), "--mask", "none", "--no-model", "-o", s(out)]);
    let h5 = d.join("r.h5");
    assert!(run(&h5).status.success());
    let stack = reconstruction(&h5);

    // NIfTI: the input's affine, voxel size and shape; the fully sampled reconstruction of a
    // positive image is the image.
    let nii = d.join("r.nii.gz");
    assert!(run(&nii).status.success());
    let back = nifti::read_volume(&nii).unwrap();
    assert_same_geometry(&back, &vol);
    let err = back.data.iter().zip(&vol.data).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 1e-4, "NIfTI output differs from the input image by {err}");

    // BART: complex images [H, W, 1, …, slices].
    let c = d.join("r.cfl");
    assert!(run(&c).status.success());
    assert!(d.join("r.hdr").is_file());
    let images = cfl::cfl_to_images(&cfl::read_cfl(&c).unwrap().view()).unwrap();
    assert!(images.iter().all(|z| z.im == 0.0));
    assert!(rel_err(&images.mapv(|z| z.re), &stack) < 1e-6);

    // PNG: the middle slice.
    let png = d.join("r.png");
    assert!(run(&png).status.success());
    let img = recon::io::png::read_png(&png).unwrap();
    assert_eq!(img.size(), (24, 20));
    let mid = stack.index_axis(Axis(0), 3);
    let max = mid.iter().fold(0.0f32, |m, &v| m.max(v));
    let g = img.to_gray();
    assert!(g.iter().zip(mid.iter()).all(|(a, b)| (a - b / max).abs() < 1e-4));

    // Anything else: a usage error before any work (the input does not even exist).
    let r = recon(&["-i", s(&d.join("missing.h5")), "-o", s(&d.join("r.txt"))]);
    fails(&r, 2, &["r.txt", "unsupported output extension"]);
    assert!(!d.join("r.txt").exists());
}

#[test]
fn simulate_writes_bart_kspace_for_cfl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("perm.nii");
    nifti::write_volume(&input, &permuted_volume()).unwrap();
    let sim = |out: &Path| recon(&["simulate", "-i", s(&input), "--coils", "2", "-o", s(out)]);
    assert!(sim(&d.join("sim.h5")).status.success());
    assert!(sim(&d.join("sim.cfl")).status.success());
    let k = cfl::cfl_to_kspace(&cfl::read_cfl(d.join("sim.cfl")).unwrap().view()).unwrap();
    let f = recon::io::hdf5::FastMriFile::open(&d.join("sim.h5")).unwrap();
    assert_eq!(k.dim().0, f.num_slices());
    for i in 0..f.num_slices() {
        assert_eq!(k.index_axis(Axis(0), i), f.read_kspace_slice(i).unwrap(), "slice {i}");
    }
    fails(&sim(&d.join("sim.png")), 2, &["sim.png", "unsupported output extension"]);
}

#[test]
fn batch_nifti_previews_keep_the_input_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(&inp).unwrap();
    let vol = permuted_volume();
    nifti::write_volume(inp.join("perm.nii.gz"), &vol).unwrap();
    let r = recon(&[
        "batch",
        "--input-dir",
        s(&inp),
        "--output-dir",
        s(&out),
        "--pattern",
        "*.nii.gz",
        "--mask",
        "none",
        "--no-model",
        "--nifti",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let previews: Vec<_> = std::fs::read_dir(out.join("nifti")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(previews.len(), 1, "{previews:?}");
    assert_same_geometry(&nifti::read_volume(&previews[0]).unwrap(), &vol);
}

#[test]
fn an_output_in_a_missing_folder_is_refused_by_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing").join("out.h5");
    let r = recon(&["-i", SAMPLE, "--no-model", "-o", s(&out)]);
    let err = fails(&r, 2, &[s(&out), "does not exist"]);
    assert!(!err.contains(".out.h5."), "the temporary name must not be reported: {err}");
}

#[cfg(unix)]
#[test]
fn default_output_names_keep_non_utf8_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(OsStr::from_bytes(b"scan\xff.nii"));
    nifti::write_volume(&input, &permuted_volume()).unwrap();
    let r = recon_in(
        dir.path(),
        &[
            OsStr::new("-i"),
            input.as_os_str(),
            OsStr::new("--mask"),
            OsStr::new("none"),
            OsStr::new("--no-model"),
        ],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(dir.path().join(OsStr::from_bytes(b"scan\xff.recon.h5")).is_file());
}
