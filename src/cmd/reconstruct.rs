//! `recon --input scan --mask NAME`: reconstruct one scan and report its quality.

use super::MaskOpts;
use crate::output::{metrics_table, print_json};
use crate::progress::Bar;
use clap::Args as ClapArgs;
use recon::network::ModelChoice;
use recon::reconstruct::{reconstruct, ReconRequest};
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Input scan: fastMRI .h5 (single- or multi-coil), NIfTI .nii/.nii.gz (each axial slice,
    /// along the voxel axis closest to superior-inferior, a magnitude image whose k-space is
    /// simulated), PNG, or BART .cfl (or its base name).
    #[arg(long, short, required = true)]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub mask: MaskOpts,
    /// Output, format by extension: .h5 (reconstruction, zero_filled, mask, attributes),
    /// .nii/.nii.gz (the reconstruction in the input's space), .cfl (BART complex images) or
    /// .png (middle slice). Default: <input name>.recon.h5 in the current directory.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Divide kept samples by their keep probability before the inverse FFT (unbiased, noisier).
    #[arg(long)]
    pub density_compensate: bool,
    /// Seed the mask with the input's file name (fastMRI's per-volume seed), as `recon batch`
    /// does: reproduces one volume of a batch exactly. Replaces --seed.
    #[arg(long)]
    pub seed_from_name: bool,
    /// A trained model (`recon train`): network + data consistency; or a built-in model by
    /// name, `default-cartesian` or `default-n2n` (an existing file of that name wins).
    /// Without it, the built-in model matching the mask is used (n2n for 2-D masks,
    /// Cartesian for 1-D masks).
    #[arg(long, conflicts_with = "no_model")]
    pub model: Option<PathBuf>,
    /// Zero-filled reconstruction only: no network.
    #[arg(long)]
    pub no_model: bool,
    #[command(flatten)]
    pub write: super::WriteOpts,
}

pub fn run(a: Args) -> recon::Result<()> {
    let input = a.input.ok_or_else(|| recon::ReconError::Invalid("--input is required".into()))?;
    let output = a.output.unwrap_or_else(|| recon::reconstruct::default_output(&input));
    let req = ReconRequest {
        input,
        output,
        mask: a.mask.mask.clone(),
        params: a.mask.params(),
        seed: a.mask.seed,
        seed_from_name: a.seed_from_name,
        density_compensate: a.density_compensate,
        force: a.write.force,
        model: match (a.model, a.no_model) {
            (Some(p), _) => ModelChoice::File(p),
            (None, true) => ModelChoice::NoModel,
            (None, false) => ModelChoice::Default,
        },
    };
    let bar = Bar::new(a.write.json);
    let report = reconstruct(&req, &bar)?;
    if a.write.json {
        return print_json(&report);
    }
    println!(
        "{}: {} slice(s) of {}x{}, {} coil(s); mask {} ({}), achieved acceleration {:.2}",
        report.input.display(),
        report.slices,
        report.kspace_shape.0,
        report.kspace_shape.1,
        report.coils,
        report.mask.name,
        if report.mask.acquired { "acquired" } else { "retrospective" },
        report.mask.achieved_acceleration
    );
    if let Some(note) = &report.mask.note {
        println!("mask: {note}");
    }
    if let Some(axis) = &report.slice_axis {
        println!("slices along {axis}");
    }
    if let Some(m) = &report.model {
        println!("model: {m}");
    }
    if !report.metrics.is_empty() {
        print!("{}", metrics_table(&report.metrics));
    }
    if let Some(note) = &report.metrics_note {
        println!("{note}");
    }
    println!("wrote {} in {:.2} s", report.output.display(), report.seconds);
    Ok(())
}
