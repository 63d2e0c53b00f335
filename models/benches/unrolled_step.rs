//! One training step of the unrolled network, default config (8 cascades, width 18, 3 levels),
//! on one 8-coil 256×256 slice: forward, k-space L2 loss against a second, independent mask's
//! samples (the Noise2Noise target), backward, Adam. Also the inference forward and the
//! FFT op alone on the slice's coil images.
//! `cargo bench -p models --bench unrolled_step`; compare with
//! `python3 models/benches/torch_unrolled.py` (the same network and step in PyTorch).
//! Set `RAYON_NUM_THREADS` to choose the thread count (PyTorch: `--threads`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use models::{fft, l2, sense, Adam, AdamConfig, DType, Device, NetConfig, Network, Tensor, VarMap};

const COILS: usize = 8;
const SIZE: usize = 256;

/// Seeded values in [−0.5, 0.5).
fn noise(shape: &[usize], seed: u64) -> Tensor {
    let mut s = seed ^ 0x2545_F491_4F6C_DD1D;
    let v: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// A 4× random column mask `(1, 1, H, W, 1)` with 16 central columns.
fn mask(seed: u64) -> Tensor {
    let col = noise(&[SIZE], seed).to_vec1::<f32>().unwrap();
    let keep: Vec<f32> = (0..SIZE)
        .map(|j| if (j as isize - SIZE as isize / 2).abs() < 8 || col[j] < -0.3 { 1. } else { 0. })
        .collect();
    Tensor::from_vec(keep, (1, 1, 1, SIZE, 1), &Device::Cpu).unwrap().repeat((1, 1, SIZE, 1, 1)).unwrap()
}

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let cfg = NetConfig::by_name("unrolled", 2, 2).unwrap();
    let vm = VarMap::new();
    let net = Network::init(&cfg, &vm, 1, DType::F32, &dev).unwrap();
    let net = net.as_unrolled().unwrap();
    let mut adam = Adam::new(&vm, AdamConfig::default()).unwrap();
    let maps = (noise(&[1, COILS, SIZE, SIZE, 2], 1) * (1.0 / COILS as f64).sqrt()).unwrap();
    let image = noise(&[1, 1, SIZE, SIZE, 2], 2);
    let (m_in, m_tgt) = (mask(3), mask(4));
    let y_in = sense::forward_op(&image, &maps, &m_in).unwrap();
    let y_tgt = sense::forward_op(&image, &maps, &m_tgt).unwrap();

    let mut g = c.benchmark_group("unrolled");
    g.sample_size(10).warm_up_time(Duration::from_secs(3)).measurement_time(Duration::from_secs(30));
    g.bench_function("train_step_1x8x256x256", |b| {
        b.iter(|| {
            let out = net.forward(&y_in, &m_in, &maps).unwrap();
            let loss = l2(&sense::forward_op(&out, &maps, &m_tgt).unwrap(), &y_tgt).unwrap();
            let grads = loss.backward().unwrap();
            adam.step(&grads, 1e-4, 0.9).unwrap();
        })
    });
    // The physics alone: K = 8 gradient steps x ← x − Aᴴ(A x − y) and the loss, forward and
    // backward (what the FFT op, the coil kernels and the mask cost inside a step).
    let x0 = candle_core::Var::from_tensor(&sense::adjoint_op(&y_in, &maps, &m_in).unwrap()).unwrap();
    g.bench_function("data_consistency_only_8_steps", |b| {
        b.iter(|| {
            let mut x = x0.as_tensor().clone();
            for _ in 0..8 {
                let r = sense::forward_op(&x, &maps, &m_in).unwrap().sub(&y_in).unwrap();
                x = x.sub(&sense::adjoint_op(&r, &maps, &m_in).unwrap()).unwrap();
            }
            let loss = l2(&sense::forward_op(&x, &maps, &m_tgt).unwrap(), &y_tgt).unwrap();
            loss.backward().unwrap()
        })
    });
    let frozen = net.detached();
    g.bench_function("inference_1x8x256x256", |b| {
        b.iter(|| frozen.forward(&y_in, &m_in, &maps).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("fft2c_op");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function("8x256x256", |b| b.iter(|| fft::fft2c(&y_in).unwrap()));
    let big = noise(&[15, 640, 368, 2], 5);
    g.bench_function("15x640x368", |b| b.iter(|| fft::fft2c(&big).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
