//! The files a batch writes beside its outputs' contents: output names (the input's bytes
//! kept), the running marker of a shard, and the temporary files of killed runs.

use super::discover::Shard;
use crate::error::{ReconError, Result};
use crate::io::output::default_output;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Output file name for an input file name: the same name for `.h5`, else `<stem>.h5`,
/// keeping the bytes of a non-UTF-8 name (Unix): the extension that [`default_output`]
/// cuts is ASCII, so the same number of bytes is cut from the raw name.
pub(crate) fn output_file_name(input: &OsStr) -> OsString {
    let lossy = input.to_string_lossy();
    if lossy.ends_with(".h5") {
        return input.to_owned();
    }
    let d = default_output(Path::new(input)).to_string_lossy().into_owned();
    let stem = d.strip_suffix(".recon.h5").unwrap_or(&d);
    let cut = lossy.len().saturating_sub(stem.len());
    #[cfg(unix)]
    {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let raw = input.as_bytes();
        let mut out = raw[..raw.len().saturating_sub(cut)].to_vec();
        out.extend_from_slice(b".h5");
        OsString::from_vec(out)
    }
    #[cfg(not(unix))]
    {
        let _ = cut;
        OsString::from(format!("{stem}.h5"))
    }
}

/// `manifest.running` / `manifest.shard-I-of-N.running` in the output folder while a batch
/// (shard) runs: written when it starts, removed when it ends, however it ends short of a
/// kill. `recon batch merge` refuses to merge while a shard's marker is there (the shard is
/// running, or was killed and must be re-run to complete its manifest). The file holds the
/// process id, host and start time, for whoever finds it.
pub(crate) struct RunningMarker(PathBuf);

impl RunningMarker {
    pub(crate) fn create(dir: &Path, shard: Shard) -> Result<Self> {
        Self::create_for(dir, "manifest", shard)
    }

    /// The marker `<stem>.running` / `<stem>.shard-I-of-N.running` (`recon study`: `results`).
    pub(crate) fn create_for(dir: &Path, stem: &str, shard: Shard) -> Result<Self> {
        let path = dir.join(shard.file_name(stem, "running"));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let text = format!(
            "pid {}\nhost {}\nstarted_unix {:.0}\n",
            std::process::id(),
            host.trim(),
            super::manifest::now_unix()
        );
        std::fs::write(&path, text).map_err(|e| ReconError::io(&path, e))?;
        Ok(RunningMarker(path))
    }
}

impl Drop for RunningMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Removes temporary files that a killed run left for these outputs
/// (`.<name>.<pid>.tmp`, see [`crate::io::atomic::remove_stale_temps`]).
pub(crate) fn remove_stale_temps(outputs: &[PathBuf]) {
    for target in outputs {
        crate::io::atomic::remove_stale_temps(target);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    /// Moved from `tests/batch.rs`'s `non_utf8_input_names_keep_their_bytes`.
    #[test]
    fn non_utf8_output_file_names_keep_their_bytes() {
        assert_eq!(output_file_name(OsStr::from_bytes(b"a\xff.nii.gz")), OsStr::from_bytes(b"a\xff.h5"));
    }
}
