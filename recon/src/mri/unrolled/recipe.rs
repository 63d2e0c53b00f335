//! The unrolled-network recipe on the training engine: one step makes `batch` k-space
//! pairs ([`super::pairs`]), runs the network on the input samples and compares its image,
//! taken back to coil k-space, with the target samples (weighted L2, [`models::Loss`]);
//! validation reconstructs fully sampled slices undersampled with fixed masks, maps
//! estimated from the undersampled data exactly as `recon` does, against the reference.
//!
//! Every draw of step `t` comes from generators keyed by `(seed, t, j)` and the slice order
//! from [`crate::engine::step_items`], so resume equals an uninterrupted run.

use kspace::{mask::MaskFunc, rng::MaskRng, split::SplitScheme, SamplingMask, C32};
use models::{Device, Loss, ModelMeta, NetConfig, Network, Unrolled};
use ndarray::{Array2, Array3, Axis};

use super::{
    super::recipe::schedule,
    apply::NetInput,
    config::{Pairs, UnrolledTrainConfig},
    initial::Initial,
    pairs::{acquisition, check_data, input_scale, make_pair, mask_funcs, split_scheme, KPair},
    source::{self, KSlice, SourceOptions},
};
use crate::{
    classical::{slice_maps, MapsChoice},
    engine::{self, Plan, Recipe, StepBatch, TrainReport},
    metrics::psnr,
    progress::Progress,
    tensor::from_interleaved,
    ReconError, Result,
};

/// A fixed validation slice: undersampled input (scaled), its maps, and the reference.
struct ValItem {
    y: Array3<C32>,
    x0: Option<Array2<C32>>,
    mask: Array2<f32>,
    maps: Array3<C32>,
    scale: f32,
    reference: Array2<f32>,
    /// |first image| (zero-filled or CS) in the reference's units.
    first: Array2<f32>,
}

/// The unrolled recipe's data.
pub struct UnrolledRecipe<'a> {
    cfg: &'a UnrolledTrainConfig,
    device: Device,
    masks: Vec<Box<dyn MaskFunc>>,
    train: Vec<KSlice>,
    /// The fixed acquisition of each slice under `split` pairs, and the split.
    omegas: Vec<Option<SamplingMask>>,
    scheme: Option<SplitScheme>,
    val: Vec<ValItem>,
    meta: ModelMeta,
}

/// The generator for item `j` of step `step`.
fn step_rng(seed: u64, step: u64, j: usize) -> MaskRng {
    MaskRng::from_words([seed as u32, (seed >> 32) as u32, step as u32, (step >> 32) as u32, j as u32, 0x0C])
}

/// The network of `net`, or an error naming the architecture.
pub fn unrolled(net: &Network) -> Result<&Unrolled> {
    net.as_unrolled().ok_or_else(|| {
        ReconError::Invalid(format!("a {} network is not an unrolled network", net.config().name()))
    })
}

/// `|x|·scale` cropped to `shape`.
fn magnitude(x: &Array2<C32>, scale: f32, shape: (usize, usize)) -> Result<Array2<f32>> {
    Ok(kspace::undersample::center_crop(&x.mapv(|z| z.norm() * scale), shape)?)
}

fn val_item(s: &KSlice, mask: &SamplingMask, initial: Initial) -> Result<ValItem> {
    let reference = s
        .reference
        .clone()
        .ok_or_else(|| ReconError::Invalid(format!("{}: validation needs a reference image", s.id)))?;
    let y = kspace::undersample::undersample(&s.kspace, mask)?;
    let maps = slice_maps(&y, mask, MapsChoice::Espirit)?.first();
    let scale = input_scale(&y, &maps)?;
    let zf = kspace::coils::combine(&kspace::ifft2c(&y), &maps)?;
    let y = y.mapv(|z| z / scale);
    let x0 = initial.image(&y, mask, &maps)?;
    // The baseline the network must beat: the image its cascades start from.
    let first = match &x0 {
        Some(x) => magnitude(x, scale, reference.dim())?,
        None => magnitude(&zf, 1.0, reference.dim())?,
    };
    Ok(ValItem { y, x0, mask: mask.as_f32(), maps, scale, reference, first })
}

impl<'a> UnrolledRecipe<'a> {
    /// Step `step`'s items: the training slice index and its pair.
    fn pairs(&self, step: u64) -> Result<Vec<(usize, KPair)>> {
        let cfg = self.cfg;
        engine::step_items(self.train.len(), cfg.seed, step, cfg.batch)
            .into_iter()
            .enumerate()
            .map(|(j, i)| {
                let rng = &mut step_rng(cfg.seed, step, j);
                let s = &self.train[i];
                make_pair(s, self.omegas[i].as_ref(), self.scheme.as_ref(), cfg, &self.masks, rng)
                    .map(|p| (i, p))
            })
            .collect()
    }
}

