//! `recon mask --psf PATH` writes the mask's point-spread function and prints the analysis:
//! the PSF PNG equals the PSF computed (independently, from its documented formula) from the
//! mask file it wrote; nothing is overwritten without `--force`.

use kspace::analysis::{point_spread_function, PsfWeighting};
use kspace::SamplingMask;
use ndarray::Array2;
use std::path::Path;

mod common;
use common::*;

/// The 8-bit grey values of a PNG as written by `recon mask`.
fn grey_png(path: &Path) -> Array2<u8> {
    let image = recon::io::png::read_png(path).unwrap();
    assert_eq!((image.channels(), image.bit_depth), (1, 8), "{path:?}");
    image.to_gray().mapv(|v| (v * 255.0).round() as u8)
}

/// The PSF image of the mask in `mask_png`, from the documented formula: the plain PSF in dB,
/// `20·log10 |PSF|`, mapped from −60 dB (0) to 0 dB (255).
fn expected_psf(mask_png: &Path) -> Array2<f64> {
    let keep = grey_png(mask_png).mapv(|v| v == 255);
    let mask = SamplingMask::new(keep.clone(), Array2::from_elem(keep.dim(), 1.0));
    let psf = point_spread_function(&mask, PsfWeighting::Mask);
    psf.mapv(|v| {
        let db = (20.0 * (v as f64).log10()).max(-60.0);
        255.0 * (1.0 + db / 60.0)
    })
}

#[test]
fn mask_psf_png_equals_the_psf_of_the_written_mask() {
    let dir = tempfile::tempdir().unwrap();
    for (family, shape) in [("poisson", "40x36"), ("random", "32x24")] {
        let (out, psf) =
            (dir.path().join(format!("{family}.png")), dir.path().join(format!("{family}_psf.png")));
        let args = ["mask", "--mask", family, "--shape", shape, "--acceleration", "4", "-o", s(&out)];
        let v = json(&recon(&[&args[..], &["--psf", s(&psf), "--json"]].concat()));
        assert_eq!(v["psf"], s(&psf), "{v}");
        let (got, want) = (grey_png(&psf), expected_psf(&out));
        assert_eq!(got.dim(), want.dim());
        for ((ij, &g), &w) in got.indexed_iter().zip(&want) {
            // 8-bit rounding, and f32 vs f64 at a rounding boundary.
            assert!((g as f64 - w).abs() <= 0.5 + 1e-3, "{family} {ij:?}: {g} vs {w:.3}");
        }
        assert_eq!(got[[got.dim().0 / 2, got.dim().1 / 2]], 255, "the peak is white");
        assert!(got.iter().any(|&g| g > 0 && g < 255), "{family}: a real PSF");
        // The analysis printed: the family keeps its centre fully sampled.
        assert_eq!(v["centre_sampled_fraction"], 1.0, "{v}");
        assert!(v["peak_sidelobe_ratio"].as_f64().unwrap() > 0.0 && v["incoherence"].as_f64().unwrap() > 0.0);
        let geometry = if family == "random" { "row" } else { "plane" };
        assert_eq!(v["psf_geometry"], geometry, "{v}");
    }
}

#[test]
fn mask_psf_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let (out, psf) = (dir.path().join("m.cfl"), dir.path().join("m_psf.png"));
    std::fs::write(&psf, b"keep me").unwrap();
    let args = ["mask", "--mask", "poisson", "--shape", "40x40", "-o", s(&out), "--psf", s(&psf)];
    fails(&recon(&args), 2, &["m_psf.png", "--force"]);
    assert!(!out.exists(), "nothing written when the PSF file exists");
    assert_eq!(std::fs::read(&psf).unwrap(), b"keep me");
    let r = recon(&[&args[..], &["--force"]].concat());
    assert!(r.status.success(), "{}", text(&r.stderr));
    let printed = text(&r.stdout);
    for want in ["centre sampled", "peak side-lobe", "incoherence", "m_psf.png"] {
        assert!(printed.contains(want), "{want}: {printed}");
    }
    assert_eq!(grey_png(&psf).dim(), (40, 40));
    // Without --psf no image is written, and the analysis is printed all the same.
    let plain = recon(&["mask", "--shape", "40x40", "-o", s(&dir.path().join("p.npy"))]);
    assert!(text(&plain.stdout).contains("centre sampled") && !dir.path().join("p_psf.png").exists());
    let png_out = dir.path().join("m.png");
    let same = ["mask", "--shape", "40x40", "-o", s(&png_out), "--psf", s(&png_out), "--force"];
    fails(&recon(&same), 2, &["--psf", "same file"]);
    let not_png = dir.path().join("psf.npy");
    fails(
        &recon(&["mask", "--shape", "40x40", "-o", s(&psf), "--psf", s(&not_png), "--force"]),
        2,
        &[".png"],
    );
}

/// The centre analysis: the block around DC that fastMRI's centre covers, and its kept share.
#[test]
fn centre_sampled_fraction_counts_the_block_around_dc() {
    use recon::maskgen::{centre_region, centre_sampled_fraction, psf_decibels, PSF_FLOOR_DB};
    // 1-D: columns 4..8 of 12 are the centre for cf = 1/3 (round(12/3) = 4 columns, start (12−4+1)/2 = 4).
    let cols: Vec<bool> = (0..12).map(|j| j == 5 || j == 6 || j == 0).collect();
    let one_d = SamplingMask::from_columns(8, &cols, &[0.5; 12]);
    let params = kspace::mask::MaskParams { center_fraction: 1.0 / 3.0, ..Default::default() };
    let region = centre_region(&one_d, &params);
    assert_eq!(region, (8, 4));
    assert_eq!(centre_sampled_fraction(&one_d, region), 0.5);
    // 2-D with an explicit calibration box: a 2×2 block around DC (rows 3..5, cols 3..5 of 8).
    let keep =
        Array2::from_shape_fn((8, 8), |(i, j)| (i, j) == (4, 4) || (i, j) == (3, 3) || (i, j) == (0, 0));
    let two_d = SamplingMask::new(keep, Array2::from_elem((8, 8), 0.5));
    let calib = kspace::mask::MaskParams { calib: Some((2, 2)), ..Default::default() };
    assert_eq!(centre_region(&two_d, &calib), (2, 2));
    assert_eq!(centre_sampled_fraction(&two_d, (2, 2)), 0.5);
    assert_eq!(centre_sampled_fraction(&two_d, (8, 8)), 3.0 / 64.0);
    assert_eq!(
        (psf_decibels(1.0), psf_decibels(0.0), psf_decibels(f32::NAN)),
        (0.0, PSF_FLOOR_DB, PSF_FLOOR_DB)
    );
    assert!((psf_decibels(0.1) + 20.0).abs() < 1e-5);
}
