//! A PNG plot of the training curves, written next to the model by [`super::train`].
//!
//! Two panels side by side: left, the training loss against the step on a log10 axis
//! (blue); right, the validation PSNR in dB against the step for the network (solid orange)
//! and for the network's input (dashed green: "zero-filled input" for MRI, "noisy input"
//! for photos). Ticks sit at 1-2-5 values; the axes are titled ("step", "loss",
//! "PSNR (dB)") and each panel has a legend of line samples with their names. Missing and
//! non-finite values are skipped; a single row or a constant series gets a padded range.
//!
//! Everything is rasterised by [`super::canvas`] into a `(3, H, W)` image in `[0, 1]`, text
//! in the embedded 8×8 font ([`super::font`]): no plotting crate, no system font (plotters
//! needs a system font library or a font file registered at run time to draw any text).

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
};

use ndarray::Array3;

use super::{
    canvas::{legend_width, text_width, Canvas, Rgb, TEXT},
    log::LogRow,
};
use crate::{progress::Progress, ReconError, Result};

/// Default plot size.
pub const WIDTH: usize = 900;
pub const HEIGHT: usize = 360;

/// Training loss.
pub const LOSS_COLOUR: Rgb = [0.12, 0.40, 0.75];
/// Validation PSNR of the network.
pub const NET_COLOUR: Rgb = [0.90, 0.40, 0.05];
/// Validation PSNR of the zero-filled input (dashed).
pub const INPUT_COLOUR: Rgb = [0.20, 0.60, 0.30];
const AXIS: Rgb = [0.15, 0.15, 0.15];
const GRID: Rgb = [0.88, 0.88, 0.88];
/// Dash pattern (on, off pixels) of the input's PSNR line.
const DASH: Option<(f64, f64)> = Some((7.0, 5.0));

/// The plot path next to the model `out`.
pub fn plot_path(out: &Path) -> PathBuf {
    out.with_extension("png")
}

/// Renders `rows` into a `(3, height, width)` RGB image in `[0, 1]`; `input_label` names the
/// dashed input PSNR line in the legend. Never panics on odd data (empty, NaN, infinite,
/// constant); a size too small for the layout gives a blank image.
pub fn render(rows: &[LogRow], width: usize, height: usize, input_label: &str) -> Array3<f32> {
    let mut c = Canvas::new(width, height);
    let Some([left, right]) = layout(width, height) else {
        return c.img;
    };
    let steps: Vec<f64> = rows.iter().map(|r| r.step as f64).filter(|v| v.is_finite()).collect();
    let x_axis = padded_range(&steps, 1.0, false);

    // Left: loss, log10 axis.
    let loss: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.loss.is_finite() && r.loss > 0.0)
        .map(|r| (r.step as f64, r.loss.log10()))
        .collect();
    let logs: Vec<f64> = loss.iter().map(|p| p.1).collect();
    let y_loss = padded_range(&logs, 0.5, true);
    let y_ticks = if loss.is_empty() { Vec::new() } else { log_ticks(y_loss.0, y_loss.1) };
    draw_panel(&mut c, left, x_axis, y_loss, &y_ticks);
    let series = [Series { points: loss, colour: LOSS_COLOUR, dash: None }];
    draw_series(&mut c, left, x_axis, y_loss, &series);

    // Right: validation PSNR (network and input).
    let psnr = |f: fn(&LogRow) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter().filter_map(|r| f(r).filter(|v| v.is_finite()).map(|v| (r.step as f64, v))).collect()
    };
    let net = psnr(|r| r.val_psnr);
    let input = psnr(|r| r.val_psnr_input);
    let all: Vec<f64> = net.iter().chain(&input).map(|p| p.1).collect();
    let y_psnr = padded_range(&all, 1.0, true);
    let y_ticks = if all.is_empty() { Vec::new() } else { linear_ticks(y_psnr.0, y_psnr.1, 5.0, false) };
    draw_panel(&mut c, right, x_axis, y_psnr, &y_ticks);
    let series = [
        Series { points: input, colour: INPUT_COLOUR, dash: DASH },
        Series { points: net, colour: NET_COLOUR, dash: None },
    ];
    draw_series(&mut c, right, x_axis, y_psnr, &series);

    // Axis titles: y above the axis, x centred under the tick labels.
    let title_y = left.y0 as i64 - TITLE_ABOVE;
    for (r, y_title) in [(left, "loss"), (right, "PSNR (dB)")] {
        c.text(r.x0 as i64 - 4, title_y, y_title, TEXT);
        c.text((r.x0 + r.x1) as i64 / 2 - text_width("step") / 2, r.y1 as i64 + STEP_BELOW, "step", TEXT);
    }
    // Legends, right-aligned above each panel.
    let mut x = left.x1 as i64 - legend_width("training loss");
    c.legend(x, title_y, LOSS_COLOUR, None, "training loss");
    x = right.x1 as i64 - legend_width(input_label);
    c.legend(x, title_y, INPUT_COLOUR, DASH, input_label);
    x -= legend_width("network") + 12;
    c.legend(x, title_y, NET_COLOUR, None, "network");
    c.img
}

