//! PNG images: 8- and 16-bit greyscale and RGB out, any PNG in.
//!
//! Arrays are row-major images: row 0 is the top row of the picture. Colour images are
//! **channel-first** `(C, H, W)` everywhere in this module, the layout the networks use.
//! Sample values are mapped linearly to `[0, 1]` (`v / (2^bits − 1)`).
//!
//! Reading refuses anything but a regular file, reads at most the stream cap, and checks the
//! declared size before decoding against the slice cap ([`limits`]), counting 8 bytes per
//! decoded sample: what the image costs once it is complex64 k-space (a 16384² 8-bit grey PNG
//! of 261 KB would be 2 GiB).

use crate::error::{ReconError, Result};
use crate::io::atomic::write_atomic;
use crate::io::limits::{self, Cap};
use ndarray::{Array2, Array3, ArrayBase, Axis, Data, Ix2, Ix3};
use png::{BitDepth, ColorType, Transformations};
use std::path::Path;

/// Bytes counted per decoded sample against the slice cap (complex64, see the module doc).
const BYTES_PER_SAMPLE: usize = 8;

/// A decoded PNG.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `(C, H, W)` with `C = 1` (grey, grey + alpha) or `C = 3` (RGB, RGBA, palette), values in
    /// `[0, 1]`. Alpha is dropped; palettes are expanded; 1/2/4-bit grey is scaled to 8 bits
    /// exactly (`v / (2^b − 1)`).
    pub data: Array3<f32>,
    /// Bits per decoded sample: 16 for 16-bit files, 8 for everything else (including palette
    /// and 1/2/4-bit files). Values are multiples of `1 / (2^bit_depth − 1)`.
    pub bit_depth: u8,
}

impl Image {
    /// Number of channels (1 or 3).
    pub fn channels(&self) -> usize {
        self.data.dim().0
    }

    /// Height and width.
    pub fn size(&self) -> (usize, usize) {
        let (_, h, w) = self.data.dim();
        (h, w)
    }

    /// Greyscale version: the single channel as is, or the ITU-R BT.601 luma
    /// `Y = 0.299·R + 0.587·G + 0.114·B` (what PIL's `convert("L")` uses) for RGB.
    pub fn to_gray(&self) -> Array2<f32> {
        if self.channels() == 1 {
            return self.data.index_axis(Axis(0), 0).to_owned();
        }
        let (r, g, b) = (
            self.data.index_axis(Axis(0), 0),
            self.data.index_axis(Axis(0), 1),
            self.data.index_axis(Axis(0), 2),
        );
        ndarray::Zip::from(&r).and(&g).and(&b).map_collect(|&r, &g, &b| 0.299 * r + 0.587 * g + 0.114 * b)
    }
}

/// Writes a greyscale PNG of `bit_depth` 8 or 16: value `v` becomes
/// `round((v − lo) / (hi − lo) · (2^bits − 1))`, clipped to `[0, 2^bits − 1]`, so `lo` is black
/// and `hi` white. NaN pixels, `lo ≥ hi` and empty images are errors.
pub fn write_png_gray<S: Data<Elem = f32>>(
    path: impl AsRef<Path>,
    image: &ArrayBase<S, Ix2>,
    lo: f32,
    hi: f32,
    bit_depth: u8,
) -> Result<()> {
    let path = path.as_ref();
    let depth = match bit_depth {
        8 => BitDepth::Eight,
        16 => BitDepth::Sixteen,
        _ => return Err(invalid(path, format!("PNG bit depth must be 8 or 16, got {bit_depth}"))),
    };
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(invalid(path, format!("grey range must be finite with lo < hi, got [{lo}, {hi}]")));
    }
    check_no_nan(path, image.iter())?;
    let max = ((1u32 << bit_depth) - 1) as f64;
    let (lo, span) = (lo as f64, hi as f64 - lo as f64);
    let quant = |v: f32| (((v as f64 - lo) / span) * max).round().clamp(0.0, max) as u16;
    let (h, w) = image.dim();
    let mut bytes = Vec::with_capacity(h * w * (bit_depth as usize / 8));
    for &v in image.iter() {
        push_sample(&mut bytes, quant(v), bit_depth);
    }
    encode(path, (h, w), ColorType::Grayscale, depth, &bytes)
}

