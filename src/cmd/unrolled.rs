//! `recon train --net unrolled`: the unrolled network's options, as typed values.

use clap::Args as ClapArgs;
use recon::train::{settings, Initial, Pairs, SplitKind};
use recon::ReconError;

use super::bounded;

/// `--pairs`: how the self-supervised training pairs are made.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairsArg {
    /// Fully sampled data: two independent masks per step (Noise2Noise).
    Simulate,
    /// One acquisition per slice, its samples split into input and loss sets each step.
    Split,
    /// Two acquisitions per slice: files NAME_rep1 / NAME_rep2.
    Repeats,
    /// Fully sampled targets (supervised baseline).
    Full,
}

/// `--split`: the split of `--pairs split`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitArg {
    /// SSDU (Yaman et al. 2020): disjoint input and loss sets.
    Ssdu,
    /// Noisier2Noise (Millard & Chiew 2023): a second mask inside the acquisition, weighted loss.
    Noisier2noise,
}

/// The options only `--net unrolled` takes.
#[derive(ClapArgs, Debug)]
pub struct UnrolledArgs {
    /// unrolled: how pairs are made (default simulate).
    #[arg(long, value_enum)]
    pub pairs: Option<PairsArg>,
    /// unrolled, --pairs split: ssdu (default) or noisier2noise.
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// unrolled, --pairs split: fraction of the acquired samples withheld from the input (0.05
    /// to 0.95): SSDU's loss set (default 0.4, SSDU's ρ); for noisier2noise the second mask is
    /// drawn at acceleration 1/(1 − ρ) (default: half the acceleration).
    #[arg(long)]
    pub split_rho: Option<f64>,
    /// unrolled: cascades (1 to 64; default 8).
    #[arg(long, value_parser = bounded(settings::CASCADES))]
    pub cascades: Option<usize>,
    /// unrolled: resolution levels of each cascade's U-Net (1 to 6; default 3).
    #[arg(long, value_parser = bounded(settings::LEVELS))]
    pub levels: Option<usize>,
    /// unrolled: the image the cascades start from: zero-filled (Sᴴ Fᴴ y, default) or cs
    /// (the L1-wavelet reconstruction of `--method cs`, which the network then refines).
    #[arg(long, value_enum)]
    pub initial: Option<InitialArg>,
}

/// `--initial`: where the unrolled network starts.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialArg {
    ZeroFilled,
    Cs,
}

impl UnrolledArgs {
    /// `Invalid` when an unrolled-only option is given with `--net unet`.
    pub fn reject_for_unet(&self) -> recon::Result<()> {
        let given = [
            ("--pairs", self.pairs.is_some()),
            ("--split", self.split.is_some()),
            ("--split-rho", self.split_rho.is_some()),
            ("--cascades", self.cascades.is_some()),
            ("--levels", self.levels.is_some()),
            ("--initial", self.initial.is_some()),
        ];
        match given.iter().find(|(_, g)| *g) {
            Some((flag, _)) => Err(ReconError::Invalid(format!("{flag} needs --net unrolled"))),
            None => Ok(()),
        }
    }
}

impl From<PairsArg> for Pairs {
    fn from(p: PairsArg) -> Self {
        match p {
            PairsArg::Simulate => Pairs::Simulate,
            PairsArg::Split => Pairs::Split,
            PairsArg::Repeats => Pairs::Repeats,
            PairsArg::Full => Pairs::Full,
        }
    }
}

impl From<SplitArg> for SplitKind {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::Ssdu => SplitKind::Ssdu,
            SplitArg::Noisier2noise => SplitKind::Noisier2Noise,
        }
    }
}

impl From<InitialArg> for Initial {
    fn from(i: InitialArg) -> Self {
        match i {
            InitialArg::ZeroFilled => Initial::ZeroFilled,
            InitialArg::Cs => Initial::Cs,
        }
    }
}
