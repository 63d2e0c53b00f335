//! fastMRI HDF5 reading and writing (recon::io::hdf5).
//!
//! Fixtures in tests/fixtures/h5 were written by h5py (make_fixtures.py there); their values
//! follow formulas recomputed here. Run the timing note with
//! `cargo test --release -p recon --test hdf5 -- --ignored --nocapture`.

use ndarray::{Array, Array2, ArrayD, IxDyn};
use recon::io::hdf5::{open_any, write_h5, AttrValue, FastMriFile, H5Data, H5File};
use recon::ReconError;
use std::path::{Path, PathBuf};

type C32 = num_complex::Complex32;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/h5").join(name)
}

/// With `RECON_H5_KEEP=<dir>`, files the round-trip tests write are copied there (to check
/// them with h5py by hand: make_fixtures.py `--check <dir>`).
fn keep(path: &Path) {
    if let Some(dir) = std::env::var_os("RECON_H5_KEEP") {
        std::fs::copy(path, Path::new(&dir).join(path.file_name().unwrap())).unwrap();
    }
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recon-hdf5-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn kval(s: usize, c: usize, h: usize, w: usize) -> C32 {
    let re = (s * 10000 + c * 1000 + h * 10 + w) as f32;
    C32::new(re, -re / 2.0)
}

fn rval(s: usize, y: usize, x: usize, offset: f32) -> f32 {
    (s * 100 + y * 4 + x) as f32 + offset
}

/// The error of `r`, which must be a one-line `Format` error naming `path` and saying `what`.
fn expect_format<T: std::fmt::Debug>(r: Result<T, ReconError>, path: &Path, what: &[&str]) -> String {
    let e = r.expect_err("expected an error");
    assert!(matches!(e, ReconError::Format { .. }), "not a Format error: {e:?}");
    let msg = e.to_string();
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(msg.contains(&*name), "message does not name {name}: {msg}");
    for w in what {
        assert!(msg.contains(w), "message lacks {w:?}: {msg}");
    }
    assert!(!msg.contains('\n'), "message is not one line: {msg:?}");
    msg
}

fn check_kspace(f: &FastMriFile, slices: usize, coils: Option<usize>) {
    assert_eq!(f.num_slices(), slices);
    assert_eq!(f.num_coils(), coils);
    assert_eq!(f.kspace_shape(), (8, 6));
    for s in 0..slices {
        let k = f.read_kspace_slice(s).unwrap();
        assert_eq!(k.shape(), &[coils.unwrap_or(1), 8, 6]);
        for ((c, h, w), v) in k.indexed_iter() {
            assert_eq!(*v, kval(s, c, h, w), "kspace[{s}, {c}, {h}, {w}]");
        }
    }
    let e = f.read_kspace_slice(slices).unwrap_err();
    assert!(e.to_string().contains("slice"), "{e}");
}

fn check_reference(f: &FastMriFile, name: &str, slices: usize) {
    assert_eq!(f.reference_name(), Some(name));
    assert_eq!(f.reference_shape(), Some((4, 4)));
    for s in 0..slices {
        let r = f.read_reference_slice(s).unwrap().unwrap();
        assert_eq!(r, Array2::from_shape_fn((4, 4), |(y, x)| rval(s, y, x, 0.25)));
    }
}

fn check_header(f: &FastMriFile) {
    let h = f.header().expect("header");
    assert_eq!(h.encoded, [8, 6, 1]);
    assert_eq!(h.recon, [4, 4, 1]);
    assert_eq!(h.pe_center, Some(3));
    assert_eq!(h.pe_max, Some(5));
}

fn dtype_of<'a>(f: &'a H5File, name: &str) -> &'a str {
    &f.dataset(name).unwrap_or_else(|| panic!("no {name}")).dtype
}

