//! Inference on photos of any size: reflect padding to a multiple of 32 (numpy's `reflect`),
//! cropping back, grey / RGB handling, and refusal of models that are not denoisers.

use crate::denoise::{infer::Denoiser, prep::pad_reflect};
use models::{DType, Device, ModelMeta, Module, NetConfig, Network, Tensor, UNetConfig, VarMap};
use ndarray::{s, Array3};

#[test]
fn pad_reflect_matches_numpy() {
    // np.pad(np.arange(12).reshape(3, 4), ((0, 4), (0, 5)), mode="reflect")
    let want: [[f32; 9]; 7] = [
        [0., 1., 2., 3., 2., 1., 0., 1., 2.],
        [4., 5., 6., 7., 6., 5., 4., 5., 6.],
        [8., 9., 10., 11., 10., 9., 8., 9., 10.],
        [4., 5., 6., 7., 6., 5., 4., 5., 6.],
        [0., 1., 2., 3., 2., 1., 0., 1., 2.],
        [4., 5., 6., 7., 6., 5., 4., 5., 6.],
        [8., 9., 10., 11., 10., 9., 8., 9., 10.],
    ];
    let x = Array3::from_shape_fn((1, 3, 4), |(_, i, j)| (4 * i + j) as f32);
    let p = pad_reflect(&x, 7, 9);
    for i in 0..7 {
        for j in 0..9 {
            assert_eq!(p[[0, i, j]], want[i][j], "({i}, {j})");
        }
    }
    // A side of one pixel repeats (numpy: np.pad(np.arange(2).reshape(1, 2), ((0, 3), (0, 5)), "reflect")).
    let x = Array3::from_shape_fn((1, 1, 2), |(_, _, j)| j as f32);
    let p = pad_reflect(&x, 4, 7);
    assert!(p.outer_iter().all(|c| c.rows().into_iter().all(|r| r.to_vec() == [0., 1., 0., 1., 0., 1., 0.])));
}

fn tiny(channels: usize, task: &str) -> (Network, ModelMeta) {
    let arch = NetConfig::UNet(UNetConfig::new(channels, channels).with_width(4));
    let net = Network::init(&arch, &VarMap::new(), 3, DType::F32, &Device::Cpu).unwrap();
    let mut meta = ModelMeta::new(arch);
    meta.config = format!("{{\"task\": \"{task}\", \"noise\": \"gaussian:0-50\"}}");
    (net, meta)
}

#[test]
fn any_size_is_padded_to_32_run_and_cropped_back() {
    let (net, meta) = tiny(3, "denoise");
    let d = Denoiser::from_network(net.detached(), meta, Device::Cpu);
    let photo = Array3::from_shape_fn((3, 37, 50), |(c, i, j)| ((i * 7 + j * 3 + c * 11) % 17) as f32 / 16.0);
    let out = d.denoise(&photo).unwrap();
    assert_eq!(out.dim(), (3, 37, 50));
    // Reference: the network on the reflect-padded 64×64 image, cropped.
    let padded = pad_reflect(&photo.mapv(|v| v - 0.5), 64, 64);
    let t =
        Tensor::from_vec(padded.iter().copied().collect::<Vec<_>>(), (1, 3, 64, 64), &Device::Cpu).unwrap();
    let y: Vec<f32> = net.forward(&t).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let y = Array3::from_shape_vec((3, 64, 64), y).unwrap();
    let want = y.slice(s![.., ..37, ..50]).mapv(|v| v + 0.5);
    let err = (&out - &want).mapv(f32::abs).fold(0.0f32, |a, &b| a.max(b));
    assert!(err < 1e-5, "max difference {err}");
    // A grey photo through an RGB model: three equal channels in, their mean out.
    let grey = photo.slice(s![0..1, .., ..]).to_owned();
    let g = d.denoise(&grey).unwrap();
    assert_eq!(g.dim(), (1, 37, 50));
    let rgb = d
        .denoise(&ndarray::concatenate(ndarray::Axis(0), &[grey.view(), grey.view(), grey.view()]).unwrap())
        .unwrap();
    let mean = rgb.mean_axis(ndarray::Axis(0)).unwrap();
    assert!((&g.index_axis(ndarray::Axis(0), 0) - &mean).mapv(f32::abs).iter().all(|&e| e < 1e-5));
}

#[test]
fn models_that_are_not_denoisers_are_refused_by_name() {
    let dir = tempfile_dir();
    let (_, meta) = tiny(1, "mri");
    let arch = meta.arch.clone();
    let varmap = VarMap::new();
    Network::init(&arch, &varmap, 1, DType::F32, &Device::Cpu).unwrap();
    let path = dir.join("mri.safetensors");
    models::save_checkpoint(&path, &varmap, &meta, None).unwrap();
    let err = Denoiser::from_file(&path).err().expect("refused").to_string();
    assert!(err.contains("mri.safetensors") && err.contains("not a denoising model"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("recon-denoise-infer-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Tiled inference keeps the whole image's result: with 128 pixels of context every block
/// matches the whole-image pass (measured: 0.000 8-bit levels at margin 128, 0.08 at 96,
/// 0.29 at 64, 0.75 at 32, 67 without context, for the width-32 model on `chelsea`), so the
/// tiled pass only bounds memory. 64-pixel blocks cut a 200×230 crop 4 × 4 times.
#[test]
fn tiled_inference_with_enough_context_equals_the_whole_image_pass() {
    use crate::denoise::infer::{Tiling, TILE_MARGIN};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/photos/skimage_chelsea.png");
    let photo = crate::io::png::read_png(path).unwrap().data;
    let clean = photo.slice(s![.., 40..240, 100..330]).mapv(|v| v - 0.5);
    let noise = crate::denoise::NoiseSpec::parse("gaussian:25").unwrap();
    let noisy = noise.corrupt(&clean, &mut kspace::rng::MaskRng::from_seed(1)).image;
    let d = Denoiser::default_gaussian().unwrap();
    let whole = d.denoise_tiled(&noisy, Tiling { tile: 64, margin: 0, whole_max: usize::MAX }).unwrap();
    let levels = |margin| {
        let t = d.denoise_tiled(&noisy, Tiling { tile: 64, margin, whole_max: 0 }).unwrap();
        assert_eq!(t.dim(), noisy.dim());
        (&t - &whole).mapv(f32::abs).fold(0f32, |a, &b| a.max(b)) * 255.0
    };
    let exact = levels(TILE_MARGIN);
    assert!(exact < 0.01, "margin {TILE_MARGIN}: {exact} 8-bit levels from the whole-image pass");
    let short = levels(32);
    assert!(short > 0.1, "32 pixels of context should show at the block edges, got {short} levels");
}
