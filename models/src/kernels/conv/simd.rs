//! AVX2 + FMA kernels for the f32 3×3 convolution (x86-64), on the padded-width grid of
//! [`crate::kernels::conv`]: tap t = (kh, kw) of an output grid position p reads input position
//! `p + off_t`, `off_t = kh·(W+2) + kw`, of the zero-padded plane.
//!
//! Why: the nine-GEMM formulation re-reads and re-writes the whole output nine times and its
//! skinny products (48×48, 48×432) ran at ~40 GFLOP/s, a fifth of this class of machine's
//! peak. Here every output tile is accumulated in registers over all input channels and taps
//! before it is stored once:
//! - [`conv_grid`] (forward, and the input gradient with the flipped, transposed kernel):
//!   a tile of 6 output channels × 16 grid positions (12 AVX registers),
//!   `acc[r][·] += w[o0+r, c, t] · x[c, p0+off_t .. p0+off_t+16]`, over c and t;
//! - [`weight_grad_grid`]: a tile of 4 output channels × the 3 taps of one (c, kh),
//!   `acc[r][kw] += g[o0+r, p..p+8] ⊙ x[c, p+kh·(W+2)+kw ..]`, reduced over p per band.
//!
//! Work is split over bands of grid positions whose size depends only on the shapes, and
//! partial sums are added in band order, so results do not depend on the thread count.

use rayon::prelude::*;
use std::arch::x86_64::*;

use super::{simd512, vector};

/// Output channels per forward register tile.
const MR: usize = 6;
/// Grid positions per forward tile (two 8-lane vectors): 6×2 accumulators, two input
/// vectors and one broadcast weight fit the 16 AVX registers without spilling.
const NR: usize = 16;
/// Output channels per weight-gradient register tile (× 3 taps: 12 accumulators).
const MW: usize = 4;
/// Lanes of one AVX register.
const LANES: usize = 8;
/// Input elements a forward band aims to keep in L2 (256 KiB of f32).
const BAND_ELEMS: usize = 64 * 1024;

/// Extra elements past the last padded plane that the kernels may read (junk, never used):
/// enough for the wider AVX-512 tile too.
pub(crate) const SLACK: usize = simd512::NR + 2 * LANES;

/// Whether this CPU has the instructions the kernels need (checked once, then cached by std).
pub(crate) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Sizes of the grid of one image.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    /// Image height and width.
    pub h: usize,
    pub w: usize,
}

impl Grid {
    fn wp(&self) -> usize {
        self.w + 2
    }
    /// Elements of one zero-padded (H+2)×(W+2) plane.
    pub fn plane(&self) -> usize {
        (self.h + 2) * self.wp()
    }
    /// Positions of the padded-width grid, H·(W+2).
    pub fn len(&self) -> usize {
        self.h * self.wp()
    }
    fn offsets(&self) -> [usize; 9] {
        std::array::from_fn(|t| (t / 3) * self.wp() + t % 3)
    }
}

/// Weights `w (o, c, 9)` reordered for [`conv_grid`]: per block of up to [`MR`] output
/// channels, `[c][t][r]` contiguous. With `flip_transpose`, the kernel of the input gradient:
/// `w'(c, o, t) = w(o, c, 8−t)` (the roles of o and c exchanged, taps reversed).
pub(crate) fn pack_weights(w: &[f32], o: usize, c: usize, flip_transpose: bool) -> Vec<f32> {
    let (outs, ins) = if flip_transpose { (c, o) } else { (o, c) };
    let at = |oo: usize, ii: usize, t: usize| {
        if flip_transpose {
            w[(ii * c + oo) * 9 + 8 - t]
        } else {
            w[(oo * c + ii) * 9 + t]
        }
    };
    let mut packed = Vec::with_capacity(outs * ins * 9);
    for o0 in (0..outs).step_by(MR) {
        let m = MR.min(outs - o0);
        for ii in 0..ins {
            for t in 0..9 {
                packed.extend((0..m).map(|r| at(o0 + r, ii, t)));
            }
        }
    }
    packed
}

/// A pointer that may be shared between the band tasks of one call (they write disjoint
/// elements).
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: only used to write disjoint elements from different tasks, see `conv_grid`.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The pointer (a method, so closures capture the whole `Sync` wrapper).
    fn ptr(&self) -> *mut f32 {
        self.0
    }
}

