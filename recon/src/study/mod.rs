//! `recon study`: sweeps of undersampling patterns (mask family, acceleration, centre,
//! method, seed) over a folder of fully sampled volumes, their statistics, and a report.
//!
//! * `plan`: the sweep as typed values ([`StudyPlan`], `--seeds` [`parse_seeds`]) and its
//!   units (one mask drawn on a volume) and cells (a unit reconstructed by one method);
//! * `cells`: one unit on one volume, by `recon --input`'s code path, and the mask analysis;
//! * `run`: the sweep on the batch engine's workers, resumable and shardable
//!   ([`run_study`] of a [`StudyRequest`] → [`StudyReport`]);
//! * `results`: `results.jsonl` (the resume state) and the CSV tables;
//! * `stats`: means, standard deviations, bootstrap intervals, paired differences;
//! * `views`: the masks, their PSFs and the report slice;
//! * `finish`: tables and report at the end of a run, and [`merge`] of shards;
//! * `record`: the values a study produces (shared by the sweep and the report).
//! * `report`: `report.html` and the PNG figures, drawn from a [`record::ReportInput`].

mod cells;
mod finish;
pub mod plan;
pub mod record;
pub mod report;
mod results;
mod run;
pub mod stats;
mod views;

pub use finish::{merge, Finished, MergeReport};
pub use plan::{parse_seeds, split_mask_items, StudyPlan};
pub use record::{CellRecord, Estimate, GroupStats, MaskView, PairedDifference, ReportInput, SliceView};
pub use report::{write_report, ReportFiles};
pub use results::ResultLine;
pub use run::{run_study, StudyReport, StudyRequest};