/// Pixels from a panel's top to its y-axis title and legend row.
const TITLE_ABOVE: i64 = 16;
/// Pixels from a panel's bottom to its x-axis title ("step").
const STEP_BELOW: i64 = 22;

/// Renders `rows` at [`WIDTH`] × [`HEIGHT`] and writes the PNG to `path`. A panic while
/// rendering is turned into an error.
pub fn write_plot(path: &Path, rows: &[LogRow], input_label: &str) -> Result<()> {
    let img = catch_unwind(AssertUnwindSafe(|| render(rows, WIDTH, HEIGHT, input_label)))
        .map_err(|_| ReconError::Invalid("plot rendering panicked".into()))?;
    crate::io::png::write_png_rgb(path, &img)
}

/// Rows of a CSV training log (`step,loss,lr,val_psnr,val_psnr_input,seconds`); lines that do
/// not parse are skipped.
pub fn rows_from_csv(text: &str) -> Vec<LogRow> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() != 6 {
                return None;
            }
            let opt = |s: &str| s.trim().parse::<f64>().ok();
            Some(LogRow {
                step: f[0].trim().parse().ok()?,
                loss: opt(f[1])?,
                lr: opt(f[2]).unwrap_or(f64::NAN),
                val_psnr: opt(f[3]),
                val_psnr_input: opt(f[4]),
                seconds: opt(f[5]).unwrap_or(f64::NAN),
            })
        })
        .collect()
}

/// End-of-training hook: plots the whole CSV log at `log` (so a resumed run shows its earlier
/// rows too), or `rows` if the log can't be read, to [`plot_path`]`(out)`. Failures are only
/// reported through `progress`; returns the path when written. `input_label` names the input's
/// PSNR line ([`render`]).
pub fn after_training(
    out: &Path,
    log: &Path,
    rows: &[LogRow],
    input_label: &str,
    progress: &dyn Progress,
) -> Option<PathBuf> {
    let path = plot_path(out);
    let from_log = std::fs::read_to_string(log).map(|t| rows_from_csv(&t)).unwrap_or_default();
    let rows = if from_log.len() >= rows.len() { &from_log[..] } else { rows };
    match write_plot(&path, rows, input_label) {
        Ok(()) => Some(path),
        Err(e) => {
            progress.message(&format!("training plot not written: {e}"));
            None
        }
    }
}

/// A plot area in pixels; the frame lines are at `x0, x1, y0, y1` (inclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    fn px(&self, (lo, hi): (f64, f64), v: f64) -> f64 {
        self.x0 as f64 + (v - lo) / (hi - lo) * (self.x1 - self.x0) as f64
    }
    fn py(&self, (lo, hi): (f64, f64), v: f64) -> f64 {
        self.y1 as f64 - (v - lo) / (hi - lo) * (self.y1 - self.y0) as f64
    }
}

/// The two plot areas (left: loss, right: PSNR), or `None` when the image is too small.
pub(crate) fn layout(width: usize, height: usize) -> Option<[Rect; 2]> {
    let (ml, mr, mt, mb) = (62, 14, 30, 34);
    let half = width / 2;
    if half < ml + mr + 10 || height < mt + mb + 10 {
        return None;
    }
    let panel = |i: usize| Rect { x0: i * half + ml, y0: mt, x1: (i + 1) * half - mr, y1: height - mb };
    Some([panel(0), panel(1)])
}

