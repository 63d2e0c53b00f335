//! The SENSE operator `A = P·F·S`: adjointness, normal operator, norm, shapes and bad input.

mod common;

use common::Rand;
use kspace::operator::{dot, SenseOperator};
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Array4};

fn random_mask(r: &mut Rand, h: usize, w: usize) -> SamplingMask {
    let keep = Array2::from_shape_simple_fn((h, w), || r.next() > -0.2);
    SamplingMask::new(keep, Array2::from_elem((h, w), 0.7))
}

#[test]
fn adjoint_matches_forward_for_many_coils_and_sizes() {
    let mut r = Rand(1);
    for &(m, c, h, w) in
        &[(1, 1, 16, 16), (1, 3, 15, 9), (2, 4, 7, 12), (1, 8, 32, 33), (1, 32, 12, 10), (2, 2, 1, 5)]
    {
        let maps = Array4::from_shape_simple_fn((m, c, h, w), || r.c());
        let mask = random_mask(&mut r, h, w);
        let mut op = SenseOperator::with_map_sets(maps, &mask).unwrap();
        let x = r.array3((m, h, w));
        let y = r.array3((c, h, w));
        let ax = op.apply(&x.view()).unwrap();
        let aty = op.apply_adjoint(&y.view()).unwrap();
        let (lhs, rhs) = (dot(&ax.view(), &y.view()), dot(&x.view(), &aty.view()));
        assert!((lhs - rhs).norm() <= 1e-5 * lhs.norm().max(1.0), "{m}x{c}x{h}x{w}: {lhs} vs {rhs}");
        // Unsampled bins of A x are exactly zero.
        for ((_, i, j), v) in ax.indexed_iter() {
            if !mask.keep[[i, j]] {
                assert_eq!(*v, C32::new(0.0, 0.0));
            }
        }
        // The normal operator is Aᴴ(A x), plus λ x.
        let mut n = Array3::zeros((m, h, w));
        op.normal(&x.view(), 0.5, &mut n.view_mut()).unwrap();
        let want = op.apply_adjoint(&ax.view()).unwrap() + &x.mapv(|z| z * 0.5);
        let err = n.iter().zip(&want).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
        assert!(err < 1e-4, "{m}x{c}x{h}x{w}: normal error {err}");
    }
}

#[test]
fn normalised_maps_fully_sampled_give_identity_normal_operator() {
    let maps = kspace::coils::synthetic_sensitivities(8, 24, 20).unwrap();
    let mut op = SenseOperator::new(maps, &SamplingMask::full((24, 20))).unwrap();
    let mut r = Rand(2);
    let x = r.array3((1, 24, 20));
    let mut n = Array3::zeros((1, 24, 20));
    op.normal(&x.view(), 0.0, &mut n.view_mut()).unwrap();
    let err = n.iter().zip(&x).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
    assert!(err < 1e-5, "AᴴA = I expected, error {err}");
    let l = op.max_eigenvalue(20).unwrap();
    assert!((l - 1.0).abs() < 1e-3, "‖AᴴA‖ = {l}");
}

#[test]
fn bad_shapes_and_values_are_errors_not_panics() {
    let mask = SamplingMask::full((8, 8));
    assert!(SenseOperator::new(Array3::zeros((0, 8, 8)), &mask).is_err(), "zero coils");
    assert!(SenseOperator::new(Array3::zeros((2, 8, 9)), &mask).is_err(), "mask shape");
    let mut nan = Array3::<C32>::zeros((2, 8, 8));
    nan[[1, 2, 3]] = C32::new(f32::NAN, 0.0);
    assert!(SenseOperator::new(nan, &mask).is_err(), "NaN maps");
    let mut op = SenseOperator::new(Array3::ones((2, 8, 8)), &mask).unwrap();
    assert!(op.apply(&Array3::zeros((1, 8, 7)).view()).is_err());
    assert!(op.apply_adjoint(&Array3::zeros((3, 8, 8)).view()).is_err());
}