/// Writes an 8-bit RGB PNG from a channel-first `(3, H, W)` image with values in `[0, 1]`
/// (`round(255·v)`, clipped; ±∞ clip too). NaN pixels and other shapes are errors.
pub fn write_png_rgb<S: Data<Elem = f32>>(path: impl AsRef<Path>, image: &ArrayBase<S, Ix3>) -> Result<()> {
    let path = path.as_ref();
    let (c, h, w) = image.dim();
    if c != 3 {
        return Err(invalid(path, format!("RGB image must be (3, H, W), got {:?}", image.shape())));
    }
    check_no_nan(path, image.iter())?;
    let mut bytes = Vec::with_capacity(3 * h * w);
    for i in 0..h {
        for j in 0..w {
            for k in 0..3 {
                bytes.push((image[[k, i, j]] as f64 * 255.0).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    encode(path, (h, w), ColorType::Rgb, BitDepth::Eight, &bytes)
}

/// Writes a boolean mask as an 8-bit greyscale PNG: `true` → 255 (white), `false` → 0.
pub fn write_mask_png<S: Data<Elem = bool>>(path: impl AsRef<Path>, mask: &ArrayBase<S, Ix2>) -> Result<()> {
    let bytes: Vec<u8> = mask.iter().map(|&m| if m { 255 } else { 0 }).collect();
    encode(path.as_ref(), mask.dim(), ColorType::Grayscale, BitDepth::Eight, &bytes)
}

/// Reads any PNG (grey, grey + alpha, RGB, RGBA, palette; 1–16 bits; interlaced or not) into
/// `(C, H, W)` values in `[0, 1]` (see [`Image`]). For animated PNGs only the default image is
/// read. Errors name the file (not a PNG, truncated, corrupt, too large).
pub fn read_png(path: impl AsRef<Path>) -> Result<Image> {
    let path = path.as_ref();
    let raw = limits::read_file(path)?;
    let bad = |e: png::DecodingError| ReconError::format(path, format!("not a readable PNG: {e}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&raw[..]));
    // EXPAND: palette → RGB(A), 1/2/4-bit grey → 8-bit, tRNS → alpha; 16-bit is kept.
    decoder.set_transformations(Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(bad)?;
    let (color, depth) = reader.output_color_type();
    let (w, h) = reader.info().size();
    let (w, h) = (w as usize, h as usize);
    let samples = color.samples();
    limits::check_size(path, "decoded PNG", &[h, w, samples], BYTES_PER_SAMPLE, Cap::Slice)?;
    let mut buf =
        vec![0u8; reader.output_buffer_size().ok_or_else(|| ReconError::format(path, "PNG too large"))?];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    let line = frame.line_size;
    let (bits, max) = match depth {
        BitDepth::Sixteen => (16u8, 65535.0f32),
        BitDepth::Eight => (8, 255.0),
        other => return Err(ReconError::format(path, format!("unexpected decoded bit depth {other:?}"))),
    };
    let (channels, stride) = match color {
        ColorType::Grayscale => (1, 1),
        ColorType::GrayscaleAlpha => (1, 2),
        ColorType::Rgb => (3, 3),
        ColorType::Rgba => (3, 4),
        ColorType::Indexed => return Err(ReconError::format(path, "palette was not expanded")),
    };
    let bytes_per = (bits / 8) as usize;
    let data = Array3::from_shape_fn((channels, h, w), |(c, i, j)| {
        let at = i * line + (j * stride + c) * bytes_per;
        let v = if bits == 16 { u16::from_be_bytes([buf[at], buf[at + 1]]) as f32 } else { buf[at] as f32 };
        v / max
    });
    Ok(Image { data, bit_depth: bits })
}

// ------------------------------------------------------------------------------------------

fn invalid(path: &Path, msg: String) -> ReconError {
    ReconError::Invalid(format!("{}: {msg}", path.display()))
}

fn check_no_nan<'a>(path: &Path, values: impl Iterator<Item = &'a f32>) -> Result<()> {
    let mut values = values;
    match values.position(|v| v.is_nan()) {
        Some(i) => Err(invalid(path, format!("image has NaN at flat index {i}; refusing to write a PNG"))),
        None => Ok(()),
    }
}

fn push_sample(bytes: &mut Vec<u8>, v: u16, bit_depth: u8) {
    if bit_depth == 16 {
        bytes.extend_from_slice(&v.to_be_bytes()); // PNG samples are big-endian
    } else {
        bytes.push(v as u8);
    }
}

/// Encodes in memory, then writes atomically.
fn encode(
    path: &Path,
    (h, w): (usize, usize),
    color: ColorType,
    depth: BitDepth,
    bytes: &[u8],
) -> Result<()> {
    if h == 0 || w == 0 || h > u32::MAX as usize || w > u32::MAX as usize {
        return Err(invalid(path, format!("a PNG must be at least 1×1 (and fit u32), got {h}×{w}")));
    }
    let enc_err = |e: png::EncodingError| invalid(path, format!("PNG encoding failed: {e}"));
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().map_err(enc_err)?;
        writer.write_image_data(bytes).map_err(enc_err)?;
        writer.finish().map_err(enc_err)?;
    }
    write_atomic(path, |tmp| std::fs::write(tmp, &out).map_err(|e| ReconError::io(tmp, e)))
}
