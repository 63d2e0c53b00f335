//! Centred orthonormal FFTs against numpy fixtures (tests/fixtures/fft, made by
//! make_fixtures.py) and against their defining identities (Parseval, round trip, impulses),
//! on contiguous and non-contiguous views, serial and parallel paths.

use kspace::{fft2c, fft2c_inplace, fftshift2, ifft2c, ifft2c_inplace, ifftshift2, Fft2c, Fft2cPlanner, C32};
use ndarray::{s, Array, ArrayD, Axis, Dimension, Ix2, IxDyn, ShapeBuilder};
use std::path::PathBuf;
use std::sync::Arc;

const CASES: [&str; 15] = [
    "7x5", "8x6", "9x12", "16x16", "1x7", "6x1", "10x9", "15x4x6", "2x11x14", "2x3x10x9", "6x52", "5x92",
    "2x2x124", "3x368", "2x372",
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fft")
}

/// Minimal .npy v1/v2 reader for little-endian complex64 ('<c8'), C order.
fn read_npy_c64(name: &str) -> ArrayD<C32> {
    let path = fixture_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: not an .npy file");
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen]).unwrap();
    assert!(header.contains("'descr': '<c8'"), "{name}: want '<c8': {header}");
    assert!(header.contains("'fortran_order': False"), "{name}: want C order");
    let shape_str = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let shape: Vec<usize> =
        shape_str.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| t.parse().unwrap()).collect();
    let data: Vec<C32> = bytes[start + hlen..]
        .chunks_exact(8)
        .map(|c| {
            C32::new(
                f32::from_le_bytes(c[..4].try_into().unwrap()),
                f32::from_le_bytes(c[4..].try_into().unwrap()),
            )
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap()
}

/// ‖a − b‖ / ‖b‖ (Frobenius), shapes must agree.
fn rel_err<D: Dimension>(a: &Array<C32, D>, b: &Array<C32, D>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).norm_sqr() as f64).sum();
    let den: f64 = b.iter().map(|y| y.norm_sqr() as f64).sum();
    (num / den.max(1e-300)).sqrt()
}

fn norm(a: &ArrayD<C32>) -> f64 {
    a.iter().map(|v| v.norm_sqr() as f64).sum::<f64>().sqrt()
}

/// Deterministic complex noise (splitmix64), independent of any RNG crate.
fn random(shape: &[usize], seed: u64) -> ArrayD<C32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    ArrayD::from_shape_simple_fn(IxDyn(shape), || C32::new(next(), next()))
}

#[test]
fn fft2c_and_ifft2c_match_numpy() {
    for name in CASES {
        let x = read_npy_c64(&format!("{name}_x.npy"));
        let want_f = read_npy_c64(&format!("{name}_fft.npy"));
        let want_i = read_npy_c64(&format!("{name}_ifft.npy"));
        let (ef, ei) = (rel_err(&fft2c(&x), &want_f), rel_err(&ifft2c(&x), &want_i));
        assert!(ef < 1e-5, "{name}: fft2c rel err {ef:e}");
        assert!(ei < 1e-5, "{name}: ifft2c rel err {ei:e}");
    }
}

