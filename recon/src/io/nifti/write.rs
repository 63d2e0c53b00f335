//! Writing NIfTI-1: a little-endian float32 single file, the affine in the sform and,
//! when it is a rotation times the voxel sizes, in the qform.

use super::{Volume, HEADER_BYTES};
use crate::error::{ReconError, Result};
use crate::io::atomic::write_atomic;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `volume` as a little-endian float32 NIfTI-1 file; gzip-compressed when the file name
/// ends in `.gz`. The affine goes to the sform (`sform_code = 2`, aligned; stored as f32, the
/// format's precision) and, when it is a rotation times `diag(voxel_size)` (optionally with a
/// flip), also to the qform (`qform_code = 2`), else `qform_code = 0`. `pixdim[1..=3]` =
/// `voxel_size`, units mm, `scl_slope = 1`, `scl_inter = 0`.
pub fn write_volume(path: impl AsRef<Path>, volume: &Volume) -> Result<()> {
    let path = path.as_ref();
    let shape = volume.shape();
    if shape.iter().any(|&n| n == 0 || n > i16::MAX as usize) {
        return Err(ReconError::Invalid(format!(
            "{}: NIfTI-1 sizes must be 1..=32767, volume shape is {shape:?}",
            path.display()
        )));
    }
    let finite = volume.affine.iter().flatten().chain(&volume.voxel_size).all(|v| v.is_finite());
    if !finite {
        return Err(ReconError::Invalid(format!("{}: affine or voxel size is not finite", path.display())));
    }
    let header = encode_header(shape, &volume.affine, volume.voxel_size);
    let gz = path.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".gz"));
    write_atomic(path, |tmp| {
        let io = |e| ReconError::io(tmp, e);
        let file = BufWriter::with_capacity(1 << 16, File::create(tmp).map_err(io)?);
        let file = if gz {
            let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::new(6));
            write_body(&mut enc, &header, volume).map_err(io)?;
            enc.finish().map_err(io)?
        } else {
            let mut file = file;
            write_body(&mut file, &header, volume).map_err(io)?;
            file
        };
        file.into_inner().map_err(|e| io(e.into_error()))?.sync_all().map_err(io)
    })
}

/// Header, then voxels in file order (x fastest: the row-major order of the transposed view).
fn write_body(out: &mut impl Write, header: &[u8], volume: &Volume) -> std::io::Result<()> {
    out.write_all(header)?;
    let mut chunk = Vec::with_capacity(1 << 16);
    for v in volume.data.t().iter() {
        chunk.extend_from_slice(&v.to_le_bytes());
        if chunk.len() >= 1 << 16 {
            out.write_all(&chunk)?;
            chunk.clear();
        }
    }
    out.write_all(&chunk)
}

/// The qform `(b, c, d, qfac)` of `affine` if its 3×3 part is `R · diag(voxel_size)` with `R`
/// orthonormal (up to a flip of the third axis, recorded in `qfac`), to 1e-4 relative.
/// The quaternion extraction is `nifti_mat44_to_quatern` from the NIfTI reference library.
fn affine_to_quaternion(affine: &[[f64; 4]; 4], voxel_size: [f64; 3]) -> Option<[f64; 4]> {
    let mut r = [[0.0f64; 3]; 3];
    for j in 0..3 {
        let norm = (0..3).map(|i| affine[i][j] * affine[i][j]).sum::<f64>().sqrt();
        if norm == 0.0 || (norm - voxel_size[j]).abs() > 1e-4 * norm {
            return None;
        }
        for i in 0..3 {
            r[i][j] = affine[i][j] / norm;
        }
    }
    for p in 0..3 {
        for q in 0..3 {
            let dot: f64 = (0..3).map(|i| r[i][p] * r[i][q]).sum();
            if (dot - if p == q { 1.0 } else { 0.0 }).abs() > 1e-4 {
                return None;
            }
        }
    }
    let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
        - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
        + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    let qfac = if det < 0.0 {
        (0..3).for_each(|i| r[i][2] = -r[i][2]);
        -1.0
    } else {
        1.0
    };
    let trace = r[0][0] + r[1][1] + r[2][2] + 1.0;
    let (mut a, mut b, mut c, mut d);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (r[2][1] - r[1][2]) / a;
        c = 0.25 * (r[0][2] - r[2][0]) / a;
        d = 0.25 * (r[1][0] - r[0][1]) / a;
    } else {
        let xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        let yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        let zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r[0][1] + r[1][0]) / b;
            d = 0.25 * (r[0][2] + r[2][0]) / b;
            a = 0.25 * (r[2][1] - r[1][2]) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r[0][1] + r[1][0]) / c;
            d = 0.25 * (r[1][2] + r[2][1]) / c;
            a = 0.25 * (r[0][2] - r[2][0]) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (r[0][2] + r[2][0]) / d;
            c = 0.25 * (r[1][2] + r[2][1]) / d;
            a = 0.25 * (r[1][0] - r[0][1]) / d;
        }
        if a < 0.0 {
            (b, c, d) = (-b, -c, -d);
            a = -a;
        }
    }
    let _ = a;
    Some([b, c, d, qfac])
}

