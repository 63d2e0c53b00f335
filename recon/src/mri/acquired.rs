//! Training data from acquired k-space: fastMRI `.h5` (single- or multi-coil, fully sampled or
//! undersampled with a `mask`), BART `.cfl` and NIfTI (k-space simulated from the magnitude,
//! as [`crate::Scan`] does), enumerated as (file, slice) items.
//!
//! - **Inputs.** Each input is a file (or a BART base name) or a directory; a directory
//!   contributes the `.h5`/`.hdf5`, `.nii`/`.nii.gz` files and the BART base names of its
//!   `.cfl` files, sorted by name, not recursively. Every file is opened with
//!   [`crate::Scan::open`] and checked once; HDF5 bulk data is read per slice, when asked for
//!   (NIfTI and BART files are read whole by `Scan::open`: their formats have no slice
//!   reader).
//! - **One coil count.** All files of a set must have the same number of coils (a network's
//!   coil handling is fixed per batch); the error names the first file that differs. Matrix
//!   sizes may differ.
//! - **Slices.** [`AcquiredSlice`]: k-space `(C, H, W)` with the unmeasured bins zero, and the
//!   acquired [`SamplingMask`], whose keep probability is estimated by
//!   [`kspace::split::acquired_density`] (files store the flags only); fully sampled data gets
//!   an all-ones mask.
//! - **Repeats** ([`AcquiredSet::repeats`]): two acquisitions of the same slices with
//!   independent masks, in two files named `NAME_rep1.EXT` and `NAME_rep2.EXT` (or
//!   `NAME_rep0.EXT` and `NAME_rep1.EXT`; BART base names `NAME_rep1`/`NAME_rep2`) in the same
//!   directory, of the same layout (format, slices, coils, grid). A file without its partner,
//!   a name that is not a repeat, or a third repetition is an error naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Zip};

use crate::error::{ReconError, Result};
use crate::scan::Scan;

/// One training slice of acquired k-space.
#[derive(Debug, Clone)]
pub struct AcquiredSlice {
    /// Coil k-space `(C, H, W)` divided by `scale`, zero on the bins `mask` does not keep.
    pub kspace: Array3<C32>,
    /// The acquired mask (probability estimated, see the module doc); all ones when fully
    /// sampled.
    pub mask: SamplingMask,
    /// Whether every bin was measured.
    pub fully_sampled: bool,
    /// The file's reference image (in the data's own units), when it has one.
    pub reference: Option<Array2<f32>>,
    /// `file:slice`.
    pub id: String,
    /// The power of two `kspace` was divided by ([`crate::ScanSlice::scale`]); 1 for ordinary data.
    pub scale: f32,
}

/// One file, or a repeat pair, of a set.
struct Unit {
    scan: usize,
    partner: Option<usize>,
}

/// The (file, slice) items of a training set of acquired k-space (module doc).
pub struct AcquiredSet {
    scans: Vec<Scan>,
    units: Vec<Unit>,
    /// (unit, slice) per item.
    items: Vec<(usize, usize)>,
    coils: usize,
}

impl AcquiredSet {
    /// Opens every file of `inputs` (files or directories) and lists its slices.
    pub fn open(inputs: &[PathBuf]) -> Result<AcquiredSet> {
        let scans = open_all(&list_inputs(inputs)?)?;
        let units = (0..scans.len()).map(|scan| Unit { scan, partner: None }).collect();
        Ok(Self::build(scans, units))
    }

    /// Opens `inputs` as repeat pairs (`NAME_rep1.EXT` with `NAME_rep2.EXT`, or `_rep0` with
    /// `_rep1`; module doc): each item is a slice of a pair, read with
    /// [`AcquiredSet::repeat_pair`].
    pub fn repeats(inputs: &[PathBuf]) -> Result<AcquiredSet> {
        let pairs = pair_repeats(&list_inputs(inputs)?)?;
        let files: Vec<PathBuf> = pairs.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
        let scans = open_all(&files)?;
        let mut units = Vec::with_capacity(pairs.len());
        for i in 0..pairs.len() {
            let (a, b) = (&scans[2 * i], &scans[2 * i + 1]);
            check_same_layout(a, b)?;
            units.push(Unit { scan: 2 * i, partner: Some(2 * i + 1) });
        }
        Ok(Self::build(scans, units))
    }

