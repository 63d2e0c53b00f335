//! The SENSE operator in the graph (`models::sense`) against `kspace::SenseOperator`, and the
//! unrolled network: shapes, one cascade = one SENSE gradient step, training lowers the loss,
//! checkpoint round trip, gradient check in f64.

use candle_core::Var;
use kspace::{operator::SenseOperator, SamplingMask, C32};
use models::{
    l2, load_model, save_checkpoint, sense, Adam, AdamConfig, DType, Device, ModelMeta, Module, NetConfig,
    Network, Tensor, UnrolledConfig, VarMap,
};
use ndarray::{Array2, Array3};

/// Seeded values in [−1, 1) (numpy-compatible generator of kspace).
fn values(n: usize, seed: u64) -> Vec<f64> {
    kspace::rng::MaskRng::from_seed(seed as u32).uniform_vec(n).into_iter().map(|u| 2.0 * u - 1.0).collect()
}

fn random(shape: &[usize], seed: u64, dtype: DType) -> Tensor {
    let t = Tensor::from_vec(values(shape.iter().product(), seed), shape, &Device::Cpu).unwrap();
    t.to_dtype(dtype).unwrap()
}

fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

/// max |a − b| / max |b|.
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).map(|(p, q)| (p - q).abs()).fold(0., f64::max) / scale
}

