//! 3×3 "same" convolution with bias, `y[co] = b[co] + Σ_{ci,kh,kw} W[co,ci,kh,kw]·x[ci, i+kh−1, j+kw−1]`
//! (zero padding 1, stride 1), for NCHW tensors.
//!
//! On the CPU (f32 / f64) this is a custom op with its own forward and backward, because
//! candle 0.11.1's CPU conv2d backward computes the input gradient with `conv_transpose2d`,
//! a naive loop that took ~20 s for one 48→48 layer at 4×256×256 (against ~2 s forward).
//!
//! The kernels use no im2col. Pad each image plane to (H+2)×(W+2) and work on the
//! "padded-width" grid of H·(W+2) positions (the last two columns of each row are junk and
//! are dropped or zeroed). On that grid a tap (kh, kw) is a *contiguous shift* of the flat
//! padded plane by `kh·(W+2) + kw`, so each of the three passes is nine strided GEMMs
//! (`gemm` crate, the one candle uses) accumulating into one buffer:
//! ```text
//! forward:      Y   (co × L)  += W_k      (co × ci) · Xpad[·, off_k ..]       (ci × L)
//! input grad:   dX  (ci × L)  += W_kᵀ     (ci × co) · Gpad[·, off'_k ..]      (co × L)
//! weight grad:  dW_k(co × ci) += G_grid   (co × L)  · Xpad[·, off_k ..]ᵀ      (L × ci)
//! bias grad:    db[co] = Σ_{n,i,j} G[n,co,i,j]
//! ```
//! with `L = H·(W+2)`, `off_k = kh·(W+2) + kw` and `off'_k = (2−kh)·(W+2) + (2−kw)` (the
//! input gradient is a convolution of the padded output gradient with the flipped kernel).
//! For f32 on x86-64 CPUs with AVX2 + FMA the same grid formulation runs on the register-tile
//! kernels of `simd` instead of the GEMMs (module `fast`); [`crate::kernels::conv_act`] fuses
//! the LeakyReLU that follows. On other devices [`conv3x3`] uses candle's `conv2d` +
//! `broadcast_add`.

use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};

#[cfg(target_arch = "x86_64")]
use self::simd::SLACK as SIMD_SLACK;
use crate::kernels::cpu::{map1, map2, slice};
#[cfg(not(target_arch = "x86_64"))]
const SIMD_SLACK: usize = 0;

/// Whether the f32 kernels of [`simd`] run on this CPU.
fn simd_f32() -> bool {
    #[cfg(target_arch = "x86_64")]
    return simd::available();
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// Checks that x (N, ci, H, W), w (co, ci, 3, 3) and b (co) fit together.
pub(crate) fn check_shapes(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<()> {
    let (co, ci, kh, kw) = w.dims4()?;
    if kh != 3 || kw != 3 || x.dims4()?.1 != ci || b.dims1()? != co {
        bail!("conv3x3: input {:?}, weight {:?}, bias {:?} do not match", x.dims(), w.dims(), b.dims())
    }
    Ok(())
}

/// Whether x, w and b run on the f32 register-tile kernels (CPU, all f32, AVX2 + FMA).
pub(crate) fn fast_f32(x: &Tensor, w: &Tensor, b: &Tensor) -> bool {
    x.device().is_cpu() && [x, w, b].iter().all(|t| t.dtype() == DType::F32) && simd_f32()
}

/// `conv2d(x, w, padding 1) + b`: x (N, ci, H, W), w (co, ci, 3, 3), b (co).
pub fn conv3x3(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    check_shapes(x, w, b)?;
    let co = w.dim(0)?;
    let cpu_float = matches!(x.dtype(), DType::F32 | DType::F64);
    if x.device().is_cpu() && cpu_float && x.dtype() == w.dtype() && x.dtype() == b.dtype() {
        x.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, Conv3x3Op)
    } else {
        x.conv2d(w, 1, 1, 1, 1)?.broadcast_add(&b.reshape((1, co, 1, 1))?)
    }
}

/// Sizes of one convolution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
}

impl Geom {
    pub fn wp(&self) -> usize {
        self.w + 2
    }
    /// Elements of one padded plane.
    pub fn plane(&self) -> usize {
        (self.h + 2) * self.wp()
    }
    /// Positions of the padded-width grid.
    fn grid(&self) -> usize {
        self.h * self.wp()
    }
    /// A buffer of `c` padded planes plus slack: the junk columns of the last rows of the
    /// last plane read up to `wp + 2` elements past its end.
    pub fn padded_len(&self, c: usize) -> usize {
        c * self.plane() + self.wp() + 2 + SIMD_SLACK
    }
}

