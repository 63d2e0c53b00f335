//! Which voxel axis of a NIfTI volume the 2-D slices are taken along, and the way back from
//! a stack of slices to a volume in the input's space.
//!
//! **Slice axis.** `recon` reconstructs *axial* slices: planes perpendicular to the world's
//! superior–inferior axis (z in NIfTI's RAS+ world). The voxel axis `j` used is the one
//! whose direction in world space is closest to z, i.e. the column of the affine with the
//! largest `|A[2][j]| / ‖A[·][j]‖` (ties go to the higher axis, so an identity or
//! diagonal affine slices along voxel axis 2 as before). An oblique volume is sliced along
//! its voxel axis nearest to z; nothing is resampled.

use crate::error::{ReconError, Result};
use crate::io::nifti::Volume;
use ndarray::Array3;
use serde::Serialize;

/// The geometry of a NIfTI input: enough to write a reconstruction back in its space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceGeometry {
    /// Voxel index → world mm (row-major 4×4), as read.
    pub affine: [[f64; 4]; 4],
    /// Voxel sizes in mm along voxel axes 0, 1, 2.
    pub voxel_size: [f64; 3],
    /// Volume shape (voxel axes 0, 1, 2).
    pub shape: [usize; 3],
    /// The voxel axis the slices were taken along (0, 1 or 2): see the module doc.
    pub axis: usize,
}

impl SliceGeometry {
    /// The geometry of `vol`, slicing along its axis closest to world z.
    pub fn of(vol: &Volume) -> SliceGeometry {
        SliceGeometry {
            affine: vol.affine,
            voxel_size: vol.voxel_size,
            shape: vol.shape(),
            axis: axial_axis(&vol.affine),
        }
    }

    /// Identity 1 mm geometry for a stack of `n` slices of `h × w` sliced along voxel axis 2
    /// (inputs that carry no geometry: h5, cfl, PNG).
    pub fn identity(n: usize, h: usize, w: usize) -> SliceGeometry {
        let mut affine = [[0.0; 4]; 4];
        for (i, row) in affine.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        SliceGeometry { affine, voxel_size: [1.0; 3], shape: [w, h, n], axis: 2 }
    }

    /// "voxel axis 2 (closest to superior-inferior)": for reports.
    pub fn describe(&self) -> String {
        format!("voxel axis {} (closest to world superior-inferior)", self.axis)
    }

    /// The two in-plane voxel axes `(p, q)`, `p < q`.
    fn in_plane(&self) -> (usize, usize) {
        match self.axis {
            0 => (1, 2),
            1 => (0, 2),
            _ => (0, 1),
        }
    }

    /// Whether a `(slices, H, W)` stack is this volume's slices.
    pub fn fits(&self, (n, nq, np): (usize, usize, usize)) -> bool {
        let (p, q) = self.in_plane();
        n == self.shape[self.axis] && nq == self.shape[q] && np == self.shape[p]
    }

    /// The volume whose `Volume::slice(axis, z)` is `stack[z]`: the inverse of the slicing,
    /// with this geometry's affine and voxel size. The stack must be `(shape[axis], n_q, n_p)`
    /// with `p < q` the other two axes.
    pub fn volume(&self, stack: &Array3<f32>) -> Result<Volume> {
        let a = self.axis;
        let (p, q) = self.in_plane();
        let (n, nq, np) = stack.dim();
        if !self.fits(stack.dim()) {
            return Err(ReconError::Invalid(format!(
                "a stack of {n}×{nq}×{np} slices does not fit a volume of shape {:?} sliced along axis {a}",
                self.shape
            )));
        }
        let data = Array3::from_shape_fn((self.shape[0], self.shape[1], self.shape[2]), |(i, j, k)| {
            let idx = [i, j, k];
            stack[[idx[a], nq - 1 - idx[q], idx[p]]]
        });
        Ok(Volume { data, affine: self.affine, voxel_size: self.voxel_size })
    }
}

/// The voxel axis whose world direction is closest to z (superior–inferior).
pub fn axial_axis(affine: &[[f64; 4]; 4]) -> usize {
    let mut best = (2, -1.0f64);
    for j in [2, 1, 0] {
        let norm = (0..3).map(|i| affine[i][j] * affine[i][j]).sum::<f64>().sqrt();
        let cos = if norm > 0.0 { affine[2][j].abs() / norm } else { 0.0 };
        if cos > best.1 + 1e-9 {
            best = (j, cos);
        }
    }
    best.0
}