impl<'a> Recipe<'a> for UnrolledRecipe<'a> {
    type Config = UnrolledTrainConfig;
    const INPUT_LABEL: &'static str = "first image (zero-filled or CS)";

    fn plan(cfg: &'a UnrolledTrainConfig) -> Result<Plan<'a>> {
        cfg.validate()?;
        Ok(Plan {
            run: &cfg.run,
            inputs: cfg.data.iter().chain(&cfg.val).map(|p| p.as_path()).collect(),
            steps: cfg.steps,
            seed: cfg.seed,
            schedule: schedule(cfg.steps, cfg.lr_max),
            loss: Loss::L2,
        })
    }

    fn load(cfg: &'a UnrolledTrainConfig) -> Result<Self> {
        let device = models::best_device();
        let masks = mask_funcs(cfg)?;
        let opts = SourceOptions {
            coils: cfg.coils,
            max_phase: cfg.max_phase,
            crop: cfg.crop,
            seed: cfg.seed,
            repeats: cfg.pairs == Pairs::Repeats,
            max_slices: cfg.max_train_slices,
        };
        let train = source::load(&cfg.data, &opts)?;
        check_data(cfg.pairs, &train)?;
        let omegas = train
            .iter()
            .enumerate()
            .map(|(i, s)| match cfg.pairs {
                Pairs::Split => acquisition(s, i, &masks, cfg.seed).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let val = if cfg.val.is_empty() || cfg.val_slices == 0 {
            Vec::new()
        } else {
            let vopts = SourceOptions {
                repeats: false,
                max_slices: Some(cfg.val_slices),
                seed: cfg.seed ^ 0x7A1,
                ..opts
            };
            let slices = source::load(&cfg.val, &vopts)?;
            let first = cfg.mask.build(&cfg.params[0])?;
            slices
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let key = [cfg.seed as u32, (cfg.seed >> 32) as u32, i as u32, 0x7A1];
                    let mask = first.sample_with_rng(s.acquired.shape(), &mut MaskRng::from_words(key))?;
                    val_item(s, &mask, cfg.initial)
                })
                .collect::<Result<Vec<_>>>()?
        };
        let scheme = if cfg.pairs == Pairs::Split { Some(split_scheme(cfg)?) } else { None };
        let mut meta = ModelMeta::new(NetConfig::Unrolled(cfg.net.clone()));
        meta.config = cfg.to_json();
        Ok(Self { cfg, device, masks, train, omegas, scheme, val, meta })
    }

    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn step(&self, net: &Network, step: u64) -> Result<StepBatch> {
        let (idx, pairs): (Vec<usize>, Vec<KPair>) = self.pairs(step)?.into_iter().unzip();
        let maps: Vec<&Array3<C32>> = idx.iter().map(|&i| &self.train[i].maps).collect();
        let x0: Option<Vec<Array2<C32>>> = pairs.iter().map(|p| p.x0.clone()).collect();
        let input = NetInput::new(
            &pairs.iter().map(|p| &p.input).collect::<Vec<_>>(),
            &pairs.iter().map(|p| &p.input_mask).collect::<Vec<_>>(),
            &maps,
            x0.as_deref(),
            &self.device,
        )?;
        let x = input.image(unrolled(net)?)?;
        let output = input.kspace_of(&x)?;
        let target = crate::tensor::interleaved_batch(
            &pairs.iter().map(|p| &p.target).collect::<Vec<_>>(),
            &self.device,
        )?;
        let weight =
            crate::tensor::plane_batch(&pairs.iter().map(|p| &p.weight).collect::<Vec<_>>(), &self.device)?;
        Ok(StepBatch { output, target, weight: Some(weight) })
    }

    fn validate(&self, net: &Network) -> Result<Option<(f64, f64)>> {
        if self.val.is_empty() {
            return Ok(None);
        }
        let net = net.detached();
        let u = unrolled(&net)?;
        let (mut sum_net, mut sum_in) = (0.0, 0.0);
        for v in &self.val {
            let x0 = v.x0.clone().map(|x| vec![x]);
            let input = NetInput::new(&[&v.y], &[&v.mask], &[&v.maps], x0.as_deref(), &self.device)?;
            let x = from_interleaved(&input.image(u)?)?.remove(0);
            let out = magnitude(&x, v.scale, v.reference.dim())?;
            let r = v.reference.view().insert_axis(Axis(0));
            sum_net += psnr(r, out.view().insert_axis(Axis(0)))?;
            sum_in += psnr(r, v.first.view().insert_axis(Axis(0)))?;
        }
        let n = self.val.len() as f64;
        Ok(Some((sum_net / n, sum_in / n)))
    }

    fn sizes(&self) -> (usize, usize) {
        (self.train.len(), self.val.len())
    }
}

/// Trains the unrolled network (`UnrolledRecipe` on [`engine::train`]).
pub fn train_unrolled(cfg: &UnrolledTrainConfig, progress: &dyn Progress) -> Result<TrainReport> {
    engine::train::<UnrolledRecipe>(cfg, progress)
}
