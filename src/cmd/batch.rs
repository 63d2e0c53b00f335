//! `recon batch`: reconstruct and evaluate a folder of volumes (resumable, shardable), and
//! `recon batch merge`: combine the manifests of the shards.

use super::MaskOpts;
use crate::output::print_json;
use clap::{Args as ClapArgs, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use recon::batch::{self, BatchRequest, GroupSummary, ManifestEntry, Shard, Status};
use recon::ModelChoice;
use std::path::{Path, PathBuf};

#[derive(ClapArgs, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  recon batch --input-dir val/ --output-dir out/ --mask random --acceleration 4\n  recon batch --input-dir val/ --output-dir out/ --shard 2/8   # one Slurm array task\n  recon batch merge --output-dir out/\n\
Re-running the same command resumes: volumes with an output and an `ok` manifest line of the same settings are skipped, the rest (interrupted or failed) are redone. A bad or hostile file is a `failed` line and the batch goes on; the exit code is 1 when any volume failed. Shard I/N takes the files at positions p (files sorted by name) with p % N == I; while it runs it keeps manifest.shard-I-of-N.running in the output folder, and `merge` refuses (writing nothing) while a shard is missing, running or was killed. Each mask is seeded by the file name (fastMRI's per-volume seed): `recon --input FILE --seed-from-name` with the same mask options rewrites one volume exactly.\n\n\
Resource limits (environment, MiB): RECON_MAX_SLICE_MB (default 1024) caps one slice, reference slice or mask a file declares; RECON_MAX_STREAM_MB (default 4096) caps what is read or decompressed from one file at once (one HDF5 chunk or dataset, a NIfTI, a .cfl). Both are checked before allocating."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<BatchCommand>,
    /// Folder of input volumes (fastMRI .h5, or any format `recon --input` reads).
    #[arg(long, required = true)]
    pub input_dir: Option<PathBuf>,
    /// Folder for the outputs (same file names, `reconstruction` dataset), the manifest and
    /// the CSV summaries. Must not be the input folder.
    #[arg(long, required = true)]
    pub output_dir: Option<PathBuf>,
    #[command(flatten)]
    pub mask: MaskOpts,
    /// A trained model (`recon train`); default: the built-in model matching the mask.
    #[arg(long, conflicts_with = "no_model")]
    pub model: Option<PathBuf>,
    /// Zero-filled reconstruction only: no network.
    #[arg(long)]
    pub no_model: bool,
    #[command(flatten)]
    pub method: super::reconstruct::MethodOpts,
    /// Threads (default 0: one per core; at most 1024), shared by the 2 volumes
    /// reconstructed at once.
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Process shard I of N (0-based): the files at sorted positions p with p % N == I.
    #[arg(long, default_value = "0/1", value_parser = super::shard)]
    pub shard: Shard,
    /// Which files of the input folder: a file-name pattern with `*` and `?`.
    #[arg(long, default_value = "*.h5")]
    pub pattern: String,
    /// Also write png/<name>.png (middle slice of the reconstruction).
    #[arg(long)]
    pub png: bool,
    /// Also write nifti/<name>.nii.gz (the reconstruction).
    #[arg(long)]
    pub nifti: bool,
    /// Print the final report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum BatchCommand {
    /// Combine the shard manifests of an output folder into manifest.jsonl, manifest.csv and
    /// summary.csv (what one unsharded run writes), once every shard has finished.
    Merge(super::MergeArgs),
}

pub fn run(a: Args) -> recon::Result<()> {
    if let Some(BatchCommand::Merge(m)) = a.command {
        return merge(m);
    }
    let missing = |what: &str| recon::ReconError::Invalid(format!("{what} is required"));
    let req = BatchRequest {
        input_dir: a.input_dir.ok_or_else(|| missing("--input-dir"))?,
        output_dir: a.output_dir.ok_or_else(|| missing("--output-dir"))?,
        pattern: a.pattern,
        mask: a.mask.spec()?,
        density_compensate: false,
        model: match (a.model, a.no_model) {
            (Some(p), _) => ModelChoice::File(p),
            (None, true) => ModelChoice::NoModel,
            (None, false) => ModelChoice::Default,
        },
        method: a.method.choice(a.no_model),
        classical: a.method.classical(),
        jobs: a.jobs,
        shard: a.shard,
        png: a.png,
        nifti: a.nifti,
    };
    let bar = BatchBar::new(a.json);
    let json = a.json;
    let on_volume = |e: &ManifestEntry, k: usize, n: usize| {
        bar.pb.set_message(format!("{k}/{n} volumes"));
        if !json {
            bar.pb.suspend(|| println!("[{k}/{n}] {}", volume_line(e)));
        }
    };
    let report = batch::run_batch(&req, &bar, &on_volume)?;
    if json {
        print_json(&report)?;
    } else {
        println!(
            "shard {}: {} file(s): {} done, skipped {}, {} failed; {} slice(s) in {:.2} s ({:.2} slices/s){}",
            report.shard,
            report.files,
            report.done,
            report.skipped,
            report.failed,
            report.slices,
            report.seconds,
            report.slices_per_second,
            report.peak_rss_mib.map(|m| format!("; peak memory {m:.0} MiB")).unwrap_or_default()
        );
        print_summary(
            &report.groups,
            &report.failures,
            &[&report.manifest, &report.csv, &report.summary_csv],
        );
    }
    failed_error(&report.failures, &report.csv)
}

fn merge(m: super::MergeArgs) -> recon::Result<()> {
    let report = batch::merge(&m.output_dir)?;
    if m.json {
        print_json(&report)?;
    } else {
        println!(
            "merged {} manifest(s) of {} shard(s): {} volume(s), {} failed",
            report.manifests.len(),
            report.shards,
            report.volumes,
            report.failed
        );
        print_summary(
            &report.groups,
            &report.failures,
            &[&report.manifest, &report.csv, &report.summary_csv],
        );
    }
    failed_error(&report.failures, &report.csv)
}

/// Non-zero exit when any volume's latest line is a failure.
fn failed_error(failures: &[ManifestEntry], csv: &Path) -> recon::Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    Err(recon::ReconError::Failed(format!(
        "{} volume(s) failed (first: {}); see {}",
        failures.len(),
        failures[0].error.as_deref().unwrap_or("unknown error"),
        csv.display()
    )))
}