#[test]
fn singlecoil_fixture() {
    let path = fixture("singlecoil.h5");
    let f = FastMriFile::open(&path).unwrap();
    assert_eq!(f.path(), path);
    check_kspace(&f, 3, None);
    check_reference(&f, "reconstruction_esc", 3);
    check_header(&f);
    assert_eq!(f.read_mask().unwrap(), None);
    let a = f.attrs();
    assert_eq!(a["acquisition"], AttrValue::Str("CORPD_FBK".into()));
    assert_eq!(a["patient_id"].as_str(), Some("a1b2c3d4e5f6"));
    assert_eq!(a["max"], AttrValue::Float(0.000123456));
    assert_eq!(a["norm"].as_f64(), Some(0.0456));
    let names: Vec<&str> = f.datasets().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["ismrmrd_header", "kspace", "reconstruction_esc"]);
    assert_eq!(dtype_of(f.file(), "kspace"), "complex64");
    assert_eq!(dtype_of(f.file(), "reconstruction_esc"), "float32");
    assert_eq!(dtype_of(f.file(), "ismrmrd_header"), "string");
    assert_eq!(f.file().dataset("kspace").unwrap().shape, [3, 8, 6]);
    assert!(f.file().dataset("ismrmrd_header").unwrap().shape.is_empty());
    let xml = String::from_utf8(f.file().read_bytes("ismrmrd_header").unwrap()).unwrap();
    assert!(xml.starts_with("<?xml") && xml.trim_end().ends_with("</ismrmrdHeader>"));
}

fn check_multicoil(path: &Path) -> FastMriFile {
    let f = FastMriFile::open(path).unwrap();
    check_kspace(&f, 2, Some(3));
    check_reference(&f, "reconstruction_rss", 2);
    check_header(&f);
    assert_eq!(f.read_mask().unwrap(), Some(vec![true, false, true, true, false, true]));
    let a = f.attrs();
    assert_eq!(a["acquisition"].as_str(), Some("AXT2"));
    assert_eq!(a["patient_id"].as_str(), Some("ffeeddcc"));
    assert_eq!(a["max"], AttrValue::Float(0.5));
    assert_eq!(a["norm"], AttrValue::Float(12.5));
    assert_eq!(a["acceleration"], AttrValue::Int(4));
    assert_eq!(a["num_low_frequency"].as_i64(), Some(2));
    assert!(!a.contains_key("flags"), "array attributes are not listed");
    assert_eq!(dtype_of(f.file(), "mask"), "bool");
    assert_eq!(dtype_of(f.file(), "ismrmrd_header"), "bytes");
    assert_eq!(dtype_of(f.file(), "extra/note"), "int16");
    assert_eq!(f.file().dataset("extra/note").unwrap().shape, [4]);
    f
}

#[test]
fn multicoil_fixture() {
    let f = check_multicoil(&fixture("multicoil.h5"));
    assert_eq!(f.file().dataset("kspace").unwrap().chunks, None);
}

#[test]
fn chunked_gzip_fixture() {
    let f = check_multicoil(&fixture("multicoil_chunked_gzip.h5"));
    let k = f.file().dataset("kspace").unwrap();
    assert_eq!(k.chunks.as_deref(), Some(&[1, 1, 8, 6][..]));
    assert!(k.filters.contains(&1), "gzip filter listed: {:?}", k.filters);
    // Slices read in any order, repeatedly (chunk cache), give the same values.
    for s in [1, 0, 1] {
        let k = f.read_kspace_slice(s).unwrap();
        assert_eq!(k[[2, 7, 5]], kval(s, 2, 7, 5));
    }
}

#[test]
fn unwritten_chunks_are_an_error() {
    let path = fixture("partial_chunked.h5");
    let f = FastMriFile::open(&path).unwrap();
    let k = f.read_kspace_slice(0).unwrap();
    assert_eq!(k[[0, 7, 5]], kval(0, 0, 7, 5));
    expect_format(f.read_kspace_slice(1), &path, &["slice 1 of `kspace`", "missing chunks"]);
}

#[test]
fn slices_read_from_many_threads() {
    for name in ["multicoil.h5", "multicoil_chunked_gzip.h5"] {
        let f = FastMriFile::open(&fixture(name)).unwrap();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let f = &f;
                scope.spawn(move || {
                    for rep in 0..20 {
                        let s = (t + rep) % 2;
                        let k = f.read_kspace_slice(s).unwrap();
                        assert_eq!(k[[1, 3, 4]], kval(s, 1, 3, 4));
                        assert_eq!(f.read_reference_slice(s).unwrap().unwrap()[[2, 1]], rval(s, 2, 1, 0.25));
                    }
                });
            }
        });
    }
}

