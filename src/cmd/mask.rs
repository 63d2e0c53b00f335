//! `recon mask`: draw a sampling mask, save it, print its statistics.

use super::MaskOpts;
use crate::output::print_json;
use clap::Args as ClapArgs;
use std::path::PathBuf;

/// Shown after the options of `recon mask -h`.
pub const EXAMPLES: &str = "Examples:\n  recon mask --mask random --shape 640x368 --acceleration 4 --output mask.png\n  recon mask --mask n2n --shape 255x255 --p-edge 0.025 --output n2n.npy --json\n  recon mask --mask poisson --shape 256x256 --acceleration 8 --seed 3 --output mask.cfl";

/// `recon mask --help`: the examples and every mask family with its formula.
pub fn long_help() -> String {
    let families: String =
        recon::MASK_FAMILIES.iter().map(|f| format!("  {:<20} {}\n", f.name, f.description)).collect();
    format!("{EXAMPLES}\n\nMask families:\n{families}")
}

#[derive(ClapArgs, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub mask: MaskOpts,
    /// Seed of the mask (numpy RandomState-compatible: fastMRI's masks for the same seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Grid size HxW (rows x phase-encode columns), e.g. 640x368.
    #[arg(long)]
    pub shape: String,
    /// Where to write the mask: .png (white = kept), .npy (bool H×W) or .cfl (BART, 0/1).
    #[arg(long, short)]
    pub output: PathBuf,
    #[command(flatten)]
    pub write: super::WriteOpts,
}

pub fn run(a: Args) -> recon::Result<()> {
    let shape = recon::maskgen::parse_shape(&a.shape)?;
    let report = recon::maskgen::make_mask(&a.mask.spec()?, shape, a.seed, &a.output, a.write.force)?;
    if a.write.json {
        return print_json(&report);
    }
    println!("mask {} on {}x{}, seed {}", report.mask, shape.0, shape.1, report.seed);
    println!("  kept samples          {}", report.kept);
    println!("  sampled fraction      {:.4}", report.sampled_fraction);
    let requested = report.requested_acceleration.map(|r| format!(" (requested {r:.3})")).unwrap_or_default();
    println!("  achieved acceleration {:.3}{requested}", report.achieved_acceleration);
    println!("  PSF peak side-lobe    {:.4}", report.peak_sidelobe_ratio);
    println!("  incoherence           {:.4}", report.incoherence);
    println!("wrote {}", a.output.display());
    Ok(())
}