/// A batch of images in padded or grid layout: image `i` starts at `i · stride`.
#[derive(Clone, Copy)]
pub(crate) struct Batch<'a> {
    pub data: &'a [f32],
    pub n: usize,
    pub stride: usize,
}

impl Batch<'_> {
    fn image(&self, i: usize) -> &[f32] {
        &self.data[i * self.stride..]
    }
}

/// What is applied to each accumulated output `v` before it is stored:
/// `act(v + bias[o])`, `act(u) = u` or, with `leaky: Some(a)`, `u ≥ 0 ? u : a·u`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Epilogue<'a> {
    pub bias: Option<&'a [f32]>,
    pub leaky: Option<f32>,
}

/// `y[n, o, i, j] = act(bias[o] + Σ_{c,t} w[o, c, t] · xp[n, c, (i·(W+2) + j) + off_t])`:
/// `xp` holds per image `c_in` zero-padded planes plus [`SLACK`], `packed` comes from
/// [`pack_weights`], `y` is `N × c_out × H × W` (overwritten), `act` is the [`Epilogue`].
/// Tasks are (image, band) pairs.
pub(crate) fn conv_grid(
    xp: Batch,
    c_in: usize,
    packed: &[f32],
    epilogue: Epilogue,
    c_out: usize,
    g: Grid,
    y: &mut [f32],
) {
    assert!(available(), "conv_grid needs AVX2 and FMA");
    assert!(xp.stride >= c_in * g.plane() + SLACK, "padded input too short");
    assert!(xp.data.len() >= xp.n * xp.stride - xp.stride + c_in * g.plane() + SLACK);
    assert_eq!(packed.len(), c_out * c_in * 9);
    assert_eq!(y.len(), xp.n * c_out * g.h * g.w);
    // The AVX-512 tile where the CPU has it (same bits, see `simd512`), else the AVX2 one.
    let wide = simd512::available();
    let nr = if wide { simd512::NR } else { NR };
    let halo = 2 * g.wp() + 2 + nr;
    let band = (BAND_ELEMS / c_in.max(1)).saturating_sub(halo).max(nr).div_ceil(nr) * nr;
    let out = SharedOut(y.as_mut_ptr());
    let bands = g.len().div_ceil(band);
    (0..xp.n * bands).into_par_iter().for_each(|task| {
        let (img, k) = (task / bands, task % bands);
        let (start, end) = (k * band, ((k + 1) * band).min(g.len()));
        let x = xp.image(img);
        // SAFETY: image `img`'s output planes lie inside y (asserted above).
        let out = unsafe { out.ptr().add(img * c_out * g.h * g.w) };
        // SAFETY (both branches): the kernels read x[c·plane + p0 + off_t + q] for q < their
        // tile width (16 or 32), at most c_in·plane + 32 < x.len() (p0 < H·(W+2), off_t ≤
        // 2(W+2)+2, plane = (H+2)(W+2), SLACK ≥ 33 asserted above), and w[(c·9 + t)·m + r]
        // < w.len(). Tasks cover disjoint (image, grid range) pairs, and grid positions map
        // one-to-one to pixels (i, j) with j < W, so the scatters never overlap.
        if wide {
            let mut tile = [[0f32; simd512::NR]; simd512::MR];
            for p0 in (start..end).step_by(simd512::NR) {
                for o0 in (0..c_out).step_by(simd512::MR) {
                    let m = simd512::MR.min(c_out - o0);
                    let w = &packed[o0 * c_in * 9..][..m * c_in * 9];
                    unsafe {
                        simd512::tile(
                            m,
                            x.as_ptr().add(p0),
                            g.plane(),
                            c_in,
                            &g.offsets(),
                            w.as_ptr(),
                            &mut tile,
                        )
                    };
                    unsafe { scatter(&tile[..m], o0, p0, end, epilogue, g, out) };
                }
            }
        } else {
            let mut tile = [[0f32; NR]; MR];
            for p0 in (start..end).step_by(NR) {
                for o0 in (0..c_out).step_by(MR) {
                    let m = MR.min(c_out - o0);
                    let w = &packed[o0 * c_in * 9..][..m * c_in * 9];
                    unsafe {
                        tile_kernel(m, x.as_ptr().add(p0), g.plane(), c_in, &g.offsets(), w, &mut tile)
                    };
                    unsafe { scatter(&tile[..m], o0, p0, end, epilogue, g, out) };
                }
            }
        }
    });
}

