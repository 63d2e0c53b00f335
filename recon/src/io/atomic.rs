//! Crash-safe output: write to a temporary name beside the target, then rename over it.

use crate::error::{ReconError, Result};
use std::path::{Path, PathBuf};

/// The temporary name used while `target` is being written: `.<name>.<pid>.tmp` in the same
/// directory (same filesystem, so the final rename is atomic).
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Runs `write` on a temporary path and renames the result to `target` only if it succeeded;
/// on failure the temporary file is removed and `target` is left as it was.
pub fn write_atomic<F>(target: &Path, write: F) -> Result<()>
where
    F: FnOnce(&Path) -> Result<()>,
{
    let tmp = temp_path(target);
    match write(&tmp) {
        Ok(()) => std::fs::rename(&tmp, target).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ReconError::io(target, e)
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Removes the temporary files `.<name>.<pid>.tmp` of `target` (any pid, [`temp_path`]'s
/// naming) that a run killed before its final rename left behind. Best effort: errors are
/// ignored. Call it before writing `target`, once the run owns that output.
pub fn remove_stale_temps(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let prefix = format!(".{name}.");
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let pid = n.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp"));
        if pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_no_file_and_keeps_target() {
        let dir = std::env::temp_dir().join(format!("recon-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        let r = write_atomic(&target, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(ReconError::Invalid("boom".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(!temp_path(&target).exists());
        write_atomic(&target, |tmp| std::fs::write(tmp, b"new").map_err(|e| ReconError::io(tmp, e))).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
