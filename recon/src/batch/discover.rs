//! Which files a batch (or one shard of it) processes.

use crate::error::{ReconError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Shard `index` of `count`: the files at sorted positions `p` with `p % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole dataset (`0/1`).
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = |why: &str| ReconError::Invalid(format!("--shard '{s}': {why}"));
        let (i, n) = s.split_once('/').ok_or_else(|| bad("expected I/N, e.g. 0/4"))?;
        let index: usize = i.trim().parse().map_err(|_| bad("I is not a whole number"))?;
        let count: usize = n.trim().parse().map_err(|_| bad("N is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(bad("need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether the file at sorted position `position` belongs to this shard.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// `name.ext` for the whole dataset, `name.shard-I-of-N.ext` for a shard.
    pub fn file_name(&self, name: &str, ext: &str) -> String {
        if self.count == 1 {
            format!("{name}.{ext}")
        } else {
            format!("{name}.shard-{}-of-{}.{ext}", self.index, self.count)
        }
    }

    /// The shard a file name written by [`Shard::file_name`] belongs to (`ALL` without a
    /// shard part), `None` for other names.
    pub fn of_file_name(file: &str, name: &str, ext: &str) -> Option<Shard> {
        let middle = file.strip_prefix(name)?.strip_suffix(ext)?.strip_suffix('.')?;
        if middle.is_empty() {
            return Some(Shard::ALL);
        }
        let (i, n) = middle.strip_prefix(".shard-")?.split_once("-of-")?;
        let s = Shard { index: i.parse().ok()?, count: n.parse().ok()? };
        (s.count > 0 && s.index < s.count).then_some(s)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Shell-style match of a whole file name: `*` any run of characters, `?` one character,
/// everything else itself. A name starting with `.` matches only a pattern that does.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative wildcard match with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// The entries of `dir` other than folders whose names match `pattern`, sorted by file name
/// (bytes). Not only regular files: a FIFO, device or dangling link named like a scan is
/// listed so that the batch reports it as a failed volume (the readers refuse it) rather than
/// leaving it out without a word.
pub fn discover(dir: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| ReconError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| ReconError::io(dir, e))?;
        let name = entry.file_name();
        if matches_pattern(pattern, &name.to_string_lossy()) && !entry.path().is_dir() {
            files.push((name, entry.path()));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_a_shell() {
        assert!(matches_pattern("*.h5", "file1000001.h5"));
        assert!(!matches_pattern("*.h5", "file1000001.h5.tmp"));
        assert!(!matches_pattern("*.h5", ".file.h5.12.tmp"));
        assert!(matches_pattern("file?.h5", "file1.h5") && !matches_pattern("file?.h5", "file12.h5"));
        assert!(matches_pattern("*a*b*", "xxaxxbxx") && !matches_pattern("*a*b", "xxbxxa"));
        assert!(matches_pattern("*", "x") && matches_pattern("**", ""));
    }

    #[test]
    fn shards_partition_and_name_their_files() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::parse(&format!("{i}/3")).unwrap()).collect();
        for p in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.takes(p)).count(), 1);
        }
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let s = shards[1];
        assert_eq!(s.file_name("manifest", "jsonl"), "manifest.shard-1-of-3.jsonl");
        assert_eq!(Shard::of_file_name("manifest.shard-1-of-3.jsonl", "manifest", "jsonl"), Some(s));
        assert_eq!(Shard::of_file_name("manifest.jsonl", "manifest", "jsonl"), Some(Shard::ALL));
        assert_eq!(Shard::of_file_name("manifest.csv", "manifest", "jsonl"), None);
        assert_eq!(Shard::of_file_name("manifest.shard-3-of-3.jsonl", "manifest", "jsonl"), None);
    }
}
