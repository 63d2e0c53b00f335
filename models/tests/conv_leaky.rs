//! The fused convolution + bias + LeakyReLU (`conv3x3_leaky`) against
//! - the same layer in f64 from candle's own `conv2d`, `broadcast_add` and a LeakyReLU built
//!   from `relu` and `affine`, with candle's autograd (forward and all three gradients);
//! - the unfused f32 ops (`conv3x3` then `leaky_relu`): identical forward, input and weight
//!   gradients bit for bit (the fused backward feeds the same kernels the same values), the
//!   bias gradient to rounding (it is summed in another order).
//!
//! Width 1 and wider images take the two weight-gradient layouts of the fused backward
//! (padded planes read as the grid, or a copy); slope 0 is RED30's ReLU.

use candle_core::{DType, Tensor, Var};
use common::{randn, rel_err, to_vec};
use models::kernels::{conv3x3, conv3x3_leaky, leaky_relu};

mod common;

/// Output and gradients (x, w, b) of `Σ r ⊙ layer(x, w, b)`.
fn run(
    layer: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor,
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    r: &Tensor,
) -> [Tensor; 4] {
    let (x, w, b) =
        (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap(), Var::from_tensor(b).unwrap());
    let y = layer(x.as_tensor(), w.as_tensor(), b.as_tensor());
    let g = y.mul(r).unwrap().sum_all().unwrap().backward().unwrap();
    let grad = |v: &Var| g.get(v.as_tensor()).expect("gradient").clone();
    [y, grad(&x), grad(&w), grad(&b)]
}

fn check(n: usize, ci: usize, co: usize, h: usize, w: usize, slope: f64) {
    let case = format!("{n}x{ci}->{co} at {h}x{w}, slope {slope}");
    let (x, k, b, r) =
        (randn(&[n, ci, h, w], 11), randn(&[co, ci, 3, 3], 12), randn(&[co], 13), randn(&[n, co, h, w], 14));
    let f32t = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let fused =
        run(|x, w, b| conv3x3_leaky(x, w, b, slope).unwrap(), &f32t(&x), &f32t(&k), &f32t(&b), &f32t(&r));

    // Independent reference: candle's conv2d and autograd in f64.
    let reference = run(
        |x, w, b| {
            let u =
                x.conv2d(w, 1, 1, 1, 1).unwrap().broadcast_add(&b.reshape((1, co, 1, 1)).unwrap()).unwrap();
            u.affine(slope, 0.).unwrap().add(&u.relu().unwrap().affine(1. - slope, 0.).unwrap()).unwrap()
        },
        &x,
        &k,
        &b,
        &r,
    );
    let tol = 2e-6 * ((9 * ci.max(co)) as f64 + (n * h * w) as f64).sqrt().max(1.);
    let names = ["output", "input gradient", "weight gradient", "bias gradient"];
    for ((name, a), c) in names.iter().zip(&fused).zip(&reference) {
        let e = rel_err(a, c);
        assert!(e < tol, "{case}: {name} rel. error {e:e} against f64 (tol {tol:e})");
    }

    // The unfused f32 ops: same kernels, same values.
    let unfused = run(
        |x, w, b| leaky_relu(&conv3x3(x, w, b).unwrap(), slope).unwrap(),
        &f32t(&x),
        &f32t(&k),
        &f32t(&b),
        &f32t(&r),
    );
    for (i, name) in names[..3].iter().enumerate() {
        assert_eq!(to_vec(&fused[i]), to_vec(&unfused[i]), "{case}: {name} differs from the unfused ops");
    }
    let e = rel_err(&fused[3], &unfused[3]);
    assert!(e < 1e-5, "{case}: bias gradient rel. error {e:e} against the unfused ops");
}

#[test]
fn narrow_images_take_the_copied_gradient_layout() {
    check(1, 1, 1, 1, 1, 0.1);
    // Width 1, 3 rows: the grid (9 positions) rounds up to 16, 7 past its end.
    check(2, 3, 5, 3, 1, 0.1);
    check(1, 4, 7, 6, 1, 0.0);
}

#[test]
fn wide_images_read_the_padded_gradient_as_the_grid() {
    check(2, 6, 13, 9, 2, 0.0);
    check(3, 7, 2, 4, 4, 0.1);
    check(2, 3, 4, 5, 5, 0.1);
    check(2, 5, 7, 3, 6, 0.1);
    check(1, 2, 6, 4, 7, 0.1);
    check(2, 48, 48, 16, 16, 0.1);
    check(1, 9, 5, 11, 30, 0.0);
    check(2, 48, 9, 64, 70, 0.1);
}

#[test]
fn layers_without_gradients_for_some_inputs() {
    // Only the weights tracked (the first layer of a network): no input gradient is built.
    let f = |t: Tensor| t.to_dtype(DType::F32).unwrap();
    let (x, b) = (f(randn(&[2, 3, 8, 9], 21)), f(randn(&[4], 23)));
    let k = Var::from_tensor(&f(randn(&[4, 3, 3, 3], 22))).unwrap();
    let y = conv3x3_leaky(&x, k.as_tensor(), &b, 0.1).unwrap();
    let g = y.sum_all().unwrap().backward().unwrap();
    assert!(g.get(&x).is_none());
    let y2 = leaky_relu(&conv3x3(&x, k.as_tensor(), &b).unwrap(), 0.1).unwrap();
    let g2 = y2.sum_all().unwrap().backward().unwrap();
    assert_eq!(to_vec(g.get(k.as_tensor()).unwrap()), to_vec(g2.get(k.as_tensor()).unwrap()));
}

#[test]
fn f64_falls_back_to_the_unfused_ops() {
    let (x, k, b) = (randn(&[1, 2, 5, 6], 31), randn(&[3, 2, 3, 3], 32), randn(&[3], 33));
    let fused = conv3x3_leaky(&x, &k, &b, 0.1).unwrap();
    let unfused = leaky_relu(&conv3x3(&x, &k, &b).unwrap(), 0.1).unwrap();
    assert_eq!(to_vec(&fused), to_vec(&unfused));
}
