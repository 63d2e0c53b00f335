//! `recon info FILE`: what a file holds.

use crate::output::print_json;
use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
#[command(after_help = "Example:\n  recon info data/colin27_sim.h5")]
pub struct Args {
    /// A fastMRI .h5, NIfTI, PNG or BART .cfl file (or a BART base name NAME with NAME.cfl
    /// and NAME.hdr).
    pub file: PathBuf,
    /// Print as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> recon::Result<()> {
    let info = recon::info::describe(&a.file)?;
    if a.json {
        return print_json(&info);
    }
    print!("{}", info.to_text());
    Ok(())
}