    fn build(scans: Vec<Scan>, units: Vec<Unit>) -> AcquiredSet {
        let items = units
            .iter()
            .enumerate()
            .flat_map(|(u, unit)| (0..scans[unit.scan].num_slices).map(move |s| (u, s)))
            .collect();
        let coils = scans[0].coils;
        AcquiredSet { scans, units, items, coils }
    }

    /// Number of items (slices, or slice pairs for repeats).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set has no slice.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The coil count every file shares.
    pub fn coils(&self) -> usize {
        self.coils
    }

    /// Whether the set was opened with [`AcquiredSet::repeats`].
    pub fn is_repeats(&self) -> bool {
        self.units.first().is_some_and(|u| u.partner.is_some())
    }

    /// The opened files, in order (for repeats: each pair's first, then its second).
    pub fn scans(&self) -> &[Scan] {
        &self.scans
    }

    /// The file and slice of item `i` (the first file of a repeat pair).
    pub fn item(&self, i: usize) -> Result<(&Path, usize)> {
        let (u, s) = self.locate(i)?;
        Ok((&self.scans[self.units[u].scan].path, s))
    }

    /// Item `i`: its slice (for repeats, the first acquisition's).
    pub fn slice(&self, i: usize) -> Result<AcquiredSlice> {
        let (u, s) = self.locate(i)?;
        read_slice(&self.scans[self.units[u].scan], s)
    }

    /// Item `i` of a repeats set: the slice in both acquisitions. An error on a set opened with
    /// [`AcquiredSet::open`].
    pub fn repeat_pair(&self, i: usize) -> Result<(AcquiredSlice, AcquiredSlice)> {
        let (u, s) = self.locate(i)?;
        let unit = &self.units[u];
        let partner = unit.partner.ok_or_else(|| {
            ReconError::Invalid(
                "repeat pairs need a set opened as repeats (NAME_rep1/NAME_rep2 files)".into(),
            )
        })?;
        Ok((read_slice(&self.scans[unit.scan], s)?, read_slice(&self.scans[partner], s)?))
    }

    fn locate(&self, i: usize) -> Result<(usize, usize)> {
        self.items
            .get(i)
            .copied()
            .ok_or_else(|| ReconError::Invalid(format!("item {i} out of range (0..{})", self.items.len())))
    }
}

