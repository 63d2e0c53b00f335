//! Running a study: what is left to do, the units on `--jobs` workers (the batch engine's),
//! every cell appended to `results.jsonl` as it finishes, then the tables and the report.
//!
//! **Files.** `study.json` (the plan and the recorded options, for resuming and merging),
//! `results.jsonl` (`results.shard-I-of-N.jsonl` for a shard), `slices/` (the report's
//! slice), and for the whole study `results.csv`, `summary.csv`, `paired.csv`,
//! `report.html` and `figures/*.png`. A shard writes only its results file and slices;
//! `recon study merge` writes the rest once every shard has finished.
//! **Resume.** A cell whose latest line has the current settings is not computed again: a
//! killed study continues where it stopped, and a study with more masks, accelerations,
//! methods or seeds computes only the new cells. `--force` starts over.
//! **Shards.** The units of all volumes, in order (volume, unit), are split by position:
//! shard `I/N` takes positions `p` with `p % N == I` (so one volume is shared out too).
//! **Memory.** Two units in flight, each holding one volume's reconstructions; the cells are
//! written and dropped as they finish, so memory does not grow with the number of volumes.

use super::cells::{run_unit, UnitContext, UnitJob};
use super::finish::{finish, plan_path, Finished, Study};
use super::plan::{Recorded, StudyPlan};
use super::results::{read_results, ResultLine};
use crate::batch::discover::{discover, Shard};
use crate::batch::files::RunningMarker;
use crate::batch::manifest::{now_unix, ManifestWriter};
use crate::batch::models::ModelCache;
use crate::batch::workers::{catch_panic, run_on_workers};
use crate::batch::ClassicalSettings;
use crate::classical::ClassicalOptions;
use crate::error::{ReconError, Result};
use crate::network::ModelChoice;
use crate::progress::Progress;
use serde::Serialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A study to run.
#[derive(Debug, Clone)]
pub struct StudyRequest {
    pub plan: StudyPlan,
    pub output_dir: PathBuf,
    /// The network of the `network` method (`--model`, default: the built-in one for the mask).
    pub model: ModelChoice,
    /// λ, iterations and maps of `sense`, `cs` and `tv`, as `recon --method`.
    pub classical: ClassicalOptions,
    /// Threads (0: one per core), shared by the 2 units in flight.
    pub jobs: usize,
    pub shard: Shard,
    /// Recompute every cell (the results of earlier runs in the folder are dropped).
    pub force: bool,
    /// Stop after this many units (to be continued by running the same command again).
    pub stop_after: Option<usize>,
    /// The command line, shown in the report.
    pub command: String,
}

/// What a study run did.
#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    pub shard: Shard,
    pub volumes: usize,
    /// Cells of this shard (volumes × units × methods).
    pub cells: usize,
    /// Cells computed by this run, and those already done by earlier runs.
    pub computed: usize,
    pub skipped: usize,
    /// Units that failed (one line each, naming the volume and the mask).
    pub failures: Vec<String>,
    /// Cells still to do after a `--stop-after`.
    pub remaining: usize,
    /// Wall-clock seconds of the sweep and reconstructions (cells) per second.
    pub seconds: f64,
    pub cells_per_second: f64,
    pub results: PathBuf,
    /// The tables and the report (not for a shard, nor after `--stop-after`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<Finished>,
}

/// The options every cell shares, as recorded in `study.json` and each line.
pub fn recorded(model: &ModelChoice, c: &ClassicalOptions) -> Recorded {
    Recorded {
        model: match model {
            ModelChoice::Default => "default".into(),
            ModelChoice::NoModel => "none".into(),
            ModelChoice::File(p) => p.display().to_string(),
        },
        classical: ClassicalSettings::resolved(c),
    }
}