/// Finite `(min, max)` of `v`, padded by 4 % of the span; a constant series gets `±const_pad`
/// (`±max(const_pad, 4 % of the value)` when `pad_span` is false); `(0, 1)` when empty.
fn padded_range(v: &[f64], const_pad: f64, pad_span: bool) -> (f64, f64) {
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= 1e-9 * lo.abs().max(hi.abs()).max(1e-300) {
        let p = if pad_span { const_pad } else { const_pad.max(0.04 * lo.abs()) };
        return (lo - p, hi + p);
    }
    (lo - 0.04 * span, hi + 0.04 * span)
}

/// 1-2-5 step giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-(step.log10() + 1e-9).floor()).clamp(0.0, 12.0) as usize
    }
}

/// Ticks at multiples of a 1-2-5 step inside `[lo, hi]`: `(value, label)`.
fn linear_ticks(lo: f64, hi: f64, target: f64, integer: bool) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    let mut step = nice_step(hi - lo, target);
    if integer {
        step = step.max(1.0);
    }
    let d = decimals(step);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .take(100)
        .map(|k| {
            let v = k as f64 * step;
            let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
            (v, format!("{v:.d$}"))
        })
        .collect()
}

/// Ticks for a log10 axis over `[lo, hi]` (in log10 units): `(log10 value, label)` at
/// 1-2-5 × 10^k, only 10^k over many decades, or linear ticks when that gives fewer than 3.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    let decades = hi - lo;
    let (mults, every): (&[f64], i64) =
        if decades <= 2.5 { (&[1.0, 2.0, 5.0], 1) } else { (&[1.0], (decades / 6.0).ceil().max(1.0) as i64) };
    let mut out = Vec::new();
    for k in (lo.floor() as i64)..=(hi.ceil() as i64) {
        if k.rem_euclid(every) != 0 {
            continue;
        }
        for &m in mults {
            let v = m * 10f64.powi(k as i32);
            let l = v.log10();
            if l >= lo && l <= hi {
                out.push((l, format!("{v:.d$}", d = (-k).max(0) as usize)));
            }
        }
    }
    if out.len() >= 3 {
        return out;
    }
    linear_ticks(10f64.powf(lo), 10f64.powf(hi), 6.0, false)
        .into_iter()
        .filter(|(v, _)| *v > 0.0)
        .map(|(v, s)| (v.log10(), s))
        .collect()
}

struct Series {
    points: Vec<(f64, f64)>,
    colour: Rgb,
    dash: Option<(f64, f64)>,
}

fn draw_panel(c: &mut Canvas, r: Rect, x_axis: (f64, f64), y_axis: (f64, f64), y_ticks: &[(f64, String)]) {
    let x_ticks = linear_ticks(x_axis.0, x_axis.1, 6.0, true);
    for (v, _) in &x_ticks {
        let x = r.px(x_axis, *v).round() as i64;
        c.vline(x, r.y0 as i64 + 1, r.y1 as i64 - 1, GRID);
    }
    for (v, _) in y_ticks {
        let y = r.py(y_axis, *v).round() as i64;
        c.hline(r.x0 as i64 + 1, r.x1 as i64 - 1, y, GRID);
    }
    let (x0, y0, x1, y1) = (r.x0 as i64, r.y0 as i64, r.x1 as i64, r.y1 as i64);
    c.hline(x0, x1, y0, AXIS);
    c.hline(x0, x1, y1, AXIS);
    c.vline(x0, y0, y1, AXIS);
    c.vline(x1, y0, y1, AXIS);
    for (v, s) in &x_ticks {
        let x = r.px(x_axis, *v).round() as i64;
        c.vline(x, y1, y1 + 4, AXIS);
        c.text(x - text_width(s) / 2, y1 + 7, s, TEXT);
    }
    for (v, s) in y_ticks {
        let y = r.py(y_axis, *v).round() as i64;
        c.hline(x0 - 4, x0, y, AXIS);
        c.text(x0 - 7 - text_width(s), y - 4, s, TEXT);
    }
}

