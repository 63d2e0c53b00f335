//! The manifest: one JSON line per finished volume, appended durably, read tolerantly.

use crate::classical::{ClassicalOptions, CycleSpinning, FinalStep, MethodChoice};
use crate::error::{ReconError, Result};
use crate::metrics::VolumeMetrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The settings a volume was reconstructed with; a manifest line counts for resuming only
/// when they equal the current ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub mask: String,
    pub acceleration: f64,
    pub center_fraction: f64,
    pub p_edge: Option<f64>,
    pub density_compensate: bool,
    /// `default`, `none`, or the model file.
    pub model: String,
    pub png: bool,
    pub nifti: bool,
    /// `recon --method` (`network`, `zero_filled`, `sense`, `cs`, `tv`, `all`); lines written
    /// before methods existed read as `network`.
    #[serde(default = "network")]
    pub method: String,
    /// λ, iterations and maps of the classical methods, when one runs (None otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classical: Option<ClassicalSettings>,
}

/// The classical methods' options as recorded (defaults resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RecordedClassical")]
pub struct ClassicalSettings {
    pub lambda: f32,
    /// `--iterations`, or None for each method's default.
    pub iterations: Option<usize>,
    pub maps: String,
    /// `--cycle-spinning` of cs (`invariant`, `random`, `none`).
    pub cycle_spinning: String,
    /// `--final-step` of cs (`data-consistency`, `threshold`).
    pub final_step: String,
}

/// A manifest line's classical settings as written by any version: lines written before
/// `--cycle-spinning` and `--final-step` existed ran random shifts (or none, with
/// `no_cycle_spinning: true`) and returned the thresholded image.
#[derive(Deserialize)]
struct RecordedClassical {
    lambda: f32,
    iterations: Option<usize>,
    maps: String,
    cycle_spinning: Option<String>,
    #[serde(default)]
    no_cycle_spinning: bool,
    final_step: Option<String>,
}

impl From<RecordedClassical> for ClassicalSettings {
    fn from(r: RecordedClassical) -> Self {
        let legacy = if r.no_cycle_spinning { CycleSpinning::None } else { CycleSpinning::Random };
        ClassicalSettings {
            lambda: r.lambda,
            iterations: r.iterations,
            maps: r.maps,
            cycle_spinning: r.cycle_spinning.unwrap_or_else(|| legacy.name().into()),
            final_step: r.final_step.unwrap_or_else(|| FinalStep::Threshold.name().into()),
        }
    }
}

impl ClassicalSettings {
    /// What to record for `method`: the options when a classical method runs, else None.
    pub fn of(method: MethodChoice, opts: &ClassicalOptions) -> Option<Self> {
        method.methods().iter().any(|m| m.is_classical()).then(|| Self::resolved(opts))
    }

    /// The options with their defaults resolved.
    pub fn resolved(opts: &ClassicalOptions) -> Self {
        ClassicalSettings {
            lambda: opts.lambda(),
            iterations: opts.iterations,
            maps: opts.maps.name().into(),
            cycle_spinning: opts.cycle_spinning.name().into(),
            final_step: opts.final_step.name().into(),
        }
    }
}

fn network() -> String {
    "network".into()
}

/// How a volume ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Input file name (the key of the volume).
    pub file: String,
    pub status: Status,
    /// Why it failed (one line, naming the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Output file name in the output folder.
    pub output: String,
    /// fastMRI `acquisition` attribute (`unknown` when absent).
    pub acquisition: String,
    #[serde(default)]
    pub slices: usize,
    #[serde(default)]
    pub mask: String,
    /// Requested (or, for undersampled input, nominal) acceleration.
    #[serde(default)]
    pub acceleration: Option<f64>,
    #[serde(default)]
    pub achieved_acceleration: Option<f64>,
    #[serde(default)]
    pub center_fraction: f64,
    /// What seeded the mask: the file name (`recon --input FILE --seed-from-name`), or
    /// `acquired` / `none` when no mask was drawn.
    #[serde(default)]
    pub seed: String,
    #[serde(default)]
    pub model: Option<String>,
    /// `network` or `zero_filled`: what `reconstruction` holds.
    #[serde(default)]
    pub method: String,
    /// Per method (`network`, `zero_filled`) against the reference, when there is one.
    #[serde(default)]
    pub metrics: BTreeMap<String, VolumeMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_note: Option<String>,
    pub seconds: f64,
    #[serde(default)]
    pub slices_per_second: f64,
    /// Seconds since the Unix epoch when the line was written (latest line wins in a merge).
    pub finished_unix: f64,
    /// `I/N`.
    pub shard: String,
    pub settings: Settings,
}

