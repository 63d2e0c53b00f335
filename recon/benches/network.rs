//! Network costs: one training step (batch 4, forward + data consistency + L2 + backward +
//! Adam) in both modes, and one reconstructed slice with the shipped default models.
//!
//! `cargo bench -p recon --bench network`

use criterion::{criterion_group, criterion_main, Criterion};
use kspace::mask::{from_name, MaskParams};
use kspace::{coils, C32};
use models::{Adam, AdamConfig, DType, Device, Module, NetConfig, Network, Schedule, UNetConfig, VarMap};
use ndarray::Array2;
use recon::bench_support::{make_batch, BatchTensors, DftDc, MriUndersampling, NetworkRecon, SliceDataset};
use recon::{Mode, ModelChoice, Targets};

/// A smooth disc phantom in [−0.5, 0.5].
fn phantom(n: usize) -> Array2<f32> {
    let c = n as f32 / 2.0;
    Array2::from_shape_fn((n, n), |(i, j)| {
        let r2 = ((i as f32 - c) / c).powi(2) + ((j as f32 - c) / c).powi(2);
        if r2 < 0.6 {
            0.3 + 0.2 * (8.0 * r2).sin()
        } else {
            -0.5
        }
    })
}

fn train_step(c: &mut Criterion, name: &str, mode: Mode, crop: usize, width: usize) {
    let dev = Device::Cpu;
    let ds = SliceDataset { slices: vec![phantom(crop); 4], ids: Vec::new(), crop };
    let p = MaskParams { p_edge: Some(0.025), ..Default::default() };
    let corr = MriUndersampling::from_masks(vec![from_name("n2n", &p).unwrap()], Targets::Noisy, 16, mode);
    let ch = mode.channels();
    let vm = VarMap::new();
    let net =
        Network::init(&NetConfig::UNet(UNetConfig::new(ch, ch).with_width(width)), &vm, 0, DType::F32, &dev)
            .unwrap();
    let mut adam = Adam::new(&vm, AdamConfig::default()).unwrap();
    let dc = DftDc::new(crop, crop, DType::F32, &dev).unwrap();
    let sched = Schedule::constant(1e-4, 0.9);
    let mut step = 0u64;
    c.bench_function(name, |b| {
        b.iter(|| {
            let pairs = make_batch(&ds, &corr, 0, step, 4).unwrap();
            let t = BatchTensors::new(&pairs, &dev).unwrap();
            let out = t.consistent(&dc, &net.forward(&t.input).unwrap()).unwrap();
            let loss = models::l2(&out, &t.target).unwrap();
            adam.backward_step(&loss, sched.at(step)).unwrap();
            step += 1;
        })
    });
}

fn slice(c: &mut Criterion, name: &str, mask: &str, (nc, h, w): (usize, usize, usize), crop: (usize, usize)) {
    let img = phantom(h.max(w)).slice_move(ndarray::s![..h, ..w]).mapv(|v| C32::new(v + 0.5, 0.0));
    let sens = coils::synthetic_sensitivities(nc, h, w).unwrap();
    let k = coils::simulate_coils(&img, &sens).unwrap();
    let params = if mask == "n2n" {
        MaskParams { p_edge: Some(0.025), ..Default::default() }
    } else {
        MaskParams::new(4.0, 0.08)
    };
    let m = from_name(mask, &params).unwrap().sample((h, w), 0).unwrap();
    let model = NetworkRecon::choose(&ModelChoice::Default, &m).unwrap().unwrap();
    c.bench_function(name, |b| b.iter(|| model.slice(&k, &m, crop).unwrap()));
}

fn bench(c: &mut Criterion) {
    train_step(c, "train_step_magnitude_w48_127", Mode::Magnitude, 127, 48);
    train_step(c, "train_step_complex4_w32_128", Mode::Complex { coils: 4, max_phase: 1.5 }, 128, 32);
    slice(c, "slice_default_n2n_4x217x181", "n2n", (4, 217, 181), (217, 181));
    slice(c, "slice_default_cartesian_15x640x368", "random", (15, 640, 368), (320, 320));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
