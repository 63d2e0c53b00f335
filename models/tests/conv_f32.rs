//! The f32 3×3 convolution (on x86-64 with AVX2: the register-tile kernels of
//! `kernels/conv/simd.rs`) against the same convolution computed in f64 by candle's own `conv2d` and
//! its backward, over shapes that exercise every remainder: output channels not a multiple
//! of the 6- and 4-channel tiles, widths shorter and longer than the 16-position tile, one-pixel
//! images, several images, and bands (large planes split across threads).

use candle_core::{DType, Tensor, Var};
use common::{randn, rel_err, to_vec};
use models::kernels::conv3x3;

mod common;

/// Forward and all three gradients of `Σ r ⊙ conv3x3(x, w, b)` in f32 (ours) against f64
/// (candle's conv2d + its autograd).
fn check(n: usize, ci: usize, co: usize, h: usize, w: usize) {
    let (x, k, b) = (randn(&[n, ci, h, w], 1), randn(&[co, ci, 3, 3], 2), randn(&[co], 3));
    let r = randn(&[n, co, h, w], 4);
    let f32v = |t: &Tensor| Var::from_tensor(&t.to_dtype(DType::F32).unwrap()).unwrap();
    let (x32, k32, b32) = (f32v(&x), f32v(&k), f32v(&b));
    let y32 = conv3x3(x32.as_tensor(), k32.as_tensor(), b32.as_tensor()).unwrap();
    let g32 = y32.mul(&r.to_dtype(DType::F32).unwrap()).unwrap().sum_all().unwrap().backward().unwrap();

    let (x64, k64, b64) =
        (Var::from_tensor(&x).unwrap(), Var::from_tensor(&k).unwrap(), Var::from_tensor(&b).unwrap());
    let y64 = x64
        .as_tensor()
        .conv2d(k64.as_tensor(), 1, 1, 1, 1)
        .unwrap()
        .broadcast_add(&b64.as_tensor().reshape((1, co, 1, 1)).unwrap())
        .unwrap();
    let g64 = y64.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();

    let case = format!("{n}x{ci}->{co} at {h}x{w}");
    // f32 sums of up to 9·ci terms (forward) or n·h·w terms (weight gradient).
    let tol = 2e-6 * ((9 * ci.max(co)) as f64 + (n * h * w) as f64).sqrt().max(1.);
    let e = rel_err(&y32, &y64);
    assert!(e < tol, "{case}: forward rel. error {e:e} (tol {tol:e})");
    for (name, a, c) in [("input", &x32, &x64), ("weight", &k32, &k64), ("bias", &b32, &b64)] {
        let e = rel_err(g32.get(a.as_tensor()).unwrap(), g64.get(c.as_tensor()).unwrap());
        assert!(e < tol, "{case}: {name} gradient rel. error {e:e} (tol {tol:e})");
    }
}

#[test]
fn remainders_of_the_channel_and_position_tiles() {
    check(2, 3, 4, 5, 7);
    check(1, 1, 1, 1, 1);
    check(2, 5, 7, 9, 8);
    check(1, 2, 6, 4, 30);
    check(3, 7, 2, 11, 3);
    check(1, 6, 3, 1, 25);
}

#[test]
fn unet_sized_layers() {
    check(2, 48, 48, 16, 16);
    check(1, 96, 64, 8, 8);
    check(1, 3, 48, 33, 20);
}

#[test]
fn planes_split_into_several_bands() {
    // 48 input channels at 64×70: the forward band holds ~1300 grid positions and the
    // weight-gradient band 1360, so one plane (64·72 = 4608 positions) spans several.
    check(2, 48, 9, 64, 70);
}

#[test]
fn result_does_not_depend_on_the_thread_count() {
    let (x, k, b) = (randn(&[2, 16, 40, 50], 5), randn(&[12, 16, 3, 3], 6), randn(&[12], 7));
    let f = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let (x, k, b) = (Var::from_tensor(&f(&x)).unwrap(), Var::from_tensor(&f(&k)).unwrap(), f(&b));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let y = conv3x3(x.as_tensor(), k.as_tensor(), &b).unwrap();
            let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let grad = |v: &Var| to_vec(g.get(v.as_tensor()).unwrap());
            (to_vec(&y), grad(&x), grad(&k))
        })
    };
    assert_eq!(run(1), run(3));
}
