//! The training-data reader for acquired k-space (recon::AcquiredSet): fastMRI-layout `.h5`
//! files with and without a `mask`, directories of them, repeat pairs, and the errors for a
//! missing partner, mismatched coils and bad inputs.

use ndarray::{ArrayD, IxDyn};
use recon::io::hdf5::{write_h5, H5Data};
use recon::{AcquiredSet, ReconError};
use std::path::{Path, PathBuf};

type C32 = num_complex::Complex32;

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recon-acquired-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The value written at (slice, coil, row, col): non-zero everywhere, also off the mask.
fn kval(s: usize, c: usize, i: usize, j: usize) -> C32 {
    C32::new(1.0 + (s * 1000 + c * 100 + i * 10 + j) as f32, 0.5 - j as f32)
}

/// A fastMRI-layout file: `kspace` (S, C, H, W) — (S, H, W) when `coils` is None — and a
/// `mask` over W when given.
fn write_scan(
    path: &Path,
    slices: usize,
    coils: Option<usize>,
    (h, w): (usize, usize),
    mask: Option<&[bool]>,
) {
    let k = match coils {
        Some(c) => ArrayD::from_shape_fn(IxDyn(&[slices, c, h, w]), |i| kval(i[0], i[1], i[2], i[3])),
        None => ArrayD::from_shape_fn(IxDyn(&[slices, h, w]), |i| kval(i[0], 0, i[1], i[2])),
    };
    let mut datasets = vec![("kspace", H5Data::C64(k))];
    if let Some(m) = mask {
        datasets.push(("mask", H5Data::Bool(ArrayD::from_shape_vec(IxDyn(&[m.len()]), m.to_vec()).unwrap())));
    }
    write_h5(path, &datasets, &[]).unwrap();
}

/// A 1-D mask over `w` columns with the 2 central columns and every third other one.
fn mask(w: usize, shift: usize) -> Vec<bool> {
    (0..w).map(|j| j == w / 2 || j == w / 2 - 1 || (j + shift).is_multiple_of(3)).collect()
}

/// The error of `r`, which must be a one-line `Format` error naming `path` and saying `what`.
fn expect_format<T>(r: Result<T, ReconError>, path: &Path, what: &str) -> String {
    let e = match r {
        Err(e) => e,
        Ok(_) => panic!("expected an error about {what}"),
    };
    assert!(matches!(e, ReconError::Format { .. }), "not a Format error: {e:?}");
    let msg = e.one_line();
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(msg.contains(&*name), "message does not name {name}: {msg}");
    assert!(msg.contains(what), "message lacks {what:?}: {msg}");
    msg
}

#[test]
fn a_directory_of_fully_sampled_and_undersampled_files() {
    let dir = scratch("dir");
    let m = mask(8, 0);
    write_scan(&dir.join("b_under.h5"), 3, Some(4), (10, 8), Some(&m));
    write_scan(&dir.join("a_full.h5"), 2, Some(4), (8, 6), None);
    std::fs::write(dir.join("notes.txt"), "not data").unwrap();
    let set = AcquiredSet::open(std::slice::from_ref(&dir)).unwrap();
    assert_eq!((set.len(), set.coils(), set.is_repeats()), (5, 4, false));
    let names: Vec<_> = set.scans().iter().map(|s| s.path.file_name().unwrap().to_owned()).collect();
    assert_eq!(names, ["a_full.h5", "b_under.h5"], "sorted, only data files");

    let full = set.slice(1).unwrap();
    assert!(full.fully_sampled && full.mask.keep.iter().all(|&k| k));
    assert_eq!(full.kspace.dim(), (4, 8, 6));
    assert_eq!(full.kspace[[2, 3, 4]], kval(1, 2, 3, 4));
    assert!(full.reference.is_some(), "fully sampled: RSS reference");
    assert!(full.id.ends_with("a_full.h5:1"), "{}", full.id);

    let under = set.slice(3).unwrap();
    assert!(!under.fully_sampled && under.reference.is_none());
    assert_eq!(under.kspace.dim(), (4, 10, 8), "matrix sizes may differ");
    assert_eq!(under.mask.columns.as_deref(), Some(&m[..]));
    for ((c, i, j), v) in under.kspace.indexed_iter() {
        let want = if m[j] { kval(1, c, i, j) } else { C32::new(0.0, 0.0) };
        assert_eq!(*v, want, "({c}, {i}, {j}): unmeasured bins are zero");
    }
    // Keep probability: 1 on the calibration columns (3, 4), the measured fraction elsewhere.
    let outside: Vec<usize> = (0..8).filter(|&j| j != 3 && j != 4).collect();
    let q = outside.iter().filter(|&&j| m[j]).count() as f32 / outside.len() as f32;
    for j in 0..8 {
        let want = if j == 3 || j == 4 { 1.0 } else { q };
        assert!((under.mask.prob[[5, j]] - want).abs() < 1e-6, "prob of column {j}");
    }
    assert_eq!(set.item(3).unwrap().1, 1);
    assert!(matches!(set.slice(5), Err(ReconError::Invalid(_))));
    assert!(matches!(set.repeat_pair(0), Err(ReconError::Invalid(_))));
}

