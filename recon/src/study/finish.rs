//! The end of a study: from the cells in the results file(s) to `results.csv`,
//! `summary.csv`, `paired.csv` and the report; and `recon study merge`, which does the same
//! from the results of every shard.

use super::plan::{Recorded, StudyPlan, Unit};
use super::record::{GroupStats, ReportInput};
use super::report::{write_report, ReportFiles};
use super::results::{
    current_lines, read_results, write_paired_csv, write_results_csv, write_summary_csv, ResultLine,
};
use super::{stats, views};
use crate::batch::discover::discover;
use crate::batch::manifest::ManifestWriter;
use crate::error::{ReconError, Result};
use crate::scan::Scan;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `study.json` in the output folder.
pub fn plan_path(dir: &Path) -> PathBuf {
    dir.join("study.json")
}

/// What `study.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StudyFile {
    plan: StudyPlan,
    recorded: Recorded,
    command: String,
}

/// A study with its volumes found and its units made.
pub struct Study {
    pub plan: StudyPlan,
    pub recorded: Recorded,
    pub command: String,
    /// The volumes' file names, sorted (`crate::batch::discover`).
    pub volumes: Vec<String>,
    /// The first volume, whose grid the mask figures use and whose slice the report shows.
    pub first: PathBuf,
    pub units: Vec<Unit>,
    /// The report's slice of the first volume, and its acceleration.
    pub slice: usize,
    pub report_acceleration: f64,
}

impl Study {
    /// The study of `plan` over `files` (sorted, not empty): checks `--report-slice` against
    /// the first volume.
    pub fn new(
        plan: StudyPlan,
        recorded: Recorded,
        command: String,
        files: &[PathBuf],
        units: Vec<Unit>,
    ) -> Result<Study> {
        let first = files.first().cloned().ok_or_else(|| ReconError::Invalid("no volume to study".into()))?;
        let slices = Scan::open(&first)?.num_slices;
        let slice = plan.report_slice.unwrap_or(slices / 2);
        if slice >= slices {
            return Err(ReconError::Invalid(format!(
                "--report-slice {slice}: the first volume {} has {slices} slice(s)",
                first.display()
            )));
        }
        let volumes =
            files.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
        let report_acceleration = plan.report_acceleration();
        Ok(Study { plan, recorded, command, volumes, first, units, slice, report_acceleration })
    }

    /// The study recorded in `dir/study.json`, its volumes found again in its input folder.
    pub fn load(dir: &Path) -> Result<Study> {
        let path = plan_path(dir);
        let bytes = crate::io::limits::read_file(&path)?;
        let f: StudyFile = serde_json::from_slice(&bytes)
            .map_err(|e| ReconError::format(&path, format!("not a study plan: {e}")))?;
        let units = f.plan.units()?;
        let files = discover(&f.plan.input_dir, &f.plan.pattern)?;
        Study::new(f.plan, f.recorded, f.command, &files, units)
    }

    /// Writes `study.json` to `path`.
    pub fn write_plan(&self, path: &Path) -> Result<()> {
        let f = StudyFile {
            plan: self.plan.clone(),
            recorded: self.recorded.clone(),
            command: self.command.clone(),
        };
        let text = serde_json::to_string_pretty(&f).map_err(|e| ReconError::Invalid(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| ReconError::io(path, e))
    }

    /// Whether the report's slice grid shows `unit`.
    pub fn shows(&self, unit: &Unit) -> bool {
        views::shows(unit, self.report_acceleration, self.plan.seeds[0])
    }

    fn title(&self) -> String {
        let p = &self.plan;
        format!(
            "{} volume(s) of {}: {} mask(s) × {} acceleration(s) × {} method(s) × {} seed(s)",
            self.volumes.len(),
            p.input_dir.display(),
            p.masks.len(),
            p.accelerations.len(),
            p.methods.len(),
            p.seeds.len()
        )
    }
}

/// The tables and the report of a finished study.
#[derive(Debug, Clone, Serialize)]
pub struct Finished {
    /// Cells in the tables, and cells of the study that have no result (failed units).
    pub cells: usize,
    pub missing: usize,
    pub results_csv: PathBuf,
    pub summary_csv: PathBuf,
    pub paired_csv: PathBuf,
    pub groups: Vec<GroupStats>,
    /// Paired differences whose interval excludes 0, of all compared.
    pub significant: usize,
    pub compared: usize,
    pub report: Option<ReportFiles>,
    /// Why the report was not written, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
}

/// Writes the tables and the report from `lines` (those of the current study count).
pub fn finish(
    dir: &Path,
    study: &Study,
    lines: Vec<ResultLine>,
    throughput: Option<(f64, f64)>,
) -> Result<Finished> {
    let cells: Vec<_> =
        current_lines(lines, &study.volumes, &study.units, &study.plan.methods, &study.recorded)
            .into_iter()
            .map(|l| l.cell)
            .collect();
    let expected = study.volumes.len() * study.units.len() * study.plan.methods.len();
    let groups = stats::group_stats(&cells);
    let paired = stats::paired_differences(&cells);
    let (results_csv, summary_csv, paired_csv) =
        (dir.join("results.csv"), dir.join("summary.csv"), dir.join("paired.csv"));
    write_results_csv(&results_csv, &cells)?;
    write_summary_csv(&summary_csv, &groups)?;
    write_paired_csv(&paired_csv, &paired)?;
    let first = Scan::open(&study.first)?;
    let seed = study.plan.seeds[0];
    let input = ReportInput {
        title: study.title(),
        command: study.command.clone(),
        masks: views::mask_views(&first, &study.units, seed)?,
        slice: views::slice_view(
            dir,
            (&study.volumes[0], study.slice),
            &study.units,
            &study.plan.methods,
            (study.report_acceleration, seed),
        ),
        records: cells,
        groups,
        paired,
        throughput,
    };
    let (report, report_error) = match write_report(dir, &input) {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.one_line())),
    };
    Ok(Finished {
        cells: input.records.len(),
        missing: expected.saturating_sub(input.records.len()),
        results_csv,
        summary_csv,
        paired_csv,
        significant: input.paired.iter().filter(|p| p.significant).count(),
        compared: input.paired.len(),
        groups: input.groups,
        report,
        report_error,
    })
}

/// What `recon study merge` found and wrote.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    pub shards: usize,
    pub results: PathBuf,
    pub finished: Finished,
}

/// Merges the results of every shard of the study in `dir` (all or nothing, as `recon batch
/// merge`: refused while a shard is missing, running or was killed) into `results.jsonl`
/// (the current cells, in the study's order), then writes the tables and the report.
pub fn merge(dir: &Path) -> Result<MergeReport> {
    let (files, shards) = crate::batch::merge::finished_shards(dir, "results")?;
    let study = Study::load(dir)?;
    let mut lines = Vec::new();
    for f in &files {
        lines.extend(read_results(f)?.0);
    }
    let current = current_lines(lines, &study.volumes, &study.units, &study.plan.methods, &study.recorded);
    let results = dir.join("results.jsonl");
    crate::io::atomic::write_atomic(&results, |tmp| {
        let w = ManifestWriter::open(tmp)?;
        current.iter().try_for_each(|l| w.append(l))
    })?;
    let finished = finish(dir, &study, current, None)?;
    Ok(MergeReport { shards, results, finished })
}
