//! NIfTI, PNG and BART files against fixtures written by nibabel / numpy / hand-made PNG bytes
//! (`tests/fixtures/formats/make_formats.py`), plus write → read round trips.
//!
//! Set `RECON_TEST_KEEP=/some/dir` to keep the files the round trips write (to open them with
//! nibabel, PIL or BART).

use kspace::C32;
use ndarray::{Array2, Array3, ArrayD, Dimension, IxDyn};
use recon::io::cfl::{self, cfl_to_images, cfl_to_kspace, images_to_cfl, kspace_to_cfl, read_cfl, write_cfl};
use recon::io::nifti::{read_volume, write_volume, Volume};
use recon::io::png::{read_png, write_mask_png, write_png_gray, write_png_rgb};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap()
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recon-formats-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn keep(files: &[&Path]) {
    if let Ok(dir) = std::env::var("RECON_TEST_KEEP") {
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::copy(f, Path::new(&dir).join(f.file_name().unwrap())).unwrap();
        }
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| x.as_array().map_or_else(|| vec![x.as_f64().unwrap()], |_| floats(x)))
        .collect()
}

fn err_text<T: std::fmt::Debug>(r: recon::Result<T>) -> String {
    r.unwrap_err().to_string()
}

// ----------------------------------------------------------------------------------- NIfTI

