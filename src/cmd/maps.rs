//! `recon maps --input scan --output maps.h5|maps.cfl`: coil sensitivity maps, like BART `ecalib`.

use super::reconstruct::MapsArg;
use crate::output::print_json;
use crate::progress::Bar;
use clap::Args as ClapArgs;
use recon::maps::{write_maps, EspiritOptions, MapsRequest};
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
#[command(after_help = "Layouts: .h5 holds `maps` complex64 (slices, sets, coils, H, W) and `eigenvalues` \
float32 (slices, sets, H, W); .cfl holds BART ecalib's [X, Y, 1, COIL, MAPS] per slice, slices along BART's \
SLICE dimension (13), as the k-space `recon simulate` writes. Maps are unit-norm per pixel where kept.")]
pub struct Args {
    /// Input scan (any k-space format `recon --input` reads); its acquired mask is used, or
    /// every sample of a fully sampled scan.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Output: .h5/.hdf5 or .cfl (BART).
    #[arg(long, short)]
    pub output: PathBuf,
    /// ESPIRiT (low-resolution fallback when the fully sampled centre is too small) or the
    /// low-resolution maps.
    #[arg(long, value_enum, default_value_t = MapsArg::Espirit)]
    pub maps: MapsArg,
    /// Largest calibration region per axis (BART ecalib -r).
    #[arg(long, default_value_t = 24, value_parser = super::bounded(1..=4096))]
    pub calib: usize,
    /// ESPIRiT kernel size (BART ecalib -k); at most --calib.
    #[arg(long, default_value_t = 6, value_parser = super::bounded(1..=64))]
    pub kernel: usize,
    /// Eigenvalue crop (BART ecalib -c): maps are zero where their eigenvalue is at most this.
    #[arg(long, default_value_t = 0.8, value_parser = |s: &str| super::finite_in(s, 0.0, 0.999, false))]
    pub crop: f64,
    /// Map sets (BART ecalib -m), 1 or 2.
    #[arg(long, default_value_t = 1, value_parser = super::bounded(1..=2))]
    pub sets: usize,
    #[command(flatten)]
    pub write: super::WriteOpts,
}

pub fn run(a: Args) -> recon::Result<()> {
    let req = MapsRequest {
        input: a.input,
        output: a.output,
        choice: a.maps.into(),
        espirit: EspiritOptions {
            kernel: a.kernel,
            calib: a.calib,
            crop: a.crop as f32,
            maps: a.sets,
            ..Default::default()
        },
        force: a.write.force,
    };
    let bar = Bar::new(a.write.json);
    let report = write_maps(&req, &bar)?;
    if a.write.json {
        return print_json(&report);
    }
    println!(
        "{}: {} slice(s) of {}x{}, {} coil(s); {} map set(s): {}",
        report.input.display(),
        report.slices,
        report.kspace_shape.0,
        report.kspace_shape.1,
        report.coils,
        report.sets,
        report.maps
    );
    println!("wrote {} in {:.2} s", report.output.display(), report.seconds);
    Ok(())
}
