//! Hostile files the readers must refuse quickly and clearly: a NIfTI gzip bomb, `/dev/zero`
//! linked as `.nii`, FIFOs named like inputs, a 16384² PNG of a few hundred bytes, a `.cfl`
//! over the stream cap. The bombs are generated here (nothing big is committed); each read
//! runs under a 60 s guard so that a hang fails the test instead of stalling CI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// A fresh folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("recon-limits-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` on its own thread; fails if it does not finish within 60 s.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("the reader must answer within 60 s, not hang")
}

fn error_of<T: std::fmt::Debug>(r: recon::Result<T>) -> String {
    r.expect_err("must be refused").to_string()
}

#[cfg(unix)]
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let ok = std::process::Command::new("mkfifo").arg(&p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
    p
}

/// A NIfTI header declaring `dims` float32 voxels (from our writer, dims patched).
fn nifti_header(dims: [i16; 3]) -> Vec<u8> {
    let dir = Scratch::new("header");
    let p = dir.path().join("one.nii");
    let vol = recon::io::nifti::Volume::new(ndarray::Array3::zeros((1, 1, 1)), [1.0; 3]);
    recon::io::nifti::write_volume(&p, &vol).unwrap();
    let mut h = std::fs::read(&p).unwrap()[..352].to_vec();
    for (k, d) in dims.iter().enumerate() {
        h[42 + 2 * k..44 + 2 * k].copy_from_slice(&d.to_le_bytes());
    }
    h
}

#[test]
fn a_nifti_gzip_bomb_is_refused_before_decompressing() {
    let dir = Scratch::new("bomb");
    let p = dir.path().join("bomb.nii.gz");
    // 2048³ float32 = 32 GiB declared; 64 MiB of zeros actually in the stream (~64 KB file).
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
    enc.write_all(&nifti_header([2048, 2048, 2048])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap();
    let e = within(move || error_of(recon::io::nifti::read_volume(&p)));
    assert!(e.contains("bomb.nii.gz") && e.contains("exceeds the limit"), "{e}");
    assert!(e.contains("RECON_MAX_STREAM_MB"), "{e}");
}

#[cfg(unix)]
#[test]
fn devices_and_fifos_named_like_inputs_are_refused() {
    let dir = Scratch::new("special");
    let d = dir.path().to_path_buf();
    let zero = d.join("zero.nii");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let e = within(move || error_of(recon::io::nifti::read_volume(&zero)));
    assert!(e.contains("zero.nii") && e.contains("character device"), "{e}");
    let f = fifo(&d, "x.nii");
    let e = within(move || error_of(recon::io::nifti::read_volume(&f)));
    assert!(e.contains("x.nii") && e.contains("FIFO"), "{e}");
    let f = fifo(&d, "x.png");
    let e = within(move || error_of(recon::io::png::read_png(&f)));
    assert!(e.contains("x.png") && e.contains("FIFO"), "{e}");
    // A BART pair whose data or header is a FIFO.
    std::fs::write(d.join("c.hdr"), "# Dimensions\n4 4 1 1\n").unwrap();
    fifo(&d, "c.cfl");
    let base = d.join("c");
    let e = within(move || error_of(recon::io::cfl::read_cfl(&base)));
    assert!(e.contains("c.cfl") && e.contains("FIFO"), "{e}");
    fifo(&d, "h.hdr");
    let base = d.join("h");
    let e = within(move || error_of(recon::io::cfl::read_cfl(&base)));
    assert!(e.contains("h.hdr") && e.contains("FIFO"), "{e}");
}

/// One PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

#[test]
fn a_16384_square_png_is_refused_before_allocating() {
    let dir = Scratch::new("png");
    let p = dir.path().join("huge.png");
    let side = 16384u32;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grey
    chunk(&mut png, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 4 * (side as usize + 1)]).unwrap(); // the first rows only
    chunk(&mut png, b"IDAT", &z.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    std::fs::write(&p, &png).unwrap();
    assert!(png.len() < 4096);
    let e = within(move || error_of(recon::io::png::read_png(&p)));
    assert!(e.contains("huge.png") && e.contains("decoded PNG") && e.contains("exceeds the limit"), "{e}");
}

#[test]
fn a_cfl_over_the_stream_cap_is_refused_and_its_size_checked() {
    let dir = Scratch::new("cfl");
    // Declared sizes that do not match the file: refused before allocating.
    std::fs::write(dir.path().join("lie.hdr"), "# Dimensions\n100000 100000 1 1\n").unwrap();
    std::fs::write(dir.path().join("lie.cfl"), [0u8; 64]).unwrap();
    let e = error_of(recon::io::cfl::read_cfl(dir.path().join("lie")));
    assert!(e.contains("lie.cfl") && e.contains("declares"), "{e}");
    // 2 MiB of data against a 1 MiB cap. (Only this test in this binary reads a file under
    // the cap's size, so setting the variable here affects no other test's outcome.)
    std::fs::write(dir.path().join("big.hdr"), "# Dimensions\n512 512 1 1\n").unwrap();
    std::fs::write(dir.path().join("big.cfl"), vec![0u8; 512 * 512 * 8]).unwrap();
    std::env::set_var(recon::io::limits::MAX_STREAM_ENV, "1");
    let e = error_of(recon::io::cfl::read_cfl(dir.path().join("big")));
    std::env::remove_var(recon::io::limits::MAX_STREAM_ENV);
    assert!(e.contains("big.cfl") && e.contains("exceeds the limit"), "{e}");
}