/// Copies `c` planes of H×W into the interior of zeroed (H+2)×(W+2) planes.
fn pad_planes<T: WithDType>(src: &[T], c: usize, g: Geom) -> Vec<T> {
    let mut dst = vec![T::from_f64(0.); g.padded_len(c)];
    pad_into(src, c, g, &mut dst);
    dst
}

/// Overwrites the interiors of the padded planes in `dst` (borders and slack untouched, so a
/// buffer made by [`pad_planes`] can be refilled for the next image).
fn pad_into<T: WithDType>(src: &[T], c: usize, g: Geom, dst: &mut [T]) {
    for p in 0..c {
        for i in 0..g.h {
            let s = &src[(p * g.h + i) * g.w..][..g.w];
            dst[p * g.plane() + (i + 1) * g.wp() + 1..][..g.w].copy_from_slice(s);
        }
    }
}

/// Lays `c` planes of H×W on the padded-width grid (junk columns zero), one plane every
/// `stride ≥ H·(W+2)` elements.
fn to_grid<T: WithDType>(src: &[T], c: usize, g: Geom, stride: usize) -> Vec<T> {
    let mut dst = vec![T::from_f64(0.); c * stride];
    grid_into(src, c, g, stride, &mut dst);
    dst
}

/// Overwrites the valid columns of the grid planes in `dst` (junk columns untouched).
fn grid_into<T: WithDType>(src: &[T], c: usize, g: Geom, stride: usize, dst: &mut [T]) {
    for p in 0..c {
        for i in 0..g.h {
            dst[p * stride + i * g.wp()..][..g.w].copy_from_slice(&src[(p * g.h + i) * g.w..][..g.w]);
        }
    }
}