impl ManifestEntry {
    /// A failed volume.
    pub fn failed(file: &str, output: &str, error: String, settings: &Settings, shard: &str) -> Self {
        ManifestEntry {
            file: file.to_string(),
            status: Status::Failed,
            error: Some(error),
            output: output.to_string(),
            acquisition: "unknown".into(),
            slices: 0,
            mask: settings.mask.clone(),
            acceleration: None,
            achieved_acceleration: None,
            center_fraction: settings.center_fraction,
            seed: String::new(),
            model: None,
            method: String::new(),
            metrics: BTreeMap::new(),
            metrics_note: None,
            seconds: 0.0,
            slices_per_second: 0.0,
            finished_unix: now_unix(),
            shard: shard.to_string(),
            settings: settings.clone(),
        }
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The complete lines of a manifest that parse, in file order; a missing file is empty.
/// Lines that do not parse (a half-written last line of a killed run, a foreign line) are
/// skipped and counted in the second value.
pub fn read_manifest(path: &Path) -> Result<(Vec<ManifestEntry>, usize)> {
    read_jsonl(path)
}

/// [`read_manifest`] for lines of any type (`recon study`'s results use it too).
pub(crate) fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(Vec<T>, usize)> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(ReconError::io(path, e)),
    };
    let mut entries = Vec::new();
    let mut skipped = 0;
    // Only newline-terminated lines are complete: a line cut by a kill has no newline.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    skipped += usize::from(!text.ends_with('\n') && !text.is_empty());
    for line in complete.split('\n').filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<T>(line) {
            Ok(e) => entries.push(e),
            Err(_) => skipped += 1,
        }
    }
    Ok((entries, skipped))
}

/// The last entry of each file (later lines win).
pub fn latest(entries: impl IntoIterator<Item = ManifestEntry>) -> BTreeMap<String, ManifestEntry> {
    let mut map = BTreeMap::new();
    for e in entries {
        map.insert(e.file.clone(), e);
    }
    map
}

/// Appends lines to a manifest: each line is written whole, flushed and fsynced before
/// [`ManifestWriter::append`] returns. Safe to share between threads.
pub struct ManifestWriter {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl ManifestWriter {
    /// Opens (creates) `path` for appending. If a killed run left a last line without its
    /// newline, a newline is added so that the next line starts clean (the cut line stays
    /// unparsable and is ignored).
    pub fn open(path: &Path) -> Result<Self> {
        let io = |e| ReconError::io(path, e);
        let mut file =
            std::fs::OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io)?;
                file.sync_data().map_err(io)?;
            }
        }
        Ok(ManifestWriter { path: path.to_path_buf(), file: Mutex::new(file) })
    }

    /// Appends `entry` as one line, durably.
    pub fn append<T: Serialize>(&self, entry: &T) -> Result<()> {
        let mut line = serde_json::to_string(entry).map_err(|e| {
            ReconError::Invalid(format!("{}: cannot encode a line: {e}", self.path.display()))
        })?;
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let io = |e| ReconError::io(&self.path, e);
        f.write_all(line.as_bytes()).map_err(io)?;
        f.flush().map_err(io)?;
        f.sync_data().map_err(io)
    }
}

