//! The records a study produces, shared by the sweep (`run`, `stats`) and the report
//! (`report`): plain, serialisable values, so that the report can be drawn again from
//! `results.jsonl` and the saved slices without running anything.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// One cell of a study on one volume: a mask (family and parameters, or a file) at one
/// acceleration with one seed, reconstructed by one method, and its metrics against the
/// fully sampled reference (fastMRI's definitions, over the volume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// The volume's file name (not the path), as in `recon batch`.
    pub volume: String,
    /// The mask label in `recon --mask`'s text form (`kspace::mask::MaskSpec`) without the
    /// acceleration: the family name (`random`, `poisson`, ...), the family with its other
    /// parameters (`poisson:calib=24x24`, `random:center_fraction=0.04` when centre fractions
    /// are swept), or `file:PATH` as given.
    pub mask: String,
    /// The requested acceleration (for a mask file: its achieved acceleration).
    pub acceleration: f64,
    /// The centre fraction, for the families that read one (1-D families; `poisson` and
    /// `gaussian` without a `calib` box, which is in the label); `None` otherwise.
    pub centre: Option<f64>,
    /// `zero_filled`, `sense`, `cs`, `tv` or `network` (`Method::name`).
    pub method: String,
    pub seed: u32,
    pub psnr: f64,
    pub ssim: f64,
    pub nmse: f64,
    /// Samples on the grid / samples kept, of the mask actually applied.
    pub achieved_acceleration: f64,
    /// The mask's point-spread-function analysis (`kspace::analysis`).
    pub psf_peak_sidelobe_ratio: f64,
    pub incoherence: f64,
    /// Fraction of the centre that is sampled: the `calib` box, else the central band of
    /// `round(W·cf)` columns (1-D masks) or `round(H·cf) × round(W·cf)` box (2-D), with `cf`
    /// the centre fraction or `0.32 / R` (see `study::cells`).
    pub centre_sampled_fraction: f64,
    /// Wall-clock seconds of this reconstruction (maps included for the classical methods).
    pub seconds: f64,
}

/// Mean, standard deviation and a 95 % bootstrap confidence interval of the mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    pub std: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The statistics of one (mask, acceleration, method) group over volumes and seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    pub mask: String,
    pub acceleration: f64,
    pub method: String,
    /// Number of cells (volumes × seeds) in the group.
    pub n: usize,
    pub psnr: Estimate,
    pub ssim: Estimate,
    pub nmse: Estimate,
    pub achieved_acceleration: f64,
}

/// Mask `a` minus mask `b` on the same volumes and seeds (paired), at one acceleration with
/// one method, for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    pub mask_a: String,
    pub mask_b: String,
    pub acceleration: f64,
    pub method: String,
    /// `psnr`, `ssim` or `nmse`.
    pub metric: String,
    /// Number of pairs.
    pub n: usize,
    /// Mean and 95 % bootstrap confidence interval of `a − b`.
    pub difference: Estimate,
    /// True when the confidence interval excludes zero.
    pub significant: bool,
}

/// One mask drawn on the first volume's grid (with the first seed) and its point-spread function, for the
/// report's mask figures.
#[derive(Debug, Clone)]
pub struct MaskView {
    pub mask: String,
    pub acceleration: f64,
    /// The sampling pattern on the k-space grid, 1 where sampled (rows = phase encodes).
    pub pattern: Array2<f32>,
    /// |PSF| normalised to a peak of 1, centred (`kspace::analysis::point_spread_function`).
    pub psf: Array2<f32>,
    /// Whether the PSF is a plane or, for a 1-D mask, one line (`kspace::analysis::psf_geometry`).
    pub geometry: kspace::analysis::PsfGeometry,
}

/// One slice reconstructed by every (mask, method) at one acceleration (the first seed), for the
/// report's grid of reconstructions and error maps.
#[derive(Debug, Clone)]
pub struct SliceView {
    pub volume: String,
    pub slice: usize,
    pub acceleration: f64,
    /// The fully sampled reference magnitude.
    pub reference: Array2<f32>,
    /// (mask label, method, reconstruction magnitude), in the study's order.
    pub reconstructions: Vec<(String, String, Array2<f32>)>,
}

/// Everything the report draws.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// A title line (the input folder and the sweep).
    pub title: String,
    /// The command that produced the study, shown in the report.
    pub command: String,
    pub records: Vec<CellRecord>,
    pub groups: Vec<GroupStats>,
    pub paired: Vec<PairedDifference>,
    pub masks: Vec<MaskView>,
    pub slice: Option<SliceView>,
    /// Reconstructions per second over the whole sweep, and its wall-clock seconds.
    pub throughput: Option<(f64, f64)>,
}
