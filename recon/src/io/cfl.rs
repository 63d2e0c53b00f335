//! BART's `.cfl` / `.hdr` array files, so that data moves between `recon` and BART.
//!
//! * `NAME.hdr` is text: a `# Dimensions` line, then up to 16 sizes separated by whitespace
//!   (BART also writes `# Command`, `# Files` and `# Creator` sections, which are skipped).
//!   Sizes past the 16th must be 1, as in BART's `read_cfl_header`.
//! * `NAME.cfl` is raw interleaved little-endian complex64 (`re, im` as f32), column-major:
//!   the first dimension varies fastest.
//! * BART's dimensions: 0 READ, 1 PHS1, 2 PHS2, 3 COIL, 4 MAPS, 5 TE, 6 COEFF, 7 COEFF2,
//!   8 ITER, 9 CSHIFT, 10 TIME, 11 TIME2, 12 LEVEL, 13 SLICE, 14 AVG, 15 BATCH.
//!
//! Arrays read here keep **BART's index order**: element `[i0, i1, …]` of the `ArrayD` is
//! BART's `(i0, i1, …)`, stored with column-major strides so that no copy is made. The
//! k-space and image conversions ([`cfl_to_kspace`], [`cfl_to_images`] and inverses) map
//! BART's dimensions to `recon`'s `(slices, coils, H, W)` layout.
//!
//! Limits: both files must be regular files (a FIFO or device is refused before opening);
//! the header is read up to the stream cap, and the `.cfl` size declared by the header is
//! checked against the file's length and the stream cap ([`limits`]) before allocating.
//!
//! Centring: BART's centred FFT (`fft -u`, `fftmod`) puts the k-space centre at `n/2`, the same
//! sample as numpy's `fftshift` used by [`kspace::fft2c`], so k-space indices line up.

use crate::error::{ReconError, Result};
use crate::io::atomic::write_atomic;
use crate::io::limits::{self, Cap};
use kspace::C32;
use ndarray::{
    s, Array3, Array4, ArrayD, ArrayView3, ArrayView4, ArrayViewD, Axis, Ix5, IxDyn, ShapeBuilder,
};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// BART's fixed number of dimensions (`DIMS`).
pub const BART_DIMS: usize = 16;
/// BART dimension indices used by the conversions.
pub const READ_DIM: usize = 0;
pub const PHS1_DIM: usize = 1;
pub const PHS2_DIM: usize = 2;
pub const COIL_DIM: usize = 3;
pub const MAPS_DIM: usize = 4;
pub const SLICE_DIM: usize = 13;

/// The `.cfl` and `.hdr` paths for `path`, which may be the base name or either file's name:
/// `x`, `x.cfl` and `x.hdr` all give (`x.cfl`, `x.hdr`); any other extension is part of the base
/// name (`run.v2` → `run.v2.cfl`).
pub fn cfl_paths(path: impl AsRef<Path>) -> (PathBuf, PathBuf) {
    let path = path.as_ref();
    let base = match path.extension().and_then(|e| e.to_str()) {
        Some("cfl") | Some("hdr") => path.with_extension(""),
        _ => path.to_path_buf(),
    };
    let with = |ext: &str| {
        let mut s = base.clone().into_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".cfl"), with(".hdr"))
}

/// Reads the sizes in a `.hdr` file (all 16, padded with 1s).
pub fn read_cfl_header(hdr_path: impl AsRef<Path>) -> Result<[usize; BART_DIMS]> {
    let hdr_path = hdr_path.as_ref();
    let text = limits::read_file(hdr_path)?;
    let text = String::from_utf8_lossy(&text);
    let mut dims = [1usize; BART_DIMS];
    let mut found = false;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(keyword) = line.trim_start().strip_prefix('#') else { continue };
        if keyword.trim() != "Dimensions" {
            continue;
        }
        if found {
            return Err(ReconError::format(hdr_path, "BART header has two '# Dimensions' sections"));
        }
        found = true;
        let mut n = 0usize;
        while let Some(next) = lines.peek() {
            if next.trim_start().starts_with('#') {
                break;
            }
            let line = lines.next().unwrap_or_default(); // ok: peeked above
            for tok in line.split_whitespace() {
                let v: usize = tok.parse().map_err(|_| {
                    ReconError::format(
                        hdr_path,
                        format!("BART header: size '{tok}' is not a non-negative integer"),
                    )
                })?;
                if n < BART_DIMS {
                    dims[n] = v;
                } else if v != 1 {
                    return Err(ReconError::format(
                        hdr_path,
                        format!("BART header: dimension {n} is {v}, but only {BART_DIMS} are supported"),
                    ));
                }
                n += 1;
            }
        }
        if n == 0 {
            return Err(ReconError::format(hdr_path, "BART header: '# Dimensions' is followed by no sizes"));
        }
    }
    if !found {
        return Err(ReconError::format(hdr_path, "not a BART header: no '# Dimensions' line"));
    }
    Ok(dims)
}

