//! `recon`: reconstruct undersampled MRI from the command line.
//!
//! The binary only parses arguments, shows progress and prints; every subcommand is a small
//! module calling one function of the `recon` library.

mod cmd;
mod output;
mod progress;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Self-supervised (Noise2Noise) reconstruction of undersampled MRI.
///
/// Without a subcommand, reconstructs one scan: fully-sampled input is undersampled
/// retrospectively with the named mask, input that carries a `mask` is reconstructed as it
/// is, and the result is compared with the reference when there is one.
#[derive(Parser)]
#[command(
    name = "recon",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = concat!(
        "Examples:\n  recon --input data/colin27_sim.h5 --mask random --acceleration 4\n",
        "  recon mask --mask poisson --shape 256x256 --acceleration 6 --output mask.png\n",
        "  recon info data/colin27_sim.h5\n\n",
        "Exit codes: 0 success; 1 the work failed (the OS refused a read or write, a model error, ",
        "failed volumes in a batch); 2 usage error (bad options); 3 bad input data (a file is not ",
        "what it should be, or exceeds a resource limit). With --json, errors are also printed on ",
        "stdout as {\"error\": ..., \"kind\": ..., \"exit_code\": ...}.\n\n",
        "Resource limits (checked before allocating): RECON_MAX_SLICE_MB (default 1024) caps one ",
        "slice, image or mask; RECON_MAX_STREAM_MB (default 4096) caps what is read or ",
        "decompressed from one file at once. Only regular files are read."
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    recon: cmd::reconstruct::Args,
}

#[derive(Subcommand)]
enum Command {
    /// Draw a sampling mask, print its analysis (PSF side lobes, incoherence, centre), and
    /// optionally write its point-spread function (`--psf`).
    Mask(cmd::mask::Args),
    /// Make a fastMRI-layout (multi-coil) scan from magnitude images.
    Simulate(cmd::simulate::Args),
    /// fastMRI-style evaluation of a folder of reconstructions against references.
    Eval(cmd::eval::Args),
    /// Coil sensitivity maps of a scan (ESPIRiT, like BART ecalib) as .h5 or .cfl.
    Maps(cmd::maps::Args),
    /// Show what a file holds (datasets, shapes, coils, acquisition, header sizes).
    Info(cmd::info::Args),
    /// Train a reconstruction network (Noise2Noise: undersampled targets only).
    Train(cmd::train::Args),
    /// Reconstruct and evaluate a folder of volumes: resumable, shardable (Slurm arrays).
    Batch(cmd::batch::Args),
    /// Sweep masks, accelerations, methods and seeds over a folder: statistics and a report.
    Study(cmd::study::Args),
    /// Remove noise from photos, train and evaluate denoisers (Noise2Noise image experiments).
    Denoise(cmd::denoise::Args),
}

fn main() -> ExitCode {
    let command = Cli::command().mut_subcommand("mask", |c| c.after_long_help(cmd::mask::long_help()));
    // `--json` anywhere asks for errors as JSON on stdout too (usage errors included).
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            if json && e.use_stderr() {
                let msg = e.to_string();
                let first = msg.lines().next().unwrap_or_default().trim_start_matches("error: ");
                output::print_error_json(first, "usage", e.exit_code());
            }
            e.exit()
        }
    };
    let result = match cli.command {
        Some(Command::Mask(a)) => cmd::mask::run(a),
        Some(Command::Simulate(a)) => cmd::simulate::run(a),
        Some(Command::Eval(a)) => cmd::eval::run(a),
        Some(Command::Info(a)) => cmd::info::run(a),
        Some(Command::Maps(a)) => cmd::maps::run(a),
        Some(Command::Train(a)) => cmd::train::run(a),
        Some(Command::Batch(a)) => cmd::batch::run(a),
        Some(Command::Denoise(a)) => cmd::denoise::run(a),
        Some(Command::Study(a)) => cmd::study::run(a),
        None => cmd::reconstruct::run(cli.recon),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            if json {
                output::print_error_json(&e.one_line(), e.kind(), e.exit_code());
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
