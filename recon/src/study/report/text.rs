//! The figures' drawing backend: plotters' RGB bitmap with its text drawn here.
//!
//! plotters 0.3.7's `ab_glyph` font backend places each glyph at the pen position without its
//! left side bearing, so letters with a bearing ("p", "a", "d", ...) are shifted left by up to
//! a pixel or two and small labels read "p attern". [`Canvas`] delegates everything to the
//! bitmap backend except `draw_text`, which rasterises the same font with ab_glyph itself,
//! each glyph at its own pixel bounds. The layout (text size, anchor, baseline at half the font
//! size, rotation) is plotters' own, so labels land where plotters laid them out.

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

type BackendError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// An RGB bitmap (plotters' `BitMapBackend`) whose text is drawn with correct glyph bearings.
/// It passes on what the bitmap draws itself (pixels, lines, rectangles, bitmaps); paths,
/// circles and polygons are rasterised by plotters' defaults into those.
pub(crate) struct Canvas<'a> {
    bitmap: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> Canvas<'a> {
    pub(super) fn new(bitmap: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
        Canvas { bitmap, font }
    }
}

/// Rasterises `text` at `size` pixels: calls `put(x, y, coverage)` for every covered pixel,
/// with x from the pen's start and the baseline at y = size / 2 (plotters' convention).
/// Returns the advance width (plotters' layout width).
pub(crate) fn rasterise(
    font: &FontRef<'_>,
    size: f32,
    text: &str,
    mut put: impl FnMut(i32, i32, f32),
) -> f32 {
    let scaled = font.as_scaled(size);
    let (mut caret, mut prev) = (0.0f32, None);
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(size, ab_glyph::point(caret, size / 2.0));
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|x, y, coverage| put(x0 + x as i32, y0 + y as i32, coverage));
        }
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    caret
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = BackendError;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<BackendError>> {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<BackendError>> {
        self.bitmap.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<BackendError>> {
        self.bitmap.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<BackendError>> {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<BackendError>> {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<BackendError>> {
        self.bitmap.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<BackendError>> {
        self.bitmap.estimate_text_size(text, style)
    }

    /// plotters' default `draw_text` (anchor from the layout box, then rotation), with the
    /// glyphs from [`rasterise`].
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<BackendError>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let ((min_x, min_y), (max_x, max_y)) =
            style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut result = Ok(());
        let font = self.font.clone();
        rasterise(&font, style.size() as f32, text, |x, y, coverage| {
            let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if result.is_ok() && coverage > 0.0 && x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                let pixel = BackendColor { alpha: color.alpha * coverage.min(1.0) as f64, rgb: color.rgb };
                result = self.bitmap.draw_pixel((x, y), pixel);
            }
        });
        result
    }
}
