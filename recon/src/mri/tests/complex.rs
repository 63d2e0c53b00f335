//! The complex (two-channel, multi-coil) training mode: the candle multi-coil DC layer
//! against the k-space operations, its gradient, the corruption's unbiasedness with phase
//! and coils, optimisation, and inference data consistency.

use super::common;

use crate::engine::Targets;
use crate::mri::{
    corruption::{to_channels, Corruption, Mode, MriUndersampling},
    dataset::SliceDataset,
    dc::DftDc,
    infer::reconstruct_complex,
};
use crate::tensor::{complex_batch, from_batch, to_batch};
use common::phantom;
use kspace::{coils, mask, rng::MaskRng, SamplingMask, C32};
use models::{DType, Device, NetConfig, Network, Tensor, UNetConfig, VarMap};
use ndarray::{Array2, Array3, Axis};

fn rand_complex(shape: (usize, usize, usize), rng: &mut MaskRng) -> Array3<C32> {
    Array3::from_shape_fn(shape, |_| C32::new(rng.uniform() as f32 - 0.5, rng.uniform() as f32 - 0.5))
}

fn rand_mask(h: usize, w: usize, p: f64, rng: &mut MaskRng) -> SamplingMask {
    let keep = Array2::from_shape_fn((h, w), |_| rng.uniform() < p);
    SamplingMask::new(keep, Array2::from_elem((h, w), p as f32))
}

/// `Σ_c conj(s_c)·ifft2c(fft2c(s_c f) with measured bins replaced)` with the kspace crate.
fn reference_dc(f: &Array2<C32>, sens: &Array3<C32>, y: &Array3<C32>, mask: &SamplingMask) -> Array2<C32> {
    let mut k = coils::simulate_coils(f, sens).unwrap();
    kspace::consistency::DataConsistency::new(y, mask).unwrap().apply_kspace(&mut k).unwrap();
    let img = kspace::ifft2c(&k);
    coils::combine(&img, sens).unwrap()
}

#[test]
fn multicoil_dc_layer_equals_kspace_operations() {
    let dev = Device::Cpu;
    let mut rng = MaskRng::from_seed(21);
    for (h, w, c) in [(9, 12, 3), (16, 15, 1), (10, 10, 4)] {
        let dc = DftDc::new(h, w, DType::F32, &dev).unwrap();
        let sens = coils::synthetic_sensitivities(c, h, w).unwrap();
        let mask = rand_mask(h, w, 0.4, &mut rng);
        let y = kspace::undersample::undersample(&rand_complex((c, h, w), &mut rng), &mask).unwrap();
        let fs: Vec<Array2<C32>> =
            (0..2).map(|_| rand_complex((1, h, w), &mut rng).index_axis_move(Axis(0), 0)).collect();
        let f = to_batch(
            &fs.iter().map(|z| to_channels(z, 1.0)).collect::<Vec<_>>().iter().collect::<Vec<_>>(),
            &dev,
        )
        .unwrap();
        let s = complex_batch(&[&sens, &sens], &dev).unwrap();
        let yt = complex_batch(&[&y, &y], &dev).unwrap();
        let keep = to_batch(&[&mask.as_f32().insert_axis(Axis(0))], &dev).unwrap();
        let out = from_batch(&dc.apply_coils(&f, &s, &yt, &keep).unwrap()).unwrap();
        for (fz, o) in fs.iter().zip(&out) {
            let want = reference_dc(fz, &sens, &y, &mask);
            for ((i, j), z) in want.indexed_iter() {
                let got = C32::new(o[[0, i, j]], o[[1, i, j]]);
                assert!((got - z).norm() < 1e-4, "({h}x{w}, {c} coils) pixel ({i},{j}): {got} vs {z}");
            }
        }
    }
}

