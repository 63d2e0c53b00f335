//! NIfTI-1 volumes (`.nii`, `.nii.gz`), read and written the way nibabel sees them.
//!
//! * **Axes**: [`Volume::data`] is indexed `[i, j, k]` = (x, y, z) voxel indices exactly like
//!   nibabel's `img.get_fdata()[i, j, k]` (the file's order, x fastest on disk). The array is
//!   stored column-major, like the file, so reading makes no transposing copy
//!   (`data.as_slice_memory_order()` is the file's voxel order).
//! * **Values**: every integer and float datatype is converted to `f32` as
//!   `stored · scl_slope + scl_inter` (computed in f64). As in nibabel, a slope of 0 or a
//!   non-finite slope means "no scaling"; a finite slope with a non-finite intercept is an error.
//!   Complex, RGB and float128 volumes are refused.
//! * **Affine** (voxel index → world mm), chosen as nibabel's `img.affine` does: the **sform**
//!   if `sform_code > 0`, else the **qform** if `qform_code > 0` (quaternion,
//!   `qfac = pixdim[0]`), else nibabel's fallback `diag(−dx, dy, dz)` centred on the volume.
//! * **Voxel size** is `pixdim[1..=3]` (nibabel's `header.get_zooms()`), 1 for missing axes.
//! * **Shape**: 1-, 2- and 3-D files, and 4-D (up to 7-D) files whose extra dimensions are all
//!   1 (a single volume). Anything else is refused with the shape in the message.
//!
//! The header is parsed by the `nifti` crate (both byte orders); voxels are decoded and scaled
//! here so that the rules above hold (the crate would multiply by a NaN slope, for instance).
//! Writing produces a little-endian float32 NIfTI-1 single file (gzip-compressed when the name
//! ends in `.gz`) through [`crate::io::atomic::write_atomic`].

use crate::error::{ReconError, Result};
mod write;
use crate::io::limits::{self, Cap};
use flate2::read::MultiGzDecoder;
use ndarray::{Array2, Array3, Axis, ShapeBuilder};
use nifti::{Endianness, NiftiHeader};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
pub use write::write_volume;

/// NIfTI-1 header size plus the 4-byte extension flag: where voxels start in a `.nii` file.
const HEADER_BYTES: usize = 352;

/// A 3-D image with its geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// Voxel values, indexed `[x, y, z]` as nibabel's `get_fdata()`.
    pub data: Array3<f32>,
    /// Voxel index `(i, j, k, 1)` → world coordinates in mm (row-major 4×4, last row 0 0 0 1).
    pub affine: [[f64; 4]; 4],
    /// Voxel side lengths in mm along x, y, z (`pixdim[1..=3]`).
    pub voxel_size: [f64; 3],
}

impl Volume {
    /// A volume whose affine is `diag(voxel_size)`: voxel (0, 0, 0) at the world origin.
    pub fn new(data: Array3<f32>, voxel_size: [f64; 3]) -> Volume {
        let mut affine = [[0.0; 4]; 4];
        for (i, &v) in voxel_size.iter().enumerate() {
            affine[i][i] = v;
        }
        affine[3][3] = 1.0;
        Volume { data, affine, voxel_size }
    }

    /// Number of voxels along x, y, z.
    pub fn shape(&self) -> [usize; 3] {
        let (x, y, z) = self.data.dim();
        [x, y, z]
    }

    /// The 2-D slice at `index` along `axis` (0 = x, 1 = y, 2 = z), in **display
    /// orientation**: if `p < q` are the two remaining axes, the result has shape
    /// `(n_q, n_p)`, row `r` holding `q = n_q − 1 − r` and column `c` holding `p = c`. This is
    /// what matplotlib shows for `imshow(vol[..., k].T, origin="lower")` (nibabel's tutorial
    /// view): for an RAS-stored brain an axial slice (`axis = 2`) has anterior at the top and the
    /// subject's right on the right. The result is a fresh row-major array.
    pub fn slice(&self, axis: usize, index: usize) -> Result<Array2<f32>> {
        let shape = self.shape();
        if axis > 2 || index >= shape[axis] {
            return Err(ReconError::Invalid(format!(
                "slice {index} along axis {axis} is outside a volume of shape {shape:?}"
            )));
        }
        let s = self.data.index_axis(Axis(axis), index); // axes (p, q)
        let (np, nq) = s.dim();
        Ok(Array2::from_shape_fn((nq, np), |(r, c)| s[[c, nq - 1 - r]]))
    }
}

