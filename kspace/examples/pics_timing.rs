//! Wall and CPU time of each classical reconstruction on one 256×256 8-coil slice, for
//! comparison with `kspace/benches/bart_pics.sh` on a loaded machine (CPU seconds are robust to
//! other processes): `cargo run --release -p kspace --example pics_timing`.

use kspace::coils::{simulate_coils, synthetic_sensitivities};
use kspace::espirit::{espirit, EspiritOptions};
use kspace::operator::SenseOperator;
use kspace::pics::{l1_wavelet, sense, total_variation, PicsOptions, TvOptions};
use kspace::SamplingMask;
use ndarray::Array2;
use std::time::Instant;

/// This process's user + system CPU seconds (Linux `/proc/self/stat`, 100 ticks per second).
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn time<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let (c0, t0) = (cpu(), Instant::now());
    let r = f();
    println!("{name:<28} wall {:>7.3} s   cpu {:>7.3} s", t0.elapsed().as_secs_f64(), cpu() - c0);
    r
}

fn main() {
    let n = 256;
    let img = Array2::from_shape_fn((n, n), |(i, j)| ((i / 16 + j / 16) % 3) as f32);
    let maps = synthetic_sensitivities(8, n, n).unwrap();
    let k = simulate_coils(&img, &maps).unwrap();
    let keep = Array2::from_shape_fn((n, n), |(i, j)| {
        (i.abs_diff(128) < 12 && j.abs_diff(128) < 12) || (i * 7 + j * 13) % 4 == 0
    });
    let mask = SamplingMask::new(keep, Array2::ones((n, n)));
    println!("threads {}", rayon::current_num_threads());
    let m = time("ecalib -m1", || espirit(&k.view(), &mask, &EspiritOptions::default()).unwrap());
    let mut op = SenseOperator::new(m.first(), &mask).unwrap();
    let o = PicsOptions { lambda: 0.01, iterations: 30, ..Default::default() };
    time("pics -l2 -i 30", || sense(&mut op, &k.view(), &o).unwrap());
    time("pics -l1 -i 50", || l1_wavelet(&mut op, &k.view(), &PicsOptions { iterations: 50, ..o }).unwrap());
    time("pics -R T -i 30", || total_variation(&mut op, &k.view(), &o, &TvOptions::default()).unwrap());
}