/// Reads a BART array. `path` is the base name or the `.cfl`/`.hdr` name.
///
/// The result's shape is BART's dims with trailing 1s trimmed, keeping at least one dimension
/// (like BART's Python `readcfl`): a `4 3 1 2 1 …` header gives shape `[4, 3, 1, 2]`; all-1s
/// gives `[1]`. Indices are BART's; the array is column-major (`.t()` is C-contiguous).
/// The `.cfl` size is checked against the header before anything is allocated.
pub fn read_cfl(path: impl AsRef<Path>) -> Result<ArrayD<C32>> {
    let (cfl, hdr) = cfl_paths(path);
    let dims = read_cfl_header(&hdr)?;
    let keep = dims.iter().rposition(|&d| d != 1).map_or(1, |i| i + 1);
    let shape = &dims[..keep];
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let bytes = count.and_then(|c| c.checked_mul(8)).ok_or_else(|| {
        ReconError::format(&hdr, format!("BART header sizes {shape:?} overflow the address space"))
    })?;
    let count = bytes / 8;
    let len = limits::check_regular_file(&cfl)?;
    if len != bytes as u64 {
        return Err(ReconError::format(
            &cfl,
            format!(
                "holds {len} bytes but its header {} declares {shape:?} = {count} complex64 values = {bytes} bytes{}",
                hdr.display(),
                if len < bytes as u64 { " (truncated?)" } else { "" }
            ),
        ));
    }
    limits::check_size(&cfl, "BART array", shape, 8, Cap::Stream)?;
    let file = File::open(&cfl).map_err(|e| ReconError::io(&cfl, e))?;
    let mut data = Vec::new();
    data.try_reserve_exact(count)
        .map_err(|_| ReconError::format(&cfl, format!("cannot allocate {bytes} bytes for {shape:?}")))?;
    let mut reader = BufReader::new(file);
    let mut buf = vec![0u8; 1 << 16];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len());
        reader.read_exact(&mut buf[..n]).map_err(|e| ReconError::io(&cfl, e))?;
        data.extend(buf[..n].chunks_exact(8).map(|c| {
            C32::new(
                f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                f32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            )
        }));
        left -= n;
    }
    ArrayD::from_shape_vec(IxDyn(shape).f(), data)
        .map_err(|e| ReconError::format(&cfl, format!("data does not fit the header's sizes: {e}")))
    // ok: size checked
}