/// A checked header and the stream positioned after its first [`HEADER_BYTES`] bytes.
struct Opened {
    hdr: NiftiHeader,
    geom: Geometry,
    /// The bytes read so far (header and extension flag).
    bytes: Vec<u8>,
    reader: Box<dyn Read>,
    gz: bool,
}

/// Opens `path` (a regular file only: a FIFO or device is refused before opening) and reads
/// and checks the header; only the header is decompressed.
fn open_header(path: &Path) -> Result<Opened> {
    limits::check_regular_file(path)?;
    let bad = |msg: String| ReconError::format(path, msg);
    let file = File::open(path).map_err(|e| ReconError::io(path, e))?;
    let mut buf = BufReader::with_capacity(1 << 16, file);
    let gz = buf.fill_buf().map_err(|e| ReconError::io(path, e))?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn Read> = if gz { Box::new(MultiGzDecoder::new(buf)) } else { Box::new(buf) };
    let bytes = read_up_to(&mut reader, HEADER_BYTES).map_err(|e| {
        if gz {
            bad(format!("corrupt gzip stream: {e}"))
        } else {
            ReconError::io(path, e)
        }
    })?;
    if bytes.len() < 348 {
        return Err(bad(format!(
            "not a NIfTI-1 file: {} bytes, shorter than a NIfTI-1 header (348)",
            bytes.len()
        )));
    }
    let sizeof_hdr = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]); // ≥ 348 bytes checked
    if sizeof_hdr == 540 || sizeof_hdr.swap_bytes() == 540 {
        return Err(bad("NIfTI-2 files are not supported (save as NIfTI-1)".into()));
    }
    if sizeof_hdr != 348 && sizeof_hdr.swap_bytes() != 348 {
        return Err(bad(format!("not a NIfTI-1 file (header size field is {sizeof_hdr}, not 348)")));
    }
    let hdr = NiftiHeader::from_reader(&bytes[..348]).map_err(|e| bad(format!("not a NIfTI-1 file: {e}")))?;
    if &hdr.magic != b"n+1\0" {
        return Err(bad(format!(
            "not a single-file NIfTI-1 image (magic {:?}); .hdr/.img pairs and Analyze files are not supported",
            String::from_utf8_lossy(&hdr.magic[..3])
        )));
    }
    let geom = Geometry::from_header(&hdr).map_err(bad)?;
    Ok(Opened { hdr, geom, bytes, reader, gz })
}

/// What a NIfTI header says about the volume's place in the world.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// As [`Volume::affine`].
    pub affine: [[f64; 4]; 4],
    /// As [`Volume::voxel_size`].
    pub voxel_size: [f64; 3],
    /// Voxels along x, y, z.
    pub shape: [usize; 3],
}

/// The affine, voxel size and shape of a NIfTI file, from its header alone.
pub fn read_geometry(path: impl AsRef<Path>) -> Result<Header> {
    let o = open_header(path.as_ref())?;
    Ok(Header { affine: o.geom.affine(&o.hdr), voxel_size: o.geom.voxel_size, shape: o.geom.shape })
}