fn print_summary(groups: &[GroupSummary], failures: &[ManifestEntry], files: &[&PathBuf]) {
    println!();
    print!("{}", batch::summary_table(groups, &failures.iter().collect::<Vec<_>>()));
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    println!("wrote {}", names.join(", "));
}

fn volume_line(e: &ManifestEntry) -> String {
    if e.status == Status::Failed {
        return format!("{}: FAILED: {}", e.file, e.error.as_deref().unwrap_or("unknown error"));
    }
    let metric = e
        .metrics
        .get(&e.method)
        .map(|m| format!(", PSNR {:.3} dB SSIM {:.4}", m.psnr, m.ssim))
        .unwrap_or_default();
    format!(
        "{}: {} ({}){metric}, mask seeded by {:?}, {} slice(s) in {:.2} s",
        e.output, e.method, e.acquisition, e.seed, e.slices, e.seconds
    )
}

/// Slices done / total with rate and ETA; the message counts volumes.
struct BatchBar {
    pb: ProgressBar,
}

impl BatchBar {
    fn new(quiet: bool) -> Self {
        let pb = if quiet {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
        } else {
            ProgressBar::no_length()
        };
        pb.set_style(
            ProgressStyle::with_template(
                "{prefix:>8} [{bar:30}] {pos}/{len} slices {per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_prefix("batch");
        BatchBar { pb }
    }
}

impl recon::progress::Progress for BatchBar {
    fn start(&self, _label: &str, total: u64) {
        self.pb.set_length(total);
    }
    fn inc(&self, n: u64) {
        self.pb.inc(n);
    }
    fn finish(&self) {
        self.pb.finish_and_clear();
    }
}