/// Writes `array` (indices in BART order) as `NAME.cfl` + `NAME.hdr`; `path` is the base name or
/// either file's name. The header lists all 16 sizes, as BART does. Arrays of more than 16
/// dimensions are accepted only if the extra sizes are 1. Each file is written atomically.
pub fn write_cfl(path: impl AsRef<Path>, array: &ArrayViewD<C32>) -> Result<()> {
    let (cfl, hdr) = cfl_paths(path);
    if array.shape().iter().skip(BART_DIMS).any(|&d| d != 1) {
        return Err(ReconError::Invalid(format!(
            "{}: BART files have at most {BART_DIMS} dimensions, array shape is {:?}",
            cfl.display(),
            array.shape()
        )));
    }
    let mut dims = [1usize; BART_DIMS];
    for (d, &s) in dims.iter_mut().zip(array.shape()) {
        *d = s;
    }
    write_atomic(&cfl, |tmp| {
        let file = File::create(tmp).map_err(|e| ReconError::io(tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        // Column-major order of `array` = row-major order of its transpose.
        let mut chunk = Vec::with_capacity(1 << 16);
        for v in array.t().iter() {
            chunk.extend_from_slice(&v.re.to_le_bytes());
            chunk.extend_from_slice(&v.im.to_le_bytes());
            if chunk.len() >= 1 << 16 {
                w.write_all(&chunk).map_err(|e| ReconError::io(tmp, e))?;
                chunk.clear();
            }
        }
        w.write_all(&chunk).map_err(|e| ReconError::io(tmp, e))?;
        w.into_inner()
            .map_err(|e| ReconError::io(tmp, e.into_error()))?
            .sync_all()
            .map_err(|e| ReconError::io(tmp, e))
    })?;
    let mut text = String::from("# Dimensions\n");
    for d in dims {
        text.push_str(&format!("{d} "));
    }
    text.push_str("\n# Creator\nrecon\n");
    write_atomic(&hdr, |tmp| std::fs::write(tmp, text.as_bytes()).map_err(|e| ReconError::io(tmp, e)))
}

/// Refuses arrays with a size other than 1 outside `allowed` dimensions.
fn check_only(array: &ArrayViewD<C32>, allowed: &[usize], what: &str) -> Result<()> {
    for (d, &s) in array.shape().iter().enumerate() {
        if s != 1 && !allowed.contains(&d) {
            return Err(ReconError::Invalid(format!(
                "BART array {:?} has size {s} in dimension {d}; {what} may only use dimensions {allowed:?} \
                 (slice or average the others first, e.g. `bart slice`)",
                array.shape()
            )));
        }
    }
    Ok(())
}

/// Gathers `(slices, coils, H, W)` from BART dims READ → H, PHS1 → W, COIL → coils and
/// PHS2 × SLICE → slices (slice index `s = p2 + n_phs2 · sl`, PHS2 fastest). Every other
/// dimension has size 1 (checked by the callers).
fn gather(array: &ArrayViewD<C32>) -> Array4<C32> {
    let mut v = array.view();
    while v.ndim() <= SLICE_DIM {
        let n = v.ndim();
        v = v.insert_axis(Axis(n));
    }
    // Drop the singleton axes, highest first, keeping READ, PHS1, PHS2, COIL, SLICE.
    for ax in (0..v.ndim()).rev() {
        if ![READ_DIM, PHS1_DIM, PHS2_DIM, COIL_DIM, SLICE_DIM].contains(&ax) {
            v = v.index_axis_move(Axis(ax), 0);
        }
    }
    let v = v.into_dimensionality::<Ix5>().expect("five axes left"); // ok: five axes by construction
    let (h, w, p2, nc, nsl) = v.dim();
    let mut out = Array4::zeros((p2 * nsl, nc, h, w));
    for sl in 0..p2 * nsl {
        for c in 0..nc {
            out.slice_mut(s![sl, c, .., ..]).assign(&v.slice(s![.., .., sl % p2, c, sl / p2]));
        }
    }
    out
}

/// BART k-space → `recon`'s `(slices, coils, H, W)`: H = dim 0 (READ), W = dim 1 (PHS1),
/// coils = dim 3 (COIL), slices = dim 2 (PHS2) × dim 13 (SLICE), PHS2 varying fastest.
/// Only these dimensions may exceed 1. If PHS2 holds a third *k-space* encoding (3-D
/// acquisition), inverse-FFT it first (`bart fft -i -u 4`) so that each slice is 2-D k-space.
pub fn cfl_to_kspace(array: &ArrayViewD<C32>) -> Result<Array4<C32>> {
    check_only(array, &[READ_DIM, PHS1_DIM, PHS2_DIM, COIL_DIM, SLICE_DIM], "k-space")?;
    Ok(gather(array))
}

/// `(slices, coils, H, W)` → BART dims `[H, W, 1, coils, 1, …, slices (dim 13)]`: slices go to
/// BART's SLICE dimension (multi-slice 2-D data), so `bart fft -u 3` transforms each slice.
/// [`cfl_to_kspace`] reads it back unchanged.
pub fn kspace_to_cfl(kspace: ArrayView4<C32>) -> ArrayD<C32> {
    let (ns, nc, h, w) = kspace.dim();
    let mut shape = [1usize; SLICE_DIM + 1];
    shape[READ_DIM] = h;
    shape[PHS1_DIM] = w;
    shape[COIL_DIM] = nc;
    shape[SLICE_DIM] = ns;
    // Column-major [h, w, 1, nc, 1…, ns] has the same memory order as row-major
    // (ns, nc, w, h), i.e. our array with its last two axes swapped.
    let data: Vec<C32> = kspace.permuted_axes([0, 1, 3, 2]).iter().cloned().collect();
    ArrayD::from_shape_vec(IxDyn(&shape).f(), data).expect("sizes match") // ok: sizes match
}

/// BART images → `(slices, H, W)`: H = dim 0, W = dim 1, slices = dim 2 × dim 13 as in
/// [`cfl_to_kspace`]. Only one image per slice: COIL and MAPS must be 1 (a `pics` result with
/// one sensitivity map, or a coil-combined image); use [`cfl_to_kspace`] for coil images.
pub fn cfl_to_images(array: &ArrayViewD<C32>) -> Result<Array3<C32>> {
    check_only(array, &[READ_DIM, PHS1_DIM, PHS2_DIM, SLICE_DIM], "an image stack")?;
    Ok(gather(array).index_axis_move(Axis(1), 0))
}

/// `(slices, H, W)` → BART dims `[H, W, 1, 1, …, slices (dim 13)]`; inverse of
/// [`cfl_to_images`].
pub fn images_to_cfl(images: ArrayView3<C32>) -> ArrayD<C32> {
    kspace_to_cfl(images.insert_axis(Axis(1)))
}
