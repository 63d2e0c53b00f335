//! Resource limits: what an input file may make `recon` allocate or read, checked *before*
//! allocating, so that a small hostile or broken file (a 1.4 KB HDF5 declaring a terabyte, a
//! gzip bomb, `/dev/zero` linked as `.nii`, a FIFO) is a clear error naming the file, never
//! an abort, an OOM kill or a hang.
//!
//! | cap | default | environment variable | applies to |
//! |---|---|---|---|
//! | one slice | 1 GiB | `RECON_MAX_SLICE_MB` | one k-space slice (coils × H × W × 8 bytes), one reference slice, one decoded image (PNG), one mask |
//! | one stream | 4 GiB | `RECON_MAX_STREAM_MB` | everything decompressed or read from one file at once: a NIfTI volume (gzip or not), a `.cfl`, one HDF5 chunk or dataset |
//!
//! The defaults are far above real data (a fastMRI knee slice is 28 MB, a 0.5 mm whole-brain
//! NIfTI 1 GB) and far below what takes a workstation down. Values are MiB (2²⁰ bytes);
//! an unparsable or zero value is refused with an error naming the variable.
//!
//! Only regular files are read ([`check_regular_file`]): a FIFO would block forever and a
//! character device (`/dev/zero`, `/dev/urandom`) never ends.

use crate::error::{ReconError, Result};
use std::io::Read;
use std::path::Path;

/// Environment variable: cap on one slice, one decoded image or one mask, in MiB.
pub const MAX_SLICE_ENV: &str = "RECON_MAX_SLICE_MB";
/// Environment variable: cap on what is read or decompressed from one file at once, in MiB.
pub const MAX_STREAM_ENV: &str = "RECON_MAX_STREAM_MB";
/// Default slice cap: 1 GiB.
pub const DEFAULT_SLICE_MB: u64 = 1024;
/// Default stream cap: 4 GiB.
pub const DEFAULT_STREAM_MB: u64 = 4096;

/// Which cap a size is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// One slice, one decoded image, one mask.
    Slice,
    /// Everything read or decompressed from one file at once.
    Stream,
}

impl Cap {
    fn env(self) -> (&'static str, u64) {
        match self {
            Cap::Slice => (MAX_SLICE_ENV, DEFAULT_SLICE_MB),
            Cap::Stream => (MAX_STREAM_ENV, DEFAULT_STREAM_MB),
        }
    }

    /// The cap in bytes (read from the environment on every call: cheap, and a test can set
    /// it per process).
    pub fn bytes(self) -> Result<u64> {
        let (var, default) = self.env();
        let mb = match std::env::var(var) {
            Err(_) => default,
            Ok(s) => match s.trim().parse::<u64>() {
                Ok(v) if v > 0 => v,
                _ => {
                    return Err(ReconError::Invalid(format!(
                        "{var}={s:?}: expected a positive whole number of MiB"
                    )))
                }
            },
        };
        Ok(mb.saturating_mul(1 << 20))
    }
}

/// Refuses anything but a regular file (following symbolic links): a FIFO, socket, device
/// or directory named like an input. Returns the file's length in bytes. Call it before
/// opening: opening a FIFO for reading blocks until a writer appears.
pub fn check_regular_file(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| ReconError::io(path, e))?;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(meta.len());
    }
    let what = if ft.is_dir() { "a directory" } else { kind_of_special(&ft) };
    Err(ReconError::format(path, format!("not a regular file ({what}): refusing to read it")))
}

#[cfg(unix)]
fn kind_of_special(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind_of_special(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// The number of bytes of `dims` elements of `elem_bytes` each, or an error naming the file
/// when the product overflows or exceeds `cap`. `what` says what is being sized
/// ("k-space slice", "decoded PNG"…) and `dims` is printed as the file declared it.
pub fn check_size(path: &Path, what: &str, dims: &[usize], elem_bytes: usize, cap: Cap) -> Result<usize> {
    let shape = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
    let total =
        dims.iter().try_fold(elem_bytes as u128, |acc, &d| acc.checked_mul(d as u128)).unwrap_or(u128::MAX);
    let limit = cap.bytes()?;
    if total > limit as u128 || total > usize::MAX as u128 {
        let (var, _) = cap.env();
        return Err(ReconError::format(
            path,
            format!(
                "{what} of {shape} × {elem_bytes} bytes ({}) exceeds the limit of {} (set {var} to raise it)",
                human(total),
                human(limit as u128)
            ),
        ));
    }
    Ok(total as usize)
}

/// Reads `reader` to its end, but at most the [`Cap::Stream`] cap: a longer stream (a gzip
/// bomb, a device) is an error naming `path`, detected after reading one byte more than the
/// cap (never the whole stream).
pub fn read_capped(path: &Path, what: &str, reader: impl Read) -> Result<Vec<u8>> {
    read_at_most(path, what, reader, Cap::Stream.bytes()?)
}

/// [`read_capped`] with an explicit limit in bytes.
pub fn read_at_most(path: &Path, what: &str, reader: impl Read, limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out).map_err(|e| ReconError::io(path, e))?;
    if out.len() as u64 > limit {
        return Err(ReconError::format(
            path,
            format!(
                "{what} is larger than the limit of {} (set {MAX_STREAM_ENV} to raise it)",
                human(limit as u128)
            ),
        ));
    }
    Ok(out)
}

/// Reads a whole regular file, refusing special files and files over the stream cap before
/// reading.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let len = check_regular_file(path)?;
    check_size(path, "file", &[len as usize], 1, Cap::Stream)?;
    let f = std::fs::File::open(path).map_err(|e| ReconError::io(path, e))?;
    // The file may grow between metadata and read: cap the read too.
    read_capped(path, "file", f)
}

/// `1.5 GiB`, `320 MiB`, `12 KiB`, `7 B`.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_over_the_cap_or_overflowing_are_refused() {
        let p = Path::new("x.h5");
        assert_eq!(check_size(p, "slice", &[4, 320, 320], 8, Cap::Slice).unwrap(), 4 * 320 * 320 * 8);
        let e = check_size(p, "k-space slice", &[4, 1 << 20, 1 << 20], 8, Cap::Slice).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("x.h5") && msg.contains("4×1048576×1048576") && msg.contains(MAX_SLICE_ENV),
            "{msg}"
        );
        assert!(check_size(p, "s", &[usize::MAX, usize::MAX], 8, Cap::Stream).is_err());
    }

    #[test]
    fn capped_reads_stop_one_byte_past_the_cap() {
        assert_eq!(read_at_most(Path::new("a"), "stream", &b"ab"[..], 2).unwrap(), b"ab");
        let e = read_at_most(Path::new("a"), "stream", std::io::repeat(0u8), 1000).unwrap_err();
        assert!(e.to_string().contains("larger than the limit"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused() {
        let e = check_regular_file(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("/dev/zero") && e.contains("character device"), "{e}");
        let e = check_regular_file(Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(7), "7 B");
        assert_eq!(human(1 << 40), "1.0 TiB");
    }
}