/// Runs (or continues) the study. `on_cell(cell, done, to_do)` hears each cell as its line is
/// written. Errors for problems with the study itself (options, folders, results file); a
/// unit that fails is listed in the report's `failures` and the study goes on.
pub fn run_study(
    req: &StudyRequest,
    progress: &dyn Progress,
    on_cell: &(dyn Fn(&super::CellRecord, usize, usize) + Sync),
) -> Result<StudyReport> {
    crate::batch::run::check_jobs(req.jobs)?;
    let units = req.plan.units()?;
    if let ModelChoice::File(p) = &req.model {
        if !p.is_file() && crate::network::built_in(p).is_none() {
            return Err(ReconError::io(p, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
    }
    let input_dir = &req.plan.input_dir;
    if !input_dir.is_dir() {
        return Err(ReconError::Invalid(format!("{}: not a folder", input_dir.display())));
    }
    let files = discover(input_dir, &req.plan.pattern)?;
    if files.is_empty() {
        return Err(ReconError::Invalid(format!(
            "{}: no file matches '{}': nothing to study",
            input_dir.display(),
            req.plan.pattern
        )));
    }
    std::fs::create_dir_all(&req.output_dir).map_err(|e| ReconError::io(&req.output_dir, e))?;
    if input_dir.canonicalize().ok() == req.output_dir.canonicalize().ok() {
        return Err(ReconError::Invalid(format!(
            "{}: the output folder must not be the input folder",
            req.output_dir.display()
        )));
    }
    let recorded = recorded(&req.model, &req.classical);
    let study = Study::new(req.plan.clone(), recorded.clone(), req.command.clone(), &files, units)?;
    let _running = RunningMarker::create_for(&req.output_dir, "results", req.shard)?;
    let results = req.output_dir.join(req.shard.file_name("results", "jsonl"));
    if req.force {
        for f in [results.clone(), req.output_dir.join(super::views::SLICES_DIR)] {
            let _ = if f.is_dir() { std::fs::remove_dir_all(&f) } else { std::fs::remove_file(&f) };
        }
    }
    crate::io::atomic::write_atomic(&plan_path(&req.output_dir), |tmp| study.write_plan(tmp))?;

    // What is done: cells of this study whose latest line has the current settings.
    let (lines, _ignored) = read_results(&results)?;
    let done: HashSet<String> =
        super::results::current_lines(lines, &study.volumes, &study.units, &req.plan.methods, &recorded)
            .iter()
            .map(|l| super::plan::cell_key(&l.cell))
            .collect();
    let mut jobs = Vec::new();
    let (mut cells, mut skipped) = (0, 0);
    let per_volume = study.units.len();
    for (v, (path, volume)) in files.iter().zip(&study.volumes).enumerate() {
        for (u, unit) in study.units.iter().enumerate() {
            if !req.shard.takes(v * per_volume + u) {
                continue;
            }
            cells += req.plan.methods.len();
            let methods: Vec<_> = req
                .plan
                .methods
                .iter()
                .copied()
                .filter(|m| !done.contains(&unit.key(volume, m.name())))
                .collect();
            skipped += req.plan.methods.len() - methods.len();
            if !methods.is_empty() {
                let save_slice = (v == 0 && study.shows(unit)).then_some(study.slice);
                jobs.push(UnitJob { path: path.clone(), volume: volume.clone(), unit, methods, save_slice });
            }
        }
    }
    let remaining_jobs = jobs.split_off(req.stop_after.unwrap_or(usize::MAX).min(jobs.len()));
    let to_do: usize = jobs.iter().map(|j| j.methods.len()).sum();
    let remaining: usize = remaining_jobs.iter().map(|j| j.methods.len()).sum();
    drop(remaining_jobs);

    crate::batch::keep_large_buffers_apart();
    let models = ModelCache::default();
    let ctx = UnitContext {
        model: &req.model,
        models: &models,
        classical: &req.classical,
        output_dir: &req.output_dir,
    };
    let writer = ManifestWriter::open(&results)?;
    let shard = req.shard.to_string();
    let finished = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    progress.start("cells", to_do as u64);
    let t0 = Instant::now();
    let work = |job: &UnitJob| catch_panic(&job.path, || run_unit(&ctx, job)).map_err(|e| unit_error(job, e));
    let record = |outcome: std::result::Result<Vec<super::CellRecord>, String>| -> Result<()> {
        match outcome {
            Ok(cells) => {
                for cell in cells {
                    let settings = super::plan::method_named(&cell.method)
                        .map(|m| recorded.settings(m))
                        .unwrap_or(super::plan::CellSettings { model: None, classical: None });
                    let line = ResultLine { cell, settings, shard: shard.clone(), finished_unix: now_unix() };
                    writer.append(&line)?;
                    progress.inc(1);
                    progress.status(&format!(
                        "{} {} {}x seed {}",
                        line.cell.mask, line.cell.method, line.cell.acceleration, line.cell.seed
                    ));
                    on_cell(&line.cell, finished.fetch_add(1, Ordering::SeqCst) + 1, to_do);
                }
            }
            Err(e) => failures.lock().unwrap_or_else(|e| e.into_inner()).push(e),
        }
        Ok(())
    };
    run_on_workers(&jobs, req.jobs, &work, &record)?;
    progress.finish();
    let seconds = t0.elapsed().as_secs_f64();
    let computed = finished.into_inner();
    let cells_per_second = if seconds > 0.0 { computed as f64 / seconds } else { 0.0 };
    let throughput = (computed > 0).then_some((cells_per_second, seconds));
    let whole = req.shard.count == 1 && remaining == 0;
    let finished = match whole {
        true => Some(finish(&req.output_dir, &study, read_results(&results)?.0, throughput)?),
        false => None,
    };
    Ok(StudyReport {
        shard: req.shard,
        volumes: files.len(),
        cells,
        computed,
        skipped,
        failures: failures.into_inner().unwrap_or_else(|e| e.into_inner()),
        remaining,
        seconds,
        cells_per_second,
        results,
        finished,
    })
}

/// A unit's failure, naming the volume, the mask and the seed.
fn unit_error(job: &UnitJob, e: ReconError) -> String {
    let acc = job.unit.acceleration.map(|a| format!(" at {a}x")).unwrap_or_default();
    format!("{} with {}{acc}, seed {}: {}", job.volume, job.unit.label, job.unit.seed, e.one_line())
}
