//! Helpers shared by the convolution tests: a seeded input generator and the error measure.

use candle_core::{DType, Device, Tensor};

/// A fixed, seeded sequence in [−1, 1) of the given shape, f64 (candle's own RNG is not
/// seedable on the CPU).
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2. - 1.
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// All elements as f64.
pub fn to_vec(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

/// max |a − b| / max |b|.
pub fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (to_vec(a), to_vec(b));
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0., f64::max) / scale
}
