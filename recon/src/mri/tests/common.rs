//! Helpers shared by the training tests.

use crate::mri::{
    corruption::Corruption,
    dataset::SliceDataset,
    dc::DftDc,
    recipe::{make_batch, BatchTensors},
};
use models::{Adam, AdamConfig, DType, Device, Module, NetConfig, Network, Schedule, UNetConfig, VarMap};
use ndarray::Array2;

/// A smooth phantom in [−0.5, 0.5]: an ellipse with an inner bright disc.
pub fn phantom(n: usize) -> Array2<f32> {
    let c = n as f32 / 2.0;
    Array2::from_shape_fn((n, n), |(i, j)| {
        let (y, x) = ((i as f32 - c) / c, (j as f32 - c) / c);
        let mut v = if (x / 0.8).powi(2) + (y / 0.6).powi(2) < 1.0 { 0.6 } else { 0.0 };
        if (x - 0.2).powi(2) + y.powi(2) < 0.05 {
            v = 1.0;
        }
        v - 0.5
    })
}

/// The L2 losses of 25 Adam steps (lr 1e-3) of a width-8 U-Net with data consistency on
/// one fixed batch of two pairs from `ds` (slices `crop`²).
pub fn fixed_batch_losses(ds: &SliceDataset, c: &dyn Corruption, channels: usize) -> Vec<f32> {
    let dev = Device::Cpu;
    let pairs = make_batch(ds, c, 7, 0, 2).unwrap();
    let b = BatchTensors::new(&pairs, &dev).unwrap();
    let dc = DftDc::new(ds.crop, ds.crop, DType::F32, &dev).unwrap();
    let vm = VarMap::new();
    let cfg = NetConfig::UNet(UNetConfig::new(channels, channels).with_width(8));
    let net = Network::init(&cfg, &vm, 1, DType::F32, &dev).unwrap();
    let mut adam = Adam::new(&vm, AdamConfig::default()).unwrap();
    let sched = Schedule::constant(1e-3, 0.9);
    (0..25)
        .map(|step| {
            let out = b.consistent(&dc, &net.forward(&b.input).unwrap()).unwrap();
            let loss = models::l2(&out, &b.target).unwrap();
            adam.backward_step(&loss, sched.at(step)).unwrap();
            loss.to_scalar::<f32>().unwrap()
        })
        .collect()
}

/// Every weight of a checkpoint, by name (sorted): equal runs give equal vectors.
pub fn weights(path: &std::path::Path) -> Vec<(String, Vec<f32>)> {
    let ck = models::load_checkpoint(path, &Device::Cpu).unwrap();
    let data = ck.varmap.data().lock().unwrap();
    let mut v: Vec<(String, Vec<f32>)> = data
        .iter()
        .map(|(k, t)| (k.clone(), t.as_tensor().flatten_all().unwrap().to_vec1().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
