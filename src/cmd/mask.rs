//! `recon mask`: draw a sampling mask, save it and its point-spread function, print its
//! statistics.

use super::MaskOpts;
use crate::output::print_json;
use clap::Args as ClapArgs;
use std::path::PathBuf;

/// Shown after the options of `recon mask -h`.
pub const EXAMPLES: &str = "Examples:\n  recon mask --mask random --shape 640x368 --acceleration 4 --output mask.png\n  recon mask --mask poisson --shape 256x256 --acceleration 8 --output m.png --psf psf.png\n  recon mask --mask n2n --shape 255x255 --p-edge 0.025 --output n2n.npy --json\n  recon mask --mask poisson --shape 256x256 --acceleration 8 --seed 3 --output mask.cfl";

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
    /// Also write the mask's point-spread function as a PNG here: |ifft2c(mask)| normalised
    /// to 1 at the centre, 20·log10 of it from -60 dB (black) to 0 dB (white). Its statistics
    /// are printed either way.
    #[arg(long)]
    pub psf: Option<PathBuf>,
    #[command(flatten)]
    pub write: super::WriteOpts,
}

pub fn run(a: Args) -> recon::Result<()> {
    let shape = recon::maskgen::parse_shape(&a.shape)?;
    let psf = a.psf.as_deref();
    let report = recon::maskgen::make_mask(&a.mask.spec()?, shape, a.seed, &a.output, psf, a.write.force)?;
    if a.write.json {
        return print_json(&report);
    }
    println!("mask {} on {}x{}, seed {}", report.mask, shape.0, shape.1, report.seed);
    println!("  kept samples          {}", report.kept);
    println!("  sampled fraction      {:.4}", report.sampled_fraction);
    let requested = report.requested_acceleration.map(|r| format!(" (requested {r:.3})")).unwrap_or_default();
    println!("  achieved acceleration {:.3}{requested}", report.achieved_acceleration);
    let (rows, cols) = report.centre_region;
    println!("  centre sampled        {:.4} of the central {rows}x{cols}", report.centre_sampled_fraction);
    match report.calibration {
        Some((r, c)) => println!("  calibration region    {r}x{c} (fully sampled around DC)"),
        None => println!("  calibration region    none (DC not sampled)"),
    }
    println!("  PSF ({})", report.psf_geometry);
    println!(
        "    peak side-lobe      {:.4} (keep/p: {:.4})",
        report.peak_sidelobe_ratio, report.peak_sidelobe_ratio_compensated
    );
    println!(
        "    incoherence         {:.5} (keep/p: {:.5})",
        report.incoherence, report.incoherence_compensated
    );
    match &report.psf {
        Some(psf) => println!("wrote {} and {}", a.output.display(), psf.display()),
        None => println!("wrote {}", a.output.display()),
    }
    Ok(())
}
