//! [`H5File`]: any HDF5 file, opened read-only, listed, and read a slice at a time after the
//! checks of [`super::check`].

use super::check::{
    check_dataset, classify, decode_floats, int_zero_or_one, one_line, Checked, Elem, Storage, MAX_EXPANSION,
};
use super::{AttrValue, DatasetInfo};
use crate::error::{ReconError, Result};
use crate::io::limits::{check_regular_file, check_size, Cap};
use hdf5_pure as h5;
use kspace::C32;
use ndarray::{Array2, ArrayD, IxDyn};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Group nesting and dataset count followed when listing a file (guards against link cycles).
const MAX_GROUP_DEPTH: usize = 8;
const MAX_LISTED: usize = 10_000;

/// Metadata read-ahead cache and decompressed-chunk cache (per dataset) of an open file.
const METADATA_CACHE_BYTES: usize = 4 << 20;
const CHUNK_CACHE_BYTES: usize = 32 << 20;
const CHUNK_CACHE_SLOTS: usize = 128;

/// Any HDF5 file, opened read-only for listing and slice-by-slice reads.
///
/// Opening reads only metadata (superblock, group entries, dataset headers, root
/// attributes); data is read on demand, one slice at a time. The file is never modified.
/// `H5File` is `Send + Sync`: slices may be read from several threads.
pub struct H5File {
    path: PathBuf,
    file: h5::File,
    file_size: u64,
    datasets: Vec<DatasetInfo>,
    attrs: BTreeMap<String, AttrValue>,
    checked: Mutex<HashMap<String, Arc<Checked>>>,
}

/// Opens any HDF5 file (same as [`H5File::open`]).
pub fn open_any(path: &Path) -> Result<H5File> {
    H5File::open(path)
}

impl std::fmt::Debug for H5File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H5File")
            .field("path", &self.path)
            .field("datasets", &self.datasets)
            .field("attrs", &self.attrs)
            .finish_non_exhaustive()
    }
}

impl H5File {
    /// Opens `path`, lists its datasets and reads its root attributes. Fails with a
    /// [`ReconError::Format`] for anything but a regular file (a FIFO would block, a device
    /// never ends), an empty file, a file without the HDF5 signature, or one whose metadata
    /// is truncated or corrupt.
    pub fn open(path: &Path) -> Result<Self> {
        let file_size = check_regular_file(path)?;
        if file_size == 0 {
            return Err(ReconError::format(path, "empty file (0 bytes), not an HDF5 file"));
        }
        match h5::is_hdf5(path) {
            Ok(true) => {}
            Ok(false) => return Err(ReconError::format(path, "not an HDF5 file (no HDF5 signature)")),
            Err(e) if e.kind() == std::io::ErrorKind::Other => {
                return Err(ReconError::format(path, format!("not a readable HDF5 file: {}", one_line(&e))))
            }
            Err(e) => return Err(ReconError::io(path, e)),
        }
        let props = h5::FileAccessProperties::new()
            .with_metadata_cache(h5::MetadataCacheConfig::new(METADATA_CACHE_BYTES))
            .with_chunk_cache(h5::ChunkCacheConfig::from_h5p_cache(CHUNK_CACHE_SLOTS, CHUNK_CACHE_BYTES));
        let file = h5::File::open_streaming_with_options(path, props).map_err(|e| match e {
            h5::Error::Io(io) => ReconError::io(path, io),
            e => ReconError::format(
                path,
                format!("unreadable HDF5 file (truncated or corrupt?): {}", one_line(&e)),
            ),
        })?;
        let sb = file.superblock();
        if sb.eof_address != u64::MAX {
            let eof = sb.base_address.get().saturating_add(sb.eof_address);
            if eof > file_size {
                return Err(ReconError::format(
                    path,
                    format!("file is truncated: its HDF5 superblock says {eof} bytes but the file has {file_size}"),
                ));
            }
        }
        let root = file.root();
        let mut datasets = Vec::new();
        list_group(path, &file, &root, "", 0, &mut datasets)?;
        let raw_attrs = root.attrs().map_err(|e| {
            ReconError::format(path, format!("cannot read the file attributes: {}", one_line(&e)))
        })?;
        let attrs = raw_attrs.iter().filter_map(|(k, v)| Some((k.clone(), convert_attr(v)?))).collect();
        Ok(H5File {
            path: path.to_path_buf(),
            file,
            file_size,
            datasets,
            attrs,
            checked: Mutex::new(HashMap::new()),
        })
    }

