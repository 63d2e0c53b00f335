//! A progress bar (indicatif) behind the library's [`recon::progress::Progress`] trait, or,
//! for training on a stderr that is not a terminal (Slurm, `nohup`, `2>log`), plain lines.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::{
    io::IsTerminal,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Draws on stderr when it is a terminal; silent when `quiet` (e.g. `--json`); with
/// [`Bar::for_training`], plain progress lines when stderr is not a terminal.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
    /// Plain-line mode and its state.
    lines: Option<Mutex<Lines>>,
}

/// Plain progress lines: one every [`Lines::every`] units (a 20th of the stage) or every
/// [`LINE_INTERVAL`], whichever comes first, and at the end of the stage:
/// `steps 40/200 (20%), 3.1/s, ETA 52 s, loss 1.2e-2`.
struct Lines {
    label: String,
    total: u64,
    done: u64,
    every: u64,
    status: String,
    t0: Instant,
    last: Instant,
    printed: u64,
}

/// Longest time between two plain progress lines.
const LINE_INTERVAL: Duration = Duration::from_secs(10);

impl Lines {
    fn line(&mut self) {
        let secs = self.t0.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { self.done as f64 / secs } else { 0.0 };
        let eta = if rate > 0.0 {
            format!("{:.0} s", (self.total - self.done.min(self.total)) as f64 / rate)
        } else {
            "?".into()
        };
        let pct = (100 * self.done).checked_div(self.total).unwrap_or(100);
        let status = if self.status.is_empty() { String::new() } else { format!(", {}", self.status) };
        eprintln!("{} {}/{} ({pct}%), {rate:.2}/s, ETA {eta}{status}", self.label, self.done, self.total);
        self.last = Instant::now();
        self.printed = self.done;
    }
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        Bar { bar: Mutex::new(None), quiet, lines: None }
    }

    /// For long training runs: like [`Bar::new`] on a terminal, plain progress lines on
    /// stderr otherwise (so logs of batch jobs show progress), silent when `quiet`.
    pub fn for_training(quiet: bool) -> Self {
        let plain = !quiet && !std::io::stderr().is_terminal();
        let lines = plain.then(|| {
            let now = Instant::now();
            Mutex::new(Lines {
                label: String::new(),
                total: 0,
                done: 0,
                every: 1,
                status: String::new(),
                t0: now,
                last: now,
                printed: 0,
            })
        });
        Bar { bar: Mutex::new(None), quiet, lines }
    }
}

impl recon::progress::Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        if let Some(l) = &self.lines {
            let mut l = l.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            *l = Lines {
                label: label.to_string(),
                total,
                done: 0,
                every: total.div_ceil(20).max(1),
                status: String::new(),
                t0: now,
                last: now,
                printed: 0,
            };
            eprintln!("{label} 0/{total}");
            return;
        }
        let pb = if self.quiet {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(total)
        };
        pb.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_prefix(label.to_string());
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(pb);
    }
    fn inc(&self, n: u64) {
        if let Some(l) = &self.lines {
            let mut l = l.lock().unwrap_or_else(|e| e.into_inner());
            l.done += n;
            if l.done % l.every == 0 || l.last.elapsed() >= LINE_INTERVAL || l.done >= l.total {
                l.line();
            }
            return;
        }
        if let Some(pb) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            pb.inc(n);
        }
    }
    fn status(&self, status: &str) {
        if let Some(l) = &self.lines {
            l.lock().unwrap_or_else(|e| e.into_inner()).status = status.to_string();
        } else if let Some(pb) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            pb.set_message(status.to_string());
        }
    }
    fn message(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(pb) => pb.println(msg),
            None => eprintln!("{msg}"),
        }
    }
    fn finish(&self) {
        if let Some(l) = &self.lines {
            let mut l = l.lock().unwrap_or_else(|e| e.into_inner());
            if l.printed != l.done {
                l.line();
            }
            return;
        }
        if let Some(pb) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            pb.finish_and_clear();
        }
    }
}
