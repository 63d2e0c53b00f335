//! A PNG plot of the training curves, written next to the model by [`super::train`].
//!
//! Two panels side by side: left, the training loss against the step on a log10 axis
//! (blue); right, the validation PSNR in dB against the step for the network (solid orange)
//! and for the zero-filled input (dashed green). Ticks sit at 1-2-5 values and are labelled
//! with an embedded 5×7 bitmap font (digits, `.`, `-`, `d`, `B` only); the legend is a pair
//! of colour swatches with line samples above the right panel. Missing and non-finite values
//! are skipped; a single row or a constant series gets a padded range.
//!
//! Everything is rasterised here into a `(3, H, W)` image in `[0, 1]`, no plotting crate.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
};

use ndarray::Array3;

use super::log::LogRow;
use crate::{progress::Progress, ReconError, Result};

/// Default plot size.
pub const WIDTH: usize = 900;
pub const HEIGHT: usize = 360;

type Rgb = [f32; 3];
/// Training loss.
pub const LOSS_COLOUR: Rgb = [0.12, 0.40, 0.75];
/// Validation PSNR of the network.
pub const NET_COLOUR: Rgb = [0.90, 0.40, 0.05];
/// Validation PSNR of the zero-filled input (dashed).
pub const INPUT_COLOUR: Rgb = [0.20, 0.60, 0.30];
const AXIS: Rgb = [0.15, 0.15, 0.15];
const GRID: Rgb = [0.88, 0.88, 0.88];
const TEXT: Rgb = [0.10, 0.10, 0.10];

/// The plot path next to the model `out`.
pub fn plot_path(out: &Path) -> PathBuf {
    out.with_extension("png")
}

/// Renders `rows` into a `(3, height, width)` RGB image in `[0, 1]`. Never panics on odd data
/// (empty, NaN, infinite, constant); a size too small for the layout gives a blank image.
pub fn render(rows: &[LogRow], width: usize, height: usize) -> Array3<f32> {
    let mut c = Canvas { img: Array3::ones((3, height, width)), w: width, h: height };
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
    c.text(right.x0 as i64 - 14, right.y0 as i64 - 12, "dB", TEXT);
    let series = [
        Series { points: input, colour: INPUT_COLOUR, dash: Some((7.0, 5.0)) },
        Series { points: net, colour: NET_COLOUR, dash: None },
    ];
    draw_series(&mut c, right, x_axis, y_psnr, &series);

    // Legend: swatch + line sample per series, above each panel on the right.
    let ly = left.y0 as i64 - 14;
    c.legend(left.x1 as i64 - 40, ly, LOSS_COLOUR, None);
    c.legend(right.x1 as i64 - 90, ly, NET_COLOUR, None);
    c.legend(right.x1 as i64 - 40, ly, INPUT_COLOUR, Some((7.0, 5.0)));
    c.img
}

