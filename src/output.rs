//! Printing: metric tables for people, one JSON object for programs.

use recon::reconstruct::{MethodMetrics, MethodTiming};

/// Prints `value` as one line of JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> recon::Result<()> {
    let s = serde_json::to_string(value).map_err(|e| recon::ReconError::Invalid(format!("JSON: {e}")))?;
    println!("{s}");
    Ok(())
}

/// A table of PSNR / SSIM / NMSE and seconds (the method over the whole volume), one row
/// per method.
pub fn metrics_table(rows: &[MethodMetrics], timings: &[MethodTiming]) -> String {
    let mut s = format!("{:<16} {:>9} {:>8} {:>9} {:>9}\n", "method", "PSNR dB", "SSIM", "NMSE", "seconds");
    for r in rows {
        let m = &r.metrics;
        let seconds = timings.iter().find(|t| t.method == r.method).map_or(f64::NAN, |t| t.seconds);
        s += &format!("{:<16} {:>9.3} {:>8.4} {:>9.5} {:>9.2}\n", r.method, m.psnr, m.ssim, m.nmse, seconds);
    }
    s
}

/// An error as one JSON line on stdout (`--json`): `{"error", "kind", "exit_code"}`.
pub fn print_error_json(message: &str, kind: &str, exit_code: i32) {
    let v = serde_json::json!({ "error": message, "kind": kind, "exit_code": exit_code });
    println!("{v}");
}
