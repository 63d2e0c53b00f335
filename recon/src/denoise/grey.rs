//! Grey photos and an RGB model. A grey photo enters an RGB network as three equal
//! channels, and so does its noise: one noise draw, the same in every channel. A model
//! that only saw independent noise per channel reads such an input as nearly noise-free
//! (no colour noise at all) and hardly denoises it: the width-48 run of 2026-12-06 scored
//! 23.6 dB on `skimage_camera` at σ = 25 (noisy 20.6, CBM3D 29.7) while it gained 1–2 dB
//! on every colour photo.
//!
//! So training corrupts a grey photo as the grey photo it is ([`GreyNoise::Shared`]): the
//! noise is drawn on one channel and repeated. With `grey_fraction` > 0 a colour crop is
//! also turned grey (BT.601 luma in every channel) with that probability before it is
//! corrupted, so that one RGB model learns grey photos from the colour ones too.
//! [`GreyNoise::Independent`] is the recipe before this module (each channel its own draw);
//! checkpoints that do not record the setting used it, so they resume as they ran.

use kspace::rng::MaskRng;
use ndarray::{Array3, Axis};
use serde::{Deserialize, Serialize};

use super::{
    noise::{Corrupted, NoiseSpec},
    prep::to_channels,
};

/// How a grey photo is corrupted when the model has three channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GreyNoise {
    /// One draw repeated in every channel, as a noisy grey photo has it.
    Shared,
    /// Each channel its own draw (the recipe of checkpoints that do not record this).
    Independent,
}

impl GreyNoise {
    /// The value of checkpoints written before the setting existed.
    pub fn legacy() -> Self {
        Self::Independent
    }
}

/// Whether a `[0, 1]` or centred photo is grey: one channel, or all channels equal.
pub fn is_grey(x: &Array3<f32>) -> bool {
    let c = x.dim().0;
    c == 1 || (1..c).all(|k| x.index_axis(Axis(0), k) == x.index_axis(Axis(0), 0))
}

/// `clean` (C, H, W) corrupted by `noise`: with `shared` and C > 1, the noise is drawn on
/// channel 0 (all channels of a grey image are equal) and repeated in every channel;
/// otherwise each channel gets its own draw.
pub fn corrupt(noise: &NoiseSpec, clean: &Array3<f32>, shared: bool, rng: &mut MaskRng) -> Corrupted {
    let c = clean.dim().0;
    if !shared || c == 1 {
        return noise.corrupt(clean, rng);
    }
    let one = clean.index_axis(Axis(0), 0).to_owned().insert_axis(Axis(0));
    let y = noise.corrupt(&one, rng);
    Corrupted { image: to_channels(&y.image, c), ..y }
}

/// A colour crop (C = 3) as a grey one: its BT.601 luma in every channel.
pub fn to_grey(x: &Array3<f32>) -> Array3<f32> {
    let c = x.dim().0;
    to_channels(&to_channels(x, 1), c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_noise_is_one_draw_in_every_channel_and_independent_is_not() {
        let grey = Array3::from_shape_fn((3, 16, 16), |(_, i, j)| (i * 16 + j) as f32 / 512.0 - 0.25);
        assert!(is_grey(&grey));
        let noise = NoiseSpec::parse("gaussian:25").unwrap();
        let shared = corrupt(&noise, &grey, true, &mut MaskRng::from_seed(3)).image;
        let n0 = &shared.index_axis(Axis(0), 0) - &grey.index_axis(Axis(0), 0);
        assert!(is_grey(&shared), "the noisy grey photo stays grey");
        // The draw is that of the one-channel photo: the same generator gives the same noise.
        let one = grey.index_axis(Axis(0), 0).to_owned().insert_axis(Axis(0));
        let alone = noise.corrupt(&one, &mut MaskRng::from_seed(3)).image;
        assert_eq!(shared.index_axis(Axis(0), 2), alone.index_axis(Axis(0), 0));
        let sd = (n0.mapv(|v| v * v).mean().unwrap()).sqrt() * 255.0;
        assert!((sd - 25.0).abs() < 3.0, "σ {sd}");
        let indep = corrupt(&noise, &grey, false, &mut MaskRng::from_seed(3)).image;
        assert!(!is_grey(&indep));
    }

    #[test]
    fn grey_is_one_channel_or_equal_channels_and_to_grey_gives_luma() {
        let mut rgb = Array3::<f32>::zeros((3, 4, 4));
        assert!(is_grey(&rgb) && is_grey(&Array3::<f32>::ones((1, 4, 4))));
        rgb[[0, 1, 1]] = 1.0;
        assert!(!is_grey(&rgb));
        let g = to_grey(&rgb);
        assert!(is_grey(&g));
        assert!((g[[2, 1, 1]] - 0.299).abs() < 1e-6, "BT.601 weight of red");
    }
}
