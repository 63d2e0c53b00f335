//! Classical reconstructions of one 256×256 8-coil slice at equal iterations to BART:
//! `cargo bench -p kspace --bench pics`. BART on data of the same size:
//! `sh kspace/benches/bart_pics.sh` (needs `bart`).
//!
//! - `sense_cg_30`: `pics -S -l2 -r 0.01 -i 30`
//! - `l1_wavelet_50`: `pics -S -l1 -r 0.01 -i 50` (with cycle spinning, as BART's default)
//! - `tv_admm_30`: `pics -S -R T:3:0:0.01 -i 30`
//! - `espirit_m1`: `ecalib -m1` (24×24 calibration, kernel 6)
//!
//! `normal_233x197x8`: one application of `AᴴA` on MNI152's grid (both sides prime) with a 2-D
//! pattern and maps zero outside an ellipse (as ESPIRiT's crop leaves them): `fused` is
//! [`SenseOperator::normal`] (`kspace::operator::GridNormal`), `plain_2d` the reference
//! [`SenseOperator::normal_2d`] (two centred 2-D FFTs per coil). Run with
//! `RAYON_NUM_THREADS=1` to compare single-threaded.

use criterion::{criterion_group, criterion_main, Criterion};
use kspace::coils::{simulate_coils, synthetic_sensitivities};
use kspace::espirit::{espirit, EspiritOptions};
use kspace::operator::SenseOperator;
use kspace::pics::{l1_wavelet, sense, total_variation, PicsOptions, TvOptions};
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Array4};
use std::hint::black_box;
use std::time::Duration;

const N: usize = 256;
const COILS: usize = 8;

/// A disc phantom, 8 synthetic coils, and a ≈4× variable-density 2-D mask with a 24×24 centre.
fn data() -> (Array3<C32>, Array3<C32>, SamplingMask) {
    let img = Array2::from_shape_fn((N, N), |(i, j)| {
        let (y, x) = (i as f32 / N as f32 - 0.5, j as f32 / N as f32 - 0.5);
        if x * x / 0.16 + y * y / 0.2 < 1.0 {
            0.5 + 0.5 * ((x * 20.0).sin() * (y * 13.0).cos()).signum().max(0.0)
        } else {
            0.0
        }
    });
    let maps = synthetic_sensitivities(COILS, N, N).unwrap();
    let k = simulate_coils(&img, &maps).unwrap();
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let keep = Array2::from_shape_fn((N, N), |(i, j)| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let u = (s >> 40) as f32 / (1u64 << 24) as f32;
        let r = ((i as f32 - 128.0).powi(2) + (j as f32 - 128.0).powi(2)).sqrt() / 128.0;
        (i.abs_diff(128) < 12 && j.abs_diff(128) < 12) || u < 0.5 * (1.0 - r).max(0.05)
    });
    let mask = SamplingMask::new(keep.clone(), Array2::ones((N, N)));
    let mut ku = k;
    kspace::undersample::undersample_inplace(&mut ku, &mask).unwrap();
    (ku, maps, mask)
}

fn bench(c: &mut Criterion) {
    let (k, maps, mask) = data();
    eprintln!("mask acceleration {:.2}", mask.acceleration());
    let mut g = c.benchmark_group("pics_256x256x8");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    let mut op = SenseOperator::new(maps, &mask).unwrap();
    let o = PicsOptions { lambda: 0.01, iterations: 30, ..Default::default() };
    g.bench_function("sense_cg_30", |b| b.iter(|| black_box(sense(&mut op, &k.view(), &o).unwrap())));
    let o50 = PicsOptions { iterations: 50, ..o };
    g.bench_function("l1_wavelet_50", |b| {
        b.iter(|| black_box(l1_wavelet(&mut op, &k.view(), &o50).unwrap()))
    });
    let tv = TvOptions::default();
    g.bench_function("tv_admm_30", |b| {
        b.iter(|| black_box(total_variation(&mut op, &k.view(), &o, &tv).unwrap()))
    });
    let eo = EspiritOptions::default();
    g.bench_function("espirit_m1", |b| b.iter(|| black_box(espirit(&k.view(), &mask, &eo).unwrap())));
    g.finish();
}

/// `AᴴA` on a 233×197 grid, 8 coils: the fused operator against two 2-D FFTs per coil.
fn bench_normal(c: &mut Criterion) {
    let (h, w) = (233, 197);
    let (_, _, mask256) = data();
    // The 256² variable-density pattern's centre, cropped to the grid.
    let keep = Array2::from_shape_fn((h, w), |(i, j)| mask256.keep[[i + (N - h) / 2, j + (N - w) / 2]]);
    let mask = SamplingMask::new(keep, Array2::ones((h, w)));
    let maps = Array4::from_shape_fn((1, COILS, h, w), |(_, c, i, j)| {
        let (y, x) = (i as f32 / h as f32 - 0.5, j as f32 / w as f32 - 0.5);
        let inside = x * x + y * y < 0.2;
        if inside {
            C32::from_polar(0.35, c as f32 + 3.0 * x - 2.0 * y)
        } else {
            C32::new(0.0, 0.0)
        }
    });
    let mut op = SenseOperator::with_map_sets(maps, &mask).unwrap();
    let x = Array3::from_shape_fn((1, h, w), |(_, i, j)| {
        C32::new((i as f32 * 0.1).sin(), (j as f32 * 0.07).cos())
    });
    let mut out = Array3::zeros((1, h, w));
    let mut g = c.benchmark_group("normal_233x197x8");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    g.bench_function("fused", |b| b.iter(|| op.normal(&x.view(), 0.0, &mut out.view_mut()).unwrap()));
    g.bench_function("plain_2d", |b| b.iter(|| op.normal_2d(&x.view(), 0.0, &mut out.view_mut()).unwrap()));
    g.finish();
}

criterion_group!(benches, bench, bench_normal);
criterion_main!(benches);
