//! Running a batch: decide what is left to do, reconstruct it on `--jobs` workers, record
//! every volume in the manifest, write the CSVs.

use super::discover::{discover, Shard};
use super::files::{output_file_name, remove_stale_temps, RunningMarker};
use super::manifest::{latest, read_manifest, write_csv, ManifestEntry, ManifestWriter, Settings, Status};
use super::models::ModelCache;
use super::summary::{self, GroupSummary};
use super::workers::{catch_panic, run_on_workers};
use crate::classical::{ClassicalOptions, MethodChoice};
use crate::error::{ReconError, Result};
use crate::network::ModelChoice;
use crate::progress::Progress;
use crate::reconstruct::{reconstruct_with, ReconReport, ReconRequest};
use crate::scan::Scan;
use kspace::mask::{MaskParams, MaskSpec};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Test-only: ms to sleep before each volume, so a test can kill a batch part-way. Not for normal use.
pub const TEST_DELAY_ENV: &str = "RECON_BATCH_TEST_DELAY_MS";

/// The most threads `--jobs` may ask for (far above any node's cores; each thread holds
/// slices in memory).
pub const MAX_JOBS: usize = 1024;

/// What to process and how.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    pub input_dir: PathBuf,
    pub output_dir: PathBuf,
    /// `*`/`?` pattern on file names.
    pub pattern: String,
    /// The mask for fully-sampled input (see [`ReconRequest::mask`]).
    pub mask: MaskSpec,
    pub density_compensate: bool,
    pub model: ModelChoice,
    /// Which reconstruction(s) and the classical methods' options, as `recon --method`.
    pub method: MethodChoice,
    pub classical: ClassicalOptions,
    /// Worker threads (slices) and volumes in flight; 0 = one per core.
    pub jobs: usize,
    pub shard: Shard,
    /// Also write `png/<stem>.png` (middle slice of the reconstruction).
    pub png: bool,
    /// Also write `nifti/<stem>.nii.gz` (the reconstruction).
    pub nifti: bool,
}

impl BatchRequest {
    /// The settings recorded with each volume (resume needs them equal).
    /// `none` and `file:` record the default acceleration and centre fraction (unused).
    pub fn settings(&self) -> Settings {
        let unused = MaskParams::default();
        let params = self.mask.params().unwrap_or(&unused);
        Settings {
            mask: self.mask.label(),
            acceleration: params.acceleration,
            center_fraction: params.center_fraction,
            p_edge: params.p_edge,
            density_compensate: self.density_compensate,
            model: match &self.model {
                ModelChoice::Default => "default".into(),
                ModelChoice::NoModel => "none".into(),
                ModelChoice::File(p) => p.display().to_string(),
            },
            png: self.png,
            nifti: self.nifti,
            method: self.method.name().into(),
            classical: super::manifest::ClassicalSettings::of(self.method, &self.classical),
        }
    }

    /// The files written for output `out` (the h5, then the requested previews), with the
    /// bytes of the input's name (non-UTF-8 names included).
    fn outputs(&self, out: &OsStr) -> Vec<PathBuf> {
        let stem = Path::new(out).with_extension("");
        let sibling = |dir: &str, ext: &str| {
            let mut name = stem.clone().into_os_string();
            name.push(ext);
            self.output_dir.join(dir).join(name)
        };
        let mut v = vec![self.output_dir.join(out)];
        if self.png {
            v.push(sibling("png", ".png"));
        }
        if self.nifti {
            v.push(sibling("nifti", ".nii.gz"));
        }
        v
    }
}

/// What a batch did.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    pub shard: Shard,
    /// Files of this shard.
    pub files: usize,
    /// Volumes reconstructed by this run.
    pub done: usize,
    /// Volumes already complete (manifest line with the same settings, outputs present).
    pub skipped: usize,
    /// Volumes that failed in this run.
    pub failed: usize,
    /// Slices reconstructed by this run, and their rate over the run's wall time.
    pub slices: usize,
    pub slices_per_second: f64,
    pub seconds: f64,
    /// Peak resident memory of the process (Linux), MiB.
    pub peak_rss_mib: Option<f64>,
    /// Manifest lines that did not parse (e.g. cut by a kill) and were ignored.
    pub ignored_manifest_lines: usize,
    pub manifest: PathBuf,
    pub csv: PathBuf,
    pub summary_csv: PathBuf,
    /// The summary over every file of the shard (this run's and earlier runs' volumes).
    pub groups: Vec<GroupSummary>,
    /// Files of the shard whose latest line is a failure.
    pub failures: Vec<ManifestEntry>,
}

