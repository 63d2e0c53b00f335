//! What every recipe draws its data with: the per-epoch order of the training items, and
//! the choice of training targets.

use kspace::rng::MaskRng;
use serde::{Deserialize, Serialize};

/// Training targets: a second independent corruption (Noise2Noise) or the clean image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Targets {
    Noisy,
    Clean,
}

impl Targets {
    pub fn by_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "noisy" | "n2n" => Some(Self::Noisy),
            "clean" => Some(Self::Clean),
            _ => None,
        }
    }
}

/// The order of epoch `epoch` for `n` items: Fisher–Yates driven by
/// `MaskRng::from_key([seed_lo, seed_hi, epoch, 0x5EED])`. A pure function of its arguments.
pub fn epoch_permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = MaskRng::from_words([seed as u32, (seed >> 32) as u32, epoch as u32, 0x5EED]);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.uniform() * (i + 1) as f64) as usize;
        p.swap(i, j.min(i));
    }
    p
}

/// The items of step `step` with `batch` items per step over `n` items: item `j` is index
/// `g mod n` of epoch `⌊g / n⌋`'s [`epoch_permutation`], `g = step·batch + j`. A pure
/// function of its arguments (the data order every recipe uses).
pub fn step_items(n: usize, seed: u64, step: u64, batch: usize) -> Vec<usize> {
    let mut perm: Option<(u64, Vec<usize>)> = None;
    (0..batch)
        .map(|j| {
            let g = step * batch as u64 + j as u64;
            let epoch = g / n as u64;
            let order = match &mut perm {
                Some((e, order)) if *e == epoch => order,
                slot => &mut slot.insert((epoch, epoch_permutation(n, seed, epoch))).1,
            };
            order[(g % n as u64) as usize]
        })
        .collect()
}