#[test]
fn files_and_directories_mix_and_single_coil_counts_as_one() {
    let dir = scratch("mix");
    let sub = dir.join("more");
    std::fs::create_dir_all(&sub).unwrap();
    write_scan(&dir.join("single.h5"), 2, None, (8, 6), Some(&mask(6, 1)));
    write_scan(&sub.join("one_coil.h5"), 1, Some(1), (8, 8), None);
    let set = AcquiredSet::open(&[dir.join("single.h5"), sub]).unwrap();
    assert_eq!((set.len(), set.coils()), (3, 1));
    assert_eq!(set.slice(0).unwrap().kspace.dim(), (1, 8, 6));
    assert!(set.slice(2).unwrap().fully_sampled);
}

#[test]
fn mismatched_coil_counts_name_the_file_that_differs() {
    let dir = scratch("coils");
    write_scan(&dir.join("a.h5"), 1, Some(4), (8, 6), None);
    write_scan(&dir.join("b.h5"), 1, Some(2), (8, 6), None);
    let msg = expect_format(AcquiredSet::open(std::slice::from_ref(&dir)), &dir.join("b.h5"), "coil");
    assert!(msg.contains("a.h5") && msg.contains('4') && msg.contains('2'), "{msg}");
}

#[test]
fn bad_inputs_are_errors_naming_the_problem() {
    let dir = scratch("bad");
    assert!(matches!(AcquiredSet::open(&[]), Err(ReconError::Invalid(_))));
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    expect_format(AcquiredSet::open(&[empty]), &dir.join("empty"), "no .h5");
    let missing = dir.join("missing.h5");
    match AcquiredSet::open(&[missing]) {
        Err(ReconError::Io { path, .. }) => assert!(path.ends_with("missing.h5")),
        other => panic!("expected an Io error, got {:?}", other.err()),
    }
    let nothing = dir.join("nothing.h5");
    write_scan(&nothing, 1, Some(2), (8, 6), Some(&[false; 6]));
    expect_format(AcquiredSet::open(std::slice::from_ref(&nothing)), &nothing, "samples nothing");
    let wrong = dir.join("wrong_mask.h5");
    write_scan(&wrong, 1, Some(2), (8, 6), Some(&[true; 5]));
    expect_format(AcquiredSet::open(std::slice::from_ref(&wrong)), &wrong, "mask");
}

#[test]
fn repeats_pair_rep1_with_rep2_and_rep0_with_rep1() {
    let dir = scratch("repeats");
    let (m1, m2) = (mask(8, 0), mask(8, 1));
    write_scan(&dir.join("knee_rep1.h5"), 2, Some(3), (8, 8), Some(&m1));
    write_scan(&dir.join("knee_rep2.h5"), 2, Some(3), (8, 8), Some(&m2));
    write_scan(&dir.join("brain_rep0.h5"), 1, Some(3), (6, 8), Some(&m2));
    write_scan(&dir.join("brain_rep1.h5"), 1, Some(3), (6, 8), Some(&m1));
    let set = AcquiredSet::repeats(std::slice::from_ref(&dir)).unwrap();
    assert!(set.is_repeats());
    assert_eq!(set.len(), 3, "items are slice pairs");
    let (a, b) = set.repeat_pair(0).unwrap();
    assert!(a.id.ends_with("brain_rep0.h5:0") && b.id.ends_with("brain_rep1.h5:0"), "{} {}", a.id, b.id);
    assert_eq!((a.mask.columns.as_deref(), b.mask.columns.as_deref()), (Some(&m2[..]), Some(&m1[..])));
    let (a, b) = set.repeat_pair(2).unwrap();
    assert!(a.id.ends_with("knee_rep1.h5:1") && b.id.ends_with("knee_rep2.h5:1"));
    assert_eq!(a.kspace.dim(), b.kspace.dim());
    assert_eq!(set.slice(2).unwrap().id, a.id);
}

