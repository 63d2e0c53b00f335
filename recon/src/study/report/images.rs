//! Figures (b) and (c), made of image panels: every mask's sampling pattern beside its
//! point-spread function, and one slice reconstructed by every (mask, method) beside its
//! error map.

use super::plot::{colour_bar, distinct, grey, image_panel, render, text, viridis, Area, DrawResult, Reduce};
use crate::error::{ReconError, Result};
use crate::maskgen::psf_decibels;
use crate::study::record::{MaskView, SliceView};
use kspace::analysis::PsfGeometry;
use ndarray::Array2;
use plotters::prelude::*;

/// Side of one panel of the mask figure, and of the slice figure (larger: reconstructions are
/// judged on detail), pixels, title included.
pub(super) const PANEL: u32 = 180;
pub(super) const SLICE_PANEL: u32 = 240;
/// Height of a row's header (the mask label).
const ROW_HEAD: u32 = 24;
/// Height of the figure title and of the colour-bar strip.
const TITLE: u32 = 34;
const BARS: u32 = 42;
/// The PSF is shown in decibels from this floor to 0 dB, as `recon mask` writes it.
pub(super) use crate::maskgen::PSF_FLOOR_DB;
/// Error maps share one colour scale from 0 to this quantile of all their pixels (the
/// largest errors are clipped so that a few outliers do not turn every map black).
const ERROR_QUANTILE: f64 = 0.99;

/// A row header: `label` in bold-ish size over the row's full width.
fn row_header(area: &Area<'_>, label: &str) -> DrawResult<()> {
    area.draw(&Text::new(label.to_string(), (6, 4), text(15)))?;
    Ok(())
}

/// Figure (b): one row per mask label, one pair of panels (pattern, PSF in dB) per
/// acceleration (ascending); a missing (mask, acceleration) leaves its cell empty.
pub(super) fn mask_figure(views: &[MaskView]) -> Result<Vec<u8>> {
    let masks = distinct(views.iter().map(|v| v.mask.as_str()));
    let mut accs: Vec<f64> = Vec::new();
    for v in views {
        if !accs.iter().any(|a| a.total_cmp(&v.acceleration).is_eq()) {
            accs.push(v.acceleration);
        }
    }
    accs.sort_by(f64::total_cmp);
    let width = (2 * PANEL * accs.len() as u32).max(480);
    let height = TITLE + BARS + masks.len() as u32 * (ROW_HEAD + PANEL);
    render("masks", (width, height), |root| {
        let (title, rest) = root.split_vertically(TITLE);
        title.draw(&Text::new("Sampling patterns (white = sampled) and their PSFs", (8, 8), text(18)))?;
        let (bars, rows) = rest.split_vertically(BARS);
        let bar = bars.margin(0, 0, 0, width as i32 / 2);
        colour_bar(&bar, (&format!("{PSF_FLOOR_DB:.0} dB"), "PSF 20·log10|PSF|", "0 dB"), |t| {
            viridis(t, 0.0, 1.0)
        })?;
        for (row, mask) in rows.split_evenly((masks.len(), 1)).iter().zip(&masks) {
            let (head, cells) = row.split_vertically(ROW_HEAD);
            row_header(&head, mask)?;
            let panels = cells.split_evenly((1, 2 * accs.len()));
            for (k, acc) in accs.iter().enumerate() {
                let Some(v) = views.iter().find(|v| v.mask == *mask && v.acceleration.total_cmp(acc).is_eq())
                else {
                    continue;
                };
                image_panel(&panels[2 * k], &format!("R {acc} pattern"), &v.pattern, Reduce::Mean, |x| {
                    grey(x, 0.0, 1.0)
                })?;
                let title = format!("R {acc} PSF");
                match line_of(v) {
                    Some(line) => psf_profile(&panels[2 * k + 1], &title, &line)?,
                    None => image_panel(&panels[2 * k + 1], &title, &v.psf, Reduce::Max, |x| {
                        viridis(psf_decibels(x), PSF_FLOOR_DB, 0.0)
                    })?,
                }
            }
        }
        Ok(())
    })
}

/// The PSF line of a 1-D mask (the same pattern on every row, or on every column): its PSF is
/// zero off the centre row (column), a line too thin to see as an image, so it is drawn as a
/// profile. None for a 2-D mask.
fn line_of(v: &MaskView) -> Option<Vec<f32>> {
    let (h, w) = v.psf.dim();
    match v.geometry {
        PsfGeometry::Row => Some(v.psf.row(h / 2).to_vec()),
        PsfGeometry::Column => Some(v.psf.column(w / 2).to_vec()),
        PsfGeometry::Plane => None,
    }
}