#[test]
fn nifti_reads_like_nibabel() {
    let exp = expected();
    let cases = exp["nifti"].as_object().unwrap();
    assert_eq!(cases.len(), 6);
    for (name, e) in cases {
        let vol = read_volume(fixtures().join(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        let shape: Vec<usize> =
            e["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(&vol.shape()[..], &shape[..3], "{name}");
        // Values in nibabel's C order over (x, y, z) = our logical order.
        let want = floats(&e["values"]);
        assert_eq!(vol.data.len(), want.len(), "{name}");
        for (k, (&got, &w)) in vol.data.iter().zip(&want).enumerate() {
            assert!((got as f64 - w).abs() <= 1e-6 * w.abs().max(1.0), "{name} value {k}: {got} vs {w}");
        }
        let aff = floats(&e["affine"]);
        for (k, w) in aff.iter().enumerate() {
            let got = vol.affine[k / 4][k % 4];
            assert!((got - w).abs() < 1e-5, "{name} affine[{}][{}]: {got} vs {w}", k / 4, k % 4);
        }
        for (got, w) in vol.voxel_size.iter().zip(floats(&e["zooms"])) {
            assert!((got - w).abs() < 1e-6, "{name} zooms: {:?} vs {}", vol.voxel_size, e["zooms"]);
        }
    }
}

#[test]
fn nifti_refuses_bad_files_naming_them() {
    let e = err_text(read_volume(fixtures().join("f32_4d_two.nii")));
    assert!(e.contains("f32_4d_two.nii") && e.contains("4-D") && e.contains("[5, 4, 3, 2]"), "{e}");

    let dir = scratch("nifti-bad");
    let good = std::fs::read(fixtures().join("f32_rot.nii")).unwrap();
    let cut = dir.join("cut.nii");
    std::fs::write(&cut, &good[..good.len() - 10]).unwrap();
    let e = err_text(read_volume(&cut));
    assert!(e.contains("cut.nii") && e.contains("truncated"), "{e}");

    let gz = std::fs::read(fixtures().join("f32_rot.nii.gz")).unwrap();
    let cutgz = dir.join("cut.nii.gz");
    std::fs::write(&cutgz, &gz[..gz.len() / 2]).unwrap();
    let e = err_text(read_volume(&cutgz));
    assert!(e.contains("cut.nii.gz"), "{e}");

    let junk = dir.join("junk.nii");
    std::fs::write(&junk, vec![7u8; 1000]).unwrap();
    let e = err_text(read_volume(&junk));
    assert!(e.contains("junk.nii") && e.contains("not a NIfTI-1"), "{e}");
    std::fs::write(&junk, b"").unwrap();
    assert!(err_text(read_volume(&junk)).contains("junk.nii"));
    let e = err_text(read_volume(dir.join("missing.nii")));
    assert!(e.contains("missing.nii"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `RECON_NIFTI_CHECK=/path/a.nii.gz cargo test -p recon --test formats external -- --nocapture`
/// prints what the reader makes of a real file (shape, affine, voxel size, value range), to
/// compare with nibabel by eye. Does nothing without the variable.
#[test]
fn nifti_external_file_summary() {
    let Ok(path) = std::env::var("RECON_NIFTI_CHECK") else { return };
    let t = std::time::Instant::now();
    let vol = read_volume(&path).unwrap();
    let (lo, hi) = vol.data.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let mean = vol.data.iter().map(|&v| v as f64).sum::<f64>() / vol.data.len() as f64;
    println!(
        "{path}: shape {:?}, voxel {:?}, range [{lo}, {hi}], mean {mean:.6}",
        vol.shape(),
        vol.voxel_size
    );
    println!("affine {:?}  ({:.2} s)", vol.affine, t.elapsed().as_secs_f64());
    let mid = vol.slice(2, vol.shape()[2] / 2).unwrap();
    let png = std::env::temp_dir().join("recon-nifti-check-axial.png");
    write_png_gray(&png, &mid, lo, hi, 8).unwrap();
    println!("axial slice {} in display orientation {:?}: {}", vol.shape()[2] / 2, mid.dim(), png.display());
    let s = vol.shape();
    let probe = [s[0] / 3, s[1] / 2, s[2] / 2];
    println!("data{probe:?} = {}", vol.data[probe]);
}

fn rotated_volume() -> Volume {
    let data = Array3::from_shape_fn((6, 5, 4), |(x, y, z)| {
        (x as f32) * 0.5 - (y * y) as f32 + 100.0 * z as f32 + 0.125
    });
    let (s, c) = 0.35f64.sin_cos();
    let vox = [0.8, 1.2, 3.0];
    let affine = [
        [c * vox[0], -s * vox[1], 0.0, -12.5],
        [s * vox[0], c * vox[1], 0.0, 40.0],
        [0.0, 0.0, -vox[2], 7.25], // a flipped third axis: qfac = −1
        [0.0, 0.0, 0.0, 1.0],
    ];
    Volume { data, affine, voxel_size: vox }
}

fn assert_same_volume(a: &Volume, b: &Volume) {
    assert_eq!(a.data, b.data);
    for i in 0..4 {
        for j in 0..4 {
            assert!(
                (a.affine[i][j] - b.affine[i][j]).abs() < 1e-5,
                "affine {i}{j}: {:?} vs {:?}",
                a.affine,
                b.affine
            );
        }
    }
    for k in 0..3 {
        assert!((a.voxel_size[k] - b.voxel_size[k]).abs() < 1e-6);
    }
}

#[test]
fn nifti_round_trip_nii_and_gz() {
    let dir = scratch("nifti-rt");
    let vol = rotated_volume();
    let mut sheared = rotated_volume();
    sheared.affine[0][1] += 0.4; // not a rotation: written as sform only
    for (name, v) in [("ours_rot.nii", &vol), ("ours_rot.nii.gz", &vol), ("ours_shear.nii", &sheared)] {
        let p = dir.join(name);
        write_volume(&p, v).unwrap();
        let back = read_volume(&p).unwrap();
        assert_same_volume(v, &back);
        keep(&[&p]);
    }
    // Header codes: sform 2 always; qform 2 for the rotation, 0 for the shear.
    let hdr = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let code = |b: &[u8], at: usize| i16::from_le_bytes([b[at], b[at + 1]]);
    let rot = hdr("ours_rot.nii");
    assert_eq!((code(&rot, 252), code(&rot, 254)), (2, 2));
    assert_eq!(f32::from_le_bytes(rot[76..80].try_into().unwrap()), -1.0); // qfac
    assert_eq!(rot.len(), 352 + 6 * 5 * 4 * 4);
    let shear = hdr("ours_shear.nii");
    assert_eq!((code(&shear, 252), code(&shear, 254)), (0, 2));
    // The gzip file really is gzip.
    assert_eq!(&hdr("ours_rot.nii.gz")[..2], &[0x1f, 0x8b]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nifti_qform_written_by_us_reads_back_when_sform_is_cleared() {
    let dir = scratch("nifti-qform");
    let vol = rotated_volume();
    let p = dir.join("q.nii");
    write_volume(&p, &vol).unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[254..256].copy_from_slice(&0i16.to_le_bytes()); // sform_code = 0 → the qform is used
    std::fs::write(&p, &bytes).unwrap();
    assert_same_volume(&vol, &read_volume(&p).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nifti_slice_display_orientation() {
    let vol =
        Volume::new(Array3::from_shape_fn((2, 3, 4), |(x, y, z)| (x + 10 * y + 100 * z) as f32), [1.0; 3]);
    let axial = vol.slice(2, 1).unwrap();
    assert_eq!(axial.dim(), (3, 2)); // (n_y, n_x)
    assert_eq!(axial[[0, 0]], 120.0); // top-left: x = 0, y = 2 (top = highest y)
    assert_eq!(axial[[2, 1]], 101.0); // bottom-right: x = 1, y = 0
    let sagittal = vol.slice(0, 1).unwrap();
    assert_eq!(sagittal.dim(), (4, 3)); // (n_z, n_y)
    assert_eq!(sagittal[[0, 0]], 301.0);
    assert!(vol.slice(2, 4).is_err() && vol.slice(3, 0).is_err());
}

// ------------------------------------------------------------------------------------- PNG

#[test]
fn png_fixtures_decode_to_expected_values() {
    let exp = expected();
    let cases = exp["png"].as_object().unwrap();
    assert_eq!(cases.len(), 6);
    for (name, e) in cases {
        let img = read_png(fixtures().join(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(img.bit_depth as u64, e["bit_depth"].as_u64().unwrap(), "{name}");
        let want = floats(&e["data"]);
        let channels = e["data"].as_array().unwrap().len();
        assert_eq!(img.data.dim(), (channels, 3, 4), "{name}");
        for (k, (&got, &w)) in img.data.iter().zip(&want).enumerate() {
            assert!((got as f64 - w).abs() < 1e-6, "{name} sample {k}: {got} vs {w}");
        }
    }
    let rgb = read_png(fixtures().join("rgb8.png")).unwrap();
    let gray = rgb.to_gray();
    let want = 0.299 * rgb.data[[0, 2, 3]] + 0.587 * rgb.data[[1, 2, 3]] + 0.114 * rgb.data[[2, 2, 3]];
    assert!((gray[[2, 3]] - want).abs() < 1e-6);
    let g = read_png(fixtures().join("gray4.png")).unwrap();
    assert_eq!((g.channels(), g.size()), (1, (3, 4)));
    assert_eq!(g.to_gray(), g.data.index_axis(ndarray::Axis(0), 0));
}

#[test]
fn png_round_trips_within_quantisation() {
    let dir = scratch("png-rt");
    let (lo, hi) = (-2.0f32, 3.0f32);
    let img = Array2::from_shape_fn((17, 23), |(i, j)| {
        lo + (hi - lo) * (((i * 37 + j * 101) % 997) as f32 / 996.0)
    });
    for bits in [8u8, 16] {
        let p = dir.join(format!("gray{bits}.png"));
        write_png_gray(&p, &img, lo, hi, bits).unwrap();
        let back = read_png(&p).unwrap();
        assert_eq!((back.bit_depth, back.data.dim()), (bits, (1, 17, 23)));
        let step = (hi - lo) / ((1u32 << bits) - 1) as f32;
        for (a, b) in img.iter().zip(back.data.iter()) {
            let v = lo + b * (hi - lo);
            assert!((v - a).abs() <= 0.5 * step + 1e-5, "{bits}-bit: {a} came back as {v}");
        }
        keep(&[&p]);
    }
    // Clipping: below lo is black, above hi is white.
    let p = dir.join("clip.png");
    write_png_gray(&p, &ndarray::arr2(&[[-10.0f32, 0.5, 10.0]]), 0.0, 1.0, 8).unwrap();
    let back = read_png(&p).unwrap().data;
    assert_eq!(back.iter().cloned().collect::<Vec<_>>(), vec![0.0, 128.0 / 255.0, 1.0]);

    let rgb = Array3::from_shape_fn((3, 5, 7), |(c, i, j)| ((c * 50 + i * 13 + j * 7) % 256) as f32 / 255.0);
    let p = dir.join("rgb.png");
    write_png_rgb(&p, &rgb).unwrap();
    let back = read_png(&p).unwrap();
    assert_eq!((back.bit_depth, back.data.dim()), (8, (3, 5, 7)));
    assert!(rgb.iter().zip(back.data.iter()).all(|(a, b)| (a - b).abs() < 1e-6));

    let mask = Array2::from_shape_fn((4, 6), |(i, j)| (i + j) % 3 == 0);
    let p = dir.join("mask.png");
    write_mask_png(&p, &mask).unwrap();
    let back = read_png(&p).unwrap().data;
    assert!(mask.iter().zip(back.iter()).all(|(&m, &v)| v == if m { 1.0 } else { 0.0 }));
    keep(&[&dir.join("rgb.png"), &p]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn png_errors_are_clear() {
    let dir = scratch("png-bad");
    let p = dir.join("nan.png");
    let e = err_text(write_png_gray(&p, &ndarray::arr2(&[[0.0f32, f32::NAN]]), 0.0, 1.0, 8));
    assert!(e.contains("nan.png") && e.contains("NaN"), "{e}");
    assert!(!p.exists());
    assert!(err_text(write_png_gray(&p, &Array2::<f32>::zeros((2, 2)), 1.0, 1.0, 8)).contains("lo < hi"));
    assert!(err_text(write_png_gray(&p, &Array2::<f32>::zeros((2, 2)), 0.0, 1.0, 12)).contains("8 or 16"));
    assert!(err_text(write_png_rgb(&p, &Array3::<f32>::zeros((4, 2, 2)))).contains("(3, H, W)"));
    let junk = dir.join("junk.png");
    std::fs::write(&junk, b"GIF89a not a png at all").unwrap();
    let e = err_text(read_png(&junk));
    assert!(e.contains("junk.png") && e.contains("PNG"), "{e}");
    let good = std::fs::read(fixtures().join("rgb16.png")).unwrap();
    let cut = dir.join("cut.png");
    std::fs::write(&cut, &good[..good.len() - 30]).unwrap();
    assert!(err_text(read_png(&cut)).contains("cut.png"));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------------------------------- CFL

/// The fixture formula: BART index → value.
fn bart_value(idx: &[usize]) -> C32 {
    let re: usize = idx.iter().enumerate().map(|(k, &i)| i * 10usize.pow(k as u32)).sum();
    C32::new(re as f32, -0.25 * re as f32)
}

#[test]
fn cfl_reads_python_and_bart_headers() {
    for name in ["bart_py", "bart_py.cfl", "bart_py.hdr", "bart_native"] {
        let a = read_cfl(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.shape(), &[4, 3, 1, 2], "{name}");
        assert!(a.t().is_standard_layout(), "column-major, no copy");
        for (idx, v) in a.indexed_iter() {
            assert_eq!(*v, bart_value(idx.slice()), "{name} {idx:?}");
        }
    }
    assert_eq!(cfl::read_cfl_header(fixtures().join("bart_native.hdr")).unwrap()[..5], [4, 3, 1, 2, 1]);
}

#[test]
fn cfl_round_trip_and_trailing_ones() {
    let dir = scratch("cfl-rt");
    // A C-order array: written in BART (column-major) order all the same.
    let a = ArrayD::from_shape_fn(IxDyn(&[5, 1, 3, 2]), |i| bart_value(i.slice()));
    let base = dir.join("rt");
    write_cfl(&base, &a.view()).unwrap();
    let hdr = std::fs::read_to_string(dir.join("rt.hdr")).unwrap();
    assert!(hdr.starts_with("# Dimensions\n5 1 3 2 1 1 1 1 1 1 1 1 1 1 1 1 \n"), "{hdr}");
    assert_eq!(std::fs::metadata(dir.join("rt.cfl")).unwrap().len(), 5 * 3 * 2 * 8);
    assert_eq!(read_cfl(dir.join("rt.cfl")).unwrap(), a);
    keep(&[&dir.join("rt.cfl"), &dir.join("rt.hdr")]);
    // Trailing singleton dimensions are trimmed on reading; at least one dimension is kept.
    write_cfl(dir.join("t.hdr"), &ArrayD::from_elem(IxDyn(&[2, 3, 1, 1]), C32::new(1.0, 2.0)).view())
        .unwrap();
    assert_eq!(read_cfl(dir.join("t")).unwrap().shape(), &[2, 3]);
    write_cfl(dir.join("one"), &ArrayD::from_elem(IxDyn(&[1, 1]), C32::new(1.0, 2.0)).view()).unwrap();
    assert_eq!(read_cfl(dir.join("one")).unwrap().shape(), &[1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cfl_kspace_and_image_layouts() {
    let exp = expected();
    let a = read_cfl(fixtures().join("kspace_multislice")).unwrap();
    assert_eq!(a.shape(), &[3, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
    let ks = cfl_to_kspace(&a.view()).unwrap();
    let shape: Vec<usize> = exp["cfl"]["kspace_multislice"]["ours_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(ks.shape(), &shape[..]);
    let raw = std::fs::read(fixtures().join("kspace_multislice_expected.c64")).unwrap();
    let want: Vec<C32> = raw
        .chunks_exact(8)
        .map(|c| {
            C32::new(
                f32::from_le_bytes(c[..4].try_into().unwrap()),
                f32::from_le_bytes(c[4..].try_into().unwrap()),
            )
        })
        .collect();
    assert_eq!(ks.iter().cloned().collect::<Vec<_>>(), want);
    // Inverse: slices go to BART's SLICE dimension; reading back gives the same k-space.
    let back = kspace_to_cfl(ks.view());
    assert_eq!(back.shape(), &[3, 4, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4]);
    assert_eq!(cfl_to_kspace(&back.view()).unwrap(), ks);

    // Images need COIL = 1; MAPS > 1 is refused for k-space too.
    let e = cfl_to_images(&a.view()).unwrap_err().to_string();
    assert!(e.contains("dimension 3"), "{e}");
    let maps = ArrayD::<C32>::zeros(IxDyn(&[4, 4, 1, 1, 2]));
    assert!(cfl_to_kspace(&maps.view()).unwrap_err().to_string().contains("dimension 4"));
    let imgs =
        Array3::from_shape_fn((3, 5, 6), |(s, i, j)| C32::new((s * 100 + i * 10 + j) as f32, s as f32));
    let c = images_to_cfl(imgs.view());
    assert_eq!(c[IxDyn(&[4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])], imgs[[1, 4, 2]]);
    assert_eq!(cfl_to_images(&c.view()).unwrap(), imgs);
    // A plain 2-D BART image is one slice.
    let two = ArrayD::from_shape_fn(IxDyn(&[5, 6]), |i| bart_value(i.slice()));
    let one = cfl_to_images(&two.view()).unwrap();
    assert_eq!((one.dim(), one[[0, 4, 5]]), ((1, 5, 6), bart_value(&[4, 5])));
}

#[test]
fn cfl_errors_name_the_file() {
    let dir = scratch("cfl-bad");
    let base = dir.join("x");
    write_cfl(&base, &ArrayD::from_elem(IxDyn(&[4, 4]), C32::new(1.0, 0.0)).view()).unwrap();
    let cfl_path = dir.join("x.cfl");
    let bytes = std::fs::read(&cfl_path).unwrap();
    std::fs::write(&cfl_path, &bytes[..bytes.len() - 8]).unwrap();
    let e = err_text(read_cfl(&base));
    assert!(e.contains("x.cfl") && e.contains("truncated") && e.contains("[4, 4]"), "{e}");
    // A header declaring far more than the file holds is refused before allocating.
    std::fs::write(dir.join("x.hdr"), "# Dimensions\n100000 100000 100000 1 \n").unwrap();
    assert!(err_text(read_cfl(&base)).contains("x.cfl"));
    std::fs::write(dir.join("x.hdr"), "# Dimensions\n4 four\n").unwrap();
    let e = err_text(read_cfl(&base));
    assert!(e.contains("x.hdr") && e.contains("'four'"), "{e}");
    std::fs::write(dir.join("x.hdr"), "just text\n").unwrap();
    assert!(err_text(read_cfl(&base)).contains("no '# Dimensions'"));
    let e = err_text(read_cfl(dir.join("absent")));
    assert!(e.contains("absent.hdr"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