#[test]
fn a_repeat_without_its_partner_or_layout_is_an_error_naming_it() {
    let dir = scratch("partner");
    write_scan(&dir.join("knee_rep1.h5"), 1, Some(2), (8, 6), None);
    write_scan(&dir.join("hip_rep1.h5"), 1, Some(2), (8, 6), None);
    write_scan(&dir.join("hip_rep2.h5"), 1, Some(2), (8, 6), None);
    let msg =
        expect_format(AcquiredSet::repeats(std::slice::from_ref(&dir)), &dir.join("knee_rep1.h5"), "partner");
    assert!(msg.contains("_rep2"), "{msg}");
    // A file not named as a repeat.
    let plain = dir.join("plain.h5");
    write_scan(&plain, 1, Some(2), (8, 6), None);
    expect_format(AcquiredSet::repeats(&[plain]), &dir.join("plain.h5"), "NAME_rep1");
    // Partners of different layouts.
    let other = scratch("layout");
    write_scan(&other.join("x_rep1.h5"), 2, Some(2), (8, 6), None);
    write_scan(&other.join("x_rep2.h5"), 3, Some(2), (8, 6), None);
    let msg =
        expect_format(AcquiredSet::repeats(std::slice::from_ref(&other)), &other.join("x_rep2.h5"), "layout");
    assert!(msg.contains("x_rep1.h5"), "{msg}");
    // Three repetitions are not one pair.
    write_scan(&other.join("x_rep0.h5"), 2, Some(2), (8, 6), None);
    expect_format(AcquiredSet::repeats(&[other]), Path::new("x_rep0.h5"), "one pair");
}

#[test]
fn bart_base_names_and_nifti_volumes_in_a_directory() {
    let dir = scratch("formats");
    // BART k-space (READ 8, PHS1 8, 1, COIL 1) with columns 1, 2 and 6 not acquired.
    let unmeasured = [1, 2, 6];
    let k = ArrayD::from_shape_fn(IxDyn(&[8, 8, 1, 1]), |i| {
        if unmeasured.contains(&i[1]) {
            C32::new(0.0, 0.0)
        } else {
            kval(0, 0, i[0], i[1])
        }
    });
    recon::io::cfl::write_cfl(dir.join("scan"), &k.view()).unwrap();
    let vol = recon::io::nifti::Volume::new(
        ndarray::Array3::from_shape_fn((4, 4, 3), |(x, y, z)| (1 + x + 2 * y + z) as f32),
        [1.0; 3],
    );
    recon::io::nifti::write_volume(dir.join("brain.nii"), &vol).unwrap();
    let set = AcquiredSet::open(std::slice::from_ref(&dir)).unwrap();
    let names: Vec<_> = set.scans().iter().map(|s| s.path.file_name().unwrap().to_owned()).collect();
    assert_eq!(names, ["brain.nii", "scan"], "the .cfl/.hdr pair is listed once, by its base name");
    assert_eq!((set.len(), set.coils()), (4, 1));
    let nifti = set.slice(0).unwrap();
    assert!(nifti.fully_sampled && nifti.reference.is_some());
    let bart = set.slice(3).unwrap();
    assert!(!bart.fully_sampled);
    let cols = bart.mask.columns.as_ref().expect("a column mask");
    assert_eq!((0..8).filter(|j| !cols[*j]).collect::<Vec<_>>(), unmeasured);
    assert_eq!(bart.kspace[[0, 3, 4]], kval(0, 0, 3, 4));
}
