//! `recon batch`: reconstruct and evaluate a whole folder of volumes with bounded memory,
//! resumably, and shardable across the array tasks of a cluster job.
//!
//! * **Files** (`discover`): the entries of the input folder (folders aside) whose
//!   name matches a `*`/`?` pattern (names starting with `.` only when the pattern does),
//!   sorted by file name (byte order); a FIFO or device among them is a failed volume. Shard `I/N` takes the files at sorted positions `p` with
//!   `p % N == I`, so N array tasks cover the dataset exactly once.
//! * **Per volume** (`run`): `crate::reconstruct::reconstruct_with` with the mask seeded
//!   by the file name (fastMRI's `RandomState(tuple(map(ord, fname)))`), so
//!   `recon --input FILE --seed-from-name` (same mask options) writes the same file. Output:
//!   `<output-dir>/<input file name>` (`.h5` for other inputs; a non-UTF-8 name keeps its
//!   bytes), fastMRI's submission layout
//!   with `reconstruction`; optional `png/<stem>.png` (middle slice) and
//!   `nifti/<stem>.nii.gz`. Every file is written under a temporary name and renamed.
//!   Slices are streamed: memory holds the slices being reconstructed, the model (loaded
//!   once and shared, as are the FFT plans) and the output of the volumes in flight
//!   (`workers::VOLUMES_IN_FLIGHT` of them, sharing the `--jobs` threads), never the dataset:
//!   peak memory does not grow with the number of volumes. Every size a file declares is
//!   checked against the caps of [`crate::io::limits`] before it is allocated, so a hostile
//!   file is a failed line like any bad file, and a panic is caught as that volume's failure.
//! * **Manifest** (`manifest`): one JSON line per finished volume (ok or failed), appended
//!   with write + fsync only after the output is renamed into place, in
//!   `manifest.jsonl` (`manifest.shard-I-of-N.jsonl` for a shard). A volume is skipped on
//!   re-run when its latest line is `ok` with the same settings and its outputs exist; a
//!   half-written last line is ignored; failed volumes are retried.
//! * **Summary** (`summary`): `manifest.csv` (one row per volume) and `summary.csv` (mean ±
//!   std of PSNR / SSIM / NMSE per acquisition, acceleration and method, as fastMRI's
//!   evaluation), `.shard-I-of-N` in their names for a shard; `merge` combines the shard
//!   manifests into the unsharded files, once every shard has finished (a running shard
//!   keeps `manifest.shard-I-of-N.running` in the output folder).

pub(crate) mod discover;
pub(crate) mod files;
pub(crate) mod manifest;
pub(crate) mod merge;
pub(crate) mod models;
mod previews;
pub(crate) mod run;
pub(crate) mod summary;
pub(crate) mod workers;

pub use discover::Shard;
pub use manifest::{ClassicalSettings, ManifestEntry, Settings, Status};
pub use merge::{merge, MergeReport};
pub use run::{run_batch, BatchReport, BatchRequest};
pub use summary::{table as summary_table, GroupSummary};

/// Peak resident memory of this process in MiB (`VmHWM` of `/proc/self/status`; `None`
/// where there is no such file).
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// Makes large buffers (slices, outputs) come from their own pages for the rest of the
/// process, so that peak memory does not creep up with the number of volumes. By default
/// glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB):
/// after the first slice, slices come from the per-thread heaps instead, where freed blocks
/// stay and fragment, and every thread that ever held a slice keeps its own. Measured on 20
/// vs 2 volumes of 8 coils × 484² with 16 threads: 191 vs 98 MiB before, 76 vs 74 MiB after.
pub(crate) fn keep_large_buffers_apart() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_MMAP_THRESHOLD: i32 = -3;
        // Allocations from 1 MiB on get their own pages, returned to the system when freed.
        const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt only changes an allocator tuning parameter; it is thread-safe and
        // has no preconditions.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        }
    }
}

/// Gives the heap's free pages back to the system (glibc `malloc_trim`). Called after each
/// volume: without it glibc keeps the pages freed by earlier volumes (their slices are
/// larger than its adaptive mmap threshold), and peak memory creeps up with the number of
/// volumes processed by a worker although the live data does not grow.
pub(crate) fn release_free_memory() {
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
