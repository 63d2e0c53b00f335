//! Generators and the limited runner of the bad-input corpus (`tests/bad_input.rs`).

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wall-clock limit of one `recon` run.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Virtual-memory limit of one `recon` run (`ulimit -v`, KiB): 6 GiB, far above what any
/// case needs and far below what an unchecked allocation asks for.
const MEMORY_LIMIT_KIB: u64 = 6 << 20;

/// What a case must end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A clean bad-input error (exit 3).
    Error,
    /// A clean error (exit 1 or 3), or success with a finite output.
    ErrorOrOk,
    /// Success with a finite output.
    Ok,
}

pub struct Case {
    pub name: String,
    pub input: PathBuf,
    pub expect: Expect,
    pub why: String,
}

impl Case {
    fn new(name: &str, input: PathBuf, expect: Expect, why: &str) -> Case {
        Case { name: name.into(), input, expect, why: why.into() }
    }
}

pub struct RunResult {
    /// Exit code; `None` when killed by a signal or by the time limit.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `recon` binary with `args` under the time and memory limits.
pub fn run_limited(args: &[&str]) -> RunResult {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_recon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break Some(st);
        }
        if t0.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let mut stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    if status.is_none() {
        stderr = format!("timed out after {TIME_LIMIT:?}: {stderr}");
    }
    RunResult { code: status.and_then(|s| s.code()), stdout, stderr }
}

/// What a test can compare before and after a run: the bytes of a regular file (and of the
/// `.hdr` beside a `.cfl`), or the kind of a special file.
pub fn fingerprint(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    let paths = match path.extension().and_then(|e| e.to_str()) {
        Some("cfl") => vec![path.to_path_buf(), path.with_extension("hdr")],
        _ => vec![path.to_path_buf()],
    };
    for p in paths {
        match std::fs::symlink_metadata(&p) {
            Err(_) => v.extend_from_slice(b"missing"),
            Ok(m) if m.file_type().is_symlink() => {
                v.extend_from_slice(std::fs::read_link(&p).unwrap().to_string_lossy().as_bytes())
            }
            Ok(m) if m.is_file() => v.extend(std::fs::read(&p).unwrap()),
            Ok(m) => v.extend_from_slice(format!("{:?}", m.file_type()).as_bytes()),
        }
    }
    v
}

/// The reconstruction written to `out` has only finite values.
pub fn assert_finite_output(out: &Path, what: &str) {
    let f = recon::io::hdf5::open_any(out).unwrap_or_else(|e| panic!("{what}: output unreadable: {e}"));
    let x = f.read_f32("reconstruction").unwrap_or_else(|e| panic!("{what}: no reconstruction: {e}"));
    assert!(!x.is_empty(), "{what}: empty reconstruction");
    assert!(x.iter().all(|v| v.is_finite()), "{what}: non-finite values in the reconstruction");
}

