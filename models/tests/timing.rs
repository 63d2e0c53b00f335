//! Timing of one training step (forward, L2, backward, Adam) and one forward pass of the
//! U-Net. Ignored by default; run with
//! `cargo test -p models --release --test timing -- --ignored --nocapture --test-threads 1`
//! (candle's CPU backend uses rayon: set `RAYON_NUM_THREADS` to choose the thread count).

use std::time::Instant;

use models::{l2, Adam, AdamConfig, DType, Device, Module, NetConfig, Network, Tensor, VarMap};

fn time_unet(c: usize, h: usize, w: usize, batch: usize) {
    let dev = Device::Cpu;
    let cfg = NetConfig::by_name("unet", c, c).unwrap();
    let vm = VarMap::new();
    let net = Network::init(&cfg, &vm, 1, DType::F32, &dev).unwrap();
    let mut adam = Adam::new(&vm, AdamConfig::default()).unwrap();
    let x = Tensor::randn(0f32, 0.3, (batch, c, h, w), &dev).unwrap();
    let y = Tensor::randn(0f32, 0.3, (batch, c, h, w), &dev).unwrap();
    let (mut fwd, mut bwd, mut upd, mut inf) = (0.0, 0.0, 0.0, 0.0);
    let reps = 3;
    for i in 0..=reps {
        let t0 = Instant::now();
        let loss = l2(&net.forward(&x).unwrap(), &y).unwrap();
        let t1 = Instant::now();
        let grads = loss.backward().unwrap();
        let t2 = Instant::now();
        adam.step(&grads, 1e-4, 0.9).unwrap();
        let t3 = Instant::now();
        drop(grads);
        let out = net.detached().forward(&x).unwrap();
        let _ = out.sum_all().unwrap().to_scalar::<f32>().unwrap();
        let t4 = Instant::now();
        if i > 0 {
            fwd += (t1 - t0).as_secs_f64();
            bwd += (t2 - t1).as_secs_f64();
            upd += (t3 - t2).as_secs_f64();
            inf += (t4 - t3).as_secs_f64();
        }
    }
    let r = reps as f64;
    println!(
        "unet batch {batch} x {c}x{h}x{w}: train step {:.3} s (forward {:.3}, backward {:.3}, adam {:.3}); inference forward {:.3} s",
        (fwd + bwd + upd) / r,
        fwd / r,
        bwd / r,
        upd / r,
        inf / r
    );
}

#[test]
#[ignore]
fn unet_step_time_1x256x256_batch4() {
    time_unet(1, 256, 256, 4);
}

#[test]
#[ignore]
fn unet_step_time_3x128x128_batch4() {
    time_unet(3, 128, 128, 4);
}

fn timed<T>(label: &str, f: impl Fn() -> T) -> T {
    let t0 = Instant::now();
    let r = f();
    println!("{label:>40}: {:.3} s", t0.elapsed().as_secs_f64());
    r
}

#[test]
#[ignore]
fn profile_ops() {
    use models::kernels::{conv3x3, leaky_relu, max_pool2x2, upsample_nearest2x};
    let dev = Device::Cpu;
    let (n, c, h, w) = (4, 48, 256, 256);
    let x = Tensor::randn(0f32, 1., (n, c, h, w), &dev).unwrap();
    let k = Tensor::randn(0f32, 0.1, (c, c, 3, 3), &dev).unwrap();
    let g = Tensor::randn(0f32, 1., (n, c, h, w), &dev).unwrap();
    timed("conv2d fwd 48->48", || x.conv2d(&k, 1, 1, 1, 1).unwrap());
    let b = Tensor::zeros(c, DType::F32, &dev).unwrap();
    timed("conv3x3 fwd 48->48", || conv3x3(&x, &k, &b).unwrap());
    let kv = candle_core::Var::from_tensor(&k).unwrap();
    let xv0 = candle_core::Var::from_tensor(&x).unwrap();
    let y = timed("conv3x3 fwd (graph)", || conv3x3(xv0.as_tensor(), kv.as_tensor(), &b).unwrap());
    timed("conv3x3 backward", || y.mul(&g).unwrap().sum_all().unwrap().backward().unwrap());
    let y2 = conv3x3(&x, kv.as_tensor(), &b).unwrap();
    timed("conv3x3 backward (weights only)", || y2.mul(&g).unwrap().sum_all().unwrap().backward().unwrap());
    if std::env::var("SLOW").is_ok() {
        timed("conv_transpose2d (input grad)", || g.conv_transpose2d(&k, 1, 0, 1, 1).unwrap());
    }
    timed("conv2d kernel grad", || {
        x.transpose(0, 1).unwrap().conv2d(&g.transpose(0, 1).unwrap(), 1, 1, 1, 1).unwrap()
    });
    timed("leaky_relu", || leaky_relu(&x, 0.1).unwrap());
    timed("max_pool2x2 (no graph)", || max_pool2x2(&x).unwrap());
    let xv = candle_core::Var::from_tensor(&x).unwrap();
    let p = timed("max_pool2x2 (graph)", || max_pool2x2(xv.as_tensor()).unwrap());
    timed("max_pool2x2 backward", || p.sum_all().unwrap().backward().unwrap());
    let small = Tensor::randn(0f32, 1., (n, 96, h / 2, w / 2), &dev).unwrap();
    timed("upsample", || upsample_nearest2x(&small).unwrap());
    timed("add", || x.add(&g).unwrap());
    timed("sum_keepdim(0,2,3)", || g.sum_keepdim((0, 2, 3)).unwrap());
    timed("cat", || Tensor::cat(&[&x, &g], 1).unwrap());
}

#[test]
#[ignore]
fn profile_matmul() {
    let dev = Device::Cpu;
    let a = Tensor::randn(0f32, 1., (48, 48), &dev).unwrap();
    let b = Tensor::randn(0f32, 1., (48, 65536 * 4), &dev).unwrap();
    for _ in 0..3 {
        timed("matmul 48x48 @ 48x262144 (1.2 GFLOP)", || a.matmul(&b).unwrap());
    }
    let a = Tensor::randn(0f32, 1., (48, 432), &dev).unwrap();
    let b = Tensor::randn(0f32, 1., (432, 65536), &dev).unwrap();
    timed("matmul 48x432 @ 432x65536 (2.7 GFLOP)", || a.matmul(&b).unwrap());
}
