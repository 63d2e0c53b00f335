//! `recon batch merge`: combine the manifests of the shards of one batch into the files an
//! unsharded run writes (`manifest.jsonl`, `manifest.csv`, `summary.csv`).

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
    /// The manifests read (shard files, and `manifest.jsonl` when present).
    pub manifests: Vec<PathBuf>,
    /// Number of shards N of the shard files.
    pub shards: usize,
    /// Shard indices with no manifest (the merge is incomplete).
    pub missing_shards: Vec<usize>,
    pub volumes: usize,
    pub failed: usize,
    pub ignored_manifest_lines: usize,
    pub manifest: PathBuf,
    pub csv: PathBuf,
    pub summary_csv: PathBuf,
    pub groups: Vec<GroupSummary>,
    pub failures: Vec<ManifestEntry>,
}

/// Merges every `manifest.shard-I-of-N.jsonl` (and an existing `manifest.jsonl`) in `dir`:
/// per file the latest line wins (by `finished_unix`). Writes `manifest.jsonl` (sorted by
/// file name, written under a temporary name and renamed), `manifest.csv` and `summary.csv`.
/// Shards of different N in one folder are an error.
pub fn merge(dir: &Path) -> Result<MergeReport> {
    let rd = std::fs::read_dir(dir).map_err(|e| ReconError::io(dir, e))?;
    let mut found: Vec<(String, Shard)> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            Shard::of_file_name(&n, "manifest", "jsonl").map(|s| (n, s))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let counts: std::collections::BTreeSet<usize> =
        found.iter().map(|(_, s)| s.count).filter(|&c| c > 1).collect();
    if counts.len() > 1 {
        return Err(ReconError::Invalid(format!(
            "{}: shard manifests of different shard counts {counts:?}; merge one batch at a time",
            dir.display()
        )));
    }
    let shards = counts.into_iter().next().unwrap_or(1);
    if found.iter().all(|(_, s)| s.count == 1) {
        return Err(ReconError::Invalid(format!(
            "{}: no shard manifest (manifest.shard-I-of-N.jsonl) to merge",
            dir.display()
        )));
    }
    let missing_shards: Vec<usize> =
        (0..shards).filter(|i| !found.iter().any(|(_, s)| s.count == shards && s.index == *i)).collect();
    let mut by_file: BTreeMap<String, ManifestEntry> = BTreeMap::new();
    let mut ignored = 0;
    let mut manifests = Vec::new();
    for (name, _) in &found {
        let path = dir.join(name);
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
        missing_shards,
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
