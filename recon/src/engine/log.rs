//! The CSV training log (`step,loss,lr,val_psnr,val_psnr_input,seconds`) written beside the
//! checkpoint by the training loop (MRI and denoising), and what resume keeps of it.

use std::path::{Path, PathBuf};

/// One CSV row: mean training loss since the previous row, lr, validation PSNRs (dB).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LogRow {
    pub step: u64,
    pub loss: f64,
    pub lr: f64,
    pub val_psnr: Option<f64>,
    pub val_psnr_input: Option<f64>,
    pub seconds: f64,
}

/// The CSV log path next to `out`.
pub fn log_path(out: &Path) -> PathBuf {
    out.with_extension("csv")
}

/// Header of the CSV training log (the same for every recipe).
pub const HEADER: &str = "step,loss,lr,val_psnr,val_psnr_input,seconds";

/// One CSV line of the training log.
pub fn fmt_row(r: &LogRow) -> String {
    let o = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    format!(
        "{},{:.6e},{:.6e},{},{},{:.2}",
        r.step,
        r.loss,
        r.lr,
        o(r.val_psnr),
        o(r.val_psnr_input),
        r.seconds
    )
}

/// Rows of an existing log with step ≤ `upto` (kept on resume).
pub fn old_rows(path: &Path, upto: u64) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter(|l| l.split(',').next().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s <= upto))
        .map(str::to_string)
        .collect()
}
