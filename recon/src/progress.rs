//! Progress reporting without a UI dependency: the pipelines call a [`Progress`], the CLI
//! implements it with a progress bar.

/// Receives progress of long work: the total once known, then increments.
pub trait Progress: Sync {
    /// Starts a stage of `total` units with a short label ("slices", "volumes").
    fn start(&self, _label: &str, _total: u64) {}
    /// `n` more units are done.
    fn inc(&self, _n: u64) {}
    /// The current state in a few words (e.g. the last training loss), shown with the
    /// progress; replaces the previous status.
    fn status(&self, _status: &str) {}
    /// A line of information for the user (e.g. which model was picked).
    fn message(&self, _msg: &str) {}
    /// The stage is over.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}
