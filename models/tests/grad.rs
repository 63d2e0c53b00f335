//! Gradient checks in f64: the building blocks (pool, upsample, LeakyReLU, padding) and
//! the whole U-Net / RED30 against central finite differences.

use models::{
    kernels::conv3x3,
    kernels::ops::{
        leaky_relu, leaky_relu_composite, max_pool2x2, max_pool2x2_composite, pad_bottom_right,
        upsample_nearest2x, upsample_nearest2x_composite, PadMode,
    },
    nets::init::SplitMix64,
    DType, Device, Module, NetConfig, Network, Tensor, UNetConfig, VarMap,
};

use candle_core::Var;

fn randn(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = SplitMix64::new(seed);
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|_| rng.normal()).collect::<Vec<f64>>(), shape, &Device::Cpu).unwrap()
}

fn vec(t: &Tensor) -> Vec<f64> {
    t.flatten_all().unwrap().to_vec1::<f64>().unwrap()
}

/// `L(x) = Σ r ⊙ f(x)` for a fixed random `r`: its gradient is the vector-Jacobian product.
fn probe(f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, r: &Tensor) -> f64 {
    f(x).mul(r).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
}

/// Checks every coordinate of ∂L/∂x against central differences.
fn check_op(f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, tol: f64) {
    let xv = Var::from_tensor(x).unwrap();
    let y = f(xv.as_tensor());
    let r = randn(y.dims(), 99);
    let loss = y.mul(&r).unwrap().sum_all().unwrap();
    let g = vec(loss.backward().unwrap().get(xv.as_tensor()).expect("gradient"));
    let x0 = vec(x);
    let eps = 1e-6;
    for i in 0..x0.len() {
        let mut xp = x0.clone();
        xp[i] += eps;
        let mut xm = x0.clone();
        xm[i] -= eps;
        let tp = Tensor::from_vec(xp, x.dims(), &Device::Cpu).unwrap();
        let tm = Tensor::from_vec(xm, x.dims(), &Device::Cpu).unwrap();
        let fd = (probe(f, &tp, &r) - probe(f, &tm, &r)) / (2. * eps);
        assert!(
            (fd - g[i]).abs() <= tol * (1. + fd.abs()),
            "coordinate {i}: finite difference {fd}, backward {}",
            g[i]
        );
    }
}

#[test]
fn max_pool_gradient_matches_finite_differences() {
    let x = randn(&[2, 3, 4, 6], 1);
    check_op(&|t| max_pool2x2(t).unwrap(), &x, 1e-7);
    check_op(&|t| max_pool2x2_composite(t).unwrap(), &x, 1e-7);
    assert_eq!(vec(&max_pool2x2(&x).unwrap()), vec(&max_pool2x2_composite(&x).unwrap()));
}

#[test]
fn max_pool_forward_is_the_window_max() {
    let x = randn(&[1, 2, 6, 4], 2);
    let y = vec(&max_pool2x2(&x).unwrap());
    let xv = vec(&x);
    for c in 0..2 {
        for i in 0..3 {
            for j in 0..2 {
                let at = |a: usize, b: usize| xv[c * 24 + (2 * i + a) * 4 + 2 * j + b];
                let m = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
                assert_eq!(y[c * 6 + i * 2 + j], m);
            }
        }
    }
}

#[test]
fn max_pool_splits_ties_evenly_and_keeps_the_exact_max() {
    // One window with three tied maxima (value 1/3, not exactly representable), one unique.
    let third = 1.0f64 / 3.0;
    let x = Tensor::from_vec(vec![third, third, 0.0, 5.0, third, -1.0, 2.0, 1.0], (1, 1, 2, 4), &Device::Cpu)
        .unwrap();
    for pool in [max_pool2x2, max_pool2x2_composite] {
        let xv = Var::from_tensor(&x).unwrap();
        let y = pool(xv.as_tensor()).unwrap();
        assert_eq!(vec(&y), vec![third, 5.0]);
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = vec(g.get(xv.as_tensor()).unwrap());
        assert_eq!(g, vec![third, third, 0.0, 1.0, third, 0.0, 0.0, 0.0]);
    }
}

#[test]
fn upsample_gradient_matches_finite_differences() {
    let x = randn(&[2, 2, 3, 5], 3);
    check_op(&|t| upsample_nearest2x(t).unwrap(), &x, 1e-7);
    check_op(&|t| upsample_nearest2x_composite(t).unwrap(), &x, 1e-7);
    assert_eq!(vec(&upsample_nearest2x(&x).unwrap()), vec(&upsample_nearest2x_composite(&x).unwrap()));
    let y = vec(&upsample_nearest2x(&x).unwrap());
    let xv = vec(&x);
    assert_eq!(y[(2 * 6 + 3) * 10 + 7], xv[(2 * 3 + 1) * 5 + 3]); // image 1, channel 0: (3,7) → (1,3)
}

