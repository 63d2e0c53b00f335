//! Peak memory and throughput of `recon batch` for 2 vs 20 vs 200 volumes (the README's
//! numbers). Peak memory must not grow with the number of volumes (criterion: the largest
//! peak within 10 % of the smallest; `tests/batch.rs` checks the same on small volumes).
//!
//! ```sh
//! cargo build --release && cargo run --release --example batch_memory
//! cargo run --release --example batch_memory -- --volumes 2,20 --jobs 16 --model   # with the default model
//! ```
//!
//! Makes N volumes (hard links, or copies, of `data/colin27_sim.h5` under different names,
//! so each gets its own mask), runs the `recon` binary next to this example
//! (`target/<profile>/recon`, or `--recon PATH`) as a child process with `batch --json`, and
//! reports the peak resident memory two ways: the batch's own `VmHWM` (in its JSON report)
//! and, when `/usr/bin/time` exists, its `%M` (max RSS of the child).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let volumes: Vec<usize> = opt("--volumes")
        .unwrap_or_else(|| "2,20,200".into())
        .split(',')
        .map(|v| v.trim().parse().expect("--volumes takes numbers, e.g. 2,20"))
        .collect();
    let jobs = opt("--jobs").unwrap_or_else(|| "2".into());
    let with_model = args.iter().any(|a| a == "--model");
    let recon = opt("--recon").map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("own path");
        exe.parent().and_then(Path::parent).expect("target/<profile>/examples").join("recon")
    });
    assert!(
        recon.is_file(),
        "{} not found: `cargo build --release` first, or pass --recon PATH",
        recon.display()
    );
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/colin27_sim.h5");
    let time = Path::new("/usr/bin/time");

    println!(
        "recon batch, {} , --jobs {jobs}, volumes of 6 slices 217x181 x 4 coils ({})",
        recon.display(),
        if with_model { "default model" } else { "--no-model" }
    );
    println!(
        "| volumes | slices | seconds | slices/s | peak RSS (VmHWM) MiB | peak RSS (/usr/bin/time) MiB |"
    );
    println!("|---|---|---|---|---|---|");
    let mut peaks = Vec::new();
    for &n in &volumes {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        for i in 0..n {
            let f = input.join(format!("file{i:04}.h5"));
            if std::fs::hard_link(&sample, &f).is_err() {
                std::fs::copy(&sample, &f).expect("copy the sample");
            }
        }
        let out = dir.path().join("out");
        let rss_file = dir.path().join("maxrss");
        let mut batch_args: Vec<String> = ["batch", "--input-dir", path(&input), "--output-dir", path(&out)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        batch_args
            .extend(["--mask", "random", "--acceleration", "4", "--jobs", &jobs, "--json"].map(String::from));
        if !with_model {
            batch_args.push("--no-model".into());
        }
        let output = if time.is_file() {
            Command::new(time)
                .arg("-f")
                .arg("%M")
                .arg("-o")
                .arg(&rss_file)
                .arg(&recon)
                .args(&batch_args)
                .output()
        } else {
            Command::new(&recon).args(&batch_args).output()
        }
        .expect("recon runs");
        assert!(output.status.success(), "recon batch failed: {}", String::from_utf8_lossy(&output.stderr));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
        let hwm = report["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
        let maxrss = std::fs::read_to_string(&rss_file)
            .ok()
            .and_then(|s| s.trim().lines().last().and_then(|l| l.trim().parse::<f64>().ok()))
            .map(|kib| kib / 1024.0);
        println!(
            "| {n} | {} | {:.2} | {:.1} | {hwm:.1} | {} |",
            report["slices"],
            report["seconds"].as_f64().unwrap_or(f64::NAN),
            report["slices_per_second"].as_f64().unwrap_or(f64::NAN),
            maxrss.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into())
        );
        peaks.push((n, maxrss.unwrap_or(hwm)));
    }
    let lo = peaks.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = peaks.iter().map(|p| p.1).fold(0.0, f64::max);
    println!(
        "peak memory, largest / smallest over {volumes:?} volumes: {:.3} (criterion: at most 1.1)",
        hi / lo
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}