/// Writes the per-volume CSV (one row per entry, in the given order) atomically.
pub fn write_csv(path: &Path, entries: &[&ManifestEntry]) -> Result<()> {
    let mut s = String::from(
        "file,status,acquisition,acceleration,achieved_acceleration,mask,center_fraction,seed,slices,method,\
         psnr,ssim,nmse,zero_filled_psnr,zero_filled_ssim,zero_filled_nmse,seconds,slices_per_second,model,error\n",
    );
    let num = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    for e in entries {
        let m = |method: &str| e.metrics.get(method);
        let rec = m(&e.method);
        let zf = m("zero_filled");
        let cells = [
            csv_cell(&e.file),
            format!("{:?}", e.status).to_lowercase(),
            csv_cell(&e.acquisition),
            num(e.acceleration),
            num(e.achieved_acceleration),
            csv_cell(&e.mask),
            format!("{}", e.center_fraction),
            csv_cell(&e.seed),
            e.slices.to_string(),
            csv_cell(&e.method),
            num(rec.map(|m| m.psnr)),
            num(rec.map(|m| m.ssim)),
            num(rec.map(|m| m.nmse)),
            num(zf.map(|m| m.psnr)),
            num(zf.map(|m| m.ssim)),
            num(zf.map(|m| m.nmse)),
            format!("{:.3}", e.seconds),
            format!("{:.2}", e.slices_per_second),
            csv_cell(e.model.as_deref().unwrap_or("")),
            csv_cell(e.error.as_deref().unwrap_or("")),
        ];
        s += &cells.join(",");
        s.push('\n');
    }
    write_text(path, &s)
}

/// Writes `text` to `path` under a temporary name, then renames it.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    crate::io::atomic::write_atomic(path, |tmp| std::fs::write(tmp, text).map_err(|e| ReconError::io(tmp, e)))
}

/// A CSV field, quoted when it holds a comma, quote or newline.
pub fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            mask: "random".into(),
            acceleration: 4.0,
            center_fraction: 0.08,
            p_edge: None,
            density_compensate: false,
            model: "none".into(),
            method: "zero_filled".into(),
            classical: None,
            png: false,
            nifti: false,
        }
    }

    #[test]
    fn a_cut_last_line_is_ignored_and_the_next_append_starts_clean() {
        let dir = std::env::temp_dir().join(format!("recon-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("manifest.jsonl");
        let _ = std::fs::remove_file(&path);
        let a = ManifestEntry::failed("a.h5", "a.h5", "bad".into(), &settings(), "0/1");
        let w = ManifestWriter::open(&path).unwrap();
        w.append(&a).unwrap();
        drop(w);
        // A kill in the middle of the second line.
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"file":"b.h5","sta"#).unwrap();
        drop(f);
        let (entries, skipped) = read_manifest(&path).unwrap();
        assert_eq!((entries, skipped), (vec![a.clone()], 1));
        let b = ManifestEntry::failed("b.h5", "b.h5", "worse, \"quoted\"".into(), &settings(), "0/1");
        ManifestWriter::open(&path).unwrap().append(&b).unwrap();
        let (entries, skipped) = read_manifest(&path).unwrap();
        assert_eq!((entries, skipped), (vec![a, b], 1));
        assert_eq!(csv_cell("x, \"y\""), "\"x, \"\"y\"\"\"");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Lines written before `--cycle-spinning` / `--final-step` read as what those versions
    /// ran: random shifts (none with `no_cycle_spinning`) and the thresholded image; current
    /// lines round-trip.
    #[test]
    fn classical_settings_of_older_lines_read_as_what_they_ran() {
        let old: ClassicalSettings =
            serde_json::from_str(r#"{"lambda":0.01,"iterations":null,"maps":"espirit"}"#).unwrap();
        assert_eq!((old.cycle_spinning.as_str(), old.final_step.as_str()), ("random", "threshold"));
        let off: ClassicalSettings = serde_json::from_str(
            r#"{"lambda":0.01,"iterations":5,"maps":"espirit","no_cycle_spinning":true}"#,
        )
        .unwrap();
        assert_eq!(off.cycle_spinning, "none");
        let now = ClassicalSettings::resolved(&ClassicalOptions::default());
        assert_eq!((now.cycle_spinning.as_str(), now.final_step.as_str()), ("invariant", "data-consistency"));
        assert_ne!(now, old, "a default run after an upgrade re-runs");
        let back: ClassicalSettings = serde_json::from_str(&serde_json::to_string(&now).unwrap()).unwrap();
        assert_eq!(back, now);
    }
}
