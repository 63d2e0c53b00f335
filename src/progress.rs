//! A progress bar (indicatif) behind the library's [`recon::progress::Progress`] trait.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;

/// Draws on stderr when it is a terminal; silent when `quiet` (e.g. `--json`).
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        Bar { bar: Mutex::new(None), quiet }
    }
}

impl recon::progress::Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        let pb = if self.quiet {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(total)
        };
        pb.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_prefix(label.to_string());
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(pb);
    }
    fn inc(&self, n: u64) {
        if let Some(pb) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            pb.inc(n);
        }
    }
    fn message(&self, msg: &str) {
        if !self.quiet {
            match self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                Some(pb) => pb.println(msg),
                None => eprintln!("{msg}"),
            }
        }
    }
    fn finish(&self) {
        if let Some(pb) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            pb.finish_and_clear();
        }
    }
}
