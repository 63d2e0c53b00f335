//! The files of a study's results: `results.jsonl` (one line per cell, appended and fsynced
//! as cells finish: the resume state), and the tables made from it, `results.csv`,
//! `summary.csv` and `paired.csv`.
//!
//! Each line of `results.jsonl` is a [`CellRecord`] with three more fields: the settings it
//! was computed with ([`CellSettings`]), the shard and the time it was written. The tables
//! hold only values that a re-run reproduces (no seconds: those are in `results.jsonl`), in
//! the study's order (volume, mask, acceleration, centre, seed, method), so that a resumed
//! study or merged shards write the same bytes as one uninterrupted run.

use super::plan::{cell_key, CellSettings, Recorded, Unit};
use super::record::{CellRecord, Estimate, GroupStats, PairedDifference};
use crate::batch::manifest::{csv_cell, read_jsonl, write_text};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// One line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultLine {
    #[serde(flatten)]
    pub cell: CellRecord,
    pub settings: CellSettings,
    /// `I/N`.
    pub shard: String,
    /// Seconds since the Unix epoch when the line was written (the latest line of a cell wins).
    pub finished_unix: f64,
}

/// The lines of a results file that parse, and how many did not (a line cut by a kill).
pub fn read_results(path: &Path) -> Result<(Vec<ResultLine>, usize)> {
    read_jsonl(path)
}

/// The lines of `lines` that belong to the study now: a volume of `volumes`, a unit of
/// `units`, one of `methods`, computed with the current settings; the latest line of each
/// cell, in the study's order (volumes as listed, then units, then methods).
pub fn current_lines(
    lines: Vec<ResultLine>,
    volumes: &[String],
    units: &[Unit],
    methods: &[crate::classical::Method],
    recorded: &Recorded,
) -> Vec<ResultLine> {
    let mut order: HashMap<String, usize> = HashMap::new();
    let mut settings = HashMap::new();
    let mut i = 0;
    for v in volumes {
        for u in units {
            for m in methods {
                order.insert(u.key(v, m.name()), i);
                i += 1;
            }
        }
    }
    for m in methods {
        settings.insert(m.name().to_string(), recorded.settings(*m));
    }
    let mut latest: HashMap<usize, ResultLine> = HashMap::new();
    for line in lines {
        let Some(&at) = order.get(&cell_key(&line.cell)) else { continue };
        if settings.get(&line.cell.method) != Some(&line.settings) {
            continue;
        }
        match latest.get(&at) {
            Some(old) if old.finished_unix > line.finished_unix => {}
            _ => {
                latest.insert(at, line);
            }
        }
    }
    let mut cells: Vec<(usize, ResultLine)> = latest.into_iter().collect();
    cells.sort_by_key(|(i, _)| *i);
    cells.into_iter().map(|(_, l)| l).collect()
}

/// A number as Rust writes it (shortest round trip), empty for none.
fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `results.csv`: one row per cell.
pub fn write_results_csv(path: &Path, cells: &[CellRecord]) -> Result<()> {
    let mut s = String::from(
        "volume,mask,acceleration,centre,method,seed,psnr,ssim,nmse,achieved_acceleration,\
         psf_peak_sidelobe_ratio,incoherence,centre_sampled_fraction\n",
    );
    for c in cells {
        let row = [
            csv_cell(&c.volume),
            csv_cell(&c.mask),
            num(Some(c.acceleration)),
            num(c.centre),
            c.method.clone(),
            c.seed.to_string(),
            num(Some(c.psnr)),
            num(Some(c.ssim)),
            num(Some(c.nmse)),
            num(Some(c.achieved_acceleration)),
            num(Some(c.psf_peak_sidelobe_ratio)),
            num(Some(c.incoherence)),
            num(Some(c.centre_sampled_fraction)),
        ];
        s += &row.join(",");
        s.push('\n');
    }
    write_text(path, &s)
}

fn estimate_cells(e: &Estimate) -> [String; 4] {
    [e.mean, e.std, e.ci_low, e.ci_high].map(|v| num(Some(v)))
}

/// `summary.csv`: one row per (mask, acceleration, method).
pub fn write_summary_csv(path: &Path, groups: &[GroupStats]) -> Result<()> {
    let mut s = String::from("mask,acceleration,method,n");
    for m in ["psnr", "ssim", "nmse"] {
        s += &format!(",{m}_mean,{m}_std,{m}_ci_low,{m}_ci_high");
    }
    s += ",achieved_acceleration\n";
    for g in groups {
        let mut row = vec![csv_cell(&g.mask), num(Some(g.acceleration)), g.method.clone(), g.n.to_string()];
        for e in [&g.psnr, &g.ssim, &g.nmse] {
            row.extend(estimate_cells(e));
        }
        row.push(num(Some(g.achieved_acceleration)));
        s += &row.join(",");
        s.push('\n');
    }
    write_text(path, &s)
}

/// `paired.csv`: one row per (mask pair, acceleration, method, metric).
pub fn write_paired_csv(path: &Path, paired: &[PairedDifference]) -> Result<()> {
    let mut s =
        String::from("mask_a,mask_b,acceleration,method,metric,n,mean,std,ci_low,ci_high,significant\n");
    for p in paired {
        let mut row = vec![
            csv_cell(&p.mask_a),
            csv_cell(&p.mask_b),
            num(Some(p.acceleration)),
            p.method.clone(),
            p.metric.clone(),
            p.n.to_string(),
        ];
        row.extend(estimate_cells(&p.difference));
        row.push(p.significant.to_string());
        s += &row.join(",");
        s.push('\n');
    }
    write_text(path, &s)
}
