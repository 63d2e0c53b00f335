//! One error type for the pipelines: every variant that concerns a file names it.

use std::path::{Path, PathBuf};

/// What went wrong, and with which file.
#[derive(Debug, thiserror::Error)]
pub enum ReconError {
    /// The operating system refused (missing file, permissions, disk full…).
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file exists but is not what it should be (wrong format, dataset, dtype, shape,
    /// NaN, truncated…). `msg` says which, in words a user can act on.
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    /// A bad request that is not about one file (incompatible options, bad parameter): a
    /// usage error.
    #[error("{0}")]
    Invalid(String),
    /// The request was fine and the input readable, but the work failed (a model error, some
    /// volumes of a batch failed, an incomplete merge).
    #[error("{0}")]
    Failed(String),
    /// A k-space operation refused its inputs.
    #[error(transparent)]
    Kspace(#[from] kspace::KspaceError),
}

/// Exit code: the work failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: usage error (bad options).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: bad input data.
pub const EXIT_BAD_INPUT: i32 = 3;

pub type Result<T> = std::result::Result<T, ReconError>;

impl ReconError {
    /// A format problem with `path`.
    pub fn format(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        ReconError::Format { path: path.as_ref().to_path_buf(), msg: msg.into() }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        ReconError::Io { path: path.as_ref().to_path_buf(), source }
    }

    /// Process exit code for the CLI (documented in the README and `recon --help`):
    /// - 1: the work failed ([`ReconError::Io`]: the OS refused; [`ReconError::Failed`]);
    /// - 2: usage error, the request itself is wrong ([`ReconError::Invalid`],
    ///   [`ReconError::Kspace`]: bad option values or combinations; clap uses 2 too);
    /// - 3: bad input data, a file is not what it should be or exceeds a resource limit
    ///   ([`ReconError::Format`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            ReconError::Io { .. } | ReconError::Failed(_) => EXIT_FAILED,
            ReconError::Invalid(_) | ReconError::Kspace(_) => EXIT_USAGE,
            ReconError::Format { .. } => EXIT_BAD_INPUT,
        }
    }

    /// The message on one line: line breaks and other control characters (which a broken
    /// file can smuggle in through a quoted snippet) are shown escaped, so that every error
    /// is one line on stderr and in a batch manifest.
    pub fn one_line(&self) -> String {
        self.to_string()
            .chars()
            .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
            .collect()
    }

    /// A short machine-readable name of the error's kind (`--json` errors).
    pub fn kind(&self) -> &'static str {
        match self {
            ReconError::Io { .. } => "io",
            ReconError::Failed(_) => "failed",
            ReconError::Invalid(_) | ReconError::Kspace(_) => "usage",
            ReconError::Format { .. } => "bad_input",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_print_on_one_line() {
        let e = ReconError::format("a.h5", "expected `</x>`, but `</x\n  </y>\t` was found");
        let s = e.one_line();
        assert_eq!(s.lines().count(), 1, "{s}");
        assert!(s.starts_with("a.h5: expected") && s.contains("\\n") && s.contains("\\t"), "{s}");
    }
}
