//! # recon — MRI reconstruction pipelines
//!
//! Joins the k-space physics ([`kspace`]) and the networks (`models`): file formats
//! ([`io`]), metrics ([`metrics`]), and the pipelines that the `recon` binary calls. Every
//! pipeline is a function of a request that returns a serialisable report, and is
//! re-exported here:
//!
//! - reconstruct: [`reconstruct()`] of a [`ReconRequest`] (options [`ModelChoice`],
//!   [`ClassicalOptions`], [`MapsChoice`], [`Method`], [`MethodChoice`]) → [`ReconReport`]
//!   with [`MethodMetrics`] and [`MethodTiming`]; inputs are opened with [`Scan::open`];
//! - simulate: [`simulate()`] of a [`SimulateRequest`] → [`SimulateReport`];
//! - evaluate: [`evaluate()`] of two folders → [`EvalReport`];
//! - train: [`train()`] of a [`TrainConfig`] ([`Mode`], [`Targets`], [`RunControl`], the
//!   bounds in [`train::settings`]) → [`TrainReport`];
//! - batch: [`run_batch`] of a [`BatchRequest`] ([`Shard`]) → [`BatchReport`], [`merge`];
//!   the manifest ([`ManifestEntry`], [`Status`]) and its [`GroupSummary`];
//! - denoise: [`denoise::train`], [`denoise::evaluate`], [`Denoiser`] with [`DenoiseConfig`]
//!   and [`NoiseSpec`];
//! - maps: [`write_maps`] of a [`MapsRequest`] ([`EspiritOptions`]) → [`MapsReport`];
//! - info: [`describe`] → [`FileInfo`];
//! - mask: [`make_mask`], [`parse_shape`], [`validate_params`] of a [`MaskSpec`].
//!
//! Building blocks: [`io`] (HDF5, NIfTI, CFL, PNG, NPY readers and writers, size limits,
//! atomic outputs), [`metrics`], [`progress`] (the [`progress::Progress`] trait), [`error`],
//! and [`engine`], the generic training loop: implement [`engine::Recipe`] to train a model
//! of your own.

pub mod batch;
#[doc(hidden)]
pub mod bench_support;
mod classical;
pub mod denoise;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod info;
pub mod io;
pub mod maps;
pub mod maskfile;
pub mod maskgen;
mod methods;
pub mod metrics;
mod mri;
mod network;
pub mod progress;
pub mod reconstruct;
mod scan;
pub mod simulate;
pub mod study;
mod tensor;
pub mod train;

pub use batch::{
    merge, run_batch, BatchReport, BatchRequest, GroupSummary, ManifestEntry, MergeReport, Shard, Status,
};
pub use classical::{ClassicalOptions, CycleSpinning, FinalStep, MapsChoice, Method, MethodChoice};
pub use denoise::{DenoiseConfig, Denoiser, NoiseSpec};
pub use error::{ReconError, Result};
pub use evaluate::{evaluate, EvalReport};
pub use info::{describe, FileInfo};
/// The mask specification the commands take (`--mask`), its parameters and the table of
/// mask families (for `--help`).
pub use kspace::mask::{MaskFamily, MaskParams, MaskSpec, FAMILIES as MASK_FAMILIES};
pub use maps::{write_maps, EspiritOptions, MapsReport, MapsRequest};
pub use maskgen::{make_mask, parse_shape, validate_params};
/// Call once before training: freed tensor memory is kept for reuse instead of being
/// returned to the kernel and faulted in again page by page (glibc; see
/// `models::reuse_freed_memory`). Not for batch runs: each thread's heap would keep its peak.
pub use models::reuse_freed_memory;
pub use mri::acquired::{AcquiredSet, AcquiredSlice};
pub use network::ModelChoice;
pub use reconstruct::{reconstruct, MethodMetrics, MethodTiming, ReconReport, ReconRequest};
pub use scan::{Format as ScanFormat, Scan, ScanSlice, SliceGeometry};
pub use simulate::{simulate, SimulateReport, SimulateRequest};
pub use train::{train, Mode, RunControl, Targets, TrainConfig, TrainReport};
