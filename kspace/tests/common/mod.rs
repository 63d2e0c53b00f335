//! Shared helpers of the kspace integration tests: BART `.cfl/.hdr` fixtures and seeded test data.
#![allow(dead_code)]

use kspace::C32;
use ndarray::{Array2, Array3, ArrayD, IxDyn};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");

/// Reads `FIXTURES/name.{hdr,cfl}` (BART: complex64 little-endian, first dimension fastest)
/// and returns it in C order with the dimensions reversed and trailing 1s dropped, so BART
/// dims (W, H, 1, C) come back as an array (C, 1, H, W).
pub fn read_cfl(name: &str) -> ArrayD<C32> {
    let hdr = std::fs::read_to_string(format!("{FIXTURES}{name}.hdr")).expect("fixture .hdr");
    let mut dims: Vec<usize> =
        hdr.lines().nth(1).expect("dims line").split_whitespace().map(|t| t.parse().unwrap()).collect();
    while dims.len() > 1 && *dims.last().unwrap() == 1 {
        dims.pop();
    }
    let bytes = std::fs::read(format!("{FIXTURES}{name}.cfl")).expect("fixture .cfl");
    let v: Vec<C32> = bytes
        .chunks_exact(8)
        .map(|b| {
            C32::new(
                f32::from_le_bytes(b[0..4].try_into().unwrap()),
                f32::from_le_bytes(b[4..8].try_into().unwrap()),
            )
        })
        .collect();
    dims.reverse();
    assert_eq!(v.len(), dims.iter().product::<usize>(), "{name}: size");
    ArrayD::from_shape_vec(IxDyn(&dims), v).unwrap()
}

/// A tiny deterministic generator (splitmix64) for test data.
pub struct Rand(pub u64);

impl Rand {
    pub fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    pub fn c(&mut self) -> C32 {
        C32::new(self.next(), self.next())
    }
    pub fn array3(&mut self, s: (usize, usize, usize)) -> Array3<C32> {
        Array3::from_shape_simple_fn(s, || self.c())
    }
}

/// A smooth-edged phantom (H, W): an ellipse with two inner ellipses, real, values 0..1.
pub fn phantom(h: usize, w: usize) -> Array2<f32> {
    Array2::from_shape_fn((h, w), |(i, j)| {
        let y = (i as f32 - h as f32 / 2.0) / (h as f32 / 2.0);
        let x = (j as f32 - w as f32 / 2.0) / (w as f32 / 2.0);
        let e = |cx: f32, cy: f32, a: f32, b: f32| ((x - cx) / a).powi(2) + ((y - cy) / b).powi(2) <= 1.0;
        let mut v = 0.0;
        if e(0.0, 0.0, 0.72, 0.9) {
            v = 0.6;
        }
        if e(-0.25, 0.1, 0.18, 0.3) {
            v = 1.0;
        }
        if e(0.3, -0.2, 0.15, 0.15) {
            v = 0.2;
        }
        v
    })
}

/// `|⟨a, b⟩| / (‖a‖‖b‖)` of two coil vectors.
pub fn coil_similarity(a: &[C32], b: &[C32]) -> f32 {
    let d: C32 = a.iter().zip(b).map(|(x, y)| x.conj() * y).sum();
    let na = a.iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt();
    let nb = b.iter().map(|z| z.norm_sqr()).sum::<f32>().sqrt();
    d.norm() / (na * nb).max(1e-30)
}

/// PSNR (dB) of `x` against `reference` (magnitudes, peak = max |reference|).
pub fn psnr(reference: &Array2<C32>, x: &Array2<C32>) -> f32 {
    let peak = reference.iter().map(|z| z.norm()).fold(0.0f32, f32::max);
    let mse =
        reference.iter().zip(x).map(|(a, b)| (a.norm() - b.norm()).powi(2)).sum::<f32>() / x.len() as f32;
    10.0 * (peak * peak / mse).log10()
}