fn draw_series(c: &mut Canvas, r: Rect, x_axis: (f64, f64), y_axis: (f64, f64), series: &[Series]) {
    let clip = (r.x0 as i64 + 1, r.y0 as i64 + 1, r.x1 as i64 - 1, r.y1 as i64 - 1);
    for s in series {
        let pts: Vec<(f64, f64)> =
            s.points.iter().map(|&(x, y)| (r.px(x_axis, x), r.py(y_axis, y))).collect();
        c.stroke(&pts, clip, s.colour, 1.0, s.dash);
        if pts.len() <= 20 {
            for &p in &pts {
                c.stroke(&[p], clip, s.colour, 2.2, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, loss: f64, vp: Option<f64>, vpi: Option<f64>) -> LogRow {
        LogRow { step, loss, lr: 1e-3, val_psnr: vp, val_psnr_input: vpi, seconds: step as f64 }
    }

    fn close(img: &Array3<f32>, y: usize, x: usize, c: Rgb) -> bool {
        (0..3).all(|k| (img[[k, y, x]] - c[k]).abs() < 0.03)
    }

    #[test]
    fn requested_size() {
        let rows: Vec<LogRow> = (1..=5).map(|s| row(s, 1.0 / s as f64, Some(30.0), Some(25.0))).collect();
        for (w, h) in [(900, 360), (640, 240), (10, 5), (0, 0)] {
            let img = render(&rows, w, h, "input");
            assert_eq!(img.dim(), (3, h, w));
            assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn constant_loss_is_a_horizontal_line_in_the_middle() {
        let rows: Vec<LogRow> = (1..=50).map(|s| row(s * 10, 0.1, None, None)).collect();
        let img = render(&rows, WIDTH, HEIGHT, "input");
        let [left, right] = layout(WIDTH, HEIGHT).unwrap();
        // log10(0.1) = −1 padded to [−1.5, −0.5]: the line sits half way down the panel.
        let yc = (left.y0 + left.y1) as f64 / 2.0;
        for x in [left.x0 + 20, (left.x0 + left.x1) / 2, left.x1 - 20] {
            let hits: Vec<usize> = (left.y0..=left.y1).filter(|&y| close(&img, y, x, LOSS_COLOUR)).collect();
            assert!(!hits.is_empty(), "no line pixel in column {x}");
            assert!(hits.iter().all(|&y| (y as f64 - yc).abs() <= 1.5), "column {x}: {hits:?} vs {yc}");
        }
        // No validation: no PSNR line pixels inside the right panel.
        for y in right.y0 + 1..right.y1 {
            for x in right.x0 + 1..right.x1 {
                assert!(!close(&img, y, x, NET_COLOUR) && !close(&img, y, x, INPUT_COLOUR));
            }
        }
    }

    #[test]
    fn psnr_lines_are_drawn() {
        let rows: Vec<LogRow> = (1..=40).map(|s| row(s, 0.01, Some(30.0), Some(20.0))).collect();
        let img = render(&rows, WIDTH, HEIGHT, "input");
        let [_, r] = layout(WIDTH, HEIGHT).unwrap();
        let axis = padded_range(&[20.0, 30.0], 1.0, true);
        let (yn, yi) = (r.py(axis, 30.0).round() as usize, r.py(axis, 20.0).round() as usize);
        let x = (r.x0 + r.x1) / 2;
        assert!((yn - 1..=yn + 1).any(|y| close(&img, y, x, NET_COLOUR)));
        // The dashed input line: some columns on, some off.
        let on = (r.x0 + 5..r.x1 - 5)
            .filter(|&x| (yi - 1..=yi + 1).any(|y| close(&img, y, x, INPUT_COLOUR)))
            .count();
        let n = r.x1 - r.x0 - 10;
        assert!(on > n / 4 && on < n, "{on} of {n}");
    }

    #[test]
    fn axes_and_legend_are_labelled() {
        let rows: Vec<LogRow> = (1..=10).map(|s| row(s, 1.0 / s as f64, Some(30.0), Some(20.0))).collect();
        let img = render(&rows, WIDTH, HEIGHT, "zero-filled input");
        let [left, right] = layout(WIDTH, HEIGHT).unwrap();
        let dark = |x0: usize, x1: usize, y0: usize, y1: usize| {
            let mut n = 0;
            for y in y0..y1.min(HEIGHT) {
                for x in x0..x1.min(WIDTH) {
                    n += usize::from((0..3).all(|k| img[[k, y, x]] < 0.3));
                }
            }
            n
        };
        for r in [left, right] {
            // "step", centred under the tick labels.
            let xc = (r.x0 + r.x1) / 2;
            assert!(dark(xc - 20, xc + 20, r.y1 + 18, r.y1 + 32) > 20, "no x-axis title");
        }
        // "loss" and "PSNR (dB)" above the y axes.
        assert!(dark(left.x0 - 4, left.x0 + 30, 0, left.y0 - 1) > 20, "no loss title");
        assert!(dark(right.x0 - 4, right.x0 + 70, 0, right.y0 - 1) > 40, "no PSNR title");
        // Legend names, right of their line samples.
        assert!(dark(right.x1 - 140, right.x1, 0, right.y0 - 1) > 60, "no legend text");
        assert!(dark(left.x1 - 100, left.x1, 0, left.y0 - 1) > 40, "no loss legend text");
        assert_ne!(img, render(&rows, WIDTH, HEIGHT, "noisy input"), "legend ignores the input's name");
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let nan = f64::NAN;
        let cases: Vec<Vec<LogRow>> = vec![
            vec![],
            vec![row(1, 0.5, Some(30.0), Some(20.0))],
            vec![row(1, nan, Some(nan), None), row(2, f64::INFINITY, Some(f64::INFINITY), Some(nan))],
            vec![row(1, 0.0, None, Some(20.0)), row(2, -1.0, Some(31.0), None), row(3, 1e-30, None, None)],
            vec![row(0, 1e300, Some(-5.0), Some(200.0)), row(u64::MAX, 1e-300, Some(5.0), Some(5.0))],
            (1..=5000).map(|s| row(s, (s as f64).sin().abs() + 1e-6, Some(s as f64), None)).collect(),
        ];
        for rows in cases {
            let img = render(&rows, WIDTH, HEIGHT, "input");
            assert_eq!(img.dim(), (3, HEIGHT, WIDTH));
            assert!(img.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn ticks_are_nice() {
        let t: Vec<String> = linear_ticks(0.0, 100.0, 5.0, true).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["0", "20", "40", "60", "80", "100"]);
        let t: Vec<String> = linear_ticks(-0.3, 0.3, 5.0, false).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["-0.2", "0.0", "0.2"]);
        let t: Vec<String> = log_ticks(-2.1, -0.9).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["0.01", "0.02", "0.05", "0.1"]);
        // Within one decade: linear fallback.
        assert!(log_ticks(0.1f64.log10() - 0.05, 0.1f64.log10() + 0.05).len() >= 2);
    }

    #[test]
    fn csv_round_trip() {
        let text = "step,loss,lr,val_psnr,val_psnr_input,seconds\n2,1.5e-2,1e-4,30.1,25.0,1.0\n4,1e-2,1e-4,,,2.0\nbad\n";
        let rows = rows_from_csv(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].val_psnr, Some(30.1));
        assert_eq!(rows[1].val_psnr, None);
    }

    #[test]
    fn writes_a_readable_png() {
        let dir = std::env::temp_dir().join(format!("recon-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = plot_path(&dir.join("model.safetensors"));
        let rows: Vec<LogRow> =
            (1..=10).map(|s| row(s, 1.0 / s as f64, Some(25.0 + s as f64), Some(24.0))).collect();
        write_plot(&path, &rows, "input").unwrap();
        let img = crate::io::png::read_png(&path).unwrap();
        assert_eq!(img.channels(), 3);
        assert_eq!(img.size(), (HEIGHT, WIDTH));
        // Failing to write (a directory in the way) is an error, not a panic.
        let blocked = dir.join("blocked.png");
        std::fs::create_dir_all(&blocked).unwrap();
        assert!(write_plot(&blocked, &rows, "input").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