/// Applies the [`Epilogue`] and writes the valid positions `p0 .. min(p0+W, end)` of a tile
/// (skipping the two junk columns of each grid row) to `y (c_out × H × W)`, one row segment
/// at a time.
///
/// # Safety
/// `y` must hold `(o0 + tile.len()) · H · W` elements, and no other thread may write the same
/// positions.
unsafe fn scatter<const W: usize>(
    tile: &[[f32; W]],
    o0: usize,
    p0: usize,
    end: usize,
    epilogue: Epilogue,
    g: Grid,
    y: *mut f32,
) {
    let (hw, wp) = (g.h * g.w, g.wp());
    let stop = (p0 + W).min(end);
    let mut p = p0;
    while p < stop {
        let (i, j) = (p / wp, p % wp);
        let seg_end = stop.min(i * wp + g.w);
        if j < g.w {
            for (r, row) in tile.iter().enumerate() {
                let b = epilogue.bias.map_or(0., |b| b[o0 + r]);
                // SAFETY: pixels (i, j .. j + len) of plane o0 + r exist (j + len ≤ W); see the
                // function's contract for exclusivity.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(y.add((o0 + r) * hw + i * g.w + j), seg_end - p)
                };
                let src = &row[p - p0..seg_end - p0];
                match epilogue.leaky {
                    None => dst.iter_mut().zip(src).for_each(|(d, &v)| *d = v + b),
                    Some(a) => dst.iter_mut().zip(src).for_each(|(d, &v)| {
                        let u = v + b;
                        *d = if u >= 0. { u } else { a * u };
                    }),
                }
            }
        }
        p = (i + 1) * wp;
    }
}

/// Dispatches the register tile on the number of output channels in the block.
///
/// # Safety
/// AVX2 and FMA must be available; see [`conv_grid`] for the bounds.
pub(crate) unsafe fn tile_kernel(
    m: usize,
    x: *const f32,
    plane: usize,
    c_in: usize,
    offs: &[usize; 9],
    w: &[f32],
    tile: &mut [[f32; NR]; MR],
) {
    // SAFETY: forwarded.
    unsafe {
        match m {
            6 => tile_n::<6>(x, plane, c_in, offs, w.as_ptr(), tile),
            5 => tile_n::<5>(x, plane, c_in, offs, w.as_ptr(), tile),
            4 => tile_n::<4>(x, plane, c_in, offs, w.as_ptr(), tile),
            3 => tile_n::<3>(x, plane, c_in, offs, w.as_ptr(), tile),
            2 => tile_n::<2>(x, plane, c_in, offs, w.as_ptr(), tile),
            _ => tile_n::<1>(x, plane, c_in, offs, w.as_ptr(), tile),
        }
    }
}

/// `tile[r][q] = Σ_{c,t} w[(c·9+t)·M + r] · x[c·plane + off_t + q]`, r < M, q < NR
/// ([`vector::register_tile`] on AVX2 registers).
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_n<const M: usize>(
    x: *const f32,
    plane: usize,
    c_in: usize,
    offs: &[usize; 9],
    w: *const f32,
    tile: &mut [[f32; NR]; MR],
) {
    let out: *mut f32 = tile.as_mut_ptr().cast();
    // SAFETY: AVX2/FMA enabled here; bounds as documented in `conv_grid`; `tile` holds MR
    // rows of NR = 2·8 floats.
    unsafe {
        vector::register_tile!(_mm256_setzero_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_fmadd_ps,
            _mm256_storeu_ps, 8; M, 0; x, plane, c_in, offs, w, w, out, NR)
    }
}