/// A volume still to do.
struct Job {
    path: PathBuf,
    /// The input file name, as the manifest records it (lossy for a non-UTF-8 name).
    name: String,
    /// The output file name, with the input name's bytes.
    out: OsString,
    slices: usize,
    acquisition: String,
}

/// Shared by the workers.
struct Ctx<'a> {
    req: &'a BatchRequest,
    settings: Settings,
    shard: String,
    models: ModelCache,
    progress: &'a dyn Progress,
    delay_ms: u64,
}

/// Runs the batch. `on_volume(entry, finished, to_do)` hears each volume as its manifest
/// line is written. Errors only for problems with the batch itself (folders, manifest);
/// a bad volume is a failed line and the batch goes on.
pub fn run_batch(
    req: &BatchRequest,
    progress: &dyn Progress,
    on_volume: &(dyn Fn(&ManifestEntry, usize, usize) + Sync),
) -> Result<BatchReport> {
    let t0 = Instant::now();
    check_request(req)?;
    let _running = RunningMarker::create(&req.output_dir, req.shard)?;
    super::keep_large_buffers_apart();
    let files = discover(&req.input_dir, &req.pattern)?;
    if files.is_empty() {
        return Err(ReconError::Invalid(format!(
            "{}: no file matches '{}'",
            req.input_dir.display(),
            req.pattern
        )));
    }
    let mine: Vec<PathBuf> =
        files.into_iter().enumerate().filter(|(i, _)| req.shard.takes(*i)).map(|(_, p)| p).collect();
    let settings = req.settings();
    let manifest = req.output_dir.join(req.shard.file_name("manifest", "jsonl"));
    let (entries, ignored) = read_manifest(&manifest)?;
    let before = latest(entries);
    let writer = ManifestWriter::open(&manifest)?;

    let (mut todo, mut names, mut outs) = (Vec::new(), Vec::new(), HashSet::new());
    let mut skipped = 0;
    for path in &mine {
        let file_name = path.file_name().unwrap_or_default();
        let name = file_name.to_string_lossy().into_owned();
        let out = output_file_name(file_name);
        if !outs.insert(out.clone()) {
            return Err(ReconError::format(
                path,
                format!("another input also writes {}; rename one", Path::new(&out).display()),
            ));
        }
        let complete = before.get(&name).is_some_and(|e| {
            e.status == Status::Ok && e.settings == settings && req.outputs(&out).iter().all(|p| p.is_file())
        });
        if complete {
            skipped += 1;
        } else {
            todo.push((path.clone(), name.clone(), out));
        }
        names.push(name);
    }
    drop(before);
    let ctx = Ctx {
        req,
        settings,
        shard: req.shard.to_string(),
        models: ModelCache::default(),
        progress,
        delay_ms: std::env::var(TEST_DELAY_ENV).ok().and_then(|v| v.parse().ok()).unwrap_or(0),
    };
    let to_do = todo.len();
    let finished = AtomicUsize::new(0);
    // Only counts stay in memory: each line is written, heard and dropped (the tables are
    // made from the manifest at the end). A line kept per volume, allocated between the
    // volumes' buffers, pins its heap pages: peak memory crept up with the volumes.
    let tally = Tally::default();
    let record = |entry: ManifestEntry| -> Result<()> {
        writer.append(&entry)?;
        tally.add(&entry);
        on_volume(&entry, finished.fetch_add(1, Ordering::SeqCst) + 1, to_do);
        Ok(())
    };

    // Open every volume to be done first: unreadable files fail now, and the slice count
    // gives the progress bar its total. Opening reads metadata only (h5).
    let mut jobs = Vec::new();
    for (path, name, out) in todo {
        remove_stale_temps(&req.outputs(&out));
        match Scan::open(&path) {
            Ok(scan) => jobs.push(Job {
                path,
                name,
                out,
                slices: scan.num_slices,
                acquisition: scan.acquisition.clone().unwrap_or_else(|| "unknown".into()),
            }),
            Err(e) => record(ManifestEntry::failed(
                &name,
                &out.to_string_lossy(),
                e.one_line(),
                &ctx.settings,
                &ctx.shard,
            ))?,
        }
    }
    let total_slices: usize = jobs.iter().map(|j| j.slices).sum();
    run_jobs(&ctx, &jobs, total_slices, &record)?;
    drop(jobs);

    let latest = latest(read_manifest(&manifest)?.0);
    let shard_entries: Vec<&ManifestEntry> = names.iter().filter_map(|n| latest.get(n)).collect();
    let csv = req.output_dir.join(req.shard.file_name("manifest", "csv"));
    let summary_csv = req.output_dir.join(req.shard.file_name("summary", "csv"));
    let (groups, failures) = write_tables(&shard_entries, &csv, &summary_csv)?;
    let seconds = t0.elapsed().as_secs_f64();
    let [done, failed, slices] = tally.0.map(|c| c.into_inner());
    Ok(BatchReport {
        shard: req.shard,
        files: mine.len(),
        done,
        skipped,
        failed,
        slices,
        slices_per_second: if seconds > 0.0 { slices as f64 / seconds } else { 0.0 },
        seconds,
        peak_rss_mib: super::peak_rss_mib(),
        ignored_manifest_lines: ignored,
        manifest,
        csv,
        summary_csv,
        groups,
        failures,
    })
}