#[test]
fn prediction_file_generic_reads() {
    let path = fixture("prediction.h5");
    expect_format(FastMriFile::open(&path), &path, &["no `kspace` dataset", "reconstruction"]);
    let f = open_any(&path).unwrap();
    assert_eq!(f.datasets().len(), 1);
    assert_eq!(f.dataset("reconstruction").unwrap().shape, [2, 4, 4]);
    for s in 0..2 {
        let r = f.read_f32_slice("reconstruction", s).unwrap();
        assert_eq!(r, Array2::from_shape_fn((4, 4), |(y, x)| rval(s, y, x, 0.5)));
    }
    let all = f.read_f32("reconstruction").unwrap();
    assert_eq!(all.shape(), &[2, 4, 4]);
    assert_eq!(all[[1, 3, 2]], rval(1, 3, 2, 0.5));
    assert!(f.read_f32_slice("reconstruction", 2).is_err());
    expect_format(f.read_f32_slice("missing", 0), &path, &["no `missing` dataset"]);
    expect_format(f.read_c32_slice("reconstruction", 0), &path, &["float32", "complex64"]);
    // Many opens of the same file are cheap and independent.
    for _ in 0..50 {
        assert_eq!(H5File::open(&path).unwrap().datasets().len(), 1);
    }
}

#[test]
fn bad_files_give_one_line_errors_and_stay_unchanged() {
    let cases: &[(&str, &[&str])] = &[
        ("bad_float_kspace.h5", &["`kspace`", "float32", "complex64"]),
        ("bad_int_reference.h5", &["`reconstruction_esc`", "int16", "float32"]),
        ("bad_rank_kspace.h5", &["`kspace`", "[8, 6]"]),
        ("bad_mask_length.h5", &["`mask`", "2 elements", "width 6"]),
        ("no_kspace.h5", &["no `kspace` dataset"]),
        ("complex128_kspace.h5", &["complex128", "complex64"]),
    ];
    for (name, what) in cases {
        let path = fixture(name);
        let before = std::fs::read(&path).unwrap();
        expect_format(FastMriFile::open(&path), &path, what);
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name} was modified");
    }
}

