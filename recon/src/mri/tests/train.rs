//! Tests of the training engine: the differentiable DC layer, the corruption statistics,
//! optimisation on a fixed batch, determinism and exact resume.

use std::path::PathBuf;

use super::common::weights;
use super::common::{self, phantom};
use crate::engine::Targets;
use crate::mri::corruption::{Corruption, MriUndersampling};
use crate::mri::{dataset::SliceDataset, dc::DftDc, infer::reconstruct_with_model, train, TrainConfig};
use crate::{progress::NoProgress, tensor::to_batch};
use kspace::{mask, rng::MaskRng, SamplingMask, C32};
use models::{DType, Device, Tensor};
use ndarray::{Array2, Array3, Axis};

/// One image as a one-channel (1, H, W) array.
fn ch1(a: &Array2<f32>) -> Array3<f32> {
    a.clone().insert_axis(Axis(0))
}

fn rand_image(h: usize, w: usize, rng: &mut MaskRng) -> Array2<f32> {
    Array2::from_shape_fn((h, w), |_| rng.uniform() as f32 - 0.5)
}

#[test]
fn dc_layer_equals_kspace_operations() {
    let dev = Device::Cpu;
    let mut rng = MaskRng::from_seed(1);
    for (h, w) in [(9, 12), (16, 15)] {
        let dc = DftDc::new(h, w, DType::F32, &dev).unwrap();
        let f = [rand_image(h, w, &mut rng), rand_image(h, w, &mut rng)];
        let other = rand_image(h, w, &mut rng);
        let keep = Array2::from_shape_fn((h, w), |_| rng.uniform() < 0.4);
        let mask = SamplingMask::new(keep.clone(), Array2::from_elem((h, w), 0.4));
        let measured =
            kspace::undersample::undersample(&kspace::fft2c(&other.mapv(|v| C32::new(v, 0.0))), &mask)
                .unwrap();
        let ft = to_batch(&[&ch1(&f[0]), &ch1(&f[1])], &dev).unwrap();
        let (kr, ki) = dc.fft_real(&ft).unwrap();
        let yr = to_batch(&[&ch1(&measured.mapv(|z| z.re))], &dev).unwrap();
        let yi = to_batch(&[&ch1(&measured.mapv(|z| z.im))], &dev).unwrap();
        let m = to_batch(&[&ch1(&mask.as_f32())], &dev).unwrap();
        let out = dc.apply(&ft, &yr, &yi, &m).unwrap();
        let kr: Vec<f32> = kr.flatten_all().unwrap().to_vec1().unwrap();
        let ki: Vec<f32> = ki.flatten_all().unwrap().to_vec1().unwrap();
        let out: Vec<f32> = out.flatten_all().unwrap().to_vec1().unwrap();
        let dcref = kspace::consistency::DataConsistency::new(&measured, &mask).unwrap();
        for (b, img) in f.iter().enumerate() {
            let k = kspace::fft2c(&img.mapv(|v| C32::new(v, 0.0)));
            let mut r = img.clone();
            dcref.apply_real_image(&mut r).unwrap();
            for (i, (z, o)) in k.iter().zip(r.iter()).enumerate() {
                let at = b * h * w + i;
                assert!(
                    (kr[at] - z.re).abs() < 1e-4 && (ki[at] - z.im).abs() < 1e-4,
                    "fft bin {i} ({h}x{w})"
                );
                assert!((out[at] - o).abs() < 1e-4, "dc pixel {i}: {} vs {o}", out[at]);
            }
        }
    }
}

