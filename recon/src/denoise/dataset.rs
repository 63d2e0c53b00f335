//! Photos for the denoising pipelines: PNG files read into `(C, H, W)` arrays in the paper's
//! range `[−0.5, 0.5]`, random crops, and pairs of real noisy captures matched by file name.

use std::path::{Path, PathBuf};

use kspace::rng::MaskRng;
use ndarray::{s, Array3, Axis};

use super::{grey::is_grey, prep::centred};
use crate::{io::png::read_png, ReconError, Result};

/// One photo.
#[derive(Clone, Debug)]
pub struct Photo {
    /// File name (no directory).
    pub name: String,
    /// `(C, H, W)` in `[−0.5, 0.5]`.
    pub data: Array3<f32>,
    /// The file is grey (one channel, or equal channels): its noise is one draw in every
    /// channel ([`super::grey`]).
    pub grey: bool,
}

/// Reads one PNG as `(channels, H, W)` in `[−0.5, 0.5]`.
pub fn read_photo(path: &Path, channels: usize) -> Result<Photo> {
    let im = read_png(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Photo { name, grey: is_grey(&im.data), data: centred(&im.data, channels) })
}

/// The PNG files named by `paths`: files as they are, directories expanded to their `*.png`
/// files sorted by name. An empty result is an error naming the paths.
pub fn png_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| ReconError::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")) && f.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(ReconError::io(p, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
    }
    if out.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(ReconError::Invalid(format!("no PNG files in {}", names.join(", "))));
    }
    Ok(out)
}

/// All photos of `paths` (see [`png_files`]) with `channels` channels, each at least
/// `min_size` pixels on both sides (smaller ones are an error naming the file).
pub fn load_photos(paths: &[PathBuf], channels: usize, min_size: usize) -> Result<Vec<Photo>> {
    png_files(paths)?
        .iter()
        .map(|f| {
            let p = read_photo(f, channels)?;
            let (_, h, w) = p.data.dim();
            if h < min_size || w < min_size {
                return Err(ReconError::format(
                    f,
                    format!("{h}×{w} is smaller than the {min_size}-pixel crop"),
                ));
            }
            Ok(p)
        })
        .collect()
}

/// A uniformly placed `crop × crop` window `(top, left)` of an `h × w` image.
pub fn crop_origin(h: usize, w: usize, crop: usize, rng: &mut MaskRng) -> (usize, usize) {
    let pick = |n: usize, rng: &mut MaskRng| {
        let span = n.saturating_sub(crop) + 1;
        ((rng.uniform() * span as f64) as usize).min(span - 1)
    };
    let top = pick(h, rng);
    (top, pick(w, rng))
}

/// The `crop × crop` window at `(top, left)`.
pub fn crop_at(x: &Array3<f32>, (top, left): (usize, usize), crop: usize) -> Array3<f32> {
    x.slice(s![.., top..top + crop, left..left + crop]).to_owned()
}

/// The centred `size × size` window (or the whole side where the image is smaller).
pub fn centre_crop(x: &Array3<f32>, size: usize) -> Array3<f32> {
    let (_, h, w) = x.dim();
    let (ch, cw) = (size.min(h), size.min(w));
    let (t, l) = ((h - ch) / 2, (w - cw) / 2);
    x.slice(s![.., t..t + ch, l..l + cw]).to_owned()
}

/// Real noisy–noisy pairs: two folders holding the same file names (two captures of each
/// scene). Files are matched by name; a name found in only one folder, or a pair of
/// different sizes, is an error naming the file.
pub fn load_pairs(dir: &Path, channels: usize, min_size: usize) -> Result<Vec<(Photo, Photo)>> {
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ReconError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    if subdirs.len() != 2 {
        return Err(ReconError::format(
            dir,
            format!(
                "--pairs wants a folder with exactly two subfolders (e.g. a/ and b/) holding the two \
                 captures under the same file names; found {}",
                subdirs.len()
            ),
        ));
    }
    let a = load_photos(&subdirs[..1], channels, min_size)?;
    let b = load_photos(&subdirs[1..], channels, min_size)?;
    let names = |v: &[Photo]| v.iter().map(|p| p.name.clone()).collect::<std::collections::BTreeSet<_>>();
    let (na, nb) = (names(&a), names(&b));
    if let Some(n) = na.symmetric_difference(&nb).next() {
        let (has, lacks) =
            if na.contains(n) { (&subdirs[0], &subdirs[1]) } else { (&subdirs[1], &subdirs[0]) };
        return Err(ReconError::format(
            has.join(n),
            format!("no file of the same name in {} to pair it with", lacks.display()),
        ));
    }
    let mut pairs = Vec::with_capacity(a.len());
    let mut by_name: std::collections::BTreeMap<String, Photo> =
        b.into_iter().map(|p| (p.name.clone(), p)).collect();
    for pa in a {
        let Some(pb) = by_name.remove(&pa.name) else {
            return Err(ReconError::format(
                subdirs[0].join(&pa.name),
                "no file of the same name to pair it with",
            ));
        };
        if pa.data.dim() != pb.data.dim() {
            return Err(ReconError::format(
                subdirs[1].join(&pb.name),
                format!("size {:?} differs from its pair's {:?}", pb.data.dim(), pa.data.dim()),
            ));
        }
        pairs.push((pa, pb));
    }
    Ok(pairs)
}

/// Writes a `(C, H, W)` photo with values in `[0, 1]` as an 8-bit PNG (grey for C = 1, RGB
/// for C = 3), clipped, atomically.
pub fn write_photo(path: &Path, x: &Array3<f32>) -> Result<()> {
    match x.dim().0 {
        3 => crate::io::png::write_png_rgb(path, x),
        1 => crate::io::png::write_png_gray(path, &x.index_axis(Axis(0), 0), 0.0, 1.0, 8),
        c => Err(ReconError::Invalid(format!("{}: cannot write a {c}-channel photo", path.display()))),
    }
}