    /// The file this was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every dataset in the file (groups followed), in the file's order.
    pub fn datasets(&self) -> &[DatasetInfo] {
        &self.datasets
    }

    /// The dataset called `name`, if there is one.
    pub fn dataset(&self, name: &str) -> Option<&DatasetInfo> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// Root attributes that are a string, a float or an integer (others are left out).
    pub fn attrs(&self) -> &BTreeMap<String, AttrValue> {
        &self.attrs
    }

    /// Size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    pub(super) fn err(&self, msg: impl Into<String>) -> ReconError {
        ReconError::format(&self.path, msg)
    }

    fn names(&self) -> String {
        if self.datasets.is_empty() {
            "the file has no datasets".into()
        } else {
            let names: Vec<&str> = self.datasets.iter().take(12).map(|d| d.name.as_str()).collect();
            format!("datasets: {}", names.join(", "))
        }
    }

    /// The checked handle of dataset `name` (cached).
    fn checked(&self, name: &str) -> Result<Arc<Checked>> {
        if let Some(c) = self.checked.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(self.check(name)?);
        self.checked.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), Arc::clone(&c));
        Ok(c)
    }

    fn check(&self, name: &str) -> Result<Checked> {
        if self.dataset(name).is_none() {
            return Err(self.err(format!("no `{name}` dataset ({})", self.names())));
        }
        check_dataset(&self.path, &self.file, self.file_size, name)
    }

    /// The bytes of `count` slices of `c` (along the first axis), checked against the slice
    /// cap: what a slice read will make `hdf5_pure` allocate.
    pub(super) fn check_slices(&self, c: &Checked, count: usize, what: &str) -> Result<usize> {
        let dims: Vec<usize> = std::iter::once(count).chain(c.shape.iter().skip(1).copied()).collect();
        check_size(&self.path, &format!("{what} (`{}`)", c.name), &dims, c.elem_size, Cap::Slice)
    }

    /// Reads rows `[first, first + count)` along the first axis (the whole dataset when
    /// `rows` is `None`, checked against `cap`; rows against [`Cap::Slice`]), after checking
    /// that the stored data can hold them.
    fn read_rows(&self, c: &Checked, rows: Option<(usize, usize)>, cap: Cap) -> Result<Vec<u8>> {
        let total = c.total_bytes();
        let (need, range) = match rows {
            None => (check_size(&self.path, &format!("`{}`", c.name), &c.shape, c.elem_size, cap)?, None),
            Some((first, count)) => {
                let n = c.shape.first().copied().unwrap_or(1);
                if first >= n || count > n - first {
                    return Err(ReconError::Invalid(format!(
                        "{}: slice {first} of `{}` requested but it has {n} slices",
                        self.path.display(),
                        c.name
                    )));
                }
                self.check_slices(c, count, "a slice")?;
                (total / n.max(1) * count, Some((first as u64, (first + count) as u64)))
            }
        };
        let need64 = need as u64;
        match &c.storage {
            Storage::Checked => {}
            Storage::Chunked(spans) => {
                let (lo, hi) = range.unwrap_or((0, u64::MAX));
                let avail: u64 = spans.iter().filter(|s| s.first < hi && s.end > lo).map(|s| s.bound).sum();
                if need64 > avail {
                    let what = match rows {
                        Some((first, _)) => format!("slice {first} of `{}`", c.name),
                        None => format!("`{}`", c.name),
                    };
                    return Err(self.err(format!("{what} is not fully stored in the file (missing chunks)")));
                }
            }
            Storage::ChunkedUnlisted => {
                if need64 > self.file_size.saturating_mul(MAX_EXPANSION) {
                    return Err(self.err(format!("`{}` claims more data than the file can hold", c.name)));
                }
            }
        }
        let raw = match range {
            _ if need == 0 => Ok(Vec::new()),
            None => c.ds.read_raw(),
            Some((lo, hi)) => c.ds.read_raw_rows(lo, hi - lo),
        }
        .map_err(|e| self.err(format!("cannot read `{}`: {}", c.name, one_line(&e))))?;
        if raw.len() != need {
            return Err(self.err(format!("`{}`: read {} bytes, expected {need}", c.name, raw.len())));
        }
        Ok(raw)
    }

    /// The checked dataset `name`, which must be real-valued (float32 or float64) of `rank`.
    pub(super) fn real(&self, name: &str, rank: Option<usize>) -> Result<Arc<Checked>> {
        let c = self.checked(name)?;
        if !matches!(c.elem, Elem::Float { .. }) {
            return Err(self.err(format!("`{name}` has dtype {}, expected float32", c.dtype)));
        }
        if let Some(r) = rank {
            if c.shape.len() != r {
                return Err(self.err(format!("`{name}` has shape {:?}, expected {r} dimensions", c.shape)));
            }
        }
        Ok(c)
    }

    pub(super) fn complex(&self, name: &str) -> Result<Arc<Checked>> {
        let c = self.checked(name)?;
        match c.elem {
            Elem::Complex { width: 4, .. } => Ok(c),
            _ => Err(self.err(format!(
                "`{name}` has dtype {}, expected complex64 (compound {{r: float32, i: float32}})",
                c.dtype
            ))),
        }
    }

    /// Slice `i` (along the first axis) of a 3-D real dataset (float32, or float64 converted),
    /// e.g. `reconstruction` of a prediction file. NaN or Inf is an error.
    pub fn read_f32_slice(&self, name: &str, i: usize) -> Result<Array2<f32>> {
        let c = self.real(name, Some(3))?;
        let data = self.decode_real(&c, &self.read_rows(&c, Some((i, 1)), Cap::Slice)?, Some(i))?;
        Array2::from_shape_vec((c.shape[1], c.shape[2]), data).map_err(|e| self.err(e.to_string()))
    }

    /// A whole real dataset of any rank (float32, or float64 converted). NaN or Inf is an error.
    pub fn read_f32(&self, name: &str) -> Result<ArrayD<f32>> {
        let c = self.real(name, None)?;
        let data = self.decode_real(&c, &self.read_rows(&c, None, Cap::Stream)?, None)?;
        ArrayD::from_shape_vec(IxDyn(&c.shape), data).map_err(|e| self.err(e.to_string()))
    }

    /// Slice `i` (along the first axis) of a complex64 dataset of rank ≥ 1, with the
    /// remaining dimensions. NaN or Inf is an error.
    pub fn read_c32_slice(&self, name: &str, i: usize) -> Result<ArrayD<C32>> {
        let c = self.complex(name)?;
        if c.shape.is_empty() {
            return Err(self.err(format!("`{name}` is a scalar, it has no slices")));
        }
        let data = self.decode_complex(&c, &self.read_rows(&c, Some((i, 1)), Cap::Slice)?, Some(i))?;
        ArrayD::from_shape_vec(IxDyn(&c.shape[1..]), data).map_err(|e| self.err(e.to_string()))
    }

    /// A whole 0/1 dataset (a sampling mask): an h5py `bool` (enum over an integer), any
    /// integer type or a float type (fastMRI files written with float32 masks), every value 0
    /// or 1; any other value is an error naming it. Checked against [`Cap::Slice`].
    pub fn read_bool(&self, name: &str) -> Result<Vec<bool>> {
        let c = self.checked(name)?;
        let float = match c.elem {
            Elem::Float { width, be } => Some((width, be)),
            Elem::Bool { .. } | Elem::Int { .. } => None,
            _ => {
                return Err(
                    self.err(format!("`{name}` has dtype {}, expected bool, integer or float 0/1", c.dtype))
                )
            }
        };
        let raw = self.read_rows(&c, None, Cap::Slice)?;
        let bad = |at: usize, value: String| {
            self.err(format!("`{name}` holds {value} at index {at}; a mask must be 0 or 1 everywhere"))
        };
        match float {
            Some((width, be)) => decode_floats(&raw, c.elem_size, 0, width, be)
                .into_iter()
                .enumerate()
                .map(|(at, v)| if v == 0.0 || v == 1.0 { Ok(v == 1.0) } else { Err(bad(at, format!("{v}"))) })
                .collect(),
            None => {
                let be = matches!(c.elem, Elem::Int { be: true } | Elem::Bool { be: true });
                raw.chunks_exact(c.elem_size.max(1))
                    .enumerate()
                    .map(|(at, e)| {
                        int_zero_or_one(e, be).ok_or_else(|| bad(at, format!("the bytes {e:02x?}")))
                    })
                    .collect()
            }
        }
    }

    /// The bytes of a string dataset (fixed-length: trailing NULs removed; variable-length:
    /// elements concatenated) or of an 8-bit integer dataset.
    pub fn read_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let c = self.checked(name)?;
        match c.elem {
            Elem::FixedStr => {
                let raw = self.read_rows(&c, None, Cap::Stream)?;
                let mut out = Vec::with_capacity(raw.len());
                for e in raw.chunks(c.elem_size.max(1)) {
                    let end = e.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                    out.extend_from_slice(&e[..end]);
                }
                Ok(out)
            }
            Elem::VlenStr => {
                let payload =
                    c.ds.vlen_string_payload_size()
                        .map_err(|e| self.err(format!("cannot read `{name}`: {}", one_line(&e))))?;
                if payload > self.file_size {
                    return Err(
                        self.err(format!("`{name}` claims {payload} bytes of strings, more than the file"))
                    );
                }
                // The string references, then the strings.
                check_size(&self.path, &format!("`{name}`"), &c.shape, 16, Cap::Stream)?;
                check_size(
                    &self.path,
                    &format!("the strings of `{name}`"),
                    &[payload as usize],
                    2,
                    Cap::Stream,
                )?;
                let strings =
                    c.ds.read_string()
                        .map_err(|e| self.err(format!("cannot read `{name}`: {}", one_line(&e))))?;
                Ok(strings.concat().into_bytes())
            }
            Elem::Int { .. } if c.elem_size == 1 => self.read_rows(&c, None, Cap::Stream),
            _ => Err(self.err(format!("`{name}` has dtype {}, expected bytes or a string", c.dtype))),
        }
    }

    fn nonfinite(&self, c: &Checked, slice: Option<usize>, at: usize) -> ReconError {
        let inner = match slice {
            Some(_) => &c.shape[1..],
            None => &c.shape[..],
        };
        let mut idx = vec![0; inner.len()];
        let mut rem = at;
        for (k, &d) in inner.iter().enumerate().rev() {
            idx[k] = rem % d.max(1);
            rem /= d.max(1);
        }
        let place = match slice {
            Some(s) => format!("slice {s} at {idx:?}"),
            None => format!("at {idx:?}"),
        };
        self.err(format!("`{}` contains NaN or Inf ({place})", c.name))
    }

    fn decode_real(&self, c: &Checked, raw: &[u8], slice: Option<usize>) -> Result<Vec<f32>> {
        let Elem::Float { width, be } = c.elem else {
            return Err(self.err(format!("`{}` is not real-valued", c.name)));
        };
        let out = decode_floats(raw, c.elem_size, 0, width, be);
        match out.iter().position(|v| !v.is_finite()) {
            Some(at) => Err(self.nonfinite(c, slice, at)),
            None => Ok(out),
        }
    }

    fn decode_complex(&self, c: &Checked, raw: &[u8], slice: Option<usize>) -> Result<Vec<C32>> {
        let Elem::Complex { width, re, im, be } = c.elem else {
            return Err(self.err(format!("`{}` is not complex", c.name)));
        };
        let size = c.elem_size;
        let out: Vec<C32> = if width == 4 && re == 0 && im == 4 && size == 8 && !be {
            // The h5py layout: straight little-endian pairs.
            raw.chunks_exact(8)
                .map(|e| {
                    C32::new(
                        f32::from_le_bytes([e[0], e[1], e[2], e[3]]),
                        f32::from_le_bytes([e[4], e[5], e[6], e[7]]),
                    )
                })
                .collect()
        } else {
            let r = decode_floats(raw, size, re, width, be);
            let i = decode_floats(raw, size, im, width, be);
            r.into_iter().zip(i).map(|(a, b)| C32::new(a, b)).collect()
        };
        match out.iter().position(|v| !(v.re.is_finite() && v.im.is_finite())) {
            Some(at) => Err(self.nonfinite(c, slice, at)),
            None => Ok(out),
        }
    }
}

