//! A small anti-aliased RGB raster for the training plot ([`super::plot`]): lines, dashed
//! polylines, text in the embedded 8×8 font ([`super::font`]) and legend entries, into a
//! `(3, H, W)` image in `[0, 1]`.

use ndarray::Array3;

use super::font::glyph_pixel;

/// An RGB colour in `[0, 1]`.
pub type Rgb = [f32; 3];
/// Colour of text.
pub const TEXT: Rgb = [0.10, 0.10, 0.10];

/// Width in pixels of a legend entry with `label` ([`Canvas::legend`]).
pub(crate) fn legend_width(label: &str) -> i64 {
    24 + text_width(label)
}

/// Width in pixels of `s` drawn by [`Canvas::text`] (8 pixels per character).
pub(crate) fn text_width(s: &str) -> i64 {
    s.chars().count() as i64 * 8
}

/// The image being drawn (`(3, h, w)`, white to start with).
pub(crate) struct Canvas {
    pub(crate) img: Array3<f32>,
    pub(crate) w: usize,
    pub(crate) h: usize,
}

impl Canvas {
    /// A white `width × height` canvas.
    pub(crate) fn new(width: usize, height: usize) -> Self {
        Self { img: Array3::ones((3, height, width)), w: width, h: height }
    }

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

    pub(crate) fn hline(&mut self, x0: i64, x1: i64, y: i64, c: Rgb) {
        for x in x0..=x1 {
            self.blend(x, y, c, 1.0);
        }
    }

    pub(crate) fn vline(&mut self, x: i64, y0: i64, y1: i64, c: Rgb) {
        for y in y0..=y1 {
            self.blend(x, y, c, 1.0);
        }
    }

    /// Text in the embedded 8×8 font ([`super::font`]) with its top-left corner at `(x, y)`;
    /// characters outside printable ASCII are blank.
    pub(crate) fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb) {
        for (i, ch) in s.chars().enumerate() {
            let ch = if ch.is_ascii() { ch as u8 } else { b' ' };
            for row in 0..8 {
                for col in 0..8 {
                    if glyph_pixel(ch, row, col) {
                        self.blend(x + i as i64 * 8 + col as i64, y + row as i64, c, 1.0);
                    }
                }
            }
        }
    }

    /// A legend entry starting at `(x, y)` (top-left): a short line sample in the series'
    /// colour and dash, then `label`. Returns its width in pixels.
    pub(crate) fn legend(&mut self, x: i64, y: i64, c: Rgb, dash: Option<(f64, f64)>, label: &str) -> i64 {
        let yc = (y + 4) as f64 - 0.5;
        let (a, b) = (x as f64 + 1.0, (x + 19) as f64);
        self.stroke(&[(a, yc), (b, yc)], (x, y - 2, x + 20, y + 10), c, 1.2, dash);
        self.text(x + 24, y, label, TEXT);
        legend_width(label)
    }

    /// Anti-aliased polyline through `pts` (pixel centres at integer coordinates) of half
    /// width `hw`, clipped to `(x0, y0, x1, y1)` inclusive; `dash = (on, off)` in pixels of
    /// arc length. A single point draws a disc.
    pub(crate) fn stroke(
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
