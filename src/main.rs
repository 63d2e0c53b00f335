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
    after_help = "Examples:\n  recon --input data/colin27_sim.h5 --mask random --acceleration 4\n  recon mask --mask poisson --shape 256x256 --acceleration 6 --output mask.png\n  recon info data/colin27_sim.h5"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    recon: cmd::reconstruct::Args,
}

#[derive(Subcommand)]
enum Command {
    /// Draw a sampling mask and print its statistics.
    Mask(cmd::mask::Args),
    /// Make a fastMRI-layout (multi-coil) scan from magnitude images.
    Simulate(cmd::simulate::Args),
    /// fastMRI-style evaluation of a folder of reconstructions against references.
    Eval(cmd::eval::Args),
    /// Show what a file holds (datasets, shapes, coils, acquisition, header sizes).
    Info(cmd::info::Args),
    /// Train a reconstruction network (Noise2Noise: undersampled targets only).
    Train(cmd::train::Args),
    /// Reconstruct and evaluate a folder of volumes: resumable, shardable (Slurm arrays).
    Batch(cmd::batch::Args),
    /// Remove noise from photos, train and evaluate denoisers (Noise2Noise image experiments).
    Denoise(cmd::denoise::Args),
}

fn main() -> ExitCode {
    let command = Cli::command().mut_subcommand("mask", |c| c.after_long_help(cmd::mask::long_help()));
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Some(Command::Mask(a)) => cmd::mask::run(a),
        Some(Command::Simulate(a)) => cmd::simulate::run(a),
        Some(Command::Eval(a)) => cmd::eval::run(a),
        Some(Command::Info(a)) => cmd::info::run(a),
        Some(Command::Train(a)) => cmd::train::run(a),
        Some(Command::Batch(a)) => cmd::batch::run(a),
        Some(Command::Denoise(a)) => cmd::denoise::run(a),
        None => cmd::reconstruct::run(cli.recon),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