/// Reads a `.nii` or `.nii.gz` file (gzip is recognised by its magic bytes, whatever the name).
/// Errors name the file: not a regular file, not NIfTI-1 (including NIfTI-2 and `.hdr/.img`
/// pairs), truncated, unsupported datatype, more than one volume, a declared volume over the
/// stream cap ([`limits`]: checked before anything past the header is read or decompressed),
/// or scaled values that overflow float32.
pub fn read_volume(path: impl AsRef<Path>) -> Result<Volume> {
    let path = path.as_ref();
    let bad = |msg: String| ReconError::format(path, msg);
    let Opened { hdr, geom, bytes, reader, gz } = open_header(path)?;
    let (dtype_name, size) = datatype(hdr.datatype).map_err(bad)?;
    let [nx, ny, nz] = geom.shape;
    // The stored voxels and the decoded float32 volume, both against the stream cap.
    let nbytes = limits::check_size(path, "NIfTI volume", &[nx, ny, nz], size, Cap::Stream)?;
    limits::check_size(path, "decoded NIfTI volume (float32)", &[nx, ny, nz], 4, Cap::Stream)?;
    if hdr.vox_offset.is_nan() || hdr.vox_offset < 0.0 {
        return Err(bad(format!("invalid vox_offset {}", hdr.vox_offset)));
    }
    // nibabel moves a too-small offset of a single file to 352.
    let offset = (hdr.vox_offset as usize).max(HEADER_BYTES);
    let needed =
        offset.checked_add(nbytes).ok_or_else(|| bad(format!("invalid vox_offset {}", hdr.vox_offset)))?;
    limits::check_size(path, "NIfTI header and voxels (vox_offset + volume)", &[needed], 1, Cap::Stream)?;
    // Extensions up to `vox_offset` are skipped without being kept, then at most the declared
    // voxel bytes are read, whatever the file or stream holds after them.
    let gz_err = |e: ReconError| match e {
        ReconError::Io { source, .. } if gz => bad(format!("corrupt or truncated gzip stream: {source}")),
        e => e,
    };
    let mut reader = reader;
    let skip = (offset - bytes.len()) as u64;
    let skipped = std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
        .map_err(|e| gz_err(ReconError::io(path, e)))?;
    let voxels = limits::read_capped(path, "NIfTI data", reader.take(nbytes as u64)).map_err(gz_err)?;
    let available = bytes.len() + skipped as usize + voxels.len();
    if available < needed {
        return Err(bad(format!(
            "truncated: the header declares {nx}×{ny}×{nz} {dtype_name} voxels ({nbytes} bytes from offset \
             {offset}) but the {}file has {available} bytes",
            if gz { "decompressed " } else { "" },
        )));
    }
    let (slope, inter) = scaling(&hdr).map_err(bad)?;
    let big = hdr.endianness == Endianness::Big;
    let values = decode(&voxels, hdr.datatype, big, slope, inter);
    // A finite stored value that scales to ±∞ is an overflow (a stored ±∞ stays what it is).
    let stored = |i: usize| decode(&voxels[i * size..(i + 1) * size], hdr.datatype, big, 1.0, 0.0)[0];
    let overflow = values.iter().enumerate().find(|(i, v)| v.is_infinite() && stored(*i).is_finite());
    if let Some((i, _)) = overflow {
        return Err(bad(format!(
            "voxel {i}: stored value {} × scl_slope {slope:e} + scl_inter {inter:e} overflows float32",
            stored(i)
        )));
    }
    let data =
        Array3::from_shape_vec((nx, ny, nz).f(), values).map_err(|e| bad(format!("voxel count: {e}")))?;
    Ok(Volume { data, affine: geom.affine(&hdr), voxel_size: geom.voxel_size })
}

// ------------------------------------------------------------------------------------------

/// Reads until `n` bytes or end of stream.
fn read_up_to(r: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut v)?;
    Ok(v)
}

/// Shape and voxel sizes after the dimension checks.
struct Geometry {
    ndim: usize,
    shape: [usize; 3],
    voxel_size: [f64; 3],
}

impl Geometry {
    fn from_header(h: &NiftiHeader) -> std::result::Result<Geometry, String> {
        let nd = h.dim[0] as usize;
        if !(1..=7).contains(&nd) {
            return Err(format!("invalid dim[0] = {nd} (must be 1..=7)"));
        }
        let dims: Vec<i64> = h.dim[1..=nd].iter().map(|&d| d as i16 as i64).collect();
        if dims.iter().any(|&d| d < 1) {
            return Err(format!("invalid dimensions {dims:?}"));
        }
        if dims.iter().skip(3).any(|&d| d != 1) {
            return Err(format!(
                "is {nd}-D with dimensions {dims:?}; only 3-D volumes (or 4-D with a single volume) \
                 are supported — extract one volume first (e.g. fslroi or nibabel)"
            ));
        }
        let mut shape = [1usize; 3];
        let mut voxel_size = [1.0f64; 3];
        for a in 0..nd.min(3) {
            shape[a] = dims[a] as usize;
            voxel_size[a] = h.pixdim[a + 1] as f64;
        }
        Ok(Geometry { ndim: nd, shape, voxel_size })
    }

