//! `recon simulate`: a fastMRI-layout scan from magnitude images (NIfTI or PNG).

use crate::output::print_json;
use crate::progress::Bar;
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Example:\n  recon simulate --input colin27_t1_1mm.nii.gz --coils 4 --slices 88:94 --output scan.h5"
)]
pub struct Args {
    /// Magnitude images: NIfTI volume (axial slices, along the voxel axis closest to
    /// superior-inferior) or a PNG.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Number of receive coils; 1 writes the single-coil layout (kspace: slices×H×W).
    #[arg(long, default_value_t = 8)]
    pub coils: usize,
    /// Axial slices A:B (half-open, Python-style; default all).
    #[arg(long)]
    pub slices: Option<String>,
    /// Standard deviation of complex Gaussian noise added to every k-space sample.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .h5 (fastMRI layout: kspace, reconstruction_rss/esc, ismrmrd_header,
    /// attributes) or .cfl (the k-space alone, BART layout [H, W, 1, coils, ..., slices]).
    #[arg(long, short)]
    pub output: PathBuf,
    #[command(flatten)]
    pub write: super::WriteOpts,
}

pub fn run(a: Args) -> recon::Result<()> {
    let slices = a.slices.as_deref().map(recon::simulate::parse_range).transpose()?;
    let req = recon::simulate::SimulateRequest {
        input: a.input,
        output: a.output,
        coils: a.coils,
        slices,
        noise: a.noise,
        seed: a.seed,
        force: a.write.force,
    };
    let report = recon::simulate::simulate(&req, &Bar::new(a.write.json))?;
    if a.write.json {
        return print_json(&report);
    }
    println!(
        "wrote {}: {} slice(s), {} coil(s), k-space {}x{}",
        report.output.display(),
        report.slices,
        report.coils,
        report.kspace_shape.0,
        report.kspace_shape.1
    );
    Ok(())
}
