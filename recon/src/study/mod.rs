//! `recon study`: sweeps of undersampling patterns (mask family, acceleration, centre,
//! method, seed) over a folder of fully sampled volumes, their statistics, and a report.
//!
//! * `record`: the values a study produces (shared by the sweep and the report).
//! * `report`: `report.html` and the PNG figures, drawn from a [`record::ReportInput`].

pub mod record;
pub mod report;

pub use record::{CellRecord, Estimate, GroupStats, MaskView, PairedDifference, ReportInput, SliceView};
pub use report::{write_report, ReportFiles};
