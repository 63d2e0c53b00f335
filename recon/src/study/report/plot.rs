//! What every figure shares: the embedded font, drawing into an RGB buffer and encoding it as
//! a PNG in memory (so the same bytes go to `figures/*.png` and into `report.html`), the
//! colours, and image panels (a 2-D array shown with its aspect ratio kept) with colour bars.

use crate::error::{ReconError, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Once;

/// Errors of plotters' drawing calls (their types are generic over the backend).
pub(super) type DrawResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;
/// A drawing area of a figure, in pixels from its top-left corner.
pub(super) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// DejaVu Sans (Bitstream Vera licence, `recon/assets/fonts/LICENSE-DejaVu.txt`), embedded so
/// that drawing text needs neither a system font nor a C library (plotters' `ab_glyph`).
const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const FONT_NAME: &str = "sans-serif";

/// Line colours, one per mask (Tableau 10: distinguishable, and readable in grey).
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A text style of `size` pixels in the embedded font.
pub(super) fn text(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT_NAME, size).into_font()).color(&BLACK)
}

/// Draws a figure of `size` (width, height) pixels on white with `draw` and returns it as an
/// 8-bit RGB PNG. `name` names the figure in errors.
pub(super) fn render(
    name: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> DrawResult<()>,
) -> Result<Vec<u8>> {
    static FONT_ONCE: Once = Once::new();
    FONT_ONCE.call_once(|| {
        // A font that does not parse shows up below as a failed text draw, naming the figure.
        let _ = plotters::style::register_font(FONT_NAME, FontStyle::Normal, FONT);
    });
    let fail = |e: &dyn std::fmt::Display| ReconError::Failed(format!("drawing the figure '{name}': {e}"));
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        draw(&root).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    encode_rgb_png((w, h), &rgb).map_err(|e| fail(&e))
}

/// Encodes 8-bit RGB pixels (row-major, top row first) as a PNG.
fn encode_rgb_png((w, h): (u32, u32), rgb: &[u8]) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// Grey level of `v` on the scale `[lo, hi]` (clipped; NaN is black).
pub(super) fn grey(v: f32, lo: f32, hi: f32) -> RGBColor {
    let t = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.0 };
    let g = if t.is_nan() { 0 } else { (t * 255.0).round() as u8 };
    RGBColor(g, g, g)
}

/// Viridis colour of `v` on the scale `[lo, hi]` (clipped; NaN is the low end).
pub(super) fn viridis(v: f32, lo: f32, hi: f32) -> RGBColor {
    let t = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.0 };
    ViridisRGB::get_color(if t.is_nan() { 0.0 } else { t })
}

/// Shows an `(h, w)` image whose pixel `(i, j)` (row `i` from the top) has colour
/// `colour(i, j)` in `area`, under `title`: resampled (nearest neighbour) to the largest size
/// that fits with the aspect ratio kept, centred.
pub(super) fn image_panel(
    area: &Area<'_>,
    title: &str,
    (h, w): (usize, usize),
    colour: impl Fn(usize, usize) -> RGBColor,
) -> DrawResult<()> {
    const TITLE_H: u32 = 18;
    let (aw, ah) = area.dim_in_pixel();
    area.draw(&Text::new(title.to_string(), (4, 2), text(13)))?;
    let (bw, bh) = (aw.saturating_sub(8), ah.saturating_sub(TITLE_H + 4));
    if h == 0 || w == 0 || bw == 0 || bh == 0 {
        return Ok(());
    }
    let scale = (bw as f64 / w as f64).min(bh as f64 / h as f64);
    let pw = ((w as f64 * scale).floor() as u32).clamp(1, bw);
    let ph = ((h as f64 * scale).floor() as u32).clamp(1, bh);
    let mut buf = Vec::with_capacity(pw as usize * ph as usize * 3);
    for y in 0..ph {
        let i = (((y as f64 + 0.5) / scale) as usize).min(h - 1);
        for x in 0..pw {
            let j = (((x as f64 + 0.5) / scale) as usize).min(w - 1);
            let RGBColor(r, g, b) = colour(i, j);
            buf.extend([r, g, b]);
        }
    }
    let at = (((aw - pw) / 2) as i32, (TITLE_H + (bh - ph) / 2) as i32);
    let image: BitMapElement<(i32, i32)> =
        BitMapElement::with_owned_buffer(at, (pw, ph), buf).ok_or("image buffer of the wrong size")?;
    area.draw(&image)?;
    Ok(())
}

/// A horizontal colour bar of `area`'s width: `colour(t)` for t from 0 (left) to 1 (right),
/// `low` and `high` written under its ends and `what` in the middle.
pub(super) fn colour_bar(
    area: &Area<'_>,
    (low, what, high): (&str, &str, &str),
    colour: impl Fn(f32) -> RGBColor,
) -> DrawResult<()> {
    let (aw, _) = area.dim_in_pixel();
    let (x0, x1, bar_h) = (10i32, aw as i32 - 10, 14i32);
    for x in x0..x1 {
        let t = (x - x0) as f32 / (x1 - x0 - 1).max(1) as f32;
        area.draw(&Rectangle::new([(x, 4), (x + 1, 4 + bar_h)], colour(t).filled()))?;
    }
    area.draw(&Rectangle::new([(x0, 4), (x1, 4 + bar_h)], BLACK.stroke_width(1)))?;
    let y = 6 + bar_h;
    area.draw(&Text::new(low.to_string(), (x0, y), text(12)))?;
    let centre = text(12).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(what.to_string(), ((x0 + x1) / 2, y), centre))?;
    let right = text(12).pos(Pos::new(HPos::Right, VPos::Top));
    area.draw(&Text::new(high.to_string(), (x1, y), right))?;
    Ok(())
}

/// The distinct strings of `items`, in order of first appearance (masks and methods keep the
/// study's order in legends, rows and tables).
pub(super) fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for s in items {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
