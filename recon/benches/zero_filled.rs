//! Reading one 15-coil 640×368 fastMRI slice and reconstructing it zero-filled, against one
//! `fft2c` of the same array: the pipeline should cost a small multiple of the FFT.
//!
//! `cargo bench -p recon --bench zero_filled`

use criterion::{criterion_group, criterion_main, Criterion};
use kspace::mask::{from_name, MaskParams};
use kspace::C32;
use ndarray::Array4;
use recon::io::hdf5::{write_h5, FastMriFile, H5Data};
use recon::reconstruct::zero_filled_slice;

fn bench(c: &mut Criterion) {
    let (coils, h, w) = (15, 640, 368);
    let dir = std::env::temp_dir().join(format!("recon-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("knee.h5");
    let k = Array4::from_shape_fn((2, coils, h, w), |(s, c, i, j)| {
        C32::new(((s + c * 7 + i * 3 + j) % 17) as f32 - 8.0, ((i * j + c) % 5) as f32)
    });
    write_h5(&path, &[("kspace", H5Data::C64(k.into_dyn()))], &[]).unwrap();
    let file = FastMriFile::open(&path).unwrap();
    let mask = from_name("random", &MaskParams::new(4.0, 0.08)).unwrap().sample((h, w), 0).unwrap();
    let slice = file.read_kspace_slice(0).unwrap();

    let mut g = c.benchmark_group("15x640x368");
    g.sample_size(20);
    g.bench_function("fft2c", |b| b.iter(|| kspace::fft2c(&slice)));
    g.bench_function("read_slice", |b| b.iter(|| file.read_kspace_slice(1).unwrap()));
    g.bench_function("zero_filled", |b| {
        b.iter(|| zero_filled_slice(&slice, &mask, false, (320, 320)).unwrap())
    });
    g.bench_function("read_and_zero_filled", |b| {
        b.iter(|| {
            let s = file.read_kspace_slice(1).unwrap();
            zero_filled_slice(&s, &mask, false, (320, 320)).unwrap()
        })
    });
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench);
criterion_main!(benches);
