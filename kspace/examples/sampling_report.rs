//! Simulates multi-coil k-space of a disc phantom, undersamples it with a Noise2Noise
//! variable-density Bernoulli mask, and prints the mask analysis and the error of the plain and
//! density-compensated zero-filled reconstructions (sensitivity-combined).
//!
//! `cargo run -p kspace --release --example sampling_report`

use kspace::analysis::analyse;
use kspace::coils::SensitivityOptions;
use kspace::coils::{combine, estimate_sensitivities_from_mask, simulate_coils, synthetic_sensitivities};
use kspace::undersample::zero_filled;
use kspace::{SamplingMask, C32};
use ndarray::Array2;
use rand_mt::Mt64;

fn main() -> kspace::Result<()> {
    let (h, w, coils) = (255, 255, 8);
    let img = Array2::from_shape_fn((h, w), |(i, j)| {
        let (y, x) = (i as f32 - 127.0, j as f32 - 127.0);
        let r = (x * x + y * y).sqrt();
        if r < 100.0 {
            0.5 + 0.5 * (x / 25.0).cos() * (y / 40.0).sin()
        } else {
            0.0
        }
    });
    let sens = synthetic_sensitivities(coils, h, w)?;
    let k = simulate_coils(&img, &sens)?;

    // p(r) = p_edge^(r / r_edge), DC always kept (noise2noise-recipe.md).
    let (p_edge, r_edge) = (0.025f32, 127.0f32);
    let prob = Array2::from_shape_fn((h, w), |(i, j)| {
        let r = ((i as f32 - 127.0).powi(2) + (j as f32 - 127.0).powi(2)).sqrt();
        p_edge.powf(r / r_edge)
    });
    let mut rng = Mt64::new(7);
    let keep = prob.mapv(|p| ((rng.next_u64() >> 40) as f32) / ((1u64 << 24) as f32) < p);
    let mask = SamplingMask::new(keep, prob);
    println!("{}\n", analyse(&mask));

    let maps = estimate_sensitivities_from_mask(&k, &mask, &SensitivityOptions::default())?;
    let norm: f32 = img.iter().map(|v| v * v).sum::<f32>().sqrt();
    for compensate in [false, true] {
        let zf = combine(&zero_filled(&k, &mask, compensate)?, &sens)?;
        let err: f32 =
            zf.iter().zip(&img).map(|(a, &b)| (a - C32::new(b, 0.0)).norm_sqr()).sum::<f32>().sqrt();
        println!("zero-filled (compensate = {compensate}): relative error {:.4}", err / norm);
    }
    let zf = combine(&zero_filled(&k, &SamplingMask::full((h, w)), false)?, &maps)?;
    let err: f32 = zf.iter().zip(&img).map(|(a, &b)| (a.norm() - b).powi(2)).sum::<f32>().sqrt();
    println!("fully sampled, estimated maps: relative magnitude error {:.4}", err / norm);
    Ok(())
}