#[test]
fn upsample_gradient_accumulates_with_other_paths() {
    // x feeds both the upsampling and a direct term: ∂L/∂x = Σ_window r + s.
    let x = randn(&[1, 1, 2, 2], 4);
    let r = randn(&[1, 1, 4, 4], 5);
    let s = randn(&[1, 1, 2, 2], 6);
    let (rv, sv) = (vec(&r), vec(&s));
    for up in [upsample_nearest2x, upsample_nearest2x_composite] {
        let xv = Var::from_tensor(&x).unwrap();
        // The direct term is built first so its gradient reaches x before the upsampling's.
        let direct = xv.as_tensor().mul(&s).unwrap().sum_all().unwrap();
        let upl = up(xv.as_tensor()).unwrap().mul(&r).unwrap().sum_all().unwrap();
        let g = vec(direct.add(&upl).unwrap().backward().unwrap().get(xv.as_tensor()).unwrap());
        for i in 0..2 {
            for j in 0..2 {
                let window: f64 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|(a, b)| rv[(2 * i + a) * 4 + 2 * j + b])
                    .sum();
                assert!((g[i * 2 + j] - window - sv[i * 2 + j]).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn leaky_relu_gradient_matches_finite_differences() {
    let x = randn(&[1, 2, 3, 3], 7);
    check_op(&|t| leaky_relu(t, 0.1).unwrap(), &x, 1e-7);
    check_op(&|t| leaky_relu_composite(t, 0.1).unwrap(), &x, 1e-7);
    assert_eq!(
        vec(&leaky_relu(&x, 0.1).unwrap()),
        vec(&x).iter().map(|&v| if v >= 0. { v } else { 0.1 * v }).collect::<Vec<_>>()
    );
}

#[test]
fn padding_gradient_matches_finite_differences() {
    let x = randn(&[1, 1, 3, 4], 8);
    check_op(&|t| pad_bottom_right(t, 5, 2, PadMode::Reflect).unwrap(), &x, 1e-7);
    check_op(&|t| pad_bottom_right(t, 2, 3, PadMode::Constant(-0.5)).unwrap(), &x, 1e-7);
    // numpy reflect of [a b c]: a b c b a b c …
    let row = Tensor::from_vec(vec![1.0f64, 2., 3.], (1, 1, 1, 3), &Device::Cpu).unwrap();
    assert_eq!(
        vec(&pad_bottom_right(&row, 0, 5, PadMode::Reflect).unwrap()),
        vec![1., 2., 3., 2., 1., 2., 3., 2.]
    );
}

#[test]
fn conv3x3_matches_candle_conv2d_and_its_gradients() {
    let x = randn(&[2, 3, 5, 7], 20);
    let w = randn(&[4, 3, 3, 3], 21);
    let b = randn(&[4], 22);
    let ours = conv3x3(&x, &w, &b).unwrap();
    let candle = x.conv2d(&w, 1, 1, 1, 1).unwrap().broadcast_add(&b.reshape((1, 4, 1, 1)).unwrap()).unwrap();
    let diff = ours.sub(&candle).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
    assert!(diff < 1e-12, "forward differs from candle's conv2d by {diff}");
    // Gradients w.r.t. input, weight and bias, each against finite differences.
    check_op(&|t| conv3x3(t, &w, &b).unwrap(), &x, 1e-7);
    check_op(&|t| conv3x3(&x, t, &b).unwrap(), &w, 1e-7);
    check_op(&|t| conv3x3(&x, &w, t).unwrap(), &b, 1e-7);
    // And against candle's own backward (correct for conv2d, only slow on the CPU).
    let (xv, wv, bv) =
        (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap(), Var::from_tensor(&b).unwrap());
    let r = randn(&[2, 4, 5, 7], 23);
    let ga =
        conv3x3(xv.as_tensor(), wv.as_tensor(), bv.as_tensor()).unwrap().mul(&r).unwrap().sum_all().unwrap();
    let gb = xv
        .as_tensor()
        .conv2d(wv.as_tensor(), 1, 1, 1, 1)
        .unwrap()
        .broadcast_add(&bv.as_tensor().reshape((1, 4, 1, 1)).unwrap())
        .unwrap()
        .mul(&r)
        .unwrap()
        .sum_all()
        .unwrap();
    let (ga, gb) = (ga.backward().unwrap(), gb.backward().unwrap());
    for v in [&xv, &wv, &bv] {
        let (a, c) = (vec(ga.get(v.as_tensor()).unwrap()), vec(gb.get(v.as_tensor()).unwrap()));
        for (p, q) in a.iter().zip(&c) {
            assert!((p - q).abs() < 1e-10 * (1. + q.abs()), "{p} vs {q}");
        }
    }
}

/// Directional and coordinate finite-difference checks of ∂L/∂θ for a whole network,
/// `L = Σ r ⊙ net(x)`, in f64.
fn check_network(cfg: &NetConfig, shape: &[usize]) {
    let dev = Device::Cpu;
    let vm = VarMap::new();
    let net = Network::init(cfg, &vm, 11, DType::F64, &dev).unwrap();
    let xv = Var::from_tensor(&randn(shape, 12)).unwrap();
    let y = net.forward(xv.as_tensor()).unwrap();
    assert_eq!(y.dims(), &[shape[0], cfg.out_channels(), shape[2], shape[3]]);
    let r = randn(y.dims(), 13);
    let grads = y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
    let loss_at = || probe(&|t| net.forward(t).unwrap(), xv.as_tensor(), &r);

    let mut vars: Vec<(String, Var)> =
        vm.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.push(("input".to_string(), xv.clone()));
    // Small steps: LeakyReLU / ReLU kinks and max-pool switches make the networks only
    // piecewise smooth, and the chance that a step crosses one grows with its size (at 1e-5
    // the directional error was ~1e-3, at 1e-7 ~1e-7); f64 round-off stays far below.
    let eps = 1e-7;
    // 1. A random direction in the space of all parameters and the input.
    let dirs: Vec<Tensor> =
        vars.iter().enumerate().map(|(i, (_, v))| randn(v.dims(), 100 + i as u64)).collect();
    let originals: Vec<Tensor> = vars.iter().map(|(_, v)| v.as_tensor().copy().unwrap()).collect();
    let mut analytic = 0.0;
    for ((_, v), d) in vars.iter().zip(&dirs) {
        analytic +=
            grads.get(v.as_tensor()).unwrap().mul(d).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap();
    }
    let shift = |s: f64| {
        for (((_, v), d), o) in vars.iter().zip(&dirs).zip(&originals) {
            v.set(&o.add(&d.affine(s, 0.).unwrap()).unwrap()).unwrap();
        }
    };
    shift(eps);
    let lp = loss_at();
    shift(-eps);
    let lm = loss_at();
    shift(0.);
    let fd = (lp - lm) / (2. * eps);
    let rel = (fd - analytic).abs() / fd.abs().max(analytic.abs());
    eprintln!(
        "{}: random direction: finite difference {fd}, backward {analytic}, relative error {rel:e}",
        cfg.name()
    );
    assert!(
        rel < 1e-4,
        "random direction: finite difference {fd}, backward {analytic}, relative error {rel:e}"
    );

    // 2. A few single coordinates per tensor (first, middle, last element). Error bound
    // 1e-4 relative plus 1e-6 absolute (round-off of a difference of two O(100) sums).
    let eps = 1e-6;
    for ((name, v), o) in vars.iter().zip(&originals) {
        let g = vec(grads.get(v.as_tensor()).unwrap());
        let n = g.len();
        for i in [0, n - 1] {
            let ov = vec(o);
            let set = |delta: f64| {
                let mut p = ov.clone();
                p[i] += delta;
                v.set(&Tensor::from_vec(p, v.dims(), &dev).unwrap()).unwrap();
                loss_at()
            };
            let fd = (set(eps) - set(-eps)) / (2. * eps);
            v.set(o).unwrap();
            let err = (fd - g[i]).abs();
            assert!(
                err < 1e-4 * fd.abs().max(g[i].abs()) + 1e-6,
                "{name}[{i}]: finite difference {fd}, backward {}, error {err:e}",
                g[i]
            );
        }
    }
}

#[test]
fn unet_gradient_matches_finite_differences() {
    // Width 6 keeps it fast; 36×40 is padded (reflect) to 64×64 and cropped back, so the
    // check covers padding, all five pool / upsample levels and the crop.
    let cfg = NetConfig::UNet(UNetConfig::new(2, 2).with_width(6));
    check_network(&cfg, &[1, 2, 36, 40]);
}

#[test]
fn unet_gradient_with_constant_padding() {
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(4).with_pad(PadMode::Constant(-0.5)));
    check_network(&cfg, &[1, 1, 30, 33]);
}

#[test]
fn red30_gradient_matches_finite_differences() {
    let cfg = NetConfig::Red30(models::Red30Config::new(1, 1).with_features(4));
    check_network(&cfg, &[1, 1, 9, 7]);
}