/// A 1-D PSF as a profile: `20·log10 |PSF|` (from [`PSF_FLOOR_DB`] to 0 dB) against the
/// offset from the centre, in bins.
fn psf_profile(area: &Area<'_>, title: &str, line: &[f32]) -> DrawResult<()> {
    let n = line.len() as i64;
    let (x0, x1) = (-(n / 2) as f64, (n - 1 - n / 2) as f64);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{title} (line)"), text(13))
        .margin(4)
        .x_label_area_size(16)
        .y_label_area_size(30)
        .build_cartesian_2d(x0..x1.max(x0 + 1.0), PSF_FLOOR_DB as f64..0.0)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(3)
        .y_labels(4)
        .label_style(text(10))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let pts = line.iter().enumerate().map(|(k, &v)| ((k as i64 - n / 2) as f64, psf_decibels(v) as f64));
    chart.draw_series(LineSeries::new(pts, viridis(0.35, 0.0, 1.0).stroke_width(1)))?;
    Ok(())
}

/// The `q`-quantile of the finite values of `vals` (0 when there are none).
fn quantile(mut vals: Vec<f32>, q: f64) -> f32 {
    vals.retain(|v| v.is_finite());
    if vals.is_empty() {
        return 0.0;
    }
    let k = ((vals.len() - 1) as f64 * q).round() as usize;
    *vals.select_nth_unstable_by(k, f32::total_cmp).1
}

/// Figure (c): the reference, then one row per mask with, per method, the reconstruction
/// (grey, 0 to the reference's maximum) and its error map `|recon − ref|` (viridis, one scale
/// for all maps: 0 to the 99th percentile of all error pixels).
pub(super) fn slice_figure(view: &SliceView) -> Result<Vec<u8>> {
    let dim = view.reference.dim();
    if let Some((mask, method, r)) = view.reconstructions.iter().find(|(_, _, r)| r.dim() != dim) {
        return Err(ReconError::Failed(format!(
            "slice figure: the reconstruction by {mask} · {method} is {:?} but the reference is {dim:?}",
            r.dim()
        )));
    }
    let errors: Vec<Array2<f32>> =
        view.reconstructions.iter().map(|(_, _, r)| (r - &view.reference).mapv(f32::abs)).collect();
    let e_max = quantile(errors.iter().flat_map(|e| e.iter().copied()).collect(), ERROR_QUANTILE);
    let e_max = if e_max > 0.0 { e_max } else { 1.0 };
    let ref_max = view.reference.iter().copied().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
    let ref_max = if ref_max > 0.0 { ref_max } else { 1.0 };
    let masks = distinct(view.reconstructions.iter().map(|(m, _, _)| m.as_str()));
    let methods = distinct(view.reconstructions.iter().map(|(_, m, _)| m.as_str()));
    let width = (2 * SLICE_PANEL * methods.len() as u32).max(3 * SLICE_PANEL);
    let height = TITLE + SLICE_PANEL + BARS + masks.len() as u32 * (ROW_HEAD + SLICE_PANEL);
    render("slice", (width, height), |root| {
        let (title, rest) = root.split_vertically(TITLE);
        let heading = format!(
            "{} slice {} at R {}: reconstructions and |error|",
            view.volume, view.slice, view.acceleration
        );
        title.draw(&Text::new(heading, (8, 8), text(18)))?;
        let (top, rest) = rest.split_vertically(SLICE_PANEL + BARS);
        let (reference, scales) = top.split_horizontally(SLICE_PANEL);
        image_panel(&reference, "reference", &view.reference, Reduce::Mean, |x| grey(x, 0.0, ref_max))?;
        let (image_bar, error_bar) =
            scales.margin(SLICE_PANEL as i32 / 3, 0, 10, 10).split_vertically(BARS + 10);
        colour_bar(&image_bar, ("0", "image (all panels)", &format!("{ref_max:.3}")), |t| grey(t, 0.0, 1.0))?;
        let high = format!("{e_max:.3} (99th pct, clipped)");
        colour_bar(&error_bar, ("0", "|recon − ref|", &high), |t| viridis(t, 0.0, 1.0))?;
        for (row, mask) in rest.split_evenly((masks.len().max(1), 1)).iter().zip(&masks) {
            let (head, cells) = row.split_vertically(ROW_HEAD);
            row_header(&head, mask)?;
            let panels = cells.split_evenly((1, 2 * methods.len()));
            for (k, method) in methods.iter().enumerate() {
                let found = view
                    .reconstructions
                    .iter()
                    .zip(&errors)
                    .find(|((m, me, _), _)| m == mask && me == method);
                let Some(((_, _, recon), err)) = found else { continue };
                image_panel(&panels[2 * k], method, recon, Reduce::Mean, |x| grey(x, 0.0, ref_max))?;
                image_panel(&panels[2 * k + 1], &format!("{method} error"), err, Reduce::Mean, |x| {
                    viridis(x, 0.0, e_max)
                })?;
            }
        }
        Ok(())
    })
}
