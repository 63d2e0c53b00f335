//! The bounds of the numeric options every training run shares (`--steps`, `--batch`,
//! `--crop`, `--width`, `--lr`, validation sizes) and the activation-memory cap: checked by
//! the recipes' configurations before any work and by the CLI when parsing, with the same
//! `Invalid` messages naming the option.

use std::ops::RangeInclusive;

use crate::{ReconError, Result};

/// Training crop (pixels per side), MRI slices and photos.
pub const CROP: RangeInclusive<u64> = 16..=1024;
/// U-Net width / RED30 features.
pub const WIDTH: RangeInclusive<u64> = 1..=256;
/// Images per step.
pub const BATCH: RangeInclusive<u64> = 1..=256;
/// Steps of the schedule.
pub const STEPS: RangeInclusive<u64> = 1..=100_000_000;
/// Validation slices / crop side of validation photos (0: none / whole photos).
pub const VAL_SIZE: RangeInclusive<u64> = 0..=100_000;
/// Peak learning rate: finite and in this range.
pub const LR: RangeInclusive<f64> = 1e-12..=10.0;
/// Cap on the estimated activation memory of one step, [`activation_bytes`].
pub const ACTIVATION_CAP: u64 = 64 << 30;

/// Rough memory of one training step's activations: the first U-Net level holds about 16
/// maps of `batch × crop² × width` f32 values for forward and backward (deeper levels add
/// less than that again). Used only to refuse settings that cannot fit in memory.
pub fn activation_bytes(batch: usize, crop: usize, width: usize) -> u64 {
    (batch as u64).saturating_mul((crop as u64).pow(2)).saturating_mul(width as u64).saturating_mul(4 * 16)
}

/// `Invalid` unless `value` is in `range`: `--flag VALUE: must be in LO..=HI`.
pub fn check_range(flag: &str, value: u64, range: RangeInclusive<u64>) -> Result<()> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(ReconError::Invalid(format!("--{flag} {value}: must be in {}..={}", range.start(), range.end())))
}

/// `Invalid` unless `lr` is finite and in [`LR`].
pub fn check_lr(lr: f64) -> Result<()> {
    if lr.is_finite() && LR.contains(&lr) {
        return Ok(());
    }
    Err(ReconError::Invalid(format!("--lr {lr}: must be a finite number in {:e}..={}", LR.start(), LR.end())))
}

/// `Invalid` when [`activation_bytes`] exceeds [`ACTIVATION_CAP`].
pub fn check_memory(batch: usize, crop: usize, width: usize) -> Result<()> {
    let need = activation_bytes(batch, crop, width);
    if need <= ACTIVATION_CAP {
        return Ok(());
    }
    Err(ReconError::Invalid(format!(
        "--batch {batch} --crop {crop} --width {width}: about {} GiB of activations per step (cap {} GiB); lower one of them",
        need >> 30,
        ACTIVATION_CAP >> 30
    )))
}

/// The bounds every training run shares: `--steps`, `--batch`, `--crop`, `--width`, `--lr`
/// and the activation memory of `batch × crop² × width`.
pub fn check_common(steps: u64, batch: usize, crop: usize, width: usize, lr: f64) -> Result<()> {
    check_range("steps", steps, STEPS)?;
    check_range("batch", batch as u64, BATCH)?;
    check_range("crop", crop as u64, CROP)?;
    check_range("width", width as u64, WIDTH)?;
    check_lr(lr)?;
    check_memory(batch, crop, width)
}
