//! `recon study`: sweep masks, accelerations, methods and seeds over a folder of fully
//! sampled volumes, with statistics and a report; `recon study merge`: combine the shards.

use super::reconstruct::{ClassicalArgs, MethodArg};
use crate::output::print_json;
use crate::progress::Bar;
use clap::{Args as ClapArgs, Subcommand};
use recon::batch::Shard;
use recon::study::{self, Finished, StudyPlan, StudyRequest};
use recon::{Method, MethodChoice, ModelChoice};
use std::path::PathBuf;

#[derive(ClapArgs, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  recon study --input-dir scans/ --masks random,equispaced,poisson,n2n,file:my_mask.npy \\\n      --accelerations 2,4,6,8 --methods zero-filled,sense,cs --seeds 0..3 --output-dir study/\n  recon study --input-dir scans/ --masks poisson:calib=16x16,poisson:calib=32x32 --accelerations 4,8 \\\n      --methods cs --seeds 0,3,7 --output-dir calib/\n  recon study ... --shard 2/8      # one Slurm array task; then: recon study merge --output-dir study/\n\n\
Every cell (volume, mask, acceleration, centre fraction, method, seed) is reconstructed exactly as `recon --input FILE --mask MASK --acceleration R --seed S --method METHOD` (same numbers). The methods of one drawn mask share the mask, the slices read and the coil maps. Cells are appended to results.jsonl as they finish: re-running the same command continues a killed study, and a study with more masks, accelerations, methods or seeds computes only the new cells (--force starts over). At the end: results.csv, summary.csv (mean, std, 95 % bootstrap CI per mask, acceleration and method), paired.csv (paired differences between masks over the same volumes and seeds), report.html and figures/*.png."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<StudyCommand>,
    /// Folder of fully sampled volumes (fastMRI .h5, or any format `recon --input` reads).
    #[arg(long, required = true)]
    pub input_dir: Option<PathBuf>,
    /// Folder for results.jsonl, the CSV tables, the report and its figures.
    #[arg(long, required = true)]
    pub output_dir: Option<PathBuf>,
    /// Mask items, comma-separated, each as `recon --mask` takes it: a family (random,
    /// equispaced, poisson, n2n, ...), a family with parameters (poisson:calib=16x16,
    /// random:center_fraction=0.04), or file:PATH (.npy, .png, .cfl, or a fastMRI .h5 with a
    /// `mask`).
    #[arg(long)]
    pub masks: Option<String>,
    /// One more mask item (repeatable), e.g. --mask-spec gaussian:sigma=0.3,calib=24x24.
    #[arg(long)]
    pub mask_spec: Vec<String>,
    /// Accelerations R to sweep, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub accelerations: Vec<f64>,
    /// Centre fractions to sweep for the families that read one (default 0.32/R, fastMRI's).
    #[arg(long, value_delimiter = ',')]
    pub center_fractions: Vec<f64>,
    /// Methods, comma-separated: zero-filled, sense, cs, tv, network (all: every one).
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub methods: Vec<MethodArg>,
    /// Mask seeds: A..B (A to B-1: 0..4 is 0,1,2,3), A..=B, or a list 0,3,7.
    #[arg(long, default_value = "0", value_parser = seeds)]
    pub seeds: std::vec::Vec<u32>,
    /// Which files of the input folder: a file-name pattern with `*` and `?`.
    #[arg(long, default_value = "*.h5")]
    pub pattern: String,
    /// The network of the `network` method (default: the built-in model matching the mask).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub classical: ClassicalArgs,
    /// Threads (default 0: one per core; at most 1024), shared by the 2 masks reconstructed at once.
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Run shard I of N (0-based) of the (volume, mask) units; then `recon study merge`.
    #[arg(long, default_value = "0/1", value_parser = super::shard)]
    pub shard: Shard,
    /// Start over: drop the results of earlier runs in the output folder.
    #[arg(long)]
    pub force: bool,
    /// Stop after N masks drawn (each reconstructed by every method); run again to continue.
    #[arg(long, value_parser = super::bounded(1..=u32::MAX as u64))]
    pub stop_after: Option<usize>,
    /// The slice of the first volume the report shows (default: the middle one).
    #[arg(long)]
    pub report_slice: Option<usize>,
    /// The acceleration of the report's slice grid (default: the swept one nearest 4).
    #[arg(long)]
    pub report_acceleration: Option<f64>,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum StudyCommand {
    /// Combine the results of every shard into results.jsonl, the CSV tables and the report,
    /// once every shard has finished.
    Merge(super::MergeArgs),
}

fn seeds(s: &str) -> Result<Vec<u32>, String> {
    study::parse_seeds(s).map_err(|e| e.to_string())
}

/// The study's methods, `all` expanded, each once.
fn methods(args: &[MethodArg]) -> Vec<Method> {
    let mut out = Vec::new();
    for a in args {
        let m = match a.choice() {
            MethodChoice::One(m) => vec![m],
            all => [Method::ZeroFilled].into_iter().chain(all.methods()).collect(),
        };
        out.extend(m.into_iter().filter(|m| !out.contains(m)).collect::<Vec<_>>());
    }
    out
}

pub fn run(a: Args) -> recon::Result<()> {
    if let Some(StudyCommand::Merge(m)) = a.command {
        let report = study::merge(&m.output_dir)?;
        if m.json {
            print_json(&report)?;
        } else {
            println!("merged the results of {} shard(s) into {}", report.shards, report.results.display());
            print_finished(&report.finished);
        }
        return finished_error(&report.finished);
    }
    let missing = |what: &str| recon::ReconError::Invalid(format!("{what} is required"));
    let mut masks: Vec<String> = a.masks.as_deref().map(study::split_mask_items).unwrap_or_default();
    masks.extend(a.mask_spec);
    if masks.is_empty() {
        return Err(missing("--masks (or --mask-spec)"));
    }
    let req = StudyRequest {
        plan: StudyPlan {
            input_dir: a.input_dir.ok_or_else(|| missing("--input-dir"))?,
            pattern: a.pattern,
            masks,
            accelerations: a.accelerations,
            center_fractions: a.center_fractions,
            methods: methods(&a.methods),
            seeds: a.seeds,
            report_slice: a.report_slice,
            report_acceleration: a.report_acceleration,
        },
        output_dir: a.output_dir.ok_or_else(|| missing("--output-dir"))?,
        model: a.model.map(ModelChoice::File).unwrap_or(ModelChoice::Default),
        classical: a.classical.options(),
        jobs: a.jobs,
        shard: a.shard,
        force: a.force,
        stop_after: a.stop_after,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let bar = Bar::for_training(a.json);
    let report = study::run_study(&req, &bar, &|_, _, _| {})?;
    if a.json {
        print_json(&report)?;
    } else {
        println!(
            "shard {}: {} volume(s), {} cell(s): {} computed, {} already done, {} unit(s) failed; \
             {} reconstruction(s) in {:.2} s ({:.2} reconstructions/s)",
            report.shard,
            report.volumes,
            report.cells,
            report.computed,
            report.skipped,
            report.failures.len(),
            report.computed,
            report.seconds,
            report.cells_per_second
        );
        for f in &report.failures {
            println!("FAILED: {f}");
        }
        if report.remaining > 0 {
            println!(
                "stopped (--stop-after): {} cell(s) left; run the same command again to continue",
                report.remaining
            );
        } else if report.finished.is_none() {
            println!(
                "wrote {}; when every shard has finished: recon study merge --output-dir {}",
                report.results.display(),
                req.output_dir.display()
            );
        }
        if let Some(f) = &report.finished {
            print_finished(f);
        }
    }
    if let Some(first) = report.failures.first() {
        return Err(recon::ReconError::Failed(format!(
            "{} unit(s) failed (first: {first}); re-run to retry them",
            report.failures.len()
        )));
    }
    report.finished.as_ref().map_or(Ok(()), finished_error)
}

fn print_finished(f: &Finished) {
    println!();
    println!(
        "{:<28} {:>6} {:<12} {:>4} {:>26} {:>24}",
        "mask", "R", "method", "n", "PSNR dB [95% CI]", "SSIM [95% CI]"
    );
    for g in &f.groups {
        println!(
            "{:<28} {:>6} {:<12} {:>4} {:>8.3} [{:>7.3}, {:>7.3}] {:>7.4} [{:.4}, {:.4}]",
            g.mask,
            g.acceleration,
            g.method,
            g.n,
            g.psnr.mean,
            g.psnr.ci_low,
            g.psnr.ci_high,
            g.ssim.mean,
            g.ssim.ci_low,
            g.ssim.ci_high
        );
    }
    println!(
        "paired differences between masks: {} of {} significant (95% CI excludes 0)",
        f.significant, f.compared
    );
    let mut files = vec![
        f.results_csv.display().to_string(),
        f.summary_csv.display().to_string(),
        f.paired_csv.display().to_string(),
    ];
    if let Some(r) = &f.report {
        files.push(format!("{} ({} figure(s))", r.html.display(), r.figures.len()));
    }
    println!("wrote {}", files.join(", "));
}

/// Non-zero exit when cells are missing (failed units) or the report was not written.
fn finished_error(f: &Finished) -> recon::Result<()> {
    if let Some(e) = &f.report_error {
        return Err(recon::ReconError::Failed(format!("the report was not written: {e}")));
    }
    Ok(())
}