/// Writes the per-volume CSV and the summary CSV of `entries` (in file-name order);
/// returns the summary rows and the failed entries.
pub(crate) fn write_tables(
    entries: &[&ManifestEntry],
    csv: &Path,
    summary_csv: &Path,
) -> Result<(Vec<GroupSummary>, Vec<ManifestEntry>)> {
    let failures: Vec<&ManifestEntry> =
        entries.iter().copied().filter(|e| e.status == Status::Failed).collect();
    let groups = summary::summarise(entries);
    write_csv(csv, entries)?;
    summary::write_summary_csv(summary_csv, &groups, &failures)?;
    Ok((groups, failures.into_iter().cloned().collect()))
}

/// `--jobs` within 0 (one per core) to [`MAX_JOBS`].
pub(crate) fn check_jobs(jobs: usize) -> Result<()> {
    if jobs > MAX_JOBS {
        return Err(ReconError::Invalid(format!("--jobs {jobs}: must be 0 (one per core) to {MAX_JOBS}")));
    }
    Ok(())
}

fn check_request(req: &BatchRequest) -> Result<()> {
    check_jobs(req.jobs)?;
    match &req.mask {
        MaskSpec::Family { family, params } => {
            family.build(params)?;
        }
        MaskSpec::File(path) => {
            crate::io::limits::check_regular_file(path)?;
        }
        MaskSpec::None => {}
    }
    if let ModelChoice::File(p) = &req.model {
        // A built-in model's name (`default-cartesian`, `default-n2n`) is not a file.
        if !p.is_file() && crate::network::built_in(p).is_none() {
            return Err(ReconError::io(p, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
    }
    if !req.input_dir.is_dir() {
        return Err(ReconError::Invalid(format!("{}: not a folder", req.input_dir.display())));
    }
    std::fs::create_dir_all(&req.output_dir).map_err(|e| ReconError::io(&req.output_dir, e))?;
    for sub in [(req.png, "png"), (req.nifti, "nifti")].iter().filter(|s| s.0).map(|s| s.1) {
        let d = req.output_dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| ReconError::io(&d, e))?;
    }
    let same = req.input_dir.canonicalize().ok() == req.output_dir.canonicalize().ok();
    if same {
        return Err(ReconError::Invalid(format!(
            "{}: the output folder must not be the input folder (outputs have the input names)",
            req.output_dir.display()
        )));
    }
    Ok(())
}

fn run_jobs(
    ctx: &Ctx,
    jobs: &[Job],
    total_slices: usize,
    record: &(dyn Fn(ManifestEntry) -> Result<()> + Sync),
) -> Result<()> {
    ctx.progress.start("slices", total_slices as u64);
    let result = run_on_workers(jobs, ctx.req.jobs, &|job| process_guarded(ctx, job), record);
    ctx.progress.finish();
    result
}

/// Volumes done, volumes failed, slices done (of the volumes done), by this run.
#[derive(Default)]
struct Tally([AtomicUsize; 3]);

impl Tally {
    fn add(&self, e: &ManifestEntry) {
        let ok = e.status == Status::Ok;
        self.0[usize::from(!ok)].fetch_add(1, Ordering::SeqCst);
        if ok {
            self.0[2].fetch_add(e.slices, Ordering::SeqCst);
        }
    }
}

/// One volume, as its manifest line; a panic while reconstructing it (a bug, never a bad
/// file's doing) is that volume's failure too, not the end of the batch.
fn process_guarded(ctx: &Ctx, job: &Job) -> ManifestEntry {
    let t0 = Instant::now();
    let outcome = catch_panic(&job.path, || reconstruct_one(ctx, job));
    match outcome {
        Ok(report) => entry(ctx, job, &report, t0.elapsed().as_secs_f64()),
        Err(e) => {
            let out = job.out.to_string_lossy();
            let mut f = ManifestEntry::failed(&job.name, &out, e.one_line(), &ctx.settings, &ctx.shard);
            f.acquisition = job.acquisition.clone();
            f.slices = job.slices;
            f.seconds = t0.elapsed().as_secs_f64();
            f
        }
    }
}

fn reconstruct_one(ctx: &Ctx, job: &Job) -> Result<ReconReport> {
    if ctx.delay_ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ctx.delay_ms));
    }
    let req = ctx.req;
    let outputs = req.outputs(&job.out);
    let recon = ReconRequest {
        input: job.path.clone(),
        output: outputs[0].clone(),
        mask: req.mask.clone(),
        seed: 0,
        seed_from_name: true,
        density_compensate: req.density_compensate,
        // The batch owns its outputs: one without a complete manifest line is redone.
        force: true,
        model: req.model.clone(),
        method: req.method,
        classical: req.classical,
        adapt: 0,
    };
    let report = reconstruct_with(&recon, &|c, m| ctx.models.get(c, m), &SliceCounter(ctx.progress))?;
    super::previews::write_previews(&outputs, &recon.input)?;
    // The manifest line comes after this: make sure the output it vouches for is on disk.
    // (file contents and, for the renames, the folders).
    for p in &outputs {
        std::fs::File::open(p).and_then(|f| f.sync_all()).map_err(|e| ReconError::io(p, e))?;
        if let Some(dir) = p.parent() {
            std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| ReconError::io(dir, e))?;
        }
    }
    Ok(report)
}