    /// nibabel's `get_best_affine`: sform, else qform, else the centred fallback.
    fn affine(&self, h: &NiftiHeader) -> [[f64; 4]; 4] {
        let mut a = [[0.0; 4]; 4];
        a[3][3] = 1.0;
        if h.sform_code > 0 {
            for (row, srow) in a.iter_mut().zip([h.srow_x, h.srow_y, h.srow_z]) {
                for (dst, &src) in row.iter_mut().zip(srow.iter()) {
                    *dst = src as f64;
                }
            }
        } else if h.qform_code > 0 {
            let r = quaternion_to_rotation(h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
            let qfac = if h.pixdim[0] == -1.0 { -1.0 } else { 1.0 };
            let zoom = [h.pixdim[1] as f64, h.pixdim[2] as f64, h.pixdim[3] as f64 * qfac];
            let offset = [h.quatern_x as f64, h.quatern_y as f64, h.quatern_z as f64];
            for i in 0..3 {
                for j in 0..3 {
                    a[i][j] = r[i][j] * zoom[j];
                }
                a[i][3] = offset[i];
            }
        } else {
            // nibabel `shape_zoom_affine(shape, zooms, x_flip=True)`.
            let zoom = [-self.voxel_size[0], self.voxel_size[1], self.voxel_size[2]];
            for i in 0..3 {
                let n = if i < self.ndim { self.shape[i] } else { 1 };
                a[i][i] = zoom[i];
                a[i][3] = -((n as f64 - 1.0) / 2.0) * zoom[i];
            }
        }
        a
    }
}

/// The NIfTI quaternion (b, c, d) with `a = sqrt(1 − b² − c² − d²)` → rotation matrix
/// (nibabel `quat2mat`). A slightly too-long (b, c, d) is normalised with `a = 0`, as the NIfTI
/// reference library does.
fn quaternion_to_rotation(b: f64, c: f64, d: f64) -> [[f64; 3]; 3] {
    let n2 = b * b + c * c + d * d;
    let (a, b, c, d) = if n2 < 1.0 {
        ((1.0 - n2).sqrt(), b, c, d)
    } else {
        let n = n2.sqrt();
        (0.0, b / n, c / n, d / n)
    };
    [
        [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
        [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
        [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ]
}

/// nibabel's scaling rule: `(slope, inter)` to apply, `(1, 0)` when the slope is 0 or not finite.
fn scaling(h: &NiftiHeader) -> std::result::Result<(f64, f64), String> {
    let (slope, inter) = (h.scl_slope as f64, h.scl_inter as f64);
    if slope == 0.0 || !slope.is_finite() {
        return Ok((1.0, 0.0));
    }
    if !inter.is_finite() {
        return Err(format!("valid scl_slope {slope} but invalid scl_inter {inter}"));
    }
    Ok((slope, inter))
}

/// Name and byte size of the supported datatypes.
fn datatype(code: i16) -> std::result::Result<(&'static str, usize), String> {
    Ok(match code {
        2 => ("uint8", 1),
        256 => ("int8", 1),
        4 => ("int16", 2),
        512 => ("uint16", 2),
        8 => ("int32", 4),
        768 => ("uint32", 4),
        16 => ("float32", 4),
        1024 => ("int64", 8),
        1280 => ("uint64", 8),
        64 => ("float64", 8),
        32 | 1792 | 2048 => return Err(format!("complex voxels (datatype {code}) are not supported")),
        128 | 2304 => return Err(format!("RGB voxels (datatype {code}) are not supported")),
        _ => return Err(format!("unsupported datatype code {code}")),
    })
}

/// Decodes `bytes` of datatype `code` to `v · slope + inter` as f32.
fn decode(bytes: &[u8], code: i16, big: bool, slope: f64, inter: f64) -> Vec<f32> {
    let scale = |v: f64| if slope == 1.0 && inter == 0.0 { v as f32 } else { (v * slope + inter) as f32 };
    macro_rules! dec {
        ($t:ty, $n:literal) => {
            bytes
                .chunks_exact($n)
                .map(|c| {
                    let a: [u8; $n] = c.try_into().unwrap(); // ok: chunks of exactly n
                    let v = if big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) };
                    scale(v as f64)
                })
                .collect()
        };
    }
    match code {
        2 => dec!(u8, 1),
        256 => dec!(i8, 1),
        4 => dec!(i16, 2),
        512 => dec!(u16, 2),
        8 => dec!(i32, 4),
        768 => dec!(u32, 4),
        16 => dec!(f32, 4),
        1024 => dec!(i64, 8),
        1280 => dec!(u64, 8),
        64 => dec!(f64, 8),
        _ => unreachable!("datatype checked before decoding"),
    }
}
