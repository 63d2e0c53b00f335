//! Resource limits end to end: hostile inputs made at test time (a 1.4 KB HDF5 declaring
//! 32 TiB of k-space, gzip-chunked slices and chunks over the caps, a FIFO and `/dev/zero`
//! named `.h5`, float and integer masks) give a one-line error naming the file and exit
//! code 3, never an abort, an OOM kill or a hang; in `recon batch` they are failed lines and
//! the good volumes are done. Every run of the binary is under a virtual-memory limit and a
//! deadline.

use hdf5_pure as h5;
use recon::io::hdf5::{write_h5, FastMriFile, H5Data};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SAMPLE: &str = "data/colin27_sim.h5";
/// Address space a run may take: far below what any of these files declares.
const MEMORY_LIMIT_KIB: u64 = 8 << 20;
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `recon args` with `envs` under `ulimit -v` and the deadline (killed and failed
/// past it: a hang).
fn recon(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KIB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_recon"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("the recon binary runs");
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("recon {args:?} hung (killed after {DEADLINE:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `recon --input file` must exit with 3 (no signal) and one stderr line naming the file and
/// saying each of `what`.
fn refused(file: &Path, envs: &[(&str, &str)], what: &[&str]) {
    let out = file.with_extension("out.h5");
    let r = recon(&["--input", s(file), "--no-model", "--mask", "random", "-o", s(&out)], envs);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{}: {:?}\n{err}", file.display(), r.status);
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(err.contains(&*name), "{err}");
    for w in what {
        assert!(err.contains(w), "{w:?} not in: {err}");
    }
    assert!(!err.contains("panicked") && err.trim().lines().count() == 1, "{err}");
}

// ---- building hostile files -------------------------------------------------------------

fn complex() -> h5::Datatype {
    h5::CompoundTypeBuilder::with_size(8).f32_field("r", 0).f32_field("i", 4).build().unwrap()
}

fn le(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Bob Jenkins' lookup3 `hashlittle` (seed 0): the checksum of HDF5 metadata blocks.
fn lookup3(data: &[u8]) -> u32 {
    let word = |d: &[u8]| d.iter().enumerate().fold(0u32, |w, (i, &b)| w | u32::from(b) << (8 * i));
    let mut a = 0xdead_beefu32.wrapping_add(data.len() as u32);
    let (mut b, mut c) = (a, a);
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        for (r1, r2, r3) in [(4, 6, 8), (16, 19, 4)] {
            a = a.wrapping_sub(c) ^ c.rotate_left(r1);
            c = c.wrapping_add(b);
            b = b.wrapping_sub(a) ^ a.rotate_left(r2);
            a = a.wrapping_add(c);
            c = c.wrapping_sub(b) ^ b.rotate_left(r3);
            b = b.wrapping_add(a);
        }
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    let mut tail = [0u8; 12];
    tail[..rest.len()].copy_from_slice(rest);
    a = a.wrapping_add(word(&tail[0..4]));
    b = b.wrapping_add(word(&tail[4..8]));
    c = c.wrapping_add(word(&tail[8..12]));
    // lookup3's `final`: v[z] ^= v[y]; v[z] -= rot(v[y], r), for (z, y) = (c, b), (a, c), (b, a)…
    let mut v = [a, b, c];
    for (z, y, r) in [(2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4), (1, 0, 14), (2, 1, 24)] {
        v[z] ^= v[y];
        v[z] = v[z].wrapping_sub(v[y].rotate_left(r));
    }
    let c = v[2];
    c
}

/// Replaces the one occurrence of `from` in `bytes` (inside a version-2 object header) by
/// `to` and re-stamps that header's checksum.
fn patch_header(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|w| w == from).expect("pattern in the file");
    bytes[at..at + from.len()].copy_from_slice(to);
    let start = bytes[..at].windows(4).rposition(|w| w == b"OHDR").expect("object header");
    let flags = bytes[start + 5];
    let mut pos = start + 6 + if flags & 0x20 != 0 { 16 } else { 0 } + if flags & 0x10 != 0 { 4 } else { 0 };
    let width = 1usize << (flags & 3);
    let size = bytes[pos..pos + width].iter().rev().fold(0usize, |v, &b| v << 8 | b as usize);
    pos += width + size;
    let sum = lookup3(&bytes[start..pos]);
    bytes[pos..pos + 4].copy_from_slice(&sum.to_le_bytes());
}

/// A 1.4 KB fastMRI-like file whose chunked `kspace` declares (2, 4, 2²⁰, 2²⁰) complex64
/// (32 TiB a slice) and stores no chunk: written as (0, 4, 977, 983), then patched.
fn declared_bomb(path: &Path) {
    let mut b = h5::FileBuilder::new();
    let fixed = |d| h5::MaxExtent::Fixed(d);
    b.create_dataset("kspace")
        .with_dtype(complex())
        .with_shape(&[0, 4, 977, 983])
        .with_maxshape(&[h5::MaxExtent::Unlimited, fixed(4), fixed(977), fixed(983)])
        .with_chunks(&[1, 4, 61, 67]);
    let tmp = path.with_extension("tmp");
    b.write(&tmp).unwrap();
    let mut bytes = std::fs::read(&tmp).unwrap();
    std::fs::remove_file(&tmp).unwrap();
    let big = 1u64 << 20;
    patch_header(&mut bytes, &le(&[0, 4, 977, 983, u64::MAX]), &le(&[2, 4, big, big, u64::MAX]));
    patch_header(&mut bytes, &le(&[u64::MAX, 4, 977, 983]), &le(&[u64::MAX, 4, big, big]));
    std::fs::write(path, bytes).unwrap();
}

/// A gzip-chunked multi-coil `kspace` of `slices × 1 × h × w` complex64 (pseudo-random
/// values), chunks of `chunk`.
fn gzip_scan(path: &Path, (slices, h, w): (u64, u64, u64), chunk: &[u64]) {
    let n = slices * h * w;
    let value = |i: u64| (i.wrapping_mul(2_654_435_761) % 1000) as f32;
    let data: Vec<u8> =
        (0..n).flat_map(|i| [value(i).to_le_bytes(), value(i + n).to_le_bytes()].concat()).collect();
    let mut b = h5::FileBuilder::new();
    b.create_dataset("kspace")
        .with_raw_data(complex(), data, n)
        .with_shape(&[slices, 1, h, w])
        .with_chunks(chunk)
        .with_deflate(6);
    b.write(path).unwrap();
}

// ---- the tests --------------------------------------------------------------------------

#[test]
fn declared_terabytes_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.h5");
    declared_bomb(&bomb);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2000);
    let e = FastMriFile::open(&bomb).expect_err("a 32 TiB slice must be refused at open");
    assert!(matches!(e, recon::ReconError::Format { .. }), "{e:?}");
    assert!(e.to_string().contains("bomb.h5") && e.to_string().contains("chunks"), "{e}");
    refused(&bomb, &[], &["kspace"]);
    assert!(recon(&["info", s(&bomb)], &[]).status.code().is_some(), "info must not die by a signal");
}

#[test]
fn gzip_slices_and_chunks_over_the_caps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A 4 MiB slice in 1 MiB gzip chunks, read with a 2 MiB slice cap (the 8 GiB slice of
    // a real bomb against the default 1 GiB, scaled down).
    let slice = dir.path().join("slice.h5");
    gzip_scan(&slice, (2, 512, 1024), &[1, 1, 128, 1024]);
    refused(&slice, &[("RECON_MAX_SLICE_MB", "2")], &["RECON_MAX_SLICE_MB", "4.0 MiB"]);
    // One 4 MiB chunk, with a 2 MiB stream cap: hdf5-pure would decode it whole.
    let chunk = dir.path().join("chunk.h5");
    gzip_scan(&chunk, (2, 512, 1024), &[1, 1, 512, 1024]);
    refused(&chunk, &[("RECON_MAX_STREAM_MB", "2")], &["RECON_MAX_STREAM_MB", "one chunk"]);
    // Under the default caps the same files are fine.
    let ok = recon(
        &["--input", s(&slice), "--no-model", "--mask", "random", "-o", s(&dir.path().join("o.h5"))],
        &[],
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = recon(&["--input", s(&slice)], &[("RECON_MAX_SLICE_MB", "lots")]);
    assert_eq!(bad.status.code(), Some(2), "a bad cap is a usage error");
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_named_h5_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.h5");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    refused(&fifo, &[], &["not a regular file", "FIFO"]);
    let zero = dir.path().join("zero.h5");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    refused(&zero, &[], &["not a regular file", "character device"]);
}

#[test]
fn a_batch_with_bombs_finishes_the_good_volumes_and_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), input.join("good.h5")).unwrap();
    declared_bomb(&input.join("bomb.h5"));
    gzip_scan(&input.join("gzip.h5"), (2, 512, 1024), &[1, 1, 128, 1024]);
    #[cfg(unix)]
    assert!(Command::new("mkfifo").arg(input.join("fifo.h5")).status().unwrap().success());
    let out = dir.path().join("out");
    let args = ["batch", "--input-dir", s(&input), "--output-dir", s(&out), "--no-model", "--jobs", "2"];
    // The sample's slices (4 coils × 217 × 181) are 1.2 MiB: under the cap, gzip.h5's are not.
    let envs = [("RECON_MAX_SLICE_MB", "2")];
    for run in 0..2 {
        let r = recon(&args, &envs);
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert_eq!(
            r.status.code(),
            Some(1),
            "run {run}: {:?}\n{stdout}\n{}",
            r.status,
            String::from_utf8_lossy(&r.stderr)
        );
        let failed = if cfg!(unix) { 3 } else { 2 };
        let want = if run == 0 {
            format!("1 done, skipped 0, {failed} failed")
        } else {
            format!("0 done, skipped 1, {failed} failed")
        };
        assert!(stdout.contains(&want), "run {run}: {stdout}");
        let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
        for line in manifest.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let file = v["file"].as_str().unwrap();
            assert_eq!(v["status"], if file == "good.h5" { "ok" } else { "failed" }, "{v}");
            if file != "good.h5" {
                assert!(v["error"].as_str().unwrap().contains(file), "{v}");
            }
        }
    }
    assert!(out.join("good.h5").is_file() && !out.join("bomb.h5").exists());
}

