//! The embedded 8×8 bitmap font of the training plot's labels and of the text-overlay noise
//! (`crate::denoise::text`).
//!
//! `font8x8_basic.bin`: 95 glyphs (U+0020 … U+007E) × 8 rows, one byte per row, bit 0 =
//! leftmost pixel: the public-domain "font8x8" glyphs (Daniel Hepper, derived from Marcel
//! Sondaar's public-domain IBM VGA font); see `FONT_PROVENANCE.md` beside it. No system
//! font is ever read.

/// The glyph bitmaps of U+0020 … U+007E, 8 bytes each.
pub static FONT: &[u8; 760] = include_bytes!("font8x8_basic.bin");

/// First and last code point in [`FONT`].
pub const FIRST: u8 = 0x20;
pub const LAST: u8 = 0x7E;

/// Whether pixel `(row, col)` (0..8) of character `ch` is set; characters outside
/// U+0020 … U+007E are blank.
pub fn glyph_pixel(ch: u8, row: usize, col: usize) -> bool {
    if !(FIRST..=LAST).contains(&ch) || row >= 8 || col >= 8 {
        return false;
    }
    FONT[(ch - FIRST) as usize * 8 + row] >> col & 1 == 1
}
