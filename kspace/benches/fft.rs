//! Centred orthonormal FFT throughput: `cargo bench -p kspace --bench fft`.
//! Compare with `python3 kspace/benches/numpy_fft.py` (numpy's shifted fft2, same sizes).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kspace::{fft2c, fft2c_inplace, Fft2cPlanner, C32};
use ndarray::{ArrayD, IxDyn};
use std::hint::black_box;
use std::time::Duration;

fn noise(shape: &[usize]) -> ArrayD<C32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    ArrayD::from_shape_simple_fn(IxDyn(shape), || C32::new(next(), next()))
}

fn bench_fft2c(c: &mut Criterion) {
    let mut g = c.benchmark_group("fft2c");
    g.sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    for shape in [vec![320, 320], vec![15, 640, 368]] {
        let name = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x");
        let x = noise(&shape);
        g.throughput(Throughput::Elements(x.len() as u64));
        // In place (orthonormal, so repeated transforms stay bounded).
        let mut y = x.clone();
        g.bench_function(BenchmarkId::new("inplace", &name), |b| b.iter(|| fft2c_inplace(&mut y.view_mut())));
        // Returning a new array, like numpy's expression.
        g.bench_function(BenchmarkId::new("owned", &name), |b| b.iter(|| black_box(fft2c(black_box(&x)))));
        // One thread, one image at a time (what a caller parallel over slices gets).
        let nd = shape.len();
        let plan = Fft2cPlanner::new().plan(shape[nd - 2], shape[nd - 1]);
        let mut y = x.clone();
        g.bench_function(BenchmarkId::new("serial", &name), |b| {
            b.iter(|| plan.forward_serial(&mut y.view_mut()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_fft2c);
criterion_main!(benches);
