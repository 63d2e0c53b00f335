//! `recon eval`: fastMRI-style evaluation of predictions against targets.

use crate::output::print_json;
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Example:\n  recon eval --targets data/ --predictions out/\nA prediction is an .h5 with a `reconstruction` dataset, matched to the target of the same file name; a target carries reconstruction_rss or reconstruction_esc."
)]
pub struct Args {
    /// Folder of reference .h5 files (fastMRI layout).
    #[arg(long)]
    pub targets: PathBuf,
    /// Folder of .h5 files with a `reconstruction` dataset, same names as the targets.
    #[arg(long)]
    pub predictions: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> recon::Result<()> {
    let report = recon::evaluate::evaluate(&a.targets, &a.predictions)?;
    if a.json {
        return print_json(&report);
    }
    for v in &report.volumes {
        println!(
            "{:<40} {:<12} PSNR {:>7.3}  SSIM {:.4}  NMSE {:.5}",
            v.name, v.acquisition, v.metrics.psnr, v.metrics.ssim, v.metrics.nmse
        );
    }
    println!();
    for g in &report.groups {
        println!("{} ({} volume(s))", g.acquisition, g.count);
        println!(
            "  PSNR {:.3} ± {:.3}   SSIM {:.4} ± {:.4}   NMSE {:.5} ± {:.5}",
            g.mean.psnr, g.std.psnr, g.mean.ssim, g.std.ssim, g.mean.nmse, g.std.nmse
        );
    }
    if !report.skipped.is_empty() {
        println!();
        println!("skipped {} prediction(s):", report.skipped.len());
        for sk in &report.skipped {
            println!("  {}: {}", sk.name, sk.reason);
        }
    }
    Ok(())
}
