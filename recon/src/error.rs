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
    /// A network, tensor or model-file operation failed (candle's errors arrive here through
    /// [`models::ModelError::Candle`]); its exit code depends on the kind
    /// ([`ReconError::exit_code`]).
    #[error("{}", model_message(.0))]
    Model(#[from] models::ModelError),
}

/// The message of a model error: candle's own errors prefixed `candle:` (they do not say
/// where they come from), the others as they are.
fn model_message(e: &models::ModelError) -> String {
    match e {
        models::ModelError::Candle(c) => format!("candle: {c}"),
        other => other.to_string(),
    }
}

/// `?` on candle results: a candle error is a model error ([`models::ModelError::Candle`]).
impl From<candle_core::Error> for ReconError {
    fn from(e: candle_core::Error) -> Self {
        ReconError::Model(models::ModelError::Candle(e))
    }
}

/// Whether a model error is about bad data (a model file that is not what it should be)
/// rather than a failure of the work.
fn model_is_bad_input(e: &models::ModelError) -> bool {
    use models::ModelError as M;
    match e {
        M::Candle(_) | M::Io { .. } => false,
        M::Json(_) | M::SafeTensors(_) | M::UnknownArch(_) | M::BadCheckpoint { .. } => true,
    }
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
    ///   ([`ReconError::Format`]);
    /// - [`ReconError::Model`] by its kind: a candle runtime error or the OS refusing a model
    ///   file 1 (as [`ReconError::Failed`] / [`ReconError::Io`]); a model file whose JSON,
    ///   safetensors, architecture or checkpoint contents are wrong 3 (as
    ///   [`ReconError::Format`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            ReconError::Io { .. } | ReconError::Failed(_) => EXIT_FAILED,
            ReconError::Invalid(_) | ReconError::Kspace(_) => EXIT_USAGE,
            ReconError::Format { .. } => EXIT_BAD_INPUT,
            ReconError::Model(e) if model_is_bad_input(e) => EXIT_BAD_INPUT,
            ReconError::Model(_) => EXIT_FAILED,
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
            ReconError::Model(e) if model_is_bad_input(e) => "bad_input",
            ReconError::Model(_) => "failed",
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

    #[test]
    fn candle_and_model_errors_convert_with_their_exit_codes() {
        fn fails() -> Result<()> {
            Err(candle_core::Error::Msg("shape\nmismatch".into()))?
        }
        let e = fails().unwrap_err();
        assert!(matches!(e, ReconError::Model(models::ModelError::Candle(_))), "{e:?}");
        assert_eq!((e.exit_code(), e.kind()), (EXIT_FAILED, "failed"));
        let s = e.one_line();
        assert!(s.starts_with("candle: shape\\nmismatch") && s.lines().count() == 1, "{s}");
        let bad =
            ReconError::from(models::ModelError::BadCheckpoint { path: "m".into(), msg: "no meta".into() });
        assert_eq!((bad.exit_code(), bad.kind()), (EXIT_BAD_INPUT, "bad_input"));
        let io = ReconError::from(models::ModelError::Io {
            path: "m".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        assert_eq!(io.exit_code(), EXIT_FAILED);
    }
}
