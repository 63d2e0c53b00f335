//! The study report: `report.html` (self-contained, images embedded) and the same figures
//! as PNG files in `figures/`.
//!
//! * `figures/psnr.png`, `figures/ssim.png`: the metric against acceleration, one line per
//!   (mask, method) through the group means with the 95 % bootstrap CI as a band ([`curves`]).
//! * `figures/masks.png` (when the input has mask views): every mask's sampling pattern and
//!   its PSF in dB, per acceleration ([`images`]).
//! * `figures/slice.png` (when the input has a slice view): the reference, and per (mask,
//!   method) the reconstruction and its error map on common scales ([`images`]).
//!
//! Figures are drawn with `plotters` into an RGB buffer, encoded to PNG in memory, and the
//! same bytes are written to `figures/` and embedded in the HTML. An input without records is
//! an error (there is nothing to report), not an empty page.

mod curves;
mod html;
mod images;
mod plot;
#[cfg(test)]
mod tests;

pub use html::{escape, MAX_CELL_ROWS};

use super::record::ReportInput;
use crate::error::{ReconError, Result};
use crate::io::atomic::write_atomic;
use curves::Metric;
use std::path::{Path, PathBuf};

/// The files a report wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportFiles {
    pub html: PathBuf,
    pub figures: Vec<PathBuf>,
}

/// One drawn figure: `figures/<name>.png`, its title and how to read it.
pub(crate) struct Figure {
    name: String,
    title: String,
    caption: String,
    png: Vec<u8>,
}

/// Writes `dir/report.html` and `dir/figures/*.png` from `input` (atomically, each file
/// under a temporary name then renamed; existing report files are replaced, they belong to
/// the study). `dir` is created if needed. Errors: no records (nothing to report), a slice
/// view whose reconstructions differ in size from its reference, a file that cannot be
/// written.
pub fn write_report(dir: &Path, input: &ReportInput) -> Result<ReportFiles> {
    if input.records.is_empty() {
        return Err(ReconError::Failed(format!(
            "{}: no results to report (the study has no finished cells)",
            dir.display()
        )));
    }
    let figures = draw_figures(input)?;
    let figure_dir = dir.join("figures");
    std::fs::create_dir_all(&figure_dir).map_err(|e| ReconError::io(&figure_dir, e))?;
    let mut paths = Vec::with_capacity(figures.len());
    for f in &figures {
        let path = figure_dir.join(format!("{}.png", f.name));
        write_bytes(&path, &f.png)?;
        paths.push(path);
    }
    let html = dir.join("report.html");
    write_bytes(&html, html::document(input, &figures).as_bytes())?;
    Ok(ReportFiles { html, figures: paths })
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |tmp| std::fs::write(tmp, bytes).map_err(|e| ReconError::io(tmp, e)))
}

/// Every figure the input allows, in the report's order.
fn draw_figures(input: &ReportInput) -> Result<Vec<Figure>> {
    let mut out = Vec::new();
    for (metric, title, unit) in
        [(Metric::Psnr, "PSNR against acceleration", "dB"), (Metric::Ssim, "SSIM against acceleration", "")]
    {
        let caption = format!(
            "One line per (mask, method): colour is the mask, dash pattern the method. Each dot is the \
             mean {} {unit} over volumes and seeds at one acceleration; the shaded band is its 95 % bootstrap \
             confidence interval. Higher is better; where two bands do not overlap the means differ clearly, \
             and the paired table below tests the difference on the same volumes.",
            metric.name().to_uppercase()
        );
        let png = curves::metric_figure(&input.groups, metric)?;
        out.push(Figure { name: metric.name().into(), title: title.into(), caption, png });
    }
    if !input.masks.is_empty() {
        out.push(Figure {
            name: "masks".into(),
            title: "Sampling patterns and point-spread functions".into(),
            caption: format!(
                "Per mask (rows) and acceleration: the pattern on the k-space grid (white = sampled; a 1-D \
                 mask is a set of kept columns) and its point-spread function |ifft2c(mask)| normalised to \
                 1 at the centre, in dB from {:.0} (dark) to 0 (bright). A bright centre on a dark, \
                 noise-like background is incoherent aliasing (good for CS and networks); bright copies \
                 of the centre are coherent aliasing (folding) from regular undersampling.",
                images::PSF_FLOOR_DB
            ),
            png: images::mask_figure(&input.masks)?,
        });
    }
    if let Some(view) = &input.slice {
        out.push(Figure {
            name: "slice".into(),
            title: format!("Reconstructions of one slice at R {}", view.acceleration),
            caption: "The fully sampled reference, then per mask (rows) and method the reconstruction \
                (same grey scale as the reference) and its error |recon − ref| (one colour scale for all \
                maps, clipped at the 99th percentile of all error pixels). Darker error maps are better; \
                structure in an error map shows what a method loses (edges, aliasing)."
                .into(),
            png: images::slice_figure(view)?,
        });
    }
    Ok(out)
}
