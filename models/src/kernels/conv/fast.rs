//! The f32 passes on the AVX2 + FMA register-tile kernels of [`super::simd`], one
//! image at a time (the kernels parallelise over bands of each image).

use super::{grid_into, pad_into, simd, Geom};
use rayon::prelude::*;
pub(crate) use simd::Epilogue;

fn grid(g: Geom) -> simd::Grid {
    simd::Grid { h: g.h, w: g.w }
}

/// Every image of `src` (N·c planes of H×W) zero-padded, one per `padded_len(c)`.
fn pad_batch(src: &[f32], c: usize, g: Geom) -> (Vec<f32>, usize) {
    let (hw, stride) = (g.h * g.w, g.padded_len(c));
    let mut xp = vec![0f32; g.n * stride];
    xp.par_chunks_mut(stride).enumerate().for_each(|(i, d)| pad_into(&src[i * c * hw..][..c * hw], c, g, d));
    (xp, stride)
}

/// `conv_grid` of the padded images `xp` (each `c_in` planes, one every `stride`) into
/// N·c_out planes of H×W.
pub(crate) fn conv_padded(
    xp: &[f32],
    stride: usize,
    c_in: usize,
    packed: &[f32],
    epilogue: Epilogue,
    c_out: usize,
    g: Geom,
) -> Vec<f32> {
    let mut y = vec![0f32; g.n * c_out * g.h * g.w];
    let xp = simd::Batch { data: xp, n: g.n, stride };
    simd::conv_grid(xp, c_in, packed, epilogue, c_out, grid(g), &mut y);
    y
}

/// The forward `act(W ⋆ x + b)` (see [`Epilogue`]).
pub(crate) fn forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    ci: usize,
    co: usize,
    g: Geom,
    leaky: Option<f32>,
) -> Vec<f32> {
    let (xp, stride) = pad_batch(x, ci, g);
    let packed = simd::pack_weights(w, co, ci, false);
    conv_padded(&xp, stride, ci, &packed, Epilogue { bias: Some(b), leaky }, co, g)
}

/// Input gradient from the zero-padded output gradient (`co` planes per image, one image
/// every `stride`): the convolution with the flipped, transposed kernel.
pub(crate) fn input_grad_padded(
    gp: &[f32],
    stride: usize,
    w: &[f32],
    ci: usize,
    co: usize,
    g: Geom,
) -> Vec<f32> {
    conv_padded(gp, stride, co, &simd::pack_weights(w, co, ci, true), Epilogue::default(), ci, g)
}

pub(super) fn input_grad(gy: &[f32], w: &[f32], ci: usize, co: usize, g: Geom) -> Vec<f32> {
    let (gp, stride) = pad_batch(gy, co, g);
    input_grad_padded(&gp, stride, w, ci, co, g)
}

pub(super) fn weight_grad(gy: &[f32], x: &[f32], ci: usize, co: usize, g: Geom) -> Vec<f32> {
    let (hw, lr) = (g.h * g.w, simd::grid_len8(grid(g)));
    let mut gg = vec![0f32; g.n * co * lr];
    gg.par_chunks_mut(co * lr)
        .enumerate()
        .for_each(|(i, d)| grid_into(&gy[i * co * hw..][..co * hw], co, g, lr, d));
    weight_grad_grid(&gg, co * lr, lr, x, ci, co, g)
}

/// Weight gradient from the output gradient on the grid (`gg`, one image every `stride`,
/// one plane every `ld`; see `simd::weight_grad_grid` for what must be zero) and the
/// unpadded input `x`.
pub(crate) fn weight_grad_grid(
    gg: &[f32],
    stride: usize,
    ld: usize,
    x: &[f32],
    ci: usize,
    co: usize,
    g: Geom,
) -> Vec<f32> {
    let (xp, xs) = pad_batch(x, ci, g);
    let batch = |data, stride| simd::Batch { data, n: g.n, stride };
    simd::weight_grad_grid(batch(gg, stride), ld, co, batch(&xp, xs), ci, grid(g))
}

/// Whether the padded output gradient, read from offset `W + 3` with plane stride
/// `(H+2)(W+2)`, is a valid grid for [`weight_grad_grid`]: its junk columns are the zero
/// borders, and the up to 7 positions past `H·(W+2)` must stay inside the zeros that
/// follow (the bottom border row, W+1 elements, then the next plane's top row or the
/// slack, W+2 more): `7 ≤ 2W + 3`.
pub(crate) fn padded_is_grid(g: Geom) -> bool {
    g.w >= 2
}

/// Length of the grid rounded to whole vectors.
pub(crate) fn grid_len8(g: Geom) -> usize {
    simd::grid_len8(grid(g))
}