#[test]
fn every_entry_point_matches_numpy() {
    let planner = Fft2cPlanner::new();
    for name in CASES {
        let x = read_npy_c64(&format!("{name}_x.npy"));
        let want_f = read_npy_c64(&format!("{name}_fft.npy"));
        let want_i = read_npy_c64(&format!("{name}_ifft.npy"));
        let nd = x.ndim();
        let plan = planner.plan(x.shape()[nd - 2], x.shape()[nd - 1]);
        assert_eq!(plan.shape(), (x.shape()[nd - 2], x.shape()[nd - 1]));

        let mut y = x.clone();
        fft2c_inplace(&mut y.view_mut());
        assert!(rel_err(&y, &want_f) < 1e-5, "{name}: fft2c_inplace");
        let mut y = x.clone();
        ifft2c_inplace(&mut y.view_mut());
        assert!(rel_err(&y, &want_i) < 1e-5, "{name}: ifft2c_inplace");

        let (mut a, mut b) = (x.clone(), x.clone());
        plan.forward(&mut a.view_mut());
        plan.forward_serial(&mut b.view_mut());
        assert!(rel_err(&a, &want_f) < 1e-5, "{name}: forward");
        assert_eq!(a, b, "{name}: serial and parallel forward differ");
        let (mut a, mut b) = (x.clone(), x.clone());
        plan.inverse(&mut a.view_mut());
        plan.inverse_serial(&mut b.view_mut());
        assert!(rel_err(&a, &want_i) < 1e-5, "{name}: inverse");
        assert_eq!(a, b, "{name}: serial and parallel inverse differ");

        // forward2 / inverse2 image by image.
        let (mut a, mut b) = (x.clone(), x.clone());
        let lead: usize = x.shape()[..nd - 2].iter().product();
        let (h, w) = plan.shape();
        let mut a3 = a.view_mut().into_shape_with_order((lead, h, w)).unwrap();
        let mut b3 = b.view_mut().into_shape_with_order((lead, h, w)).unwrap();
        for mut img in a3.axis_iter_mut(Axis(0)) {
            plan.forward2(&mut img);
        }
        for mut img in b3.axis_iter_mut(Axis(0)) {
            plan.inverse2(&mut img);
        }
        assert!(rel_err(&a, &want_f) < 1e-5, "{name}: forward2");
        assert!(rel_err(&b, &want_i) < 1e-5, "{name}: inverse2");
    }
}

#[test]
fn shifts_match_numpy_on_odd_and_even_sizes() {
    let small: Vec<_> =
        CASES.iter().filter(|n| fixture_dir().join(format!("{n}_fftshift.npy")).exists()).collect();
    assert_eq!(small.len(), 6, "shift fixtures: {small:?}");
    for name in small {
        let x = read_npy_c64(&format!("{name}_x.npy")).into_dimensionality::<Ix2>().unwrap();
        let want_f = read_npy_c64(&format!("{name}_fftshift.npy")).into_dimensionality::<Ix2>().unwrap();
        let want_i = read_npy_c64(&format!("{name}_ifftshift.npy")).into_dimensionality::<Ix2>().unwrap();
        assert_eq!(fftshift2(&x.view()), want_f, "{name}: fftshift2");
        assert_eq!(ifftshift2(&x.view()), want_i, "{name}: ifftshift2");
        assert_eq!(ifftshift2(&fftshift2(&x.view()).view()), x, "{name}: ifftshift2∘fftshift2");
    }
    // Generic element type and a non-contiguous input.
    let a = ndarray::Array2::from_shape_fn((5, 3), |(i, j)| 10 * i + j);
    assert_eq!(fftshift2(&a.view()).row(0).to_vec(), vec![32, 30, 31]);
    assert_eq!(ifftshift2(&a.view()).row(0).to_vec(), vec![21, 22, 20]);
    let t = a.t();
    assert_eq!(fftshift2(&t), fftshift2(&t.to_owned().view()));
}

#[test]
fn parseval_and_round_trip_on_larger_arrays() {
    for (k, shape) in
        [vec![4, 64, 48], vec![3, 63, 45], vec![2, 2, 33, 40], vec![1, 320, 320], vec![3, 130, 131]]
            .into_iter()
            .enumerate()
    {
        let x = random(&shape, k as u64);
        let y = fft2c(&x);
        let (nx, ny) = (norm(&x), norm(&y));
        assert!((nx - ny).abs() / nx < 1e-5, "{shape:?}: Parseval {nx} vs {ny}");
        let z = ifft2c(&x);
        assert!((nx - norm(&z)).abs() / nx < 1e-5, "{shape:?}: Parseval (inverse)");
        let e1 = rel_err(&ifft2c(&y), &x);
        let e2 = rel_err(&fft2c(&z), &x);
        assert!(e1 < 1e-5 && e2 < 1e-5, "{shape:?}: round trip {e1:e} {e2:e}");
    }
}

#[test]
fn parallel_paths_agree_with_serial_on_several_thread_counts() {
    // 3 images of ≥128×128 on 2 threads: two whole-image tasks plus one split inside the image.
    let x = random(&[3, 130, 131], 7);
    let plan = Fft2cPlanner::new().plan(130, 131);
    let mut serial = x.clone();
    plan.forward_serial(&mut serial.view_mut());
    for threads in [1, 2, 3, 5] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut par = x.clone();
        pool.install(|| plan.forward(&mut par.view_mut()));
        assert_eq!(par, serial, "{threads} threads");
    }
}