#[test]
fn dc_layer_gradient_matches_finite_differences() {
    let dev = Device::Cpu;
    let (h, w) = (5, 6);
    let mut rng = MaskRng::from_seed(2);
    let dc = DftDc::new(h, w, DType::F64, &dev).unwrap();
    let vals = |rng: &mut MaskRng| (0..h * w).map(|_| rng.uniform() - 0.5).collect::<Vec<f64>>();
    let f0 = vals(&mut rng);
    let wts = Tensor::from_vec(vals(&mut rng), (1, 1, h, w), &dev).unwrap();
    let yr = Tensor::from_vec(vals(&mut rng), (1, 1, h, w), &dev).unwrap();
    let yi = Tensor::from_vec(vals(&mut rng), (1, 1, h, w), &dev).unwrap();
    let m: Vec<f64> = (0..h * w).map(|_| if rng.uniform() < 0.5 { 1.0 } else { 0.0 }).collect();
    let m = Tensor::from_vec(m, (1, 1, h, w), &dev).unwrap();
    let (yr, yi) = (yr.mul(&m).unwrap(), yi.mul(&m).unwrap());
    let objective =
        |f: &Tensor| dc.apply(f, &yr, &yi, &m).unwrap().mul(&wts).unwrap().sqr().unwrap().sum_all().unwrap();
    let var = candle_core::Var::from_vec(f0.clone(), (1, 1, h, w), &dev).unwrap();
    let grads = objective(var.as_tensor()).backward().unwrap();
    let g: Vec<f64> = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let eps = 1e-6;
    for i in 0..h * w {
        let at = |d: f64| {
            let mut f = f0.clone();
            f[i] += d;
            objective(&Tensor::from_vec(f, (1, 1, h, w), &dev).unwrap()).to_scalar::<f64>().unwrap()
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
        assert!((fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()), "entry {i}: fd {fd} vs autograd {}", g[i]);
    }
}

#[test]
fn masks_are_independent_and_inputs_unbiased() {
    let n = 32;
    let x = phantom(n);
    let params = mask::MaskParams { p_edge: Some(0.1), ..Default::default() };
    let c = MriUndersampling::new(mask::from_name("n2n", &params).unwrap(), Targets::Noisy, 0);
    let draws = 1500;
    let (mut mean_in, mut mean_t) = (Array2::<f64>::zeros((n, n)), Array2::<f64>::zeros((n, n)));
    let (mut cross, mut sq) = (0.0, 0.0);
    let mut rng = MaskRng::from_seed(3);
    for _ in 0..draws {
        let mut p = c.corrupt(&x, &mut rng).unwrap();
        assert_ne!(p.input, p.target);
        // Undo the per-slice normalisation: the input and the noisy target are unbiased
        // estimates of the clean image.
        assert!(p.scale > 0.0);
        for im in [&mut p.input, &mut p.target] {
            im.mapv_inplace(|v| (v + 0.5) * p.scale - 0.5);
        }
        for ((i, t), c0) in p.input.iter().zip(p.target.iter()).zip(x.iter()) {
            let (ei, et) = ((*i - *c0) as f64, (*t - *c0) as f64);
            cross += ei * et;
            sq += ei * ei;
        }
        mean_in.zip_mut_with(&p.input.index_axis(Axis(0), 0), |a, &b| *a += b as f64 / draws as f64);
        mean_t.zip_mut_with(&p.target.index_axis(Axis(0), 0), |a, &b| *a += b as f64 / draws as f64);
    }
    // Independent masks → uncorrelated errors.
    assert!((cross / sq).abs() < 0.05, "error correlation {}", cross / sq);
    // Unbiased: the mean over draws approaches the clean image (loose tolerance).
    let energy: f64 = x.iter().map(|&v| (v as f64 + 0.5).powi(2)).sum();
    for mean in [&mean_in, &mean_t] {
        let e: f64 = mean.iter().zip(x.iter()).map(|(m, &c)| (m - c as f64).powi(2)).sum();
        let single = sq / draws as f64;
        assert!(
            e < 0.02 * single && e < 0.05 * energy,
            "bias energy {e} (one draw {single}, image {energy})"
        );
    }
}

fn synthetic_dataset(n: usize, count: usize) -> SliceDataset {
    let mut rng = MaskRng::from_seed(5);
    let slices = (0..count)
        .map(|_| {
            let p = phantom(n);
            let noise = rand_image(n, n, &mut rng);
            p + noise.mapv(|v| 0.05 * v)
        })
        .collect();
    SliceDataset { slices, ids: Vec::new(), crop: n }
}

#[test]
fn steps_on_a_fixed_batch_lower_the_loss() {
    let ds = synthetic_dataset(32, 2);
    let params = mask::MaskParams { p_edge: Some(0.1), ..Default::default() };
    let c = MriUndersampling::new(mask::from_name("n2n", &params).unwrap(), Targets::Clean, 0);
    let losses = common::fixed_batch_losses(&ds, &c, 1);
    assert!(losses[24] < 0.7 * losses[0], "loss did not fall: {losses:?}");
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data").join(name)
}

fn tiny_config(out: PathBuf) -> TrainConfig {
    let mut cfg =
        TrainConfig::new(vec![data("colin27_t1_1mm.nii.gz")], vec![data("mni152_2009a_t1_1mm.nii.gz")], out);
    cfg.steps = 6;
    cfg.batch = 2;
    cfg.crop = 64;
    cfg.width = 8;
    cfg.run.val_every = 3;
    cfg.run.checkpoint_every = 3;
    cfg.val_slices = 3;
    cfg.max_train_slices = Some(12);
    cfg.max_shift = 16;
    cfg.seed = 11;
    cfg
}

#[test]
fn same_seed_same_weights_and_resume_is_exact() {
    let dir = std::env::temp_dir().join(format!("recon-train-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = tiny_config(dir.join("a.safetensors"));
    let rep = train(&a, &NoProgress).unwrap();
    assert_eq!(rep.steps, 6);
    assert!(rep.final_loss.is_finite());
    let (vp, vi) = (rep.val_psnr.unwrap(), rep.val_psnr_input.unwrap());
    assert!(vp.is_finite() && vi.is_finite() && vi > 5.0, "val {vp} input {vi}");
    let csv = std::fs::read_to_string(&rep.log).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");

    let b = tiny_config(dir.join("b.safetensors"));
    train(&b, &NoProgress).unwrap();
    assert!(weights(&a.run.out) == weights(&b.run.out), "same seed gave different weights");

    let mut c = tiny_config(dir.join("c.safetensors"));
    c.run.stop_after = Some(3);
    assert_eq!(train(&c, &NoProgress).unwrap().steps, 3);
    c.run.stop_after = None;
    c.run.resume = true;
    let rep = train(&c, &NoProgress).unwrap();
    assert_eq!(rep.start_step, 3);
    assert!(weights(&a.run.out) == weights(&c.run.out), "resumed run differs from uninterrupted run");
    assert_eq!(std::fs::read_to_string(&rep.log).unwrap().lines().count(), 3);

    // The trained model reconstructs a slice; the result is data-consistent.
    let (net, meta) = models::load_model(&a.run.out, &Device::Cpu).unwrap();
    let clean = phantom(64).mapv(|v| v + 0.5);
    let f = mask::from_name("n2n", &a.params[0]).unwrap();
    let m = f.sample((64, 64), 4).unwrap();
    let k = kspace::fft2c(&clean.mapv(|v| C32::new(v, 0.0)));
    let zf = crate::mri::corruption::compensated_image(&k, &m).unwrap();
    let out = reconstruct_with_model(&net, &meta, &zf, &k, &m, &Device::Cpu).unwrap();
    let ko = kspace::fft2c(&out.mapv(|v| C32::new(v, 0.0)));
    for ((a, b), &keep) in ko.iter().zip(k.iter()).zip(m.keep.iter()) {
        if keep {
            assert!((a - b).norm() < 1e-3);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A short real run (release): Colin27 → MNI152 validation. Settings from the environment
/// (`N2N_STEPS`, `N2N_WIDTH`, `N2N_CROP`, `N2N_BATCH`, `N2N_OUT`), e.g.
/// `N2N_STEPS=300 cargo test --release -p recon --test train -- --ignored --nocapture`.
#[test]
#[ignore]
fn real_training_colin27() {
    struct Print;
    impl crate::progress::Progress for Print {
        fn message(&self, m: &str) {
            eprintln!("{m}");
        }
    }
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let out = std::env::var("N2N_OUT").unwrap_or_else(|_| "/tmp/n2n-colin27.safetensors".into());
    let mut cfg = TrainConfig::new(
        vec![data("colin27_t1_1mm.nii.gz")],
        vec![data("mni152_2009a_t1_1mm.nii.gz")],
        PathBuf::from(out),
    );
    cfg.steps = env("N2N_STEPS", 200);
    cfg.width = env("N2N_WIDTH", 48) as usize;
    cfg.crop = env("N2N_CROP", 127) as usize;
    cfg.batch = env("N2N_BATCH", 4) as usize;
    cfg.max_shift = cfg.crop / 4;
    cfg.run.val_every = env("N2N_VAL_EVERY", 50);
    cfg.run.checkpoint_every = cfg.run.val_every;
    cfg.val_slices = env("N2N_VAL_SLICES", 32) as usize;
    let t = std::time::Instant::now();
    let rep = train(&cfg, &Print).unwrap();
    eprintln!(
        "{} train slices, {} val slices, {:.1} s: val PSNR {:.2} dB vs zero-filled {:.2} dB",
        rep.train_slices,
        rep.val_slices,
        t.elapsed().as_secs_f64(),
        rep.val_psnr.unwrap(),
        rep.val_psnr_input.unwrap()
    );
}

/// Training normalises each magnitude pair exactly as inference normalises a scan: the
/// network input is `zf / max(zf) − 0.5` of the zero-filled image `zf`, compensated or not
/// as the model's metadata says.
#[test]
fn magnitude_training_input_is_what_inference_feeds_the_network() {
    use crate::mri::{infer::magnitude_input, prep::INPUT_COMPENSATION};
    let x = phantom(32);
    let params = mask::MaskParams { p_edge: Some(0.1), ..Default::default() };
    for compensate in [true, false] {
        let mut c = MriUndersampling::new(mask::from_name("n2n", &params).unwrap(), Targets::Noisy, 0);
        c.compensate_input = compensate;
        let p = c.corrupt(&x, &mut MaskRng::from_seed(4)).unwrap();
        // No shift and one mask setting: mask a is the generator's first draw.
        let a = mask::from_name("n2n", &params)
            .unwrap()
            .sample_with_rng((32, 32), &mut MaskRng::from_seed(4))
            .unwrap();
        let mut meta = models::ModelMeta::new(models::NetConfig::UNet(models::UNetConfig::new(1, 1)));
        meta.normalisation.params.insert(INPUT_COMPENSATION.into(), if compensate { 1.0 } else { 0.0 });
        let k = kspace::fft2c(&x.mapv(|v| C32::new(v + 0.5, 0.0)));
        let zf = magnitude_input(&meta, &k, &a).unwrap();
        let s = zf.iter().fold(0f32, |m, &v| m.max(v));
        assert!((p.scale - s).abs() < 1e-5 * s, "scale {} vs max(zf) {s}", p.scale);
        for (got, z) in p.input.iter().zip(zf.iter()) {
            assert!((got - (z / s - 0.5)).abs() < 1e-5, "compensate {compensate}: {got} vs {}", z / s - 0.5);
        }
    }
}

/// The compressed schedule spans exactly the requested steps: full lr in the middle and at
/// 85 % of longer runs, and the ramp-down's end (lr ~1e-3·lr_max) at the last step, not
/// before it (no wasted steps at lr ≈ 0).
#[test]
fn schedule_spans_the_requested_steps() {
    for steps in [50u64, 299, 300, 400, 1000, 10_000] {
        let s = crate::mri::recipe::schedule(steps, 1e-3);
        assert!(s.total_steps() >= steps && s.total_steps() < steps + s.steps_per_unit, "{steps}: {s:?}");
        if steps >= 200 {
            // (Shorter runs spend most of their 30-epoch ramp-down below full lr.)
            let mid = s.at(steps / 2).lr;
            assert!((mid - 1e-3).abs() < 1e-12, "{steps}: lr at the middle {mid}");
            let late = s.at(steps * 85 / 100).lr;
            assert!(late > 0.9e-3, "{steps}: lr at 85 % {late}");
        }
        let end = s.at(steps - 1).lr;
        assert!(end < 1e-5 && end > 1e-8, "{steps}: lr at the last step {end}");
    }
}

fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recon-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The CSV rows without their `seconds` column.
fn rows_without_seconds(log: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
}

#[test]
fn stopped_and_resumed_run_logs_the_uninterrupted_rows() {
    let dir = test_dir("resume-log");
    let mut a = tiny_config(dir.join("a.safetensors"));
    a.run.val_every = 4;
    a.val.clear();
    let full = train(&a, &NoProgress).unwrap();
    // Stopped after step 3, between the rows at steps 4 and 6, then resumed.
    let mut c = tiny_config(dir.join("c.safetensors"));
    c.run.val_every = 4;
    c.val.clear();
    c.run.stop_after = Some(3);
    train(&c, &NoProgress).unwrap();
    c.run.stop_after = None;
    c.run.resume = true;
    let resumed = train(&c, &NoProgress).unwrap();
    let (want, got) = (rows_without_seconds(&full.log), rows_without_seconds(&resumed.log));
    assert_eq!(want.len(), 3, "header + rows at steps 4 and 6: {want:?}");
    assert_eq!(got, want, "the resumed log differs from the uninterrupted one");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn resume_refuses_any_changed_training_setting() {
    let dir = test_dir("resume-settings");
    let mut base = tiny_config(dir.join("m.safetensors"));
    base.val.clear();
    base.run.stop_after = Some(2);
    train(&base, &NoProgress).unwrap();
    let before = std::fs::read(&base.run.out).unwrap();
    base.run.stop_after = None;
    base.run.resume = true;
    type Change = fn(&mut TrainConfig);
    let changes: [(&str, Change); 10] = [
        ("--mask", |c| c.mask = kspace::mask::family("poisson").unwrap()),
        ("--mode", |c| c.mode = crate::mri::Mode::Complex { coils: 2, max_phase: 1.0 }),
        ("--lr", |c| c.lr_max = 2e-3),
        ("--loss", |c| c.loss = "l1".into()),
        ("--targets", |c| c.targets = Targets::Clean),
        ("--data", |c| c.data.push(data("mni152_2009a_t1_1mm.nii.gz"))),
        ("--crop", |c| c.crop = 48),
        ("--steps", |c| c.steps = 8),
        ("--steps", |c| c.steps = 5),
        ("--acceleration", |c| c.params[0].p_edge = Some(0.05)),
    ];
    for (flag, change) in changes {
        let mut c = base.clone();
        change(&mut c);
        let e = train(&c, &NoProgress).expect_err(flag).to_string();
        assert!(e.contains(flag) && e.contains("checkpoint"), "{flag}: {e}");
        assert_eq!(std::fs::read(&base.run.out).unwrap(), before, "{flag}: checkpoint changed");
    }
    // Run control may change: the same settings resume with another cadence.
    let mut c = base.clone();
    c.run.val_every = 1;
    c.run.checkpoint_every = 1;
    assert_eq!(train(&c, &NoProgress).unwrap().start_step, 2);
    // A finished run has nothing left to train: refused, not a NaN "success".
    let e = train(&c, &NoProgress).expect_err("finished").to_string();
    assert!(e.contains("nothing to train"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn outputs_never_replace_inputs_or_existing_files() {
    let dir = test_dir("outputs");
    let volume = dir.join("vol.nii.gz");
    std::fs::copy(data("colin27_t1_1mm.nii.gz"), &volume).unwrap();
    let original = std::fs::read(&volume).unwrap();
    let cfg = |out: PathBuf| {
        let mut c = tiny_config(out);
        c.data = vec![volume.clone()];
        c.val.clear();
        c.steps = 1;
        c
    };
    let refused = |c: &TrainConfig, what: &str| {
        let e = train(c, &NoProgress).expect_err(what);
        assert!(matches!(e, crate::ReconError::Invalid(_)), "{what}: {e}");
        assert_eq!(std::fs::read(&volume).unwrap(), original, "{what}: the input changed");
        e.to_string()
    };
    // The model, the log or the plot onto the training volume (also through `..`).
    refused(&cfg(volume.clone()), "out = input");
    refused(&cfg(dir.join("sub/../vol.nii.gz")), "out = input via ..");
    let mut c = cfg(dir.join("m.safetensors"));
    c.run.export = Some(volume.clone());
    refused(&c, "export = input");
    // Model and plot the same file.
    let e = refused(&cfg(dir.join("m.png")), "out.png");
    assert!(e.contains("same file"), "{e}");
    // An existing file is kept without --force; with it, it is replaced.
    let out = dir.join("m.safetensors");
    std::fs::write(&out, b"precious").unwrap();
    let e = refused(&cfg(out.clone()), "existing");
    assert!(e.contains("--force"), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    std::fs::write(dir.join("m.csv"), b"precious log").unwrap();
    std::fs::remove_file(&out).unwrap();
    refused(&cfg(out.clone()), "existing log");
    assert_eq!(std::fs::read(dir.join("m.csv")).unwrap(), b"precious log");
    let mut c = cfg(out.clone());
    c.run.force = true;
    train(&c, &NoProgress).unwrap();
    assert!(models::read_meta(&out).is_ok());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stale_temporary_files_of_killed_runs_are_removed() {
    let dir = test_dir("stale");
    let out = dir.join("m.safetensors");
    let stale = [".m.safetensors.4242.tmp", ".m.csv.17.tmp", ".m.png.99999.tmp", ".m.f16.safetensors.5.tmp"];
    let kept = [".m.safetensors.x1.tmp", "m.safetensors.4242.tmp", ".other.safetensors.4242.tmp"];
    for n in stale.iter().chain(&kept) {
        std::fs::write(dir.join(n), b"partial").unwrap();
    }
    let mut c = tiny_config(out);
    c.val.clear();
    c.steps = 1;
    c.run.export = Some(dir.join("m.f16.safetensors"));
    train(&c, &NoProgress).unwrap();
    for n in stale {
        assert!(!dir.join(n).exists(), "{n} left behind");
    }
    for n in kept {
        assert!(dir.join(n).exists(), "{n} is not ours and was removed");
    }
    // Checkpoints use the same temporary name, so a killed save is found too.
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp") || kept.contains(&n.as_str())), "{names:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn numeric_settings_out_of_bounds_are_usage_errors_before_any_work() {
    let dir = test_dir("bounds");
    type Change = fn(&mut TrainConfig);
    let changes: [(&str, Change); 8] = [
        ("--lr", |c| c.lr_max = f64::NAN),
        ("--lr", |c| c.lr_max = f64::INFINITY),
        ("--lr", |c| c.lr_max = 0.0),
        ("--coils", |c| c.mode = crate::mri::Mode::Complex { coils: 0, max_phase: 1.0 }),
        ("--coils", |c| c.mode = crate::mri::Mode::Complex { coils: 100_000, max_phase: 1.0 }),
        ("--crop", |c| c.crop = 100_000),
        ("--width", |c| c.width = 100_000),
        ("--batch", |c| c.batch = 100_000),
    ];
    for (flag, change) in changes {
        let mut c = tiny_config(dir.join("m.safetensors"));
        c.data = vec![dir.join("missing.nii.gz")]; // never opened: the check comes first
        change(&mut c);
        let e = train(&c, &NoProgress).expect_err(flag);
        assert!(matches!(e, crate::ReconError::Invalid(_)) && e.to_string().contains(flag), "{flag}: {e}");
    }
    // Each within its bounds, but together too large for memory.
    let mut c = tiny_config(dir.join("m.safetensors"));
    (c.batch, c.crop, c.width) = (256, 1024, 256);
    assert!(train(&c, &NoProgress).unwrap_err().to_string().contains("GiB"));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written");
    std::fs::remove_dir_all(&dir).ok();
}