/// A NIfTI-1 header (352 bytes with the extension flag) for a float32 volume of `dims`.
fn nifti_header(dims: [i16; 3]) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    let dim = [3i16, dims[0], dims[1], dims[2], 1, 1, 1, 1];
    for (i, d) in dim.iter().enumerate() {
        h[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    h[70..72].copy_from_slice(&16i16.to_le_bytes()); // float32
    h[72..74].copy_from_slice(&32i16.to_le_bytes());
    for i in 0..4 {
        h[76 + 4 * i..80 + 4 * i].copy_from_slice(&1.0f32.to_le_bytes());
    }
    h[108..112].copy_from_slice(&352.0f32.to_le_bytes());
    h[344..348].copy_from_slice(b"n+1\0");
    h
}

/// A `.nii.gz` whose header declares `dims` float32 voxels, followed by `zeros` bytes of
/// zeros in the gzip stream (a bomb when `zeros` or `dims` is large: a few KB on disk).
pub fn write_nifti_bomb(path: &Path, dims: [i16; 3], zeros: usize) {
    let mut gz = GzEncoder::new(std::fs::File::create(path).unwrap(), Compression::best());
    gz.write_all(&nifti_header(dims)).unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        gz.write_all(&block[..n]).unwrap();
        left -= n;
    }
    gz.finish().unwrap();
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// An 8-bit grey PNG of `w × h` black pixels, written row by row (a 16384² one is ~260 KB).
/// `rows` limits how many rows of pixel data are actually stored (the rest is missing).
pub fn write_big_png(path: &Path, w: u32, h: u32, rows: u32) {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    let row = vec![0u8; w as usize + 1];
    for _ in 0..rows.min(h) {
        z.write_all(&row).unwrap();
    }
    png_chunk(&mut out, b"IDAT", &z.finish().unwrap());
    png_chunk(&mut out, b"IEND", &[]);
    std::fs::write(path, out).unwrap();
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(st.success(), "mkfifo {}", path.display());
}

/// Hostile inputs made at run time: bombs, huge images, special files, empty and random files.
pub fn generated_cases(dir: &Path) -> Vec<Case> {
    let dir = dir.join("generated");
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(n);
    let mut cases = Vec::new();
    write_nifti_bomb(&p("bomb_declared.nii.gz"), [2048, 2048, 2048], 16 << 20);
    cases.push(Case::new("bomb_declared", p("bomb_declared.nii.gz"), Expect::Error, "declares 32 GiB"));
    write_nifti_bomb(&p("bomb_trailing.nii.gz"), [16, 16, 4], 256 << 20);
    cases.push(Case::new(
        "bomb_trailing",
        p("bomb_trailing.nii.gz"),
        Expect::Ok,
        "16x16x4 then 256 MiB of zeros",
    ));
    let mut raw = nifti_header([2048, 2048, 2048]);
    raw.extend_from_slice(&[0u8; 64]);
    std::fs::write(p("huge_plain.nii"), raw).unwrap();
    cases.push(Case::new("huge_plain", p("huge_plain.nii"), Expect::Error, "uncompressed, declares 32 GiB"));
    write_big_png(&p("big16k.png"), 16384, 16384, 16384);
    cases.push(Case::new("big16k", p("big16k.png"), Expect::Error, "16384x16384 PNG of ~260 KB"));
    write_big_png(&p("huge_ihdr.png"), 0x7fff_ffff, 0x7fff_ffff, 1);
    cases.push(Case::new("huge_ihdr", p("huge_ihdr.png"), Expect::Error, "IHDR declares 2^31 x 2^31"));
    for ext in ["nii", "png", "h5"] {
        let name = format!("fifo.{ext}");
        mkfifo(&p(&name));
        cases.push(Case::new(&format!("fifo_{ext}"), p(&name), Expect::Error, "a FIFO: reading it blocks"));
        let name = format!("zero.{ext}");
        std::os::unix::fs::symlink("/dev/zero", p(&name)).unwrap();
        cases.push(Case::new(&format!("devzero_{ext}"), p(&name), Expect::Error, "/dev/zero never ends"));
    }
    std::fs::write(p("fifo_cfl.hdr"), "# Dimensions\n8 8 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n").unwrap();
    mkfifo(&p("fifo_cfl.cfl"));
    cases.push(Case::new("fifo_cfl", p("fifo_cfl.cfl"), Expect::Error, "a .cfl that is a FIFO"));
    std::fs::create_dir(p("folder.h5")).unwrap();
    cases.push(Case::new("folder_h5", p("folder.h5"), Expect::Error, "a directory named .h5"));
    let mut rng = XorShift(0x5eed);
    for ext in ["h5", "nii", "nii.gz", "png"] {
        let empty = p(&format!("empty.{ext}"));
        std::fs::write(&empty, b"").unwrap();
        cases.push(Case::new(&format!("empty_{ext}"), empty, Expect::Error, "empty file"));
        let noise = p(&format!("noise.{ext}"));
        std::fs::write(&noise, (0..4096).map(|_| rng.next() as u8).collect::<Vec<_>>()).unwrap();
        cases.push(Case::new(&format!("noise_{ext}"), noise, Expect::Error, "random bytes"));
    }
    cases
}

/// A small deterministic generator for the mutations.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `bytes`: a truncation, flipped bytes, or a run of 0xFF (a huge length or
/// size field).
fn mutate(bytes: &[u8], rng: &mut XorShift, kind: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match kind % 3 {
        0 => b.truncate(rng.below(b.len())),
        1 => {
            for _ in 0..4 {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        _ => {
            let i = rng.below(b.len().saturating_sub(8)) & !7;
            let end = (i + 8).min(b.len());
            b[i..end].fill(0xff);
        }
    }
    b
}

/// `per_seed` seeded mutations of each small well-formed fixture (every format).
pub fn mutated_cases(root: &Path, dir: &Path, per_seed: usize) -> Vec<Case> {
    let dir = dir.join("mutated");
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = [
        "recon/tests/fixtures/h5/multicoil.h5",
        "recon/tests/fixtures/h5/singlecoil.h5",
        "recon/tests/fixtures/h5/multicoil_chunked_gzip.h5",
        "recon/tests/fixtures/formats/f32_rot.nii.gz",
        "recon/tests/fixtures/formats/i16_qform_be.nii",
        "recon/tests/fixtures/formats/rgb8.png",
        "recon/tests/fixtures/formats/gray4.png",
        "recon/tests/fixtures/formats/kspace_multislice.cfl",
    ];
    let mut cases = Vec::new();
    for (s, seed) in seeds.iter().enumerate() {
        let src = root.join(seed);
        let name = src.file_name().unwrap().to_string_lossy().into_owned();
        let (stem, ext) = name.split_once('.').unwrap();
        for k in 0..per_seed {
            let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ ((s as u64) << 32 | k as u64));
            let out = dir.join(format!("m{s}_{k}_{stem}.{ext}"));
            if ext == "cfl" {
                // Mutate the header text on even k, the data on odd k.
                let hdr = std::fs::read(src.with_extension("hdr")).unwrap();
                let data = std::fs::read(&src).unwrap();
                let (hdr, data) = if k % 2 == 0 {
                    (mutate(&hdr, &mut rng, k / 2), data)
                } else {
                    (hdr, mutate(&data, &mut rng, k / 2))
                };
                std::fs::write(out.with_extension("hdr"), hdr).unwrap();
                std::fs::write(&out, data).unwrap();
            } else {
                std::fs::write(&out, mutate(&std::fs::read(&src).unwrap(), &mut rng, k)).unwrap();
            }
            let why = format!("mutation {k} of {seed}");
            cases.push(Case::new(&format!("m{s}_{k}_{stem}"), out, Expect::ErrorOrOk, &why));
        }
    }
    cases
}