fn entry(ctx: &Ctx, job: &Job, r: &ReconReport, seconds: f64) -> ManifestEntry {
    let seed = match (&r.mask.seed_name, r.mask.acquired) {
        (Some(name), _) => name.clone(),
        (None, true) => "acquired".into(),
        (None, false) => "none".into(),
    };
    ManifestEntry {
        file: job.name.clone(),
        status: Status::Ok,
        error: None,
        output: job.out.to_string_lossy().into_owned(),
        acquisition: job.acquisition.clone(),
        slices: r.slices,
        mask: r.mask.name.clone(),
        acceleration: r.mask.requested_acceleration,
        achieved_acceleration: Some(r.mask.achieved_acceleration),
        center_fraction: r.mask.center_fraction.unwrap_or(ctx.settings.center_fraction),
        seed,
        model: r.model.clone(),
        method: r.method.clone(),
        metrics: r.metrics.iter().map(|m| (m.method.clone(), m.metrics)).collect::<BTreeMap<_, _>>(),
        metrics_note: r.metrics_note.clone(),
        seconds,
        slices_per_second: if seconds > 0.0 { r.slices as f64 / seconds } else { 0.0 },
        finished_unix: super::manifest::now_unix(),
        shard: ctx.shard.clone(),
        settings: ctx.settings.clone(),
    }
}

/// Forwards slice increments to the batch's bar (each volume's own start/finish are not
/// the batch's).
struct SliceCounter<'a>(&'a dyn Progress);

impl Progress for SliceCounter<'_> {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
}
