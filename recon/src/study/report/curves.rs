//! Figure (a): a metric against acceleration, one line per (mask, method) through the group
//! means, with the 95 % bootstrap confidence interval of each mean as a shaded band.
//! Colour = mask, dash pattern = method.

use super::plot::{distinct, render, text, DrawResult, PALETTE};
use crate::error::Result;
use crate::study::record::{Estimate, GroupStats};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// Which metric a curve figure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Metric {
    Psnr,
    Ssim,
}

impl Metric {
    pub(super) fn name(self) -> &'static str {
        match self {
            Metric::Psnr => "psnr",
            Metric::Ssim => "ssim",
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Metric::Psnr => "PSNR (dB)",
            Metric::Ssim => "SSIM",
        }
    }

    fn of(self, g: &GroupStats) -> Estimate {
        match self {
            Metric::Psnr => g.psnr,
            Metric::Ssim => g.ssim,
        }
    }
}

/// (dash, gap) in pixels of the line of the n-th method: solid, dashed, dotted, long dashes.
const DASHES: [(u32, u32); 4] = [(10_000, 1), (12, 6), (3, 4), (22, 6)];

/// One line: (mask, method) and its points (acceleration, estimate) sorted by acceleration;
/// groups with a non-finite mean are left out (PSNR of a perfect reconstruction is +∞).
fn lines(groups: &[GroupStats], metric: Metric) -> Vec<(&str, &str, Vec<(f64, Estimate)>)> {
    let mut out = Vec::new();
    for mask in distinct(groups.iter().map(|g| g.mask.as_str())) {
        for method in distinct(groups.iter().map(|g| g.method.as_str())) {
            let mut pts: Vec<(f64, Estimate)> = groups
                .iter()
                .filter(|g| g.mask == mask && g.method == method && g.acceleration.is_finite())
                .map(|g| (g.acceleration, metric.of(g)))
                .filter(|(_, e)| e.mean.is_finite())
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            if !pts.is_empty() {
                out.push((mask, method, pts));
            }
        }
    }
    out
}

/// A range around the finite values of `vals`, padded by 5 % (±`min_pad` when flat);
/// (0, 1) when there are none.
fn padded_range(vals: impl Iterator<Item = f64>, min_pad: f64) -> (f64, f64) {
    let (lo, hi) = vals
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = (0.05 * (hi - lo)).max(min_pad);
    (lo - pad, hi + pad)
}

/// Draws `metric` against acceleration for every (mask, method) of `groups` as a PNG.
pub(super) fn metric_figure(groups: &[GroupStats], metric: Metric) -> Result<Vec<u8>> {
    let lines = lines(groups, metric);
    let masks = distinct(groups.iter().map(|g| g.mask.as_str()));
    let methods = distinct(groups.iter().map(|g| g.method.as_str()));
    let accs = lines.iter().flat_map(|l| l.2.iter().map(|p| p.0));
    let (x0, x1) = padded_range(accs, 0.5);
    let bounds = lines.iter().flat_map(|l| l.2.iter().flat_map(|(_, e)| [e.mean, e.ci_low, e.ci_high]));
    let (y0, y1) = padded_range(bounds, if metric == Metric::Psnr { 0.5 } else { 0.005 });
    render(metric.name(), (960, 600), |root| {
        let caption = format!("{} against acceleration: mean and 95 % CI per mask and method", metric.axis());
        let mut chart = ChartBuilder::on(root)
            .caption(caption, text(18))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("acceleration R")
            .y_desc(metric.axis())
            .label_style(text(13))
            .axis_desc_style(text(14))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        for (mask, method, pts) in &lines {
            let colour = PALETTE[masks.iter().position(|m| m == mask).unwrap_or(0) % PALETTE.len()];
            let (dash, gap) = DASHES[methods.iter().position(|m| m == method).unwrap_or(0) % DASHES.len()];
            draw_line(&mut chart, pts, colour, (dash, gap), &format!("{mask} · {method}"))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(text(12))
            .legend_area_size(34)
            .draw()?;
        Ok(())
    })
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// One (mask, method): the CI band (a polygon along the upper bounds and back along the lower
/// ones), the line through the means, and a dot at each mean (a lone point stays visible).
fn draw_line(
    chart: &mut Chart<'_, '_>,
    pts: &[(f64, Estimate)],
    colour: RGBColor,
    (dash, gap): (u32, u32),
    label: &str,
) -> DrawResult<()> {
    let band: Vec<(f64, f64)> = pts
        .iter()
        .map(|(x, e)| (*x, e.ci_high))
        .chain(pts.iter().rev().map(|(x, e)| (*x, e.ci_low)))
        .filter(|p| p.1.is_finite())
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15).filled())))?;
    let style = colour.stroke_width(2);
    let means: Vec<(f64, f64)> = pts.iter().map(|(x, e)| (*x, e.mean)).collect();
    chart
        .draw_series(DashedLineSeries::new(means.clone(), dash, gap, style))?
        .label(label)
        .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 26, y)], dash.min(26), gap, style));
    chart.draw_series(means.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
    Ok(())
}