/// Weight gradient of a batch: `dw[o, c, t] = Σ_{n,p} gg[n, o, p] · xp[n, c, p + off_t]`,
/// with `gg` the output gradient on the grid, one plane every `ld ≥` [`grid_len8`] elements
/// (junk columns and positions past `H·(W+2)` up to `grid_len8` zero), and `xp` the padded
/// input plus [`SLACK`].
///
/// Tasks are bands of grid positions (fixed by the shapes, not the thread count); each sums
/// its band over every image into its own partial, and the partials are added in band
/// order, so the result does not depend on the thread count.
pub(crate) fn weight_grad_grid(
    gg: Batch,
    ld: usize,
    c_out: usize,
    xp: Batch,
    c_in: usize,
    g: Grid,
) -> Vec<f32> {
    assert!(available(), "weight_grad_grid needs AVX2 and FMA");
    let lr = grid_len8(g);
    assert!(gg.n == xp.n && ld >= lr && gg.stride >= (c_out - 1) * ld + lr);
    assert!(xp.stride >= c_in * g.plane() + SLACK);
    assert!(gg.data.len() >= (gg.n - 1) * gg.stride + (c_out - 1) * ld + lr);
    assert!(xp.data.len() >= xp.n * xp.stride);
    let band = (BAND_ELEMS / c_in.max(1)).clamp(256, 2048) / LANES * LANES;
    let bands = lr.div_ceil(band);
    let partials: Vec<Vec<f32>> = (0..bands)
        .into_par_iter()
        .map(|k| {
            let (start, end) = (k * band, ((k + 1) * band).min(lr));
            let mut part = vec![0f32; c_out * c_in * 9];
            for img in 0..gg.n {
                let (gi, xi) = (gg.image(img), xp.image(img));
                for o0 in (0..c_out).step_by(MW) {
                    let m = MW.min(c_out - o0);
                    for c in 0..c_in {
                        for kh in 0..3 {
                            let xs = c * g.plane() + kh * g.wp() + start;
                            let gs = o0 * ld + start;
                            // SAFETY: AVX2/FMA checked; reads gi[gs + r·ld + q] for r < m,
                            // q < end − start, inside the asserted length, and xi[xs + q + 2 + 7]
                            // ≤ c_in·plane + 8 < xi.len() since end ≤ lr < H·(W+2) + 8.
                            let sums = unsafe {
                                wgrad_dispatch(m, gi.as_ptr().add(gs), ld, xi.as_ptr().add(xs), end - start)
                            };
                            for (r, s) in sums[..m].iter().enumerate() {
                                for (kw, v) in s.iter().enumerate() {
                                    part[((o0 + r) * c_in + c) * 9 + kh * 3 + kw] += v;
                                }
                            }
                        }
                    }
                }
            }
            part
        })
        .collect();
    let mut dw = vec![0f32; c_out * c_in * 9];
    for part in partials {
        for (d, v) in dw.iter_mut().zip(part) {
            *d += v;
        }
    }
    dw
}

/// Length of the grid rounded up to whole vectors.
pub(crate) fn grid_len8(g: Grid) -> usize {
    g.len().div_ceil(LANES) * LANES
}

/// # Safety
/// See [`weight_grad_grid`].
unsafe fn wgrad_dispatch(m: usize, gp: *const f32, ld: usize, xp: *const f32, len: usize) -> [[f32; 3]; MW] {
    // SAFETY: forwarded.
    unsafe {
        match m {
            4 => wgrad_n::<4>(gp, ld, xp, len),
            3 => wgrad_n::<3>(gp, ld, xp, len),
            2 => wgrad_n::<2>(gp, ld, xp, len),
            _ => wgrad_n::<1>(gp, ld, xp, len),
        }
    }
}

/// `s[r][kw] = Σ_{q<len} gp[r·ld + q] · xp[q + kw]` for r < M (len a multiple of 8).
#[target_feature(enable = "avx2,fma")]
unsafe fn wgrad_n<const M: usize>(gp: *const f32, ld: usize, xp: *const f32, len: usize) -> [[f32; 3]; MW] {
    let mut acc = [[_mm256_setzero_ps(); 3]; M];
    for q in (0..len).step_by(LANES) {
        // SAFETY: bounds as documented in `weight_grad_grid`.
        unsafe {
            let x =
                [_mm256_loadu_ps(xp.add(q)), _mm256_loadu_ps(xp.add(q + 1)), _mm256_loadu_ps(xp.add(q + 2))];
            for (r, a) in acc.iter_mut().enumerate() {
                let gv = _mm256_loadu_ps(gp.add(r * ld + q));
                a[0] = _mm256_fmadd_ps(gv, x[0], a[0]);
                a[1] = _mm256_fmadd_ps(gv, x[1], a[1]);
                a[2] = _mm256_fmadd_ps(gv, x[2], a[2]);
            }
        }
    }
    let mut out = [[0f32; 3]; MW];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (s, v) in o.iter_mut().zip(a) {
            *s = hsum(*v);
        }
    }
    out
}

/// Sum of the 8 lanes.
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0b01));
    _mm_cvtss_f32(s)
}