/// The files of `inputs`: files and BART base names as given, directories expanded (module
/// doc). Errors on no input at all and on a directory without any readable file.
pub fn list_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if inputs.is_empty() {
        return Err(ReconError::Invalid("no training data given".into()));
    }
    let mut files = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let entries = std::fs::read_dir(input).map_err(|e| ReconError::io(input, e))?;
        let mut found = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| ReconError::io(input, e))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
            if !path.is_file() || name.starts_with('.') {
                continue;
            }
            if [".h5", ".hdf5", ".nii", ".nii.gz"].iter().any(|e| name.ends_with(e)) {
                found.push(path);
            } else if name.ends_with(".cfl") {
                found.push(path.with_extension(""));
            }
        }
        if found.is_empty() {
            return Err(ReconError::format(input, "no .h5, .nii, .nii.gz or .cfl file in this directory"));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Opens every file and checks that they share one coil count.
fn open_all(files: &[PathBuf]) -> Result<Vec<Scan>> {
    let mut scans: Vec<Scan> = Vec::with_capacity(files.len());
    for f in files {
        let scan = Scan::open(f)?;
        if let Some(first) = scans.first() {
            if scan.coils != first.coils {
                return Err(ReconError::format(
                    f,
                    format!(
                        "has {} coil(s) but {} has {}: all files of a training set need the same coil count",
                        scan.coils,
                        first.path.display(),
                        first.coils
                    ),
                ));
            }
        }
        if scan.num_slices == 0 {
            return Err(ReconError::format(f, "has no slice"));
        }
        if let Some(m) = &scan.acquired_mask {
            if m.count() == 0 {
                return Err(ReconError::format(f, "its mask samples nothing"));
            }
        }
        scans.push(scan);
    }
    Ok(scans)
}

/// Slice `s` of `scan` with its mask, unmeasured bins zeroed.
fn read_slice(scan: &Scan, s: usize) -> Result<AcquiredSlice> {
    let sl = scan.slice(s)?;
    let mut kspace = sl.kspace;
    let (mask, fully_sampled) = match &scan.acquired_mask {
        Some(m) if m.count() < m.keep.len() => {
            let m = kspace::split::acquired_density(m)
                .map_err(|e| ReconError::format(&scan.path, e.to_string()))?;
            (m, false)
        }
        _ => (SamplingMask::full(scan.kspace_shape), true),
    };
    if !fully_sampled {
        for mut coil in kspace.outer_iter_mut() {
            Zip::from(&mut coil).and(&mask.keep).for_each(|v, &k| {
                if !k {
                    *v = C32::new(0.0, 0.0);
                }
            });
        }
    }
    let id = format!("{}:{s}", scan.path.display());
    Ok(AcquiredSlice { kspace, mask, fully_sampled, reference: sl.reference, id, scale: sl.scale })
}

/// A repeat's name split as (directory + NAME + extension, repetition number), or None when
/// the file name is not `NAME_repN[.EXT]`.
fn repeat_key(path: &Path) -> Option<(String, u32)> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_lowercase();
    let ext_len = [".nii.gz", ".nii", ".hdf5", ".h5", ".cfl", ".png"]
        .iter()
        .find(|e| lower.ends_with(*e))
        .map_or(0, |e| e.len());
    let (stem, ext) = name.split_at(name.len() - ext_len);
    let at = stem.rfind("_rep")?;
    let digits = &stem[at + 4..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    Some((format!("{dir}/{}{ext}", &stem[..at]), digits.parse().ok()?))
}

/// Groups `files` into (first, second) repeat pairs, in the order of their first files.
fn pair_repeats(files: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut groups: BTreeMap<String, Vec<(u32, PathBuf)>> = BTreeMap::new();
    let mut order = Vec::new();
    for f in files {
        let (key, n) = repeat_key(f).ok_or_else(|| {
            ReconError::format(
                f,
                "is not named as a repeat: expected NAME_rep1.EXT with NAME_rep2.EXT (or _rep0/_rep1)",
            )
        })?;
        let group = groups.entry(key.clone()).or_default();
        if group.is_empty() {
            order.push(key);
        }
        if group.iter().any(|(m, _)| *m == n) {
            return Err(ReconError::format(f, "is given twice"));
        }
        group.push((n, f.clone()));
    }
    let mut pairs = Vec::with_capacity(order.len());
    for key in order {
        let mut group = groups.remove(&key).unwrap_or_default();
        group.sort_by_key(|(n, _)| *n);
        match group.as_slice() {
            [(0, a), (1, b)] | [(1, a), (2, b)] => pairs.push((a.clone(), b.clone())),
            [(n, a)] => {
                let want = match n {
                    0 => "_rep1",
                    1 => "_rep2 (or _rep0)",
                    2 => "_rep1",
                    _ => "_rep1/_rep2 numbering",
                };
                return Err(ReconError::format(
                    a,
                    format!("repeat without its partner: no file with the same name ending {want} was given"),
                ));
            }
            _ => {
                let names: Vec<String> = group.iter().map(|(_, p)| p.display().to_string()).collect();
                return Err(ReconError::format(
                    &group[0].1,
                    format!(
                        "repeats {} do not form one pair: expected exactly NAME_rep1 and NAME_rep2 (or _rep0 and _rep1)",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(pairs)
}

/// Refuses a repeat pair whose files differ in format, slices, coils or grid.
fn check_same_layout(a: &Scan, b: &Scan) -> Result<()> {
    let layout = |s: &Scan| {
        format!(
            "{:?}, {} slice(s) × {} coil(s) × {}×{}",
            s.format, s.num_slices, s.coils, s.kspace_shape.0, s.kspace_shape.1
        )
    };
    let same = a.format == b.format
        && a.num_slices == b.num_slices
        && a.coils == b.coils
        && a.kspace_shape == b.kspace_shape;
    if same {
        return Ok(());
    }
    Err(ReconError::format(
        &b.path,
        format!(
            "its layout ({}) differs from its repeat partner {} ({})",
            layout(b),
            a.path.display(),
            layout(a)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_names_pair_by_stem_and_extension() {
        let key = |s: &str| repeat_key(Path::new(s));
        assert_eq!(key("d/knee_rep1.h5"), Some(("d/knee.h5".into(), 1)));
        assert_eq!(key("d/knee_rep2.h5"), Some(("d/knee.h5".into(), 2)));
        assert_eq!(key("d/brain_rep0.nii.gz"), Some(("d/brain.nii.gz".into(), 0)));
        assert_eq!(key("d/bart_rep1"), Some(("d/bart".into(), 1)));
        assert_eq!(key("d/knee.h5"), None);
        assert_eq!(key("d/knee_repx.h5"), None);
        assert_eq!(key("d/knee_rep.h5"), None);
    }
}