/// Lists the datasets of `group` (and its subgroups) into `out`.
fn list_group(
    path: &Path,
    file: &h5::File,
    group: &h5::Group,
    prefix: &str,
    depth: usize,
    out: &mut Vec<DatasetInfo>,
) -> Result<()> {
    let bad = |e: h5::Error| {
        ReconError::format(
            path,
            format!("unreadable HDF5 structure (truncated or corrupt?): {}", one_line(&e)),
        )
    };
    for name in group.datasets().map_err(bad)? {
        if out.len() >= MAX_LISTED {
            return Ok(());
        }
        let full = format!("{prefix}{name}");
        let info = match file.dataset(&full) {
            Ok(ds) => {
                let shape =
                    ds.shape().ok().and_then(|s| s.into_iter().map(|d| usize::try_from(d).ok()).collect());
                let dtype = ds.datatype().map(|dt| classify(&dt).1).ok();
                let chunks = ds
                    .chunk_shape()
                    .ok()
                    .flatten()
                    .and_then(|s| s.into_iter().map(|d| usize::try_from(d).ok()).collect());
                match (shape, dtype) {
                    (Some(shape), Some(dtype)) => {
                        DatasetInfo { name: full, shape, dtype, chunks, filters: ds.filters() }
                    }
                    (shape, _) => DatasetInfo {
                        name: full,
                        shape: shape.unwrap_or_default(),
                        dtype: "unreadable".into(),
                        chunks,
                        filters: Vec::new(),
                    },
                }
            }
            Err(_) => DatasetInfo {
                name: full,
                shape: Vec::new(),
                dtype: "unreadable".into(),
                chunks: None,
                filters: Vec::new(),
            },
        };
        out.push(info);
    }
    if depth < MAX_GROUP_DEPTH {
        for name in group.groups().map_err(bad)? {
            let full = format!("{prefix}{name}");
            if let Ok(sub) = file.group(&full) {
                list_group(path, file, &sub, &format!("{full}/"), depth + 1, out)?;
            }
        }
    }
    Ok(())
}

/// A scalar string / float / integer attribute; `None` for anything else.
fn convert_attr(v: &h5::AttrValue) -> Option<AttrValue> {
    if let Some(s) = v.as_str() {
        return Some(AttrValue::Str(s.to_string()));
    }
    if let Some(f) = v.as_f64() {
        return Some(AttrValue::Float(f));
    }
    v.as_i64().map(AttrValue::Int)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<H5File>();
        check::<super::super::FastMriFile>();
    }
}
