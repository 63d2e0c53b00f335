//! AVX-512 forward register tile for the f32 3×3 convolution: the same sums as
//! [`super::simd`]'s AVX2 `tile_n`, on 16-lane registers.
//!
//! Why: on CPUs with AVX-512 (e.g. Sapphire Rapids) the AVX2 tile uses half of each FMA
//! unit; PyTorch's oneDNN uses all of it. With 32 registers the tile grows from 6 output
//! channels × 16 grid positions to [`MR`] = 12 × [`NR`] = 32 (24 accumulators, two input
//! vectors and one broadcast weight), so each input load feeds twice as many FMAs.
//!
//! Same bits as the AVX2 kernel: every output is `fma`-accumulated over (c, t) in the same
//! order, starting from 0, so the result does not depend on which kernel ran (tested).
//! The weights keep the AVX2 packing (blocks of 6 output channels, `[c][t][r]`): a 12-row
//! tile reads two consecutive blocks.

use std::arch::x86_64::*;

use super::vector;

/// Output channels per tile (two packed blocks of [`super::simd`]'s 6).
pub(crate) const MR: usize = 12;
/// Grid positions per tile (two 16-lane vectors).
pub(crate) const NR: usize = 32;
/// Rows of one packed weight block.
const BLOCK: usize = 6;

/// Whether this CPU has AVX-512F and the AVX-512 tile is not switched off by the
/// environment variable `RECON_NO_AVX512` (set to anything: same results, for timing the
/// AVX2 kernel on the same machine).
pub(crate) fn available() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("fma")
            && std::env::var_os("RECON_NO_AVX512").is_none()
    })
}

/// `tile[r][q] = Σ_{c,t} w_r(c, t) · x[c·plane + off_t + q]` for r < m ≤ [`MR`], q < [`NR`],
/// where rows r < 6 read the packed block at `w` (`[c][t][min(m, 6)]`) and rows r ≥ 6 the
/// next block, at `w + 6·c_in·9` (`[c][t][m − 6]`).
///
/// # Safety
/// AVX-512F and FMA must be available ([`available`]); `x` must be readable at
/// `c·plane + off_t + q` for c < c_in, every offset, q < [`NR`]; `w` must hold the
/// `m · c_in · 9` packed weights.
pub(crate) unsafe fn tile(
    m: usize,
    x: *const f32,
    plane: usize,
    c_in: usize,
    offs: &[usize; 9],
    w: *const f32,
    tile: &mut [[f32; NR]; MR],
) {
    // SAFETY: forwarded; the second block starts after the first's 6·c_in·9 weights.
    unsafe {
        let wb = w.add(BLOCK * c_in * 9);
        match m {
            12 => tile_n::<6, 6>(x, plane, c_in, offs, w, wb, tile),
            11 => tile_n::<6, 5>(x, plane, c_in, offs, w, wb, tile),
            10 => tile_n::<6, 4>(x, plane, c_in, offs, w, wb, tile),
            9 => tile_n::<6, 3>(x, plane, c_in, offs, w, wb, tile),
            8 => tile_n::<6, 2>(x, plane, c_in, offs, w, wb, tile),
            7 => tile_n::<6, 1>(x, plane, c_in, offs, w, wb, tile),
            6 => tile_n::<6, 0>(x, plane, c_in, offs, w, wb, tile),
            5 => tile_n::<5, 0>(x, plane, c_in, offs, w, wb, tile),
            4 => tile_n::<4, 0>(x, plane, c_in, offs, w, wb, tile),
            3 => tile_n::<3, 0>(x, plane, c_in, offs, w, wb, tile),
            2 => tile_n::<2, 0>(x, plane, c_in, offs, w, wb, tile),
            _ => tile_n::<1, 0>(x, plane, c_in, offs, w, wb, tile),
        }
    }
}

/// The tile with `A` rows from block `wa` and `B` rows from block `wb`
/// ([`vector::register_tile`] on AVX-512 registers).
#[target_feature(enable = "avx512f,fma")]
unsafe fn tile_n<const A: usize, const B: usize>(
    x: *const f32,
    plane: usize,
    c_in: usize,
    offs: &[usize; 9],
    wa: *const f32,
    wb: *const f32,
    tile: &mut [[f32; NR]; MR],
) {
    let out: *mut f32 = tile.as_mut_ptr().cast();
    // SAFETY: AVX-512F/FMA enabled here; bounds as documented in `tile`; `tile` holds MR
    // rows of NR = 2·16 floats.
    unsafe {
        vector::register_tile!(_mm512_setzero_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_fmadd_ps,
            _mm512_storeu_ps, 16; A, B; x, plane, c_in, offs, wa, wb, out, NR)
    }
}

#[cfg(test)]
mod tests {
    use super::super::simd::{self, pack_weights};
    use super::*;

    /// Every row count 1–12, odd channel counts: the AVX-512 tile and two AVX2 tiles per
    /// 16-position half (blocks of 6 rows) give the same bits.
    #[test]
    fn the_avx512_tile_gives_the_avx2_tiles_bits() {
        if !(available() && simd::available()) {
            eprintln!("skipped: this CPU has no AVX-512F (or RECON_NO_AVX512 is set)");
            return;
        }
        let (h, w) = (5, 37);
        let (wp, plane) = (w + 2, (h + 2) * (w + 2));
        let offs: [usize; 9] = std::array::from_fn(|t| (t / 3) * wp + t % 3);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        for c_in in [1, 3, 7] {
            let x: Vec<f32> = (0..c_in * plane + 64).map(|_| next()).collect();
            for m in 1..=MR {
                let wts: Vec<f32> = (0..m * c_in * 9).map(|_| next()).collect();
                let packed = pack_weights(&wts, m, c_in, false);
                for p0 in [0, 40, h * wp - NR] {
                    let mut wide = [[0f32; NR]; MR];
                    // SAFETY: AVX-512 checked; reads below c_in·plane + 2·wp + 2 + 32 < x.len().
                    unsafe { tile(m, x.as_ptr().add(p0), plane, c_in, &offs, packed.as_ptr(), &mut wide) };
                    for (b, o0) in [(0, 0), (1, 6)] {
                        let rows = m.saturating_sub(o0).min(6);
                        for half in 0..2 * (rows > 0) as usize {
                            let mut narrow = [[0f32; 16]; 6];
                            let wb = &packed[o0 * c_in * 9..][..rows * c_in * 9];
                            let xp = x[p0 + 16 * half..].as_ptr();
                            // SAFETY: AVX2 checked; same bounds.
                            unsafe { simd::tile_kernel(rows, xp, plane, c_in, &offs, wb, &mut narrow) };
                            for r in 0..rows {
                                let got = &wide[6 * b + r][16 * half..16 * half + 16];
                                let want = narrow[r].map(f32::to_bits);
                                assert_eq!(
                                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                    want,
                                    "c_in {c_in} m {m} row {}",
                                    6 * b + r
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
