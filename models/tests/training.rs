//! Losses, schedules and the optimiser.

use models::{
    gamma_schedule, l0_annealed, l1, l2, masked_l2, Adam, AdamConfig, DType, Device, Loss, Module, NetConfig,
    Network, RampDown, Schedule, Tensor, UNetConfig, VarMap,
};

fn t(v: &[f32], shape: (usize, usize, usize, usize)) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
}

fn scalar(x: &Tensor) -> f64 {
    x.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn losses_have_their_formulas() {
    let f = t(&[0.5, -1.0, 2.0, 0.0], (1, 1, 2, 2));
    let y = t(&[0.0, 1.0, 2.0, -3.0], (1, 1, 2, 2));
    // d = 0.5, -2, 0, 3
    assert!((scalar(&l2(&f, &y).unwrap()) - (0.25 + 4.0 + 0.0 + 9.0) / 4.0).abs() < 1e-6);
    assert!((scalar(&l1(&f, &y).unwrap()) - (0.5 + 2.0 + 0.0 + 3.0) / 4.0).abs() < 1e-6);
    // L0 with γ = 2 is L2 (up to the 1e-8 inside), γ = 1 is L1, γ = 0 is 1.
    assert!((scalar(&l0_annealed(&f, &y, 2.0).unwrap()) - scalar(&l2(&f, &y).unwrap())).abs() < 1e-6);
    assert!((scalar(&l0_annealed(&f, &y, 1.0).unwrap()) - scalar(&l1(&f, &y).unwrap())).abs() < 1e-6);
    assert!((scalar(&l0_annealed(&f, &y, 0.0).unwrap()) - 1.0).abs() < 1e-6);
    // The same through the named loss at the matching steps.
    let at = |loss: Loss, step| scalar(&loss.compute(&f, &y, None, step, 100).unwrap());
    assert!((at(Loss::L0, 0) - at(Loss::L2, 0)).abs() < 1e-6);
    assert!((at(Loss::L0, 50) - at(Loss::L1, 0)).abs() < 1e-6);
    assert_eq!(Loss::by_name("L1"), Some(Loss::L1));
}

#[test]
fn l0_equals_l2_on_random_data_in_f64() {
    let f = Tensor::randn(0f64, 1., (2, 3, 8, 8), &Device::Cpu).unwrap();
    let y = Tensor::randn(0f64, 1., (2, 3, 8, 8), &Device::Cpu).unwrap();
    let (a, b) = (scalar(&l0_annealed(&f, &y, 2.0).unwrap()), scalar(&l2(&f, &y).unwrap()));
    assert!((a - b).abs() < 1e-7 * b, "{a} vs {b}");
}

#[test]
fn gamma_anneals_linearly_from_two_to_zero() {
    assert_eq!(gamma_schedule(0, 100), 2.0);
    assert_eq!(gamma_schedule(25, 100), 1.5);
    assert_eq!(gamma_schedule(50, 100), 1.0);
    assert_eq!(gamma_schedule(100, 100), 0.0);
    assert_eq!(gamma_schedule(150, 100), 0.0);
}

#[test]
fn masked_l2_ignores_masked_pixels() {
    let f = t(&[1.0, 2.0, 3.0, 4.0], (1, 1, 2, 2));
    let y = t(&[1.5, 2.0, 100.0, -50.0], (1, 1, 2, 2));
    let m = t(&[1.0, 1.0, 0.0, 0.0], (1, 1, 2, 2));
    assert!((scalar(&masked_l2(&f, &y, &m).unwrap()) - 0.25 / 2.0).abs() < 1e-7);
    // Changing masked targets changes nothing; the gradient there is zero.
    let y2 = t(&[1.5, 2.0, -7.0, 3.0], (1, 1, 2, 2));
    assert_eq!(scalar(&masked_l2(&f, &y, &m).unwrap()), scalar(&masked_l2(&f, &y2, &m).unwrap()));
    let fv = candle_core::Var::from_tensor(&f).unwrap();
    let g = masked_l2(fv.as_tensor(), &y, &m).unwrap().backward().unwrap();
    let g = g.get(fv.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(g, vec![-0.5, 0.0, 0.0, 0.0]); // 2·(1 − 1.5)/2
                                              // A (N,1,H,W) mask broadcasts over channels; the mean is over valid values.
    let f3 = Tensor::ones((1, 3, 2, 2), DType::F32, &Device::Cpu).unwrap();
    let y3 = Tensor::zeros((1, 3, 2, 2), DType::F32, &Device::Cpu).unwrap();
    assert!((scalar(&masked_l2(&f3, &y3, &m).unwrap()) - 1.0).abs() < 1e-7);
    // All masked: 0, not NaN.
    assert_eq!(scalar(&masked_l2(&f, &y, &m.zeros_like().unwrap()).unwrap()), 0.0);
}

#[test]
fn mri_schedule_matches_the_n2n_code() {
    // 300 epochs of 10 steps; values are constant within an epoch.
    let s = Schedule::n2n_mri(300, 10);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b.abs().max(1e-300);
    let p = s.at(0);
    assert!(close(p.lr, 1e-3 * (-5.0f64).exp()) && p.beta1 == 0.9);
    assert_eq!(s.at(9), p);
    assert!(close(s.at(50).lr, 1e-3 * (-5.0 * 0.5f64 * 0.5).exp())); // epoch 5 of 10
    assert_eq!(s.at(100).lr, 1e-3);
    assert_eq!(s.at(2699), models::StepParams { lr: 1e-3, beta1: 0.9 });
    // Epoch 280 of 300: 10 epochs into the 30-epoch ramp-down, r = exp(−(0.5·10)²/30).
    let r = (-(5.0f64 * 5.0) / 30.0).exp();
    let p = s.at(2800);
    assert!(close(p.lr, 1e-3 * r));
    assert!(close(p.beta1, r * 0.9 + (1. - r) * 0.5));
    let last = s.at(2999); // epoch 299: r = exp(−14.5²/30)
    assert!(close(last.lr, 1e-3 * (-(14.5f64 * 14.5) / 30.0).exp()));
    assert!(last.beta1 < 0.501);
    assert_eq!(s.total_steps(), 3000);
}

#[test]
fn image_schedule_is_cosine_squared_over_the_last_30_percent() {
    let s = Schedule::n2n_images(1000, 3e-4, 0.3);
    assert_eq!(s.rampdown_shape, RampDown::CosineSquared);
    assert_eq!(s.at(0).lr, 3e-4);
    assert_eq!(s.at(699).lr, 3e-4);
    assert_eq!(s.at(700).lr, 3e-4); // u = 0
    let u: f64 = 150.0 / 300.0;
    let want = 3e-4 * (0.5 + 0.5 * (std::f64::consts::PI * u).cos()).powi(2);
    assert!((s.at(850).lr - want).abs() < 1e-18);
    assert!(s.at(999).lr < 3e-4 * 1e-3);
    assert!(s.at(999).beta1 == 0.9);
    assert_eq!(Schedule::constant(1e-3, 0.9).at(123_456).lr, 1e-3);
}

#[test]
fn adam_steps_lower_the_l2_loss_on_a_fixed_batch() {
    let dev = Device::Cpu;
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(8));
    let vm = VarMap::new();
    let net = Network::init(&cfg, &vm, 5, DType::F32, &dev).unwrap();
    let x = Tensor::randn(0f32, 0.3, (2, 1, 32, 32), &dev).unwrap();
    let y = x.affine(0.5, 0.1).unwrap();
    let mut adam = Adam::new(&vm, AdamConfig::default()).unwrap();
    let first = scalar(&l2(&net.forward(&x).unwrap(), &y).unwrap());
    let mut last = first;
    for _ in 0..8 {
        let loss = l2(&net.forward(&x).unwrap(), &y).unwrap();
        last = scalar(&loss);
        adam.backward_step(&loss, models::StepParams { lr: 1e-3, beta1: 0.9 }).unwrap();
    }
    let after = scalar(&l2(&net.forward(&x).unwrap(), &y).unwrap());
    assert!(after < 0.6 * first && after < last, "loss {first} → {last} → {after}");
    assert_eq!(adam.steps(), 8);
}

#[test]
fn adam_first_step_matches_the_formula() {
    // One parameter θ = 1, loss θ²: g = 2. Step 1 with β1 0.8: m = 0.4, v = 0.04,
    // θ ← 1 − lr·√(1 − 0.99)/(1 − 0.8) · 0.4/(0.2 + 1e-8).
    let vm = VarMap::new();
    let theta = candle_core::Var::from_tensor(&Tensor::new(&[1.0f64], &Device::Cpu).unwrap()).unwrap();
    vm.data().lock().unwrap().insert("theta".into(), theta.clone());
    let mut adam = Adam::new(&vm, AdamConfig::default()).unwrap();
    let loss = theta.as_tensor().sqr().unwrap().sum_all().unwrap();
    adam.step(&loss.backward().unwrap(), 0.1, 0.8).unwrap();
    let want = 1.0 - 0.1 * (1.0f64 - 0.99).sqrt() / (1.0 - 0.8) * 0.4 / (0.2 + 1e-8);
    let got = theta.as_tensor().to_vec1::<f64>().unwrap()[0];
    assert!((got - want).abs() < 1e-15, "{got} vs {want}");
    let st = adam.state();
    assert_eq!((st.step, st.beta1_power, st.beta2_power), (1, 0.8, 0.99));
}
