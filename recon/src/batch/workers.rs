//! The workers of a batch (and of a study): a fixed number of items in flight, each on a
//! private thread pool, and a panic in one item caught as that item's failure.

use crate::error::{ReconError, Result};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Volumes reconstructed at once, whatever `--jobs` and the number of volumes: the
/// `--jobs` threads are split between them. Fixed so that peak memory (a volume's slices in
/// flight, its output, its file handles) does not grow with the dataset: with one volume
/// per thread, 20 volumes on 16 cores held 16 outputs where 2 volumes held 2. Two, not one,
/// so that one volume's reading and writing overlaps the other's compute.
pub const VOLUMES_IN_FLIGHT: usize = 2;

/// `--jobs` threads (0: one per core): `V = min(VOLUMES_IN_FLIGHT, jobs, items)` workers,
/// each taking the next item (a volume; a study's cell) and running `work` on it on a
/// private pool of `jobs / V` threads, then `record` on the worker's thread. Private pools
/// keep the items apart: rayon lets a thread that waits inside a parallel model op start
/// another task of its pool, so a pool shared by all volumes could hold slices of any number
/// of them; a private pool holds slices of its own item only. `V` does not grow with the
/// number of items, so neither does memory. The first `record` error stops the workers and
/// is returned.
pub(crate) fn run_on_workers<J: Sync, R: Send>(
    items: &[J],
    jobs: usize,
    work: &(dyn Fn(&J) -> R + Sync),
    record: &(dyn Fn(R) -> Result<()> + Sync),
) -> Result<()> {
    let threads = match jobs {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    };
    let workers = VOLUMES_IN_FLIGHT.min(threads).min(items.len()).max(1);
    let pools = (0..workers)
        .map(|_| rayon::ThreadPoolBuilder::new().num_threads((threads / workers).max(1)).build())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ReconError::Invalid(format!("cannot start {threads} threads: {e}")))?;
    let next = AtomicUsize::new(0);
    let fatal: Mutex<Option<ReconError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for pool in pools.iter().take(items.len()) {
            let (next, fatal) = (&next, &fatal);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= items.len() || fatal.lock().map(|f| f.is_some()).unwrap_or(true) {
                    break;
                }
                let out = pool.install(|| work(&items[i]));
                super::release_free_memory();
                if let Err(e) = record(out) {
                    *fatal.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    break;
                }
            });
        }
    });
    match fatal.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `f()`, with a panic (a bug, never a bad file's doing) turned into a
/// [`ReconError::Failed`] naming `path`, so that it fails one item, not the whole run.
pub(crate) fn catch_panic<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(ReconError::Failed(format!("{}: internal error: {why}", path.display())))
    })
}
