//! Text overlay: random strings drawn with an embedded 8×8 bitmap font.
//!
//! The font is [`crate::engine::font`] (public-domain "font8x8", shared with the training
//! plot's labels), compiled into the binary: no system font is ever read.

use kspace::rng::MaskRng;
use ndarray::{Array2, Array3};

pub use crate::engine::font::{glyph_pixel, FIRST, LAST};

/// Integer scales the strings are drawn at (8, 16 or 24 pixels high).
pub const SCALES: [usize; 3] = [1, 2, 3];

/// The `(8·s, 8·len·s)` bitmap of `text` at scale `s` (what the tests check the font with).
#[cfg(test)]
pub fn render(text: &[u8], s: usize) -> Array2<bool> {
    Array2::from_shape_fn((8 * s, 8 * s * text.len()), |(i, j)| {
        glyph_pixel(text[j / (8 * s)], i / s, (j % (8 * s)) / s)
    })
}

/// Draws random strings (3–15 printable ASCII characters, scale from [`SCALES`], a colour
/// uniform on `[−0.5, 0.5]` per channel, a position anywhere that leaves part of the string
/// in the image) one character at a time, until at least `coverage` of the pixels are
/// covered by glyph pixels. The last character may overshoot by at most one glyph
/// (`64·3²` pixels). Returns the image and the mask of uncovered pixels.
pub fn overlay(clean: &Array3<f32>, coverage: f64, rng: &mut MaskRng) -> (Array3<f32>, Array2<f32>) {
    let (c, h, w) = clean.dim();
    let mut y = clean.clone();
    let mut valid = Array2::<f32>::ones((h, w));
    let want = (coverage.clamp(0.0, 1.0) * (h * w) as f64).ceil() as usize;
    let mut covered = 0usize;
    let mut strings = 0;
    let draw = |rng: &mut MaskRng, n: usize| (rng.uniform() * n as f64) as usize % n.max(1);
    while covered < want && strings < 100_000 {
        strings += 1;
        let s = SCALES[draw(rng, SCALES.len())];
        let len = 3 + draw(rng, 13);
        let text: Vec<u8> = (0..len).map(|_| FIRST + draw(rng, (LAST - FIRST + 1) as usize) as u8).collect();
        let colour: Vec<f32> = (0..c).map(|_| (rng.uniform() - 0.5) as f32).collect();
        let (gh, gw) = (8 * s, 8 * s * len);
        let top = draw(rng, h + gh) as i64 - gh as i64 + 1;
        let left = draw(rng, w + gw / 2) as i64 - (gw / 2) as i64;
        for (k, &ch) in text.iter().enumerate() {
            for i in 0..gh {
                for jj in 0..8 * s {
                    if !glyph_pixel(ch, i / s, jj / s) {
                        continue;
                    }
                    let (r, col) = (top + i as i64, left + (k * 8 * s + jj) as i64);
                    if r < 0 || col < 0 || r >= h as i64 || col >= w as i64 {
                        continue;
                    }
                    let (r, col) = (r as usize, col as usize);
                    for (ci, &v) in colour.iter().enumerate() {
                        y[[ci, r, col]] = v;
                    }
                    if valid[[r, col]] == 1.0 {
                        valid[[r, col]] = 0.0;
                        covered += 1;
                    }
                }
            }
            if covered >= want {
                break;
            }
        }
    }
    (y, valid)
}