#[test]
fn multicoil_dc_gradient_matches_finite_differences() {
    let dev = Device::Cpu;
    let (h, w, c) = (5, 6, 2);
    let mut rng = MaskRng::from_seed(22);
    let dc = DftDc::new(h, w, DType::F64, &dev).unwrap();
    let t = |rng: &mut MaskRng, ch: usize| {
        let v: Vec<f64> = (0..ch * h * w).map(|_| rng.uniform() - 0.5).collect();
        Tensor::from_vec(v, (1, ch, h, w), &dev).unwrap()
    };
    let sens = (t(&mut rng, c), t(&mut rng, c));
    let m: Vec<f64> = (0..h * w).map(|_| if rng.uniform() < 0.5 { 1.0 } else { 0.0 }).collect();
    let m = Tensor::from_vec(m, (1, 1, h, w), &dev).unwrap();
    let y = (t(&mut rng, c).broadcast_mul(&m).unwrap(), t(&mut rng, c).broadcast_mul(&m).unwrap());
    let wts = t(&mut rng, 2);
    let objective = |f: &Tensor| {
        dc.apply_coils(f, &sens, &y, &m).unwrap().mul(&wts).unwrap().sqr().unwrap().sum_all().unwrap()
    };
    let f0: Vec<f64> = (0..2 * h * w).map(|_| rng.uniform() - 0.5).collect();
    let var = candle_core::Var::from_vec(f0.clone(), (1, 2, h, w), &dev).unwrap();
    let grads = objective(var.as_tensor()).backward().unwrap();
    let g: Vec<f64> = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let eps = 1e-6;
    for i in 0..2 * h * w {
        let at = |d: f64| {
            let mut f = f0.clone();
            f[i] += d;
            objective(&Tensor::from_vec(f, (1, 2, h, w), &dev).unwrap()).to_scalar::<f64>().unwrap()
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
        assert!((fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()), "entry {i}: fd {fd} vs autograd {}", g[i]);
    }
}

fn complex_corruption(family: &str, targets: Targets, coils: usize) -> MriUndersampling {
    let params = match family {
        "n2n" => vec![mask::MaskParams { p_edge: Some(0.1), ..Default::default() }],
        _ => vec![
            mask::MaskParams { acceleration: 4.0, center_fraction: 0.08, ..Default::default() },
            mask::MaskParams { acceleration: 8.0, center_fraction: 0.04, ..Default::default() },
        ],
    };
    let masks = params.iter().map(|p| mask::from_name(family, p).unwrap()).collect();
    MriUndersampling::from_masks(masks, targets, 0, Mode::Complex { coils, max_phase: 1.5 })
}

/// Input and noisy target are unbiased estimates of the clean complex image (with random
/// phase and 4 coils, combined linearly) and their errors are uncorrelated.
#[test]
fn complex_inputs_and_targets_are_unbiased_with_coils_and_phase() {
    let n = 24;
    let x = phantom(n);
    for family in ["n2n", "random"] {
        let c = complex_corruption(family, Targets::Noisy, 4);
        let draws = 1200;
        let (mut mean_in, mut mean_t) = (Array3::<f64>::zeros((2, n, n)), Array3::<f64>::zeros((2, n, n)));
        let (mut cross, mut sq) = (0.0, 0.0);
        let mut rng = MaskRng::from_seed(5);
        for _ in 0..draws {
            let p = c.corrupt(&x, &mut rng).unwrap();
            assert_eq!(p.input.dim(), (2, n, n));
            assert_eq!(p.measured.dim(), (4, n, n));
            let ei = p.input.mapv(|v| v * p.scale) - &p.clean;
            let et = p.target.mapv(|v| v * p.scale) - &p.clean;
            cross += (&ei * &et).sum() as f64;
            sq += ei.mapv(|v| v * v).sum() as f64;
            mean_in.zip_mut_with(&ei, |a, &b| *a += b as f64 / draws as f64);
            mean_t.zip_mut_with(&et, |a, &b| *a += b as f64 / draws as f64);
        }
        // Cartesian errors are column-structured and heavy-tailed (1/p ≈ 11 at 8×), so the
        // sample correlation of 1200 draws fluctuates by a few hundredths; dependent masks
        // (e.g. b = a) give 1.
        assert!((cross / sq).abs() < 0.1, "{family}: error correlation {}", cross / sq);
        let single = sq / draws as f64;
        for mean in [&mean_in, &mean_t] {
            let bias: f64 = mean.iter().map(|v| v * v).sum();
            assert!(bias < 0.01 * single, "{family}: bias energy {bias}, one draw {single}");
        }
    }
}

/// The measured samples, divided by the scale, are the coil k-space of the clean image.
#[test]
fn complex_pair_measurements_match_the_clean_image() {
    let x = phantom(20);
    let c = complex_corruption("random", Targets::Clean, 3);
    let p = c.corrupt(&x, &mut MaskRng::from_seed(8)).unwrap();
    let z = ndarray::Zip::from(p.clean.index_axis(Axis(0), 0))
        .and(p.clean.index_axis(Axis(0), 1))
        .map_collect(|&a, &b| C32::new(a, b));
    let k = coils::simulate_coils(&z, p.sens.as_ref().unwrap()).unwrap();
    for ((m, k), keep) in p.measured.iter().zip(k.iter()).zip(p.keep.broadcast((3, 20, 20)).unwrap().iter()) {
        let want = if *keep > 0.5 { k / p.scale } else { C32::new(0.0, 0.0) };
        assert!((m - want).norm() < 1e-5, "{m} vs {want}");
    }
    // Clean targets are the clean image divided by the scale.
    assert!(p.target.iter().zip(p.clean.iter()).all(|(t, c)| (t * p.scale - c).abs() < 1e-5));
}

#[test]
fn complex_steps_on_a_fixed_batch_lower_the_loss() {
    let ds =
        SliceDataset { slices: vec![phantom(32), phantom(32).mapv(|v| -v - 0.2)], ids: Vec::new(), crop: 32 };
    let c = complex_corruption("n2n", Targets::Clean, 2);
    let losses = common::fixed_batch_losses(&ds, &c, 2);
    assert!(losses[24] < 0.7 * losses[0], "loss did not fall: {losses:?}");
}

/// Inference with any 2→2 network keeps the measured samples exactly (one coil), and with
/// several coils returns the image when the data is fully sampled.
#[test]
fn complex_inference_is_data_consistent() {
    let dev = Device::Cpu;
    let vm = VarMap::new();
    let net = Network::init(&NetConfig::UNet(UNetConfig::new(2, 2).with_width(8)), &vm, 3, DType::F32, &dev)
        .unwrap()
        .detached();
    let meta = models::ModelMeta::new(NetConfig::UNet(UNetConfig::new(2, 2).with_width(8)));
    let mut rng = MaskRng::from_seed(9);
    let (h, w) = (40, 36);
    let z = phantom(40).slice_move(ndarray::s![.., 2..38]).mapv(|v| C32::from_polar(v + 0.5, 0.3));
    let m = mask::from_name("random", &mask::MaskParams::default()).unwrap().sample((h, w), 1).unwrap();
    let k = kspace::fft2c(&z).insert_axis(Axis(0));
    let out = reconstruct_complex(&net, &meta, &k, &m, None, &dev).unwrap();
    let ko = kspace::fft2c(&out);
    for ((a, b), &keep) in ko.iter().zip(k.iter()).zip(m.keep.iter()) {
        if keep {
            assert!((a - b).norm() < 1e-4, "{a} vs {b}");
        }
    }
    let sens = coils::synthetic_sensitivities(4, h, w).unwrap();
    let k4 = coils::simulate_coils(&z, &sens).unwrap();
    let full = SamplingMask::full((h, w));
    let out = reconstruct_complex(&net, &meta, &k4, &full, Some(&sens), &dev).unwrap();
    let err = out.iter().zip(z.iter()).map(|(a, b)| (a - b).norm()).fold(0f32, f32::max);
    assert!(err < 1e-4, "fully sampled 4-coil data must come back unchanged: {err}");
    let _ = rand_complex((1, 1, 1), &mut rng);
}
