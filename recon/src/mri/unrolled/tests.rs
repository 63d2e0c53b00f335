//! Tests of the unrolled recipe: the pairs (sets, scaling), optimisation on a fixed batch,
//! determinism and exact resume, and scan-specific adaptation.

use std::path::PathBuf;

use kspace::{mask, rng::MaskRng, split::SplitScheme, SamplingMask, C32};
use models::{Device, Loss, NetConfig, Network, StepParams, UnrolledConfig, VarMap};
use ndarray::{Array2, Array3};

use super::{
    apply::NetInput,
    config::{Pairs, SplitKind, UnrolledTrainConfig},
    pairs::{acquisition, input_scale, make_pair, mask_funcs, split_scheme},
    source::KSlice,
    train_unrolled,
};
use crate::mri::tests::common::weights;
use crate::{progress::NoProgress, tensor::interleaved_batch, tensor::plane_batch};

/// A smooth object with a few edges, 2 coils with synthetic maps, fully sampled.
fn phantom_slice(n: usize) -> KSlice {
    let img = Array2::from_shape_fn((n, n), |(i, j)| {
        let (y, x) = (i as f32 / n as f32 - 0.5, j as f32 / n as f32 - 0.5);
        let r2 = x * x / 0.16 + y * y / 0.12;
        if r2 < 1.0 {
            C32::from_polar(0.6 + 0.4 * ((6.0 * x).sin() * (5.0 * y).cos()).abs(), 0.3 * x)
        } else {
            C32::new(0.0, 0.0)
        }
    });
    let maps = kspace::coils::synthetic_sensitivities(2, n, n).unwrap();
    KSlice {
        id: "phantom".into(),
        kspace: kspace::coils::simulate_coils(&img, &maps).unwrap(),
        acquired: SamplingMask::full((n, n)),
        fully_sampled: true,
        repeat: None,
        maps,
        reference: Some(img.mapv(|z| z.norm())),
    }
}

fn config(pairs: Pairs) -> UnrolledTrainConfig {
    let mut c = UnrolledTrainConfig::new(vec![], vec![], PathBuf::from("m.safetensors"));
    c.pairs = pairs;
    c
}

fn ones(k: &Array3<C32>, m: &Array2<f32>) -> bool {
    k.outer_iter().all(|c| c.iter().zip(m.iter()).all(|(z, &w)| w > 0.0 || z.norm() == 0.0))
}

#[test]
fn pairs_use_the_sets_their_mode_names_and_scale_the_input_to_one() {
    let s = phantom_slice(32);
    for pairs in [Pairs::Simulate, Pairs::Full, Pairs::Split] {
        let cfg = config(pairs);
        let masks = mask_funcs(&cfg).unwrap();
        let omega = acquisition(&s, 0, &masks, 5).unwrap();
        let scheme = split_scheme(&cfg).unwrap();
        let p = make_pair(&s, Some(&omega), Some(&scheme), &cfg, &masks, &mut MaskRng::from_seed(3)).unwrap();
        assert!(ones(&p.input, &p.input_mask), "{pairs:?}: input outside Θ");
        assert!(ones(&p.target, &p.weight), "{pairs:?}: target outside Λ");
        let scale = input_scale(&p.input, &s.maps).unwrap();
        assert!((scale - 1.0).abs() < 1e-4, "{pairs:?}: max |Sᴴ Fᴴ y_Θ| = {scale}");
        let (theta, lambda) = (p.input_mask.mapv(|v| v > 0.0), p.weight.mapv(|v| v > 0.0));
        match pairs {
            Pairs::Full => assert!(lambda.iter().all(|&l| l)),
            Pairs::Split => {
                assert!(theta.iter().zip(&lambda).all(|(&t, &l)| !(t && l)), "SSDU sets overlap");
                let union = ndarray::Zip::from(&theta).and(&lambda).map_collect(|&t, &l| t || l);
                assert_eq!(union, omega.keep, "Θ ∪ Λ is not the acquisition");
            }
            _ => assert_ne!(theta, lambda, "the two masks of a simulated pair are the same draw"),
        }
    }
    let cfg = config(Pairs::Simulate);
    let mut under = s.clone();
    under.fully_sampled = false;
    let err = make_pair(&under, None, None, &cfg, &mask_funcs(&cfg).unwrap(), &mut MaskRng::from_seed(0));
    assert!(err.unwrap_err().to_string().contains("--pairs split"));
}

#[test]
fn noisier2noise_draws_its_second_mask_at_one_over_one_minus_rho() {
    // Random 4× on 64 columns: Λ̃ keeps about half of them by default (half the
    // acceleration), about 1 − ρ of them with --split-rho ρ; an integer-only family names
    // the option when 1/(1 − ρ) is not an integer.
    let kept_fraction = |rho: Option<f64>| {
        let mut cfg = config(Pairs::Split);
        cfg.split = SplitKind::Noisier2Noise;
        cfg.rho = rho;
        let Ok(SplitScheme::Noisier2Noise { lambda, .. }) = split_scheme(&cfg) else {
            panic!("not noisier2noise")
        };
        let n = 40;
        (0..n).map(|seed| lambda.sample((8, 64), seed).unwrap().count() as f64 / 512.0).sum::<f64>()
            / n as f64
    };
    let (default, rho) = (kept_fraction(None), kept_fraction(Some(0.25)));
    assert!((default - 0.5).abs() < 0.05, "default keeps {default}");
    assert!((rho - 0.75).abs() < 0.05, "ρ = 0.25 keeps {rho}");
    let mut cfg = config(Pairs::Split);
    cfg.split = SplitKind::Noisier2Noise;
    cfg.mask = mask::family("equispaced").unwrap();
    cfg.rho = Some(0.4);
    let err = split_scheme(&cfg).err().expect("equispaced at 1.67× is refused").to_string();
    assert!(err.contains("--split-rho") && err.contains("integer"), "{err}");
}