/// The 348-byte NIfTI-1 header (little-endian) plus a zero 4-byte extension flag.
fn encode_header(shape: [usize; 3], affine: &[[f64; 4]; 4], voxel_size: [f64; 3]) -> Vec<u8> {
    let mut h = vec![0u8; HEADER_BYTES];
    let put = |h: &mut Vec<u8>, at: usize, b: &[u8]| h[at..at + b.len()].copy_from_slice(b);
    let f32s = |h: &mut Vec<u8>, at: usize, vals: &[f64]| {
        for (k, v) in vals.iter().enumerate() {
            h[at + 4 * k..at + 4 * k + 4].copy_from_slice(&(*v as f32).to_le_bytes());
        }
    };
    put(&mut h, 0, &348i32.to_le_bytes()); // sizeof_hdr
    h[38] = b'r'; // regular
    let dim = [3, shape[0] as i16, shape[1] as i16, shape[2] as i16, 1, 1, 1, 1];
    for (k, d) in dim.iter().enumerate() {
        put(&mut h, 40 + 2 * k, &d.to_le_bytes());
    }
    put(&mut h, 70, &16i16.to_le_bytes()); // datatype float32
    put(&mut h, 72, &32i16.to_le_bytes()); // bitpix
    let quat = affine_to_quaternion(affine, voxel_size);
    let qfac = quat.map_or(1.0, |q| q[3]);
    f32s(&mut h, 76, &[qfac, voxel_size[0], voxel_size[1], voxel_size[2], 1.0, 1.0, 1.0, 1.0]);
    f32s(&mut h, 108, &[HEADER_BYTES as f64, 1.0, 0.0]); // vox_offset, scl_slope, scl_inter
    h[123] = 2; // xyzt_units: mm
    put(&mut h, 148, b"recon");
    put(&mut h, 252, &(if quat.is_some() { 2i16 } else { 0 }).to_le_bytes()); // qform_code
    put(&mut h, 254, &2i16.to_le_bytes()); // sform_code: aligned
    if let Some(q) = quat {
        f32s(&mut h, 256, &[q[0], q[1], q[2], affine[0][3], affine[1][3], affine[2][3]]);
    }
    for (k, row) in affine.iter().take(3).enumerate() {
        f32s(&mut h, 280 + 16 * k, row);
    }
    put(&mut h, 344, b"n+1\0");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::nifti::quaternion_to_rotation;

    #[test]
    fn qform_round_trip_through_quaternion() {
        // A rotation about an oblique axis, anisotropic voxels, with and without a flip.
        let (t, u) = (0.3f64, [0.48f64, 0.6, 0.64]);
        let (s, c) = t.sin_cos();
        let rot = [
            [
                c + u[0] * u[0] * (1.0 - c),
                u[0] * u[1] * (1.0 - c) - u[2] * s,
                u[0] * u[2] * (1.0 - c) + u[1] * s,
            ],
            [
                u[1] * u[0] * (1.0 - c) + u[2] * s,
                c + u[1] * u[1] * (1.0 - c),
                u[1] * u[2] * (1.0 - c) - u[0] * s,
            ],
            [
                u[2] * u[0] * (1.0 - c) - u[1] * s,
                u[2] * u[1] * (1.0 - c) + u[0] * s,
                c + u[2] * u[2] * (1.0 - c),
            ],
        ];
        for flip in [1.0, -1.0] {
            let vox = [0.9, 1.1, 2.5];
            let mut a = [[0.0; 4]; 4];
            for i in 0..3 {
                for j in 0..3 {
                    a[i][j] = rot[i][j] * vox[j] * if j == 2 { flip } else { 1.0 };
                }
            }
            let q = affine_to_quaternion(&a, vox).unwrap();
            assert_eq!(q[3], flip);
            let r = quaternion_to_rotation(q[0], q[1], q[2]);
            for i in 0..3 {
                for j in 0..3 {
                    let back = r[i][j] * vox[j] * if j == 2 { q[3] } else { 1.0 };
                    assert!((back - a[i][j]).abs() < 1e-12, "{i}{j}: {back} vs {}", a[i][j]);
                }
            }
        }
        // A shear is not a qform.
        let mut sheared = [[1.0, 0.3, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0; 4]];
        sheared[3][3] = 1.0;
        assert!(affine_to_quaternion(&sheared, [1.0, 1.0440306, 1.0]).is_none());
    }
}