/// A random 0/1 mask `(1, 1, H, W, 1)` (about half the bins, DC always) and its kspace form.
fn mask(h: usize, w: usize, seed: u64, dtype: DType) -> (Tensor, SamplingMask) {
    let v = values(h * w, seed);
    let keep = Array2::from_shape_fn((h, w), |(i, j)| v[i * w + j] > 0. || (i, j) == (h / 2, w / 2));
    let m: Vec<f64> = keep.iter().map(|&k| if k { 1. } else { 0. }).collect();
    let t = Tensor::from_vec(m, (1, 1, h, w, 1), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
    (t, SamplingMask::new(keep, Array2::ones((h, w))))
}

/// The complex array `(C, H, W)` of a tensor `(1, C, H, W, 2)`.
fn to_array(t: &Tensor) -> Array3<C32> {
    let (_, c, h, w, _) = t.dims5().unwrap();
    let v = flat(t);
    Array3::from_shape_vec((c, h, w), v.chunks_exact(2).map(|p| C32::new(p[0] as f32, p[1] as f32)).collect())
        .unwrap()
}

fn from_array(a: &Array3<C32>) -> Vec<f64> {
    a.iter().flat_map(|z| [z.re as f64, z.im as f64]).collect()
}

/// `forward_op` / `adjoint_op` equal `SenseOperator::apply` / `apply_adjoint` (several coils
/// and one, odd and even sizes).
#[test]
fn sense_ops_equal_kspace_operator() {
    for (c, h, w) in [(4, 9, 8), (1, 7, 7), (3, 16, 12)] {
        let maps = random(&[1, c, h, w, 2], 1, DType::F32);
        let x = random(&[1, 1, h, w, 2], 2, DType::F32);
        let y = random(&[1, c, h, w, 2], 3, DType::F32);
        let (m, sm) = mask(h, w, 4, DType::F32);
        let mut op = SenseOperator::new(to_array(&maps), &sm).unwrap();
        let want = from_array(&op.apply(&to_array(&x).view()).unwrap());
        assert!(rel_err(&flat(&sense::forward_op(&x, &maps, &m).unwrap()), &want) < 1e-5, "A, {c} coils");
        let want = from_array(&op.apply_adjoint(&to_array(&y).view()).unwrap());
        assert!(rel_err(&flat(&sense::adjoint_op(&y, &maps, &m).unwrap()), &want) < 1e-5, "Aᴴ, {c} coils");
    }
}

/// `⟨A x, y⟩ = ⟨x, Aᴴ y⟩` (complex inner products, f64), batch of two.
#[test]
fn sense_adjointness() {
    let (n, c, h, w) = (2, 3, 7, 10);
    let maps = random(&[n, c, h, w, 2], 5, DType::F64);
    let x = random(&[n, 1, h, w, 2], 6, DType::F64);
    let y = random(&[n, c, h, w, 2], 7, DType::F64);
    let m = mask(h, w, 8, DType::F64).0.repeat((n, 1, 1, 1, 1)).unwrap();
    // ⟨a, b⟩ = Σ conj(a)·b, as (re, im).
    let inner = |a: &Tensor, b: &Tensor| {
        let p = flat(&sense::conj_mul(a, b).unwrap());
        (p.iter().step_by(2).sum::<f64>(), p.iter().skip(1).step_by(2).sum::<f64>())
    };
    let (lr, li) = inner(&sense::forward_op(&x, &maps, &m).unwrap(), &y);
    let (rr, ri) = inner(&x, &sense::adjoint_op(&y, &maps, &m).unwrap());
    assert!((lr - rr).abs() < 1e-10 && (li - ri).abs() < 1e-10, "({lr}, {li}) vs ({rr}, {ri})");
}

/// The fused CPU kernels of `expand` / `reduce` equal the composite complex products, forward
/// and backward, including the gradient with respect to trained maps (f64).
#[test]
fn fused_expand_reduce_equal_composite() {
    let (n, c, h, w) = (2, 3, 5, 4);
    let maps = Var::from_tensor(&random(&[n, c, h, w, 2], 51, DType::F64)).unwrap();
    let x = Var::from_tensor(&random(&[n, 1, h, w, 2], 52, DType::F64)).unwrap();
    let wz = random(&[n, c, h, w, 2], 53, DType::F64);
    let wx = random(&[n, 1, h, w, 2], 54, DType::F64);
    let (s, xt) = (maps.as_tensor(), x.as_tensor());
    let fused_z = sense::expand(xt, s).unwrap();
    let plain_z = sense::mul(s, xt).unwrap();
    assert!(rel_err(&flat(&fused_z), &flat(&plain_z)) < 1e-14);
    let fused_x = sense::reduce(&fused_z, s).unwrap();
    let plain_x = sense::conj_mul(s, &plain_z).unwrap().sum_keepdim(1).unwrap();
    assert!(rel_err(&flat(&fused_x), &flat(&plain_x)) < 1e-14);
    // Loss through both ops: Σ wz·z + Σ wx·reduce(z)².
    let loss = |z: &Tensor, x: &Tensor| {
        ((z * &wz).unwrap().sum_all().unwrap() + (x.sqr().unwrap() * &wx).unwrap().sum_all().unwrap())
            .unwrap()
    };
    let gf = loss(&fused_z, &fused_x).backward().unwrap();
    let gp = loss(&plain_z, &plain_x).backward().unwrap();
    for v in [s, xt] {
        assert!(rel_err(&flat(gf.get(v).unwrap()), &flat(gp.get(v).unwrap())) < 1e-12);
    }
}

#[test]
fn channel_conversions_round_trip() {
    let x = random(&[2, 1, 3, 5, 2], 9, DType::F32);
    let c = sense::to_channels(&x).unwrap();
    assert_eq!(c.dims(), [2, 2, 3, 5]);
    assert_eq!(flat(&c.narrow(1, 1, 1).unwrap()), flat(&x.narrow(4, 1, 1).unwrap()));
    assert_eq!(flat(&sense::from_channels(&c).unwrap()), flat(&x));
}

fn small() -> UnrolledConfig {
    UnrolledConfig { cascades: 2, width: 4, levels: 2 }
}

/// A random problem: measured = A(x) on a random mask, maps of unit-ish norm.
fn problem(n: usize, c: usize, h: usize, w: usize, dtype: DType) -> (Tensor, Tensor, Tensor) {
    let maps = (random(&[n, c, h, w, 2], 11, dtype) * (0.7 / (c as f64).sqrt())).unwrap();
    let (m, _) = mask(h, w, 12, dtype);
    let m = m.repeat((n, 1, 1, 1, 1)).unwrap();
    let x = random(&[n, 1, h, w, 2], 13, dtype);
    (sense::forward_op(&x, &maps, &m).unwrap(), m, maps)
}

#[test]
fn output_shape_any_coils_and_size() {
    let vm = VarMap::new();
    let net = Network::init(&NetConfig::Unrolled(small()), &vm, 1, DType::F32, &Device::Cpu).unwrap();
    let net = net.as_unrolled().unwrap();
    for (n, c, h, w) in [(1, 1, 9, 7), (2, 3, 12, 16), (1, 8, 5, 11), (1, 2, 1, 6)] {
        let (y, m, maps) = problem(n, c, h, w, DType::F32);
        let out = net.forward(&y, &m, &maps).unwrap();
        assert_eq!(out.dims(), [n, 1, h, w, 2], "{c} coils {h}x{w}");
        assert!(flat(&out).iter().all(|v| v.is_finite()));
    }
    let err = net.forward(&y_bad(), &y_bad(), &y_bad()).unwrap_err().to_string();
    assert!(err.contains("(N, C, H, W, 2)"), "{err}");
}

fn y_bad() -> Tensor {
    Tensor::zeros((1, 2, 4, 4), DType::F32, &Device::Cpu).unwrap()
}

/// One cascade with the regulariser's output layer zero and η = 1 is exactly one gradient step
/// `x¹ = x⁰ − Aᴴ(A x⁰ − y)`, `x⁰ = Aᴴ y`, computed with `kspace::SenseOperator`.
#[test]
fn one_cascade_is_a_sense_gradient_step() {
    let cfg = UnrolledConfig { cascades: 1, width: 4, levels: 1 };
    let vm = VarMap::new();
    let net = Network::init(&NetConfig::Unrolled(cfg), &vm, 3, DType::F32, &Device::Cpu).unwrap();
    for (name, var) in vm.data().lock().unwrap().iter() {
        if name.contains(".out.") {
            var.set(&var.as_tensor().zeros_like().unwrap()).unwrap();
        }
    }
    let (c, h, w) = (5, 11, 8);
    let maps = random(&[1, c, h, w, 2], 21, DType::F32);
    let (m, sm) = mask(h, w, 22, DType::F32);
    let y = random(&[1, c, h, w, 2], 23, DType::F32).broadcast_mul(&m).unwrap();
    let got = flat(&net.as_unrolled().unwrap().forward(&y, &m, &maps).unwrap());

    let mut op = SenseOperator::new(to_array(&maps), &sm).unwrap();
    let y = to_array(&y);
    let x0 = op.apply_adjoint(&y.view()).unwrap();
    let r = op.apply(&x0.view()).unwrap() - &y;
    let x1 = &x0 - &op.apply_adjoint(&r.view()).unwrap();
    assert!(rel_err(&got, &from_array(&x1)) < 1e-5);
}

/// A few Adam steps on a tiny random problem lower the image-domain MSE.
#[test]
fn adam_steps_lower_the_loss() {
    let vm = VarMap::new();
    let net = Network::init(&NetConfig::Unrolled(small()), &vm, 5, DType::F32, &Device::Cpu).unwrap();
    let net = net.as_unrolled().unwrap();
    let mut adam = Adam::new(&vm, AdamConfig::default()).unwrap();
    let (n, c, h, w) = (2, 3, 16, 16);
    let maps = (random(&[n, c, h, w, 2], 31, DType::F32) * 0.5).unwrap();
    let m = mask(h, w, 32, DType::F32).0.repeat((n, 1, 1, 1, 1)).unwrap();
    let target = random(&[n, 1, h, w, 2], 33, DType::F32);
    let y = sense::forward_op(&target, &maps, &m).unwrap();
    let loss = |net: &models::Unrolled| l2(&net.forward(&y, &m, &maps).unwrap(), &target).unwrap();
    let first = loss(&net.detached()).to_scalar::<f32>().unwrap();
    for _ in 0..15 {
        let grads = loss(net).backward().unwrap();
        adam.step(&grads, 3e-3, 0.9).unwrap();
    }
    let last = loss(&net.detached()).to_scalar::<f32>().unwrap();
    assert!(last < 0.9 * first, "loss {first} → {last}");
}

/// Save → load gives the same network (same output) and the same config; `Module::forward`
/// refuses with a pointer to `Unrolled::forward`; names and counts agree.
#[test]
fn checkpoint_round_trip() {
    let cfg = NetConfig::Unrolled(small());
    let vm = VarMap::new();
    let net = Network::init(&cfg, &vm, 7, DType::F32, &Device::Cpu).unwrap();
    let dir = std::env::temp_dir().join(format!("models-unrolled-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("unrolled.safetensors");
    save_checkpoint(&path, &vm, &ModelMeta::new(cfg.clone()), None).unwrap();
    let (loaded, meta) = load_model(&path, &Device::Cpu).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(meta.arch, cfg);
    assert_eq!(loaded.config(), cfg);
    let (y, m, maps) = problem(1, 3, 10, 9, DType::F32);
    let a = flat(&net.as_unrolled().unwrap().forward(&y, &m, &maps).unwrap());
    let b = flat(&loaded.as_unrolled().unwrap().forward(&y, &m, &maps).unwrap());
    assert_eq!(a, b);
    let err = loaded.forward(&y).unwrap_err().to_string();
    assert!(err.contains("use Unrolled::forward"), "{err}");
    assert_eq!(models::count_parameters(&vm), cfg.num_parameters());
    assert_eq!(models::param_names(&cfg).unwrap().len(), vm.all_vars().len());
    assert_eq!(NetConfig::by_name("unrolled", 2, 2).unwrap(), NetConfig::Unrolled(UnrolledConfig::default()));
    assert!(NetConfig::by_name("unrolled", 1, 1).is_err());
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(json.contains(r#""name":"unrolled""#), "{json}");
    let defaults: NetConfig = serde_json::from_str(r#"{"name":"unrolled"}"#).unwrap();
    assert_eq!(defaults, NetConfig::Unrolled(UnrolledConfig::default()));
}

/// Backward of a small unrolled network (two cascades, f64) against central finite
/// differences, for the measured k-space (the input) and for the step sizes η.
#[test]
fn gradient_check_f64() {
    let vm = VarMap::new();
    let cfg = UnrolledConfig { cascades: 2, width: 2, levels: 1 };
    let net = Network::init(&NetConfig::Unrolled(cfg), &vm, 9, DType::F64, &Device::Cpu).unwrap();
    // Output layers of a visible size, so the regulariser's path is exercised.
    for (name, var) in vm.data().lock().unwrap().iter() {
        if name.ends_with(".out.weight") {
            var.set(&(var.as_tensor() * 30.).unwrap()).unwrap();
        }
    }
    let net = net.as_unrolled().unwrap();
    let (y, m, maps) = problem(1, 2, 5, 6, DType::F64);
    let wts = random(&[1, 1, 5, 6, 2], 41, DType::F64);
    let loss =
        |y: &Tensor| (net.forward(y, &m, &maps).unwrap().sqr().unwrap() * &wts).unwrap().sum_all().unwrap();
    let yv = Var::from_tensor(&y).unwrap();
    let grads = loss(yv.as_tensor()).backward().unwrap();
    let gy = flat(grads.get(yv.as_tensor()).unwrap());
    let y0 = flat(&y);
    let eval =
        |v: Vec<f64>| loss(&Tensor::from_vec(v, y.dims(), &Device::Cpu).unwrap()).to_scalar::<f64>().unwrap();
    let eps = 1e-6;
    for i in (0..y0.len()).step_by(7) {
        let (mut p, mut q) = (y0.clone(), y0.clone());
        p[i] += eps;
        q[i] -= eps;
        let fd = (eval(p) - eval(q)) / (2. * eps);
        assert!((fd - gy[i]).abs() < 1e-5 * (1. + fd.abs()), "y[{i}]: backward {} vs fd {fd}", gy[i]);
    }
    for cascade in net.cascades() {
        let g = flat(grads.get(&cascade.eta).unwrap())[0];
        let eta =
            vm.data().lock().unwrap().values().find(|v| v.as_tensor().id() == cascade.eta.id()).cloned();
        let eta = eta.expect("eta is a Var");
        let e0 = flat(eta.as_tensor())[0];
        let at = |e: f64| {
            eta.set(&Tensor::new(&[e], &Device::Cpu).unwrap()).unwrap();
            loss(&y).to_scalar::<f64>().unwrap()
        };
        let fd = (at(e0 + eps) - at(e0 - eps)) / (2. * eps);
        at(e0);
        assert!((fd - g).abs() < 1e-5 * (1. + fd.abs()), "eta: backward {g} vs fd {fd}");
    }
}
