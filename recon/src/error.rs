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
    /// A bad request that is not about one file (incompatible options, bad parameter).
    #[error("{0}")]
    Invalid(String),
    /// A k-space operation refused its inputs.
    #[error(transparent)]
    Kspace(#[from] kspace::KspaceError),
}

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

    /// Process exit code for the CLI: 2 for unusable input files, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            ReconError::Format { .. } => 2,
            _ => 1,
        }
    }
}