#[test]
fn repeats_take_the_input_from_one_acquisition_and_the_target_from_the_other() {
    let mut s = phantom_slice(16);
    let m1 = mask::from_name("random", &mask::MaskParams::default()).unwrap().sample((16, 16), 1).unwrap();
    let m2 = mask::from_name("random", &mask::MaskParams::default()).unwrap().sample((16, 16), 2).unwrap();
    let second = s.kspace.mapv(|z| z * 2.0);
    s.repeat = Some((kspace::undersample::undersample(&second, &m2).unwrap(), m2.clone()));
    s.kspace = kspace::undersample::undersample(&s.kspace, &m1).unwrap();
    s.acquired = m1.clone();
    s.fully_sampled = false;
    let cfg = config(Pairs::Repeats);
    let mut seen = [false; 2];
    for seed in 0..8 {
        let p = make_pair(&s, None, None, &cfg, &[], &mut MaskRng::from_seed(seed)).unwrap();
        let first = p.input_mask == m1.as_f32();
        seen[usize::from(first)] = true;
        let (want_in, want_t) = if first {
            (&s.kspace, &s.repeat.as_ref().unwrap().0)
        } else {
            (&s.repeat.as_ref().unwrap().0, &s.kspace)
        };
        let scale = input_scale(&want_in.clone(), &s.maps).unwrap();
        assert!(p.input.iter().zip(want_in.iter()).all(|(a, b)| (a * scale - b).norm() < 1e-3));
        assert!(p.target.iter().zip(want_t.iter()).all(|(a, b)| (a * scale - b).norm() < 1e-3));
    }
    assert_eq!(seen, [true, true], "both orders are drawn");
}

/// The loss of a fixed full-target pair through a fresh network, before and after Adam steps.
#[test]
fn adam_steps_on_a_fixed_pair_lower_the_kspace_loss() {
    let s = phantom_slice(32);
    let cfg = config(Pairs::Full);
    let masks = mask_funcs(&cfg).unwrap();
    let p = make_pair(&s, None, None, &cfg, &masks, &mut MaskRng::from_seed(1)).unwrap();
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let arch = NetConfig::Unrolled(UnrolledConfig { cascades: 2, width: 6, levels: 2 });
    let net = Network::init(&arch, &varmap, 0, models::DType::F32, &device).unwrap();
    let input = NetInput::new(&[&p.input], &[&p.input_mask], &[&s.maps], None, &device).unwrap();
    let target = interleaved_batch(&[&p.target], &device).unwrap();
    let weight = plane_batch(&[&p.weight], &device).unwrap();
    let mut adam = models::Adam::new(&varmap, models::AdamConfig::default()).unwrap();
    let mut losses = Vec::new();
    for _ in 0..15 {
        let x = input.image(net.as_unrolled().unwrap()).unwrap();
        let loss = Loss::L2.compute(&input.kspace_of(&x).unwrap(), &target, Some(&weight), 0, 1).unwrap();
        losses.push(loss.to_scalar::<f32>().unwrap());
        adam.backward_step(&loss, StepParams { lr: 3e-3, beta1: 0.9 }).unwrap();
    }
    assert!(losses[14] < 0.7 * losses[0], "loss did not fall: {losses:?}");
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data").join(name)
}

fn tiny(out: PathBuf, pairs: Pairs) -> UnrolledTrainConfig {
    let mut c = UnrolledTrainConfig::new(
        vec![data("colin27_t1_1mm.nii.gz")],
        vec![data("mni152_2009a_t1_1mm.nii.gz")],
        out,
    );
    c.pairs = pairs;
    c.steps = 4;
    c.crop = 40;
    c.coils = 2;
    c.net = UnrolledConfig { cascades: 2, width: 4, levels: 1 };
    c.max_train_slices = Some(4);
    c.val_slices = 1;
    c.run.val_every = 2;
    c.run.checkpoint_every = 2;
    c.seed = 7;
    c
}

#[test]
fn same_seed_same_weights_and_resume_is_exact() {
    let dir = std::env::temp_dir().join(format!("recon-unrolled-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = tiny(dir.join("a.safetensors"), Pairs::Split);
    let rep = train_unrolled(&a, &NoProgress).unwrap();
    assert_eq!(rep.steps, 4);
    assert!(rep.final_loss.is_finite());
    let (vp, vi) = (rep.val_psnr.unwrap(), rep.val_psnr_input.unwrap());
    assert!(vp.is_finite() && vi > 5.0, "val {vp} input {vi}");

    let b = tiny(dir.join("b.safetensors"), Pairs::Split);
    train_unrolled(&b, &NoProgress).unwrap();
    assert!(weights(&a.run.out) == weights(&b.run.out), "same seed gave different weights");

    let mut c = tiny(dir.join("c.safetensors"), Pairs::Split);
    c.run.stop_after = Some(2);
    assert_eq!(train_unrolled(&c, &NoProgress).unwrap().steps, 2);
    c.run.stop_after = None;
    c.run.resume = true;
    assert_eq!(train_unrolled(&c, &NoProgress).unwrap().start_step, 2);
    assert!(weights(&a.run.out) == weights(&c.run.out), "resumed run differs from uninterrupted run");
    std::fs::remove_dir_all(&dir).ok();
}