#[test]
fn centred_impulse_gives_constant_and_back() {
    for (h, w) in [(8, 8), (7, 5), (6, 9), (1, 1), (320, 320), (11, 14)] {
        let mut x = ArrayD::<C32>::zeros(IxDyn(&[h, w]));
        x[[h / 2, w / 2]] = C32::new(1.0, 0.0);
        let c = 1.0 / ((h * w) as f32).sqrt();
        for y in [fft2c(&x), ifft2c(&x)] {
            assert!(y.iter().all(|v| (v - C32::new(c, 0.0)).norm() < 1e-6), "{h}x{w}: not constant {c}");
        }
        let ones = ArrayD::<C32>::from_elem(IxDyn(&[h, w]), C32::new(1.0, 0.0));
        let scaled = x.mapv(|v| v * (h * w) as f32 * c);
        assert!(rel_err(&fft2c(&ones), &scaled) < 1e-5, "{h}x{w}: constant → impulse");
    }
}

/// The named non-contiguous view of a (4, 18, 22) array.
fn view_of<'a>(a: &'a mut ArrayD<C32>, name: &str) -> ndarray::ArrayViewMutD<'a, C32> {
    match name {
        "row step" => a.slice_mut(s![.., ..;2, ..]).into_dyn(),
        "col step" => a.slice_mut(s![.., .., 1..;3]).into_dyn(),
        "col range" => a.slice_mut(s![1..3, 2..15, 3..20]).into_dyn(),
        "reversed" => a.slice_mut(s![..;-1, ..;-1, ..;-1]).into_dyn(),
        "transposed" => a.view_mut().permuted_axes(vec![0, 2, 1]),
        "coil step" => a.slice_mut(s![..;2, .., ..]).into_dyn(),
        "single image, both steps" => a.slice_mut(s![2, 1..;2, ..;-3]).into_dyn(),
        _ => unreachable!(),
    }
}

#[test]
fn non_contiguous_views_match_contiguous() {
    let base = random(&[4, 18, 22], 3);
    for name in [
        "row step",
        "col step",
        "col range",
        "reversed",
        "transposed",
        "coil step",
        "single image, both steps",
    ] {
        let mut scratch = base.clone();
        let contiguous = view_of(&mut scratch, name).as_standard_layout().into_owned();
        let v = view_of(&mut scratch, name);
        assert!(rel_err(&fft2c(&v), &fft2c(&contiguous)) < 1e-6, "{name}: fft2c");

        // In place through the mutable view; elements outside it stay untouched.
        let mut buf = base.clone();
        let mut m = view_of(&mut buf, name);
        ifft2c_inplace(&mut m);
        assert!(rel_err(&m.to_owned(), &ifft2c(&contiguous)) < 1e-6, "{name}: ifft2c_inplace");
        m.fill(C32::new(0.0, 0.0));
        let mut expect = base.clone();
        view_of(&mut expect, name).fill(C32::new(0.0, 0.0));
        assert_eq!(buf, expect, "{name}: wrote outside the view");
    }

    // Fortran-ordered owned input.
    let f = ndarray::Array3::from_shape_vec((4, 18, 22).f(), base.iter().copied().collect()).unwrap();
    assert!(rel_err(&fft2c(&f).into_dyn(), &fft2c(&f.as_standard_layout().into_owned()).into_dyn()) < 1e-6);
}

#[test]
fn planner_caches_plans() {
    let p = Fft2cPlanner::default();
    let a: Arc<Fft2c> = p.plan(640, 368);
    assert!(Arc::ptr_eq(&a, &p.plan(640, 368)));
    assert!(!Arc::ptr_eq(&a, &p.plan(368, 640)));
}

#[test]
fn empty_arrays_are_fine() {
    for shape in [vec![0, 5], vec![3, 0], vec![0, 4, 4], vec![2, 0, 3]] {
        let x = ArrayD::<C32>::zeros(IxDyn(&shape));
        assert_eq!(fft2c(&x).shape(), &shape[..]);
        assert_eq!(ifft2c(&x).shape(), &shape[..]);
    }
}

#[test]
#[should_panic(expected = "shape mismatch")]
fn plan_shape_mismatch_panics() {
    let plan = Fft2cPlanner::new().plan(4, 4);
    let mut x = ArrayD::<C32>::zeros(IxDyn(&[4, 5]));
    plan.forward(&mut x.view_mut());
}
