//! `recon batch`: reconstruct and evaluate a whole folder of volumes with bounded memory,
//! resumably, and shardable across the array tasks of a cluster job.
//!
//! * **Files** ([`mod@discover`]): the regular files of the input folder whose name matches a
//!   `*`/`?` pattern (names starting with `.` only when the pattern does), sorted by file
//!   name (byte order). Shard `I/N` takes the files at sorted positions `p` with
//!   `p % N == I`, so N array tasks cover the dataset exactly once.
//! * **Per volume** ([`run`]): [`crate::reconstruct::reconstruct_with`] with the mask seeded
//!   by the file name (fastMRI's `RandomState(tuple(map(ord, fname)))`), so
//!   `recon --input FILE --seed-from-name` (same mask options) writes the same file. Output:
//!   `<output-dir>/<input file name>` (`.h5` for other inputs), fastMRI's submission layout
//!   with `reconstruction`; optional `png/<stem>.png` (middle slice) and
//!   `nifti/<stem>.nii.gz`. Every file is written under a temporary name and renamed.
//!   Slices are streamed: memory holds one slice per worker, the model (loaded once and
//!   shared, as are the FFT plans) and the cropped output of the volumes in flight (`--jobs`
//!   of them, one thread each; see [`run`] for why), never the dataset.
//! * **Manifest** ([`manifest`]): one JSON line per finished volume (ok or failed), appended
//!   with write + fsync only after the output is renamed into place, in
//!   `manifest.jsonl` (`manifest.shard-I-of-N.jsonl` for a shard). A volume is skipped on
//!   re-run when its latest line is `ok` with the same settings and its outputs exist; a
//!   half-written last line is ignored; failed volumes are retried.
//! * **Summary** ([`summary`]): `manifest.csv` (one row per volume) and `summary.csv` (mean ±
//!   std of PSNR / SSIM / NMSE per acquisition, acceleration and method, as fastMRI's
//!   evaluation), `.shard-I-of-N` in their names for a shard; [`mod@merge`] combines the shard
//!   manifests into the unsharded files.

pub mod discover;
pub mod manifest;
pub mod merge;
mod previews;
pub mod run;
pub mod summary;

pub use discover::{discover, matches_pattern, Shard};
pub use manifest::{ManifestEntry, Settings, Status};
pub use merge::{merge, MergeReport};
pub use run::{run_batch, BatchReport, BatchRequest};
pub use summary::GroupSummary;

/// Peak resident memory of this process in MiB (`VmHWM` of `/proc/self/status`; `None`
/// where there is no such file).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// Gives the heap's free pages back to the system (glibc `malloc_trim`). Called after each
/// volume: without it glibc keeps the pages freed by earlier volumes (their slices are
/// larger than its adaptive mmap threshold), and peak memory creeps up with the number of
/// volumes processed by a worker although the live data does not grow.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only returns unused heap pages to the kernel; it is thread-safe
        // and has no preconditions.
        unsafe {
            malloc_trim(0);
        }
    }
}
