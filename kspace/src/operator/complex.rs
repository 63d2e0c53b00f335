//! The element-wise complex product shared by the fused normal operator's convolutions
//! ([`super::GridNormal`]) and its Rader rows ([`super::rader`]).

use crate::C32;

/// `a[k] *= b[k]` (complex), with AVX2 + FMA where available (4 products per instruction
/// group instead of the scalar four multiplies and two adds per product).
pub(super) fn complex_mul_assign(a: &mut [C32], b: &[C32]) {
    assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected; lengths are equal (asserted).
        unsafe { complex_mul_assign_avx(a, b) };
        return;
    }
    a.iter_mut().zip(b).for_each(|(v, &g)| *v *= g);
}

/// Safety: AVX2 and FMA available; `a.len() == b.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn complex_mul_assign_avx(a: &mut [C32], b: &[C32]) {
    use std::arch::x86_64::*;
    let n4 = a.len() / 4 * 4;
    let (pa, pb) = (a.as_mut_ptr().cast::<f32>(), b.as_ptr().cast::<f32>());
    for i in (0..2 * n4).step_by(8) {
        // SAFETY: i + 8 ≤ 2·n4 ≤ 2·len floats in both (Complex<f32> is repr(C) {re, im}).
        let (va, vb) = (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
        let (br, bi) = (_mm256_moveldup_ps(vb), _mm256_movehdup_ps(vb));
        let swapped = _mm256_permute_ps::<0b1011_0001>(va);
        // (ar·br − ai·bi, ai·br + ar·bi): fmaddsub subtracts in even lanes, adds in odd.
        _mm256_storeu_ps(pa.add(i), _mm256_fmaddsub_ps(va, br, _mm256_mul_ps(swapped, bi)));
    }
    a[n4..].iter_mut().zip(&b[n4..]).for_each(|(v, &g)| *v *= g);
}
