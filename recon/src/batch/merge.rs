//! `recon batch merge`: combine the manifests of the shards of one batch into the files an
//! unsharded run writes (`manifest.jsonl`, `manifest.csv`, `summary.csv`).
//!
//! A merge is all or nothing. It reads only the shard manifests
//! (`manifest.shard-I-of-N.jsonl`), never its own output `manifest.jsonl`, so merging twice
//! gives the same files. It refuses, writing nothing, while the batch is incomplete:
//! * a shard has no manifest (not started, or in another folder);
//! * a shard is still running, or was killed: a running shard keeps
//!   `manifest.shard-I-of-N.running` in the folder from its start to its end (see
//!   [`super::files::RunningMarker`]); a kill leaves it, and re-running the shard (which
//!   resumes) completes the manifest and removes it. On a shared file system the marker is
//!   seen from every node, unlike a process id or a lock.

use super::discover::Shard;
use super::manifest::{read_manifest, ManifestEntry, ManifestWriter};
use super::run::write_tables;
use super::summary::GroupSummary;
use crate::error::{ReconError, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a merge found and wrote.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    /// The shard manifests read.
    pub manifests: Vec<PathBuf>,
    /// Number of shards N of the shard files.
    pub shards: usize,
    pub volumes: usize,
    pub failed: usize,
    pub ignored_manifest_lines: usize,
    pub manifest: PathBuf,
    pub csv: PathBuf,
    pub summary_csv: PathBuf,
    pub groups: Vec<GroupSummary>,
    pub failures: Vec<ManifestEntry>,
}

/// Merges every `manifest.shard-I-of-N.jsonl` in `dir`: per file the latest line wins (by
/// `finished_unix`). Writes `manifest.jsonl` (sorted by file name, written under a temporary
/// name and renamed), `manifest.csv` and `summary.csv`. Shards of different N in one folder
/// are a usage error; a missing, running or killed shard is a [`ReconError::Failed`] and
/// nothing is written (see the module doc).
pub fn merge(dir: &Path) -> Result<MergeReport> {
    let (found, shards) = finished_shards(dir, "manifest")?;
    let mut by_file: BTreeMap<String, ManifestEntry> = BTreeMap::new();
    let mut ignored = 0;
    let mut manifests = Vec::new();
    for path in found {
        let (entries, skipped) = read_manifest(&path)?;
        ignored += skipped;
        for e in entries {
            match by_file.get(&e.file) {
                Some(old) if old.finished_unix > e.finished_unix => {}
                _ => {
                    by_file.insert(e.file.clone(), e);
                }
            }
        }
        manifests.push(path);
    }
    let manifest = dir.join(Shard::ALL.file_name("manifest", "jsonl"));
    crate::io::atomic::write_atomic(&manifest, |tmp| {
        let w = ManifestWriter::open(tmp)?;
        by_file.values().try_for_each(|e| w.append(e))
    })?;
    let entries: Vec<&ManifestEntry> = by_file.values().collect();
    let csv = dir.join(Shard::ALL.file_name("manifest", "csv"));
    let summary_csv = dir.join(Shard::ALL.file_name("summary", "csv"));
    let (groups, failures) = write_tables(&entries, &csv, &summary_csv)?;
    Ok(MergeReport {
        manifests,
        shards,
        volumes: entries.len(),
        failed: failures.len(),
        ignored_manifest_lines: ignored,
        manifest,
        csv,
        summary_csv,
        groups,
        failures,
    })
}

/// The shard files `<stem>.shard-I-of-N.jsonl` of `dir` (sorted by name) and N, once every
/// shard has finished: shards of different N are a usage error; a missing shard, or one
/// whose `<stem>.shard-I-of-N.running` marker is there (running or killed), is a
/// [`ReconError::Failed`] (module docs). `recon study merge` uses it with `results`.
pub(crate) fn finished_shards(dir: &Path, stem: &str) -> Result<(Vec<PathBuf>, usize)> {
    let rd = std::fs::read_dir(dir).map_err(|e| ReconError::io(dir, e))?;
    let mut found: Vec<(String, Shard)> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            // The unsharded `<stem>.jsonl` is the merge's own output: never an input.
            Shard::of_file_name(&n, stem, "jsonl").filter(|s| s.count > 1).map(|s| (n, s))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let counts: std::collections::BTreeSet<usize> = found.iter().map(|(_, s)| s.count).collect();
    if counts.len() > 1 {
        return Err(ReconError::Invalid(format!(
            "{}: shard files of different shard counts {counts:?}; merge one run at a time",
            dir.display()
        )));
    }
    let Some(shards) = counts.into_iter().next() else {
        return Err(ReconError::Invalid(format!(
            "{}: no shard file ({stem}.shard-I-of-N.jsonl) to merge",
            dir.display()
        )));
    };
    let missing: Vec<usize> = (0..shards).filter(|i| !found.iter().any(|(_, s)| s.index == *i)).collect();
    if !missing.is_empty() {
        return Err(ReconError::Failed(format!(
            "{}: no {stem} file for shard(s) {missing:?} of {shards}: the run is incomplete, nothing merged \
             (run the missing shards into this folder, then merge)",
            dir.display()
        )));
    }
    let marker = |index| Shard { index, count: shards }.file_name(stem, "running");
    let running: Vec<usize> = (0..shards).filter(|&index| dir.join(marker(index)).exists()).collect();
    if !running.is_empty() {
        return Err(ReconError::Failed(format!(
            "{}: shard(s) {running:?} of {shards} still running, or killed ({} is there): \
             nothing merged (wait for them, or re-run a killed shard, then merge)",
            dir.display(),
            marker(running[0])
        )));
    }
    Ok((found.into_iter().map(|(n, _)| dir.join(n)).collect(), shards))
}
