//! The final table: mean ± std of each metric per acquisition, acceleration and method
//! (fastMRI's evaluation groups by acquisition; a batch also varies the acceleration).

use super::manifest::{csv_cell, write_text, ManifestEntry, Status};
use crate::error::Result;
use crate::metrics::VolumeMetrics;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub acquisition: String,
    /// The acceleration as a label (`4`, `8`, `unknown`).
    pub acceleration: String,
    /// `network` or `zero_filled`.
    pub method: String,
    /// Volumes with metrics in the group.
    pub count: usize,
    pub mean: VolumeMetrics,
    /// Population standard deviation (numpy's default, as fastMRI).
    pub std: VolumeMetrics,
}

/// Groups the `ok` entries with metrics; an `all` row per method when there are several
/// groups. Rows are sorted by acquisition, acceleration, method; entries should come in a
/// fixed order (file name) so that sums, and the file, are the same however they were run.
pub fn summarise(entries: &[&ManifestEntry]) -> Vec<GroupSummary> {
    type Key = (String, String, String);
    let mut groups: BTreeMap<Key, Vec<VolumeMetrics>> = BTreeMap::new();
    let mut all: BTreeMap<String, Vec<VolumeMetrics>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.status == Status::Ok) {
        let acc = e.acceleration.map(|a| format!("{a}")).unwrap_or_else(|| "unknown".into());
        for (method, m) in &e.metrics {
            groups.entry((e.acquisition.clone(), acc.clone(), method.clone())).or_default().push(*m);
            all.entry(method.clone()).or_default().push(*m);
        }
    }
    let several = groups.keys().map(|(a, r, _)| (a, r)).collect::<std::collections::BTreeSet<_>>().len() > 1;
    let mut rows: Vec<GroupSummary> = groups.into_iter().map(|((a, r, m), ms)| row(a, r, m, &ms)).collect();
    if several {
        rows.extend(all.into_iter().map(|(m, ms)| row("all".into(), "all".into(), m, &ms)));
    }
    rows
}

fn row(acquisition: String, acceleration: String, method: String, ms: &[VolumeMetrics]) -> GroupSummary {
    let n = ms.len() as f64;
    let stat = |f: fn(&VolumeMetrics) -> f64| {
        let mean = ms.iter().map(f).sum::<f64>() / n;
        (mean, (ms.iter().map(|m| (f(m) - mean).powi(2)).sum::<f64>() / n).sqrt())
    };
    let ((psnr, psnr_sd), (ssim, ssim_sd), (nmse, nmse_sd)) =
        (stat(|m| m.psnr), stat(|m| m.ssim), stat(|m| m.nmse));
    GroupSummary {
        acquisition,
        acceleration,
        method,
        count: ms.len(),
        mean: VolumeMetrics { nmse, psnr, ssim },
        std: VolumeMetrics { nmse: nmse_sd, psnr: psnr_sd, ssim: ssim_sd },
    }
}

/// The summary as text: one line per group, then the failed volumes.
pub fn table(rows: &[GroupSummary], failed: &[&ManifestEntry]) -> String {
    let mut s = format!(
        "{:<24} {:>6} {:<12} {:>5} {:>17} {:>17} {:>19}\n",
        "acquisition", "acc", "method", "n", "PSNR dB", "SSIM", "NMSE"
    );
    for r in rows {
        s += &format!(
            "{:<24} {:>6} {:<12} {:>5} {:>8.3} ± {:<6.3} {:>7.4} ± {:<7.4} {:>8.5} ± {:<8.5}\n",
            r.acquisition,
            r.acceleration,
            r.method,
            r.count,
            r.mean.psnr,
            r.std.psnr,
            r.mean.ssim,
            r.std.ssim,
            r.mean.nmse,
            r.std.nmse
        );
    }
    for f in failed {
        s += &format!("FAILED {}: {}\n", f.file, f.error.as_deref().unwrap_or("unknown error"));
    }
    s
}

/// Writes the summary CSV: one row per group, then a `failed` row counting the failed
/// volumes (their names and errors are in the per-volume CSV).
pub fn write_summary_csv(path: &Path, rows: &[GroupSummary], failed: &[&ManifestEntry]) -> Result<()> {
    let mut s = String::from(
        "acquisition,acceleration,method,count,psnr_mean,psnr_std,ssim_mean,ssim_std,nmse_mean,nmse_std\n",
    );
    for r in rows {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            csv_cell(&r.acquisition),
            csv_cell(&r.acceleration),
            r.method,
            r.count,
            r.mean.psnr,
            r.std.psnr,
            r.mean.ssim,
            r.std.ssim,
            r.mean.nmse,
            r.std.nmse
        );
    }
    if !failed.is_empty() {
        s += &format!("failed,,,{},,,,,,\n", failed.len());
    }
    write_text(path, &s)
}