/// Appends the valid columns of `c` grid planes to `out`, adding `bias[p]` if given.
fn from_grid<T: WithDType>(grid: &[T], c: usize, g: Geom, bias: Option<&[T]>, out: &mut Vec<T>) {
    for p in 0..c {
        let b = bias.map(|b| b[p]);
        for i in 0..g.h {
            let row = &grid[p * g.grid() + i * g.wp()..][..g.w];
            match b {
                Some(b) => out.extend(row.iter().map(|&v| v + b)),
                None => out.extend_from_slice(row),
            }
        }
    }
}

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)`, all strides in elements (row, column),
/// using candle's thread count.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm<T: WithDType>(
    mnk: (usize, usize, usize),
    dst: *mut T,
    dst_s: (usize, usize),
    accumulate: bool,
    lhs: *const T,
    lhs_s: (usize, usize),
    rhs: *const T,
    rhs_s: (usize, usize),
) {
    let threads = candle_core::utils::get_num_threads();
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: forwarded to the caller.
    unsafe { gemm_with(par, mnk, dst, dst_s, accumulate, lhs, lhs_s, rhs, rhs_s) }
}

/// [`gemm`] with an explicit parallelism.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_with<T: WithDType>(
    par: gemm::Parallelism,
    (m, n, k): (usize, usize, usize),
    dst: *mut T,
    (dst_rs, dst_cs): (usize, usize),
    accumulate: bool,
    lhs: *const T,
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: *const T,
    (rhs_rs, rhs_cs): (usize, usize),
) {
    let one = T::from_f64(1.);
    // SAFETY: the caller guarantees every index reached through these strides is in bounds.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs,
            lhs_cs as isize,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            one,
            one,
            false,
            false,
            false,
            par,
        )
    }
}

/// Forward over a batch: x (N·ci planes), w (co, ci, 3, 3), b (co).
fn forward<T: WithDType>(x: &[T], w: &[T], b: &[T], ci: usize, co: usize, g: Geom) -> Vec<T> {
    let mut y = Vec::with_capacity(g.n * co * g.h * g.w);
    let mut grid = vec![T::from_f64(0.); co * g.grid()];
    for img in 0..g.n {
        let xp = pad_planes(&x[img * ci * g.h * g.w..][..ci * g.h * g.w], ci, g);
        for t in 0..9 {
            let off = (t / 3) * g.wp() + t % 3;
            // SAFETY: grid is co×L; w[co·ci·9 + ci·9 + t] < w.len(); xp reads up to
            // (ci−1)·plane + off + L − 1 < padded_len(ci).
            unsafe {
                gemm(
                    (co, g.grid(), ci),
                    grid.as_mut_ptr(),
                    (g.grid(), 1),
                    t > 0,
                    w.as_ptr().add(t),
                    (ci * 9, 9),
                    xp.as_ptr().add(off),
                    (g.plane(), 1),
                )
            }
        }
        from_grid(&grid, co, g, Some(b), &mut y);
    }
    y
}

/// Input gradient: gy (N·co planes), w (co, ci, 3, 3) → dx (N·ci planes).
fn input_grad<T: WithDType>(gy: &[T], w: &[T], ci: usize, co: usize, g: Geom) -> Vec<T> {
    let mut dx = Vec::with_capacity(g.n * ci * g.h * g.w);
    let mut grid = vec![T::from_f64(0.); ci * g.grid()];
    for img in 0..g.n {
        let gp = pad_planes(&gy[img * co * g.h * g.w..][..co * g.h * g.w], co, g);
        for t in 0..9 {
            let (kh, kw) = (t / 3, t % 3);
            let off = (2 - kh) * g.wp() + (2 - kw);
            // SAFETY: as in `forward`, with the roles of ci and co exchanged.
            unsafe {
                gemm(
                    (ci, g.grid(), co),
                    grid.as_mut_ptr(),
                    (g.grid(), 1),
                    t > 0,
                    w.as_ptr().add(t),
                    (9, ci * 9),
                    gp.as_ptr().add(off),
                    (g.plane(), 1),
                )
            }
        }
        from_grid(&grid, ci, g, None, &mut dx);
    }
    dx
}

/// Weight gradient: gy (N·co planes), x (N·ci planes) → dw (co, ci, 3, 3).
///
/// Each GEMM here is small (co × ci) with a long reduction (k = L), which the GEMM crate
/// does not split across threads, so the grid is cut into one range per thread, each range
/// accumulates its own partial dW, and the partials are summed (in a fixed order: the result
/// is deterministic for a given thread count, and may differ in the last bits between
/// thread counts).
fn weight_grad<T: WithDType>(gy: &[T], x: &[T], ci: usize, co: usize, g: Geom) -> Vec<T> {
    let threads = candle_core::utils::get_num_threads().clamp(1, 16);
    let chunk = g.grid().div_ceil(threads);
    let mut partials: Vec<Vec<T>> = (0..threads).map(|_| vec![T::from_f64(0.); co * ci * 9]).collect();
    for img in 0..g.n {
        let xp = pad_planes(&x[img * ci * g.h * g.w..][..ci * g.h * g.w], ci, g);
        let gg = to_grid(&gy[img * co * g.h * g.w..][..co * g.h * g.w], co, g, g.grid());
        let (xp, gg) = (&xp, &gg);
        std::thread::scope(|s| {
            for (part, dw) in partials.iter_mut().enumerate() {
                let start = part * chunk;
                let len = chunk.min(g.grid().saturating_sub(start));
                if len == 0 {
                    continue;
                }
                s.spawn(move || {
                    for t in 0..9 {
                        let off = (t / 3) * g.wp() + t % 3;
                        // SAFETY: dw[co·ci·9 + ci·9 + t] in bounds; gg is co×L and the
                        // columns start..start+len ≤ L; xp reads as in `forward`.
                        unsafe {
                            gemm_with(
                                gemm::Parallelism::None,
                                (co, ci, len),
                                dw.as_mut_ptr().add(t),
                                (ci * 9, 9),
                                true,
                                gg.as_ptr().add(start),
                                (g.grid(), 1),
                                xp.as_ptr().add(off + start),
                                (1, g.plane()),
                            )
                        }
                    }
                });
            }
        });
    }
    let mut dw = partials.pop().expect("at least one thread");
    for p in partials {
        for (d, v) in dw.iter_mut().zip(p) {
            *d += v;
        }
    }
    dw
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod fast;
#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(target_arch = "x86_64")]
mod simd512;
#[cfg(target_arch = "x86_64")]
mod vector;

/// Bias gradient: Σ over images and pixels of each output channel.
fn bias_grad<T: WithDType>(gy: &[T], n: usize, co: usize, hw: usize) -> Vec<T> {
    let mut db = vec![T::from_f64(0.); co];
    for img in 0..n {
        for (c, d) in db.iter_mut().enumerate() {
            let mut s = T::from_f64(0.);
            for &v in &gy[(img * co + c) * hw..][..hw] {
                s += v;
            }
            *d += s;
        }
    }
    db
}

fn geom(x: &Layout) -> Result<(Geom, usize)> {
    let (n, ci, h, w) = x.shape().dims4()?;
    Ok((Geom { n, h, w }, ci))
}

struct Conv3x3Op;
struct InputGrad;
struct WeightGrad;
struct BiasGrad;

impl CustomOp3 for Conv3x3Op {
    fn name(&self) -> &'static str {
        "conv3x3"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        xl: &Layout,
        w: &CpuStorage,
        wl: &Layout,
        b: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (g, ci) = geom(xl)?;
        let co = wl.shape().dims4()?.0;
        let y = match (x, w, b) {
            #[cfg(target_arch = "x86_64")]
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) if simd_f32() => {
                CpuStorage::F32(fast::forward(slice(x, xl)?, slice(w, wl)?, slice(b, bl)?, ci, co, g, None))
            }
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) => {
                CpuStorage::F32(forward(slice(x, xl)?, slice(w, wl)?, slice(b, bl)?, ci, co, g))
            }
            (CpuStorage::F64(x), CpuStorage::F64(w), CpuStorage::F64(b)) => {
                CpuStorage::F64(forward(slice(x, xl)?, slice(w, wl)?, slice(b, bl)?, ci, co, g))
            }
            _ => bail!("conv3x3: only f32 and f64, all the same"),
        };
        Ok((y, Shape::from((g.n, co, g.h, g.w))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let gy = gy.contiguous()?;
        let dx = if x.track_op() { Some(gy.apply_op2_no_bwd(w, &InputGrad)?) } else { None };
        let dw = if w.track_op() { Some(gy.apply_op2_no_bwd(x, &WeightGrad)?) } else { None };
        let db = if b.track_op() { Some(gy.apply_op1_no_bwd(&BiasGrad)?) } else { None };
        Ok((dx, dw, db))
    }
}

impl CustomOp2 for InputGrad {
    fn name(&self) -> &'static str {
        "conv3x3-input-grad"
    }

    fn cpu_fwd(
        &self,
        gy: &CpuStorage,
        gl: &Layout,
        w: &CpuStorage,
        wl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (g, co) = geom(gl)?;
        let ci = wl.shape().dims4()?.1;
        let dx = match (gy, w) {
            #[cfg(target_arch = "x86_64")]
            (CpuStorage::F32(gy), CpuStorage::F32(w)) if simd_f32() => {
                CpuStorage::F32(fast::input_grad(slice(gy, gl)?, slice(w, wl)?, ci, co, g))
            }
            _ => map2!(gy, gl, w, wl, |gy, w| input_grad(gy, w, ci, co, g)),
        };
        Ok((dx, Shape::from((g.n, ci, g.h, g.w))))
    }
}

impl CustomOp2 for WeightGrad {
    fn name(&self) -> &'static str {
        "conv3x3-weight-grad"
    }

    fn cpu_fwd(
        &self,
        gy: &CpuStorage,
        gl: &Layout,
        x: &CpuStorage,
        xl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (g, co) = geom(gl)?;
        let ci = xl.shape().dims4()?.1;
        let dw = match (gy, x) {
            #[cfg(target_arch = "x86_64")]
            (CpuStorage::F32(gy), CpuStorage::F32(x)) if simd_f32() => {
                CpuStorage::F32(fast::weight_grad(slice(gy, gl)?, slice(x, xl)?, ci, co, g))
            }
            _ => map2!(gy, gl, x, xl, |gy, x| weight_grad(gy, x, ci, co, g)),
        };
        Ok((dw, Shape::from((co, ci, 3, 3))))
    }
}

impl CustomOp1 for BiasGrad {
    fn name(&self) -> &'static str {
        "conv3x3-bias-grad"
    }

    fn cpu_fwd(&self, gy: &CpuStorage, gl: &Layout) -> Result<(CpuStorage, Shape)> {
        let (g, co) = geom(gl)?;
        Ok((map1!(gy, gl, |gy| bias_grad(gy, g.n, co, g.h * g.w)), Shape::from(co)))
    }
}