/// Renders `rows` at [`WIDTH`] × [`HEIGHT`] and writes the PNG to `path`. A panic while
/// rendering is turned into an error.
pub fn write_plot(path: &Path, rows: &[LogRow]) -> Result<()> {
    let img = catch_unwind(AssertUnwindSafe(|| render(rows, WIDTH, HEIGHT)))
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
/// reported through `progress`; returns the path when written.
pub fn after_training(out: &Path, log: &Path, rows: &[LogRow], progress: &dyn Progress) -> Option<PathBuf> {
    let path = plot_path(out);
    let from_log = std::fs::read_to_string(log).map(|t| rows_from_csv(&t)).unwrap_or_default();
    let rows = if from_log.len() >= rows.len() { &from_log[..] } else { rows };
    match write_plot(&path, rows) {
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
    let (ml, mr, mt, mb) = (52, 14, 30, 26);
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
        c.text(x0 - 7 - text_width(s), y - 3, s, TEXT);
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

/// 5×7 glyphs, one byte per row, bit 4 leftmost.
fn glyph(ch: char) -> Option<[u8; 7]> {
    Some(match ch {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        'd' => [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        _ => return None,
    })
}

fn text_width(s: &str) -> i64 {
    (s.chars().count() as i64 * 6 - 1).max(0)
}

struct Canvas {
    img: Array3<f32>,
    w: usize,
    h: usize,
}

impl Canvas {
    fn blend(&mut self, x: i64, y: i64, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 || a <= 0.0 {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        for (k, &ck) in c.iter().enumerate() {
            let p = &mut self.img[[k, y, x]];
            *p = *p * (1.0 - a) + ck * a;
        }
    }

    fn hline(&mut self, x0: i64, x1: i64, y: i64, c: Rgb) {
        for x in x0..=x1 {
            self.blend(x, y, c, 1.0);
        }
    }

    fn vline(&mut self, x: i64, y0: i64, y1: i64, c: Rgb) {
        for y in y0..=y1 {
            self.blend(x, y, c, 1.0);
        }
    }

    /// Text with its top-left corner at `(x, y)`; characters without a glyph leave a gap.
    fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb) {
        for (i, ch) in s.chars().enumerate() {
            let Some(g) = glyph(ch) else { continue };
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.blend(x + i as i64 * 6 + col, y + row as i64, c, 1.0);
                    }
                }
            }
        }
    }

    /// A filled swatch and a short line sample starting at `(x, y)` (top-left).
    fn legend(&mut self, x: i64, y: i64, c: Rgb, dash: Option<(f64, f64)>) {
        for dy in 0..8 {
            for dx in 0..8 {
                self.blend(x + dx, y + dy, c, 1.0);
            }
        }
        let yc = (y + 4) as f64 - 0.5;
        let (a, b) = ((x + 11) as f64, (x + 32) as f64);
        self.stroke(&[(a, yc), (b, yc)], (x + 10, y - 2, x + 33, y + 10), c, 1.0, dash);
    }

    /// Anti-aliased polyline through `pts` (pixel centres at integer coordinates) of half
    /// width `hw`, clipped to `(x0, y0, x1, y1)` inclusive; `dash = (on, off)` in pixels of
    /// arc length. A single point draws a disc.
    fn stroke(
        &mut self,
        pts: &[(f64, f64)],
        clip: (i64, i64, i64, i64),
        c: Rgb,
        hw: f64,
        dash: Option<(f64, f64)>,
    ) {
        let (cx0, cy0, cx1, cy1) = clip;
        if pts.is_empty() || cx1 < cx0 || cy1 < cy0 {
            return;
        }
        let (cw, ch) = ((cx1 - cx0 + 1) as usize, (cy1 - cy0 + 1) as usize);
        let mut cov = vec![0f32; cw * ch];
        let segs: Vec<((f64, f64), (f64, f64))> = if pts.len() == 1 {
            vec![(pts[0], pts[0])]
        } else {
            pts.windows(2).map(|w| (w[0], w[1])).collect()
        };
        let reach = hw + 1.0;
        let mut arc = 0.0;
        for (p, q) in segs {
            let (dx, dy) = (q.0 - p.0, q.1 - p.1);
            let len2 = dx * dx + dy * dy;
            let len = len2.sqrt();
            let bx0 = ((p.0.min(q.0) - reach).floor() as i64).max(cx0);
            let bx1 = ((p.0.max(q.0) + reach).ceil() as i64).min(cx1);
            let by0 = ((p.1.min(q.1) - reach).floor() as i64).max(cy0);
            let by1 = ((p.1.max(q.1) + reach).ceil() as i64).min(cy1);
            for y in by0..=by1 {
                for x in bx0..=bx1 {
                    let (ux, uy) = (x as f64 - p.0, y as f64 - p.1);
                    let t = if len2 > 0.0 { ((ux * dx + uy * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
                    let (ex, ey) = (ux - t * dx, uy - t * dy);
                    let d = (ex * ex + ey * ey).sqrt();
                    let mut a = (hw + 0.5 - d).clamp(0.0, 1.0);
                    if let Some((on, off)) = dash {
                        if (arc + t * len).rem_euclid(on + off) > on {
                            a = 0.0;
                        }
                    }
                    let i = (y - cy0) as usize * cw + (x - cx0) as usize;
                    cov[i] = cov[i].max(a as f32);
                }
            }
            arc += len;
        }
        for (i, &a) in cov.iter().enumerate() {
            self.blend(cx0 + (i % cw) as i64, cy0 + (i / cw) as i64, c, a);
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
            let img = render(&rows, w, h);
            assert_eq!(img.dim(), (3, h, w));
            assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn constant_loss_is_a_horizontal_line_in_the_middle() {
        let rows: Vec<LogRow> = (1..=50).map(|s| row(s * 10, 0.1, None, None)).collect();
        let img = render(&rows, WIDTH, HEIGHT);
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
        let img = render(&rows, WIDTH, HEIGHT);
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
            let img = render(&rows, WIDTH, HEIGHT);
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
        write_plot(&path, &rows).unwrap();
        let img = crate::io::png::read_png(&path).unwrap();
        assert_eq!(img.channels(), 3);
        assert_eq!(img.size(), (HEIGHT, WIDTH));
        // Failing to write (a directory in the way) is an error, not a panic.
        let blocked = dir.join("blocked.png");
        std::fs::create_dir_all(&blocked).unwrap();
        assert!(write_plot(&blocked, &rows).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
