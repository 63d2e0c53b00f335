//! Times the phases of ESPIRiT on a 256×256 8-coil slice (calibration eigen-decomposition vs
//! per-pixel eigenvectors): `cargo run --release -p kspace --example espirit_phases`.

use kspace::coils::{simulate_coils, synthetic_sensitivities};
use kspace::espirit::{espirit_calibrated, EspiritOptions};
use kspace::linalg::{eigh, Mat};
use ndarray::Array2;
use num_complex::Complex64;
use std::time::Instant;

fn main() {
    let n = 256;
    let img = Array2::from_shape_fn((n, n), |(i, j)| ((i / 16 + j / 16) % 3) as f32);
    let maps = synthetic_sensitivities(8, n, n).unwrap();
    let k = simulate_coils(&img, &maps).unwrap();
    let mut h = Mat::zeros(288);
    for i in 0..288 {
        for j in 0..288 {
            h.a[i * 288 + j] = Complex64::new(((i * j) % 7) as f64 + if i == j { 10.0 } else { 0.0 }, 0.0);
        }
    }
    let t = Instant::now();
    let _ = eigh(&h);
    println!("eigh 288: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    for _ in 0..3 {
        let t = Instant::now();
        let m = espirit_calibrated(&k.view(), (24, 24), &EspiritOptions::default()).unwrap();
        println!("espirit {:?}: {:.1} ms", m.method, t.elapsed().as_secs_f64() * 1e3);
    }
}
