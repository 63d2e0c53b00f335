//! The study report: `report.html` (self-contained, images embedded) and the same figures
//! as PNG files. (Interface only; drawn by the report module's implementation.)

use super::record::ReportInput;
use crate::error::{ReconError, Result};
use std::path::{Path, PathBuf};

/// The files a report wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportFiles {
    pub html: PathBuf,
    pub figures: Vec<PathBuf>,
}

/// Writes `dir/report.html` and `dir/figures/*.png` from `input` (atomically, each file
/// under a temporary name then renamed; existing report files are replaced, they belong to
/// the study).
pub fn write_report(dir: &Path, input: &ReportInput) -> Result<ReportFiles> {
    let _ = (dir, input);
    Err(ReconError::Failed("the study report is not implemented yet".into()))
}
