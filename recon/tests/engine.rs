//! The training engine runs any recipe: a toy one, neither MRI nor photos, gets the loop,
//! the CSV log, checkpoints, the plot, the report and the typed resume check.

use std::path::PathBuf;

use models::{Loss, ModelMeta, NetConfig, Network, Schedule, Tensor, UNetConfig};
use recon::{
    engine::{self, Difference, Differences, Plan, Recipe, ResumeKey, RunControl, StepBatch},
    progress::NoProgress,
    Result,
};
use serde::{Deserialize, Serialize};

/// Learn to map a constant image to zero.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ToyConfig {
    #[serde(skip)]
    run: RunControl,
    steps: u64,
    lr: f64,
}

impl ResumeKey for ToyConfig {
    fn differences(&self, old: &Self) -> Vec<Difference> {
        let Self { run: _, steps, lr } = self;
        let mut d = Differences::default();
        d.field("--steps", &old.steps, steps).field("--lr", &old.lr, lr);
        d.into_vec()
    }
}

struct Toy<'a> {
    cfg: &'a ToyConfig,
    meta: ModelMeta,
    device: models::Device,
}

impl<'a> Recipe<'a> for Toy<'a> {
    type Config = ToyConfig;
    const INPUT_LABEL: &'static str = "constant input";

    fn plan(cfg: &'a ToyConfig) -> Result<Plan<'a>> {
        Ok(Plan {
            run: &cfg.run,
            inputs: Vec::new(),
            steps: cfg.steps,
            seed: 3,
            schedule: Schedule::n2n_images(cfg.steps, cfg.lr, 0.3),
            loss: Loss::L2,
        })
    }

    fn load(cfg: &'a ToyConfig) -> Result<Self> {
        let mut meta = ModelMeta::new(NetConfig::UNet(UNetConfig::new(1, 1).with_width(2)));
        meta.config = serde_json::to_string(cfg).unwrap();
        Ok(Self { cfg, meta, device: models::best_device() })
    }

    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn step(&self, net: &Network, _step: u64) -> Result<StepBatch> {
        use models::Module;
        let input = (Tensor::ones((1, 1, 32, 32), models::DType::F32, &self.device)? * 0.25)?;
        let target = input.zeros_like()?;
        Ok(StepBatch { output: net.forward(&input)?, target, weight: None })
    }

    fn validate(&self, _net: &Network) -> Result<Option<(f64, f64)>> {
        Ok(Some((20.0, 10.0 + self.cfg.steps as f64)))
    }

    fn sizes(&self) -> (usize, usize) {
        (1, 0)
    }
}

#[test]
fn the_engine_trains_a_recipe_that_is_neither_mri_nor_photos() {
    let dir = std::env::temp_dir().join(format!("recon-engine-toy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out: PathBuf = dir.join("toy.safetensors");
    let cfg = ToyConfig { run: RunControl::new(out.clone(), 2, 2), steps: 4, lr: 1e-3 };
    let r = engine::train::<Toy>(&cfg, &NoProgress).unwrap();
    assert_eq!((r.start_step, r.steps, r.train_slices), (0, 4, 1));
    assert_eq!(r.rows.iter().map(|r| r.step).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(r.val_psnr_input, Some(14.0));
    assert!(r.final_loss.is_finite() && out.exists() && r.log.exists(), "{r:?}");
    assert_eq!(std::fs::read_to_string(&r.log).unwrap().lines().count(), 3);
    // Resuming with another learning rate is refused, naming the option and both values.
    let mut changed = cfg.clone();
    changed.lr = 1e-2;
    changed.steps = 6;
    changed.run.resume = true;
    let e = engine::train::<Toy>(&changed, &NoProgress).unwrap_err().to_string();
    assert!(
        e.contains("--steps 4 in the checkpoint, 6 now")
            && e.contains("--lr 0.001 in the checkpoint, 0.01 now"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