#[test]
fn float_and_integer_masks_of_zeros_and_ones_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let k = ndarray::Array3::from_shape_fn((2, 8, 6), |(s, y, x)| {
        num_complex::Complex32::new((s + y + x) as f32, 1.0)
    });
    let scan = |name: &str, mask: H5Data| -> PathBuf {
        let p = dir.path().join(name);
        write_h5(&p, &[("kspace", H5Data::C64(k.clone().into_dyn())), ("mask", mask)], &[]).unwrap();
        p
    };
    let bits = [1.0f32, 0.0, 1.0, 1.0, 0.0, 1.0];
    let want: Vec<bool> = bits.iter().map(|&b| b == 1.0).collect();
    let float = scan("float.h5", H5Data::F32(ndarray::arr1(&bits).into_dyn()));
    assert_eq!(FastMriFile::open(&float).unwrap().read_mask().unwrap(), Some(want.clone()));
    let int = scan("int.h5", H5Data::U8(ndarray::arr1(&[1u8, 0, 1, 1, 0, 1]).into_dyn()));
    assert_eq!(FastMriFile::open(&int).unwrap().read_mask().unwrap(), Some(want));
    let half = scan("half.h5", H5Data::F32(ndarray::arr1(&[1.0f32, 0.5, 1.0, 1.0, 0.0, 1.0]).into_dyn()));
    let e = FastMriFile::open(&half).unwrap_err().to_string();
    assert!(e.contains("half.h5") && e.contains("0.5") && e.contains("index 1"), "{e}");
    let two = scan("two.h5", H5Data::U8(ndarray::arr1(&[1u8, 0, 2, 1, 0, 1]).into_dyn()));
    let e = FastMriFile::open(&two).unwrap_err().to_string();
    assert!(e.contains("two.h5") && e.contains("index 2"), "{e}");
    refused(&half, &[], &["mask"]);
    // The float mask is used as the acquired mask.
    let r = recon(&["--input", s(&float), "--no-model", "--json", "-o", s(&dir.path().join("o.h5"))], &[]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("acquired"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
}