#[test]
fn nan_and_inf_are_reported_on_read() {
    let path = fixture("bad_nan.h5");
    let before = std::fs::read(&path).unwrap();
    let f = FastMriFile::open(&path).unwrap();
    f.read_kspace_slice(0).unwrap();
    expect_format(f.read_kspace_slice(1), &path, &["`kspace`", "NaN or Inf", "slice 1", "[1, 2, 3]"]);
    expect_format(f.read_reference_slice(0), &path, &["`reconstruction_rss`", "NaN or Inf", "[1, 1]"]);
    f.read_reference_slice(1).unwrap();
    drop(f);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn empty_and_non_hdf5_files() {
    let dir = scratch("nonh5");
    let empty = dir.join("empty.h5");
    std::fs::write(&empty, b"").unwrap();
    expect_format(FastMriFile::open(&empty), &empty, &["empty"]);
    let text = dir.join("notes.h5");
    std::fs::write(&text, "kspace = [1, 2, 3]\n".repeat(100)).unwrap();
    expect_format(FastMriFile::open(&text), &text, &["not an HDF5 file"]);
    // Just the signature and garbage after it.
    let sig = dir.join("sig_only.h5");
    let mut bytes = b"\x89HDF\r\n\x1a\n".to_vec();
    bytes.extend([0xAB; 600]);
    std::fs::write(&sig, &bytes).unwrap();
    expect_format(FastMriFile::open(&sig), &sig, &[]);
    assert_eq!(std::fs::read(&sig).unwrap(), bytes);
    let missing = dir.join("missing.h5");
    let e = FastMriFile::open(&missing).unwrap_err();
    assert!(matches!(e, ReconError::Io { .. }) && e.to_string().contains("missing.h5"), "{e}");
    expect_format(FastMriFile::open(&dir), &dir, &["directory"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Opens `path` and reads everything a pipeline would read.
fn read_everything(path: &Path) -> Result<(), ReconError> {
    let f = FastMriFile::open(path)?;
    for s in 0..f.num_slices() {
        f.read_kspace_slice(s)?;
        f.read_reference_slice(s)?;
    }
    f.read_mask()?;
    Ok(())
}

#[test]
fn truncated_files_error_at_every_length() {
    let dir = scratch("truncated");
    for name in ["multicoil.h5", "multicoil_chunked_gzip.h5", "singlecoil.h5"] {
        let full = std::fs::read(fixture(name)).unwrap();
        let path = dir.join(format!("cut_{name}"));
        let mut ok_lengths = Vec::new();
        for len in (0..full.len()).step_by(61).chain([full.len() - 1]) {
            std::fs::write(&path, &full[..len]).unwrap();
            match read_everything(&path) {
                Ok(()) => ok_lengths.push(len),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("cut_{name}")), "{msg}");
                    assert!(!msg.contains('\n'), "{msg:?}");
                }
            }
            assert_eq!(std::fs::read(&path).unwrap(), &full[..len]);
        }
        assert!(ok_lengths.is_empty(), "{name}: truncation to {ok_lengths:?} bytes went unnoticed");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupted_bytes_never_panic() {
    let dir = scratch("corrupt");
    // RECON_H5_FUZZ=N runs N corruptions per file instead of 300.
    let iters = std::env::var("RECON_H5_FUZZ").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    for name in ["multicoil.h5", "multicoil_chunked_gzip.h5", "singlecoil.h5"] {
        let full = std::fs::read(fixture(name)).unwrap();
        let path = dir.join(name);
        // Deterministic spread of positions; each gets a few different byte values.
        let mut state = 0x2545_f491_u64;
        for _ in 0..iters {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let pos = (state % full.len() as u64) as usize;
            let mut bytes = full.clone();
            match state >> 60 {
                0..=3 => bytes[pos] = 0xFF,
                4..=7 => bytes[pos] = 0x00,
                8..=11 => bytes[pos] ^= 0x5A,
                // An 8-byte run (addresses and lengths are 8 bytes wide) of random bits.
                _ => {
                    let at = pos.min(full.len() - 8);
                    bytes[at..at + 8].copy_from_slice(&state.rotate_left(29).to_le_bytes());
                }
            }
            std::fs::write(&path, &bytes).unwrap();
            if let Err(e) = read_everything(&path) {
                assert!(e.to_string().contains(name), "{e}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The fixture's header text, so the round trip checks the same parse.
fn header_xml() -> Vec<u8> {
    let f = FastMriFile::open(&fixture("multicoil.h5")).unwrap();
    f.file().read_bytes("ismrmrd_header").unwrap()
}

#[test]
fn round_trip_multicoil_scan() {
    let dir = scratch("roundtrip");
    let path = dir.join("sim_scan.h5");
    let kspace = ArrayD::from_shape_fn(IxDyn(&[2, 3, 8, 6]), |i| kval(i[0], i[1], i[2], i[3]));
    let rss = ArrayD::from_shape_fn(IxDyn(&[2, 4, 4]), |i| rval(i[0], i[1], i[2], 0.25));
    let mask = ArrayD::from_shape_vec(IxDyn(&[6]), vec![true, false, true, true, false, true]).unwrap();
    let xml = header_xml();
    let attrs = [
        ("acquisition", AttrValue::Str("CORPDFS_FBK".into())),
        ("max", AttrValue::Float(0.5)),
        ("norm", AttrValue::Float(12.5)),
        ("patient_id", AttrValue::Str("sim-ünï".into())),
        ("acceleration", AttrValue::Int(4)),
        ("num_low_frequency", AttrValue::Int(2)),
    ];
    write_h5(
        &path,
        &[
            ("kspace", H5Data::C64(kspace.clone())),
            ("reconstruction_rss", H5Data::F32(rss.clone())),
            ("ismrmrd_header", H5Data::Bytes(xml.clone())),
            ("mask", H5Data::Bool(mask)),
        ],
        &attrs,
    )
    .unwrap();
    keep(&path);
    let f = check_multicoil_like(&path);
    for (k, v) in &attrs {
        assert_eq!(&f.attrs()[*k], v, "attribute {k}");
    }
    assert_eq!(f.attrs().len(), attrs.len());
    assert_eq!(f.file().read_bytes("ismrmrd_header").unwrap(), xml);
    let names: Vec<&str> = f.datasets().iter().map(|d| d.name.as_str()).collect();
    for n in ["kspace", "reconstruction_rss", "ismrmrd_header", "mask"] {
        assert!(names.contains(&n), "{names:?}");
    }
    assert_eq!(dtype_of(f.file(), "kspace"), "complex64");
    assert_eq!(dtype_of(f.file(), "reconstruction_rss"), "float32");
    assert_eq!(dtype_of(f.file(), "mask"), "bool");
    assert_eq!(dtype_of(f.file(), "ismrmrd_header"), "bytes");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn check_multicoil_like(path: &Path) -> FastMriFile {
    let f = FastMriFile::open(path).unwrap();
    check_kspace(&f, 2, Some(3));
    check_reference(&f, "reconstruction_rss", 2);
    check_header(&f);
    assert_eq!(f.read_mask().unwrap(), Some(vec![true, false, true, true, false, true]));
    f
}

#[test]
fn round_trip_singlecoil_and_outputs() {
    let dir = scratch("outputs");
    let scan = dir.join("single.h5");
    let kspace = ArrayD::from_shape_fn(IxDyn(&[3, 8, 6]), |i| kval(i[0], 0, i[1], i[2]));
    let esc = ArrayD::from_shape_fn(IxDyn(&[3, 4, 4]), |i| rval(i[0], i[1], i[2], 0.25));
    write_h5(
        &scan,
        &[("kspace", H5Data::C64(kspace)), ("reconstruction_esc", H5Data::F32(esc))],
        &[("acquisition", AttrValue::Str("CORPD_FBK".into()))],
    )
    .unwrap();
    keep(&scan);
    let f = FastMriFile::open(&scan).unwrap();
    check_kspace(&f, 3, None);
    check_reference(&f, "reconstruction_esc", 3);
    assert!(f.header().is_none());

    // A reconstruction output: arrays in non-standard memory order are written in logical order.
    let out = dir.join("recon_out.h5");
    let recon =
        Array::from_shape_fn((4, 4, 2), |(x, y, s)| rval(s, y, x, 0.5)).permuted_axes([2, 1, 0]).into_dyn();
    assert!(!recon.is_standard_layout());
    let zf = ArrayD::from_elem(IxDyn(&[2, 4, 4]), 1.5f32);
    let mask_u8 = ArrayD::from_shape_vec(IxDyn(&[6]), vec![1u8, 0, 1, 1, 0, 1]).unwrap();
    write_h5(
        &out,
        &[
            ("reconstruction", H5Data::F32(recon)),
            ("zero_filled", H5Data::F32(zf)),
            ("mask", H5Data::U8(mask_u8)),
            ("empty_header", H5Data::Bytes(Vec::new())),
        ],
        &[("norm", AttrValue::Float(-0.0)), ("acceleration", AttrValue::Int(-3))],
    )
    .unwrap();
    keep(&out);
    let g = open_any(&out).unwrap();
    for s in 0..2 {
        let r = g.read_f32_slice("reconstruction", s).unwrap();
        assert_eq!(r, Array2::from_shape_fn((4, 4), |(y, x)| rval(s, y, x, 0.5)));
    }
    assert!(g.read_f32("zero_filled").unwrap().iter().all(|&v| v == 1.5));
    assert_eq!(dtype_of(&g, "mask"), "uint8");
    assert_eq!(g.read_bool("mask").unwrap(), [true, false, true, true, false, true]);
    assert_eq!(g.read_bytes("empty_header").unwrap(), b"");
    assert_eq!(g.attrs()["acceleration"], AttrValue::Int(-3));

    // Overwriting replaces the file; bad names are refused before anything is written.
    write_h5(&out, &[("reconstruction", H5Data::F32(ArrayD::zeros(IxDyn(&[1, 2, 2]))))], &[]).unwrap();
    assert_eq!(open_any(&out).unwrap().datasets().len(), 1);
    let e = write_h5(
        &out,
        &[("a", H5Data::U8(ArrayD::zeros(IxDyn(&[1])))), ("a", H5Data::U8(ArrayD::zeros(IxDyn(&[1]))))],
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("recon_out.h5"), "{e}");
    assert_eq!(open_any(&out).unwrap().datasets().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reading one fastMRI-knee-sized slice (15 coils × 640 × 368) from a contiguous file.
#[test]
#[ignore = "timing note; run in release with --ignored --nocapture"]
fn timing_knee_slice() {
    let dir = scratch("timing");
    let path = dir.join("knee.h5");
    let (s, c, h, w) = (3, 15, 640, 368);
    let k = ArrayD::from_shape_fn(IxDyn(&[s, c, h, w]), |i| C32::new(i[2] as f32, i[3] as f32 - i[1] as f32));
    let t = std::time::Instant::now();
    write_h5(&path, &[("kspace", H5Data::C64(k))], &[]).unwrap();
    let write_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let f = FastMriFile::open(&path).unwrap();
    let open_s = t.elapsed().as_secs_f64();
    let mut best = f64::INFINITY;
    for rep in 0..5 {
        let t = std::time::Instant::now();
        let slice = f.read_kspace_slice(rep % s).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(slice[[14, 639, 367]], C32::new(639.0, 367.0 - 14.0));
    }
    let mb = (c * h * w * 8) as f64 / 1e6;
    println!(
        "write {:.0} MB: {write_s:.3} s; open: {:.2} ms; read one {c}x{h}x{w} slice ({mb:.1} MB): {:.1} ms ({:.0} MB/s)",
        mb * s as f64,
        open_s * 1e3,
        best * 1e3,
        mb / best
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
