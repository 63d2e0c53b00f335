//! Speed and memory of the paper's U-Net on the CPU, against PyTorch where it is installed
//! (the harness of issue 5).
//!
//! ```text
//! cargo run --release -p models --example unet_speed [-- --reps N]
//! ```
//!
//! What it measures, for `UNetConfig::new(c, c)` (width 48), batch 4, inputs 3×128×128 and
//! 1×256×256:
//! - `train-*`: one training step (forward, L2 loss against a random target, backward, one
//!   step of this crate's [`Adam`]);
//! - `infer-*`: one forward pass of the detached network (no autograd graph);
//!
//! each the median of `--reps` repetitions (default 5) after one warm-up, and the peak
//! resident memory of the process (`VmHWM`). Each case runs in a fresh child process (this
//! program re-run as `unet_speed --case NAME`) so that its peak memory is its own and not a
//! larger earlier case's. Threads: `RAYON_NUM_THREADS` if set, otherwise 2 (candle's CPU
//! backend and our conv kernels read it) — the issue's target is a 2-core laptop.
//!
//! Then, if `python3 -c "import torch"` works (`PYTHON` picks another interpreter),
//! `models/benches/torch_unet.py` runs the same architecture and cases in PyTorch with the
//! same thread count, again one fresh process per case, and one table compares the two.
//! Without PyTorch only our numbers are printed. The project itself never needs Python.

use std::{
    env,
    error::Error,
    process::{Command, Stdio},
    time::Instant,
};

use models::{l2, Adam, AdamConfig, DType, Device, Module, NetConfig, Network, Tensor, VarMap};

/// Batch size of every case (as in the issue's table).
const BATCH: usize = 4;
/// Thread count when `RAYON_NUM_THREADS` is not set.
const DEFAULT_THREADS: usize = 2;
/// The PyTorch counterpart, found from this crate's source directory.
const TORCH_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/torch_unet.py");

/// One measurement: training step or inference, at channels × size × size.
struct Case {
    name: &'static str,
    train: bool,
    channels: usize,
    size: usize,
}

const CASES: [Case; 4] = [
    Case { name: "train-3x128", train: true, channels: 3, size: 128 },
    Case { name: "infer-3x128", train: false, channels: 3, size: 128 },
    Case { name: "train-1x256", train: true, channels: 1, size: 256 },
    Case { name: "infer-1x256", train: false, channels: 1, size: 256 },
];

/// What one case reports back.
struct Measured {
    median_s: f64,
    times_s: Vec<f64>,
    peak_mib: f64,
    /// PyTorch only: resident memory right after `import torch`, part of `peak_mib`.
    import_mib: Option<f64>,
}

const USAGE: &str = "usage: unet_speed [--reps N] [--case NAME]
  --reps N     timed repetitions per case after one warm-up (default 5)
  --case NAME  run only this case in this process (what the parent runs per child);
               NAME is one of train-3x128, infer-3x128, train-1x256, infer-1x256
Threads: RAYON_NUM_THREADS (default 2). PYTHON: interpreter for the PyTorch run (python3).";

fn main() {
    if let Err(e) = run() {
        eprintln!("unet_speed: {e}");
        std::process::exit(1);
    }
}

/// Parses the arguments and runs the parent or a child.
fn run() -> Result<(), Box<dyn Error>> {
    let mut reps = 5usize;
    let mut case = None;
    let mut args = env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => {
                let v = args.next().ok_or("--reps needs a value")?;
                reps = v.parse().map_err(|_| format!("--reps: not a positive integer: {v}"))?;
                if reps == 0 {
                    return Err("--reps must be at least 1".into());
                }
            }
            "--case" => case = Some(args.next().ok_or("--case needs a value")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    match case {
        Some(name) => run_child(&name, reps),
        None => run_parent(reps),
    }
}

/// Child mode: measure one case and print `RESULT <case> <median s> <peak KiB> <times…>`.
fn run_child(name: &str, reps: usize) -> Result<(), Box<dyn Error>> {
    if env::var_os("UNET_SPEED_DEFAULT_MALLOC").is_none() {
        models::reuse_freed_memory();
    }
    let case = CASES.iter().find(|c| c.name == name).ok_or_else(|| format!("unknown case {name}"))?;
    let dev = Device::Cpu;
    let (c, s) = (case.channels, case.size);
    let cfg = NetConfig::UNet(models::UNetConfig::new(c, c));
    let vm = VarMap::new();
    let net = Network::init(&cfg, &vm, 1, DType::F32, &dev)?;
    let x = Tensor::randn(0f32, 0.3, (BATCH, c, s, s), &dev)?;
    let mut times = Vec::with_capacity(reps);
    if case.train {
        let y = Tensor::randn(0f32, 0.3, (BATCH, c, s, s), &dev)?;
        let mut adam = Adam::new(&vm, AdamConfig::default())?;
        for i in 0..=reps {
            let t0 = Instant::now();
            let loss = l2(&net.forward(&x)?, &y)?;
            let grads = loss.backward()?;
            adam.step(&grads, 1e-4, 0.9)?;
            drop(grads);
            if i > 0 {
                times.push(t0.elapsed().as_secs_f64());
            }
        }
    } else {
        let inference = net.detached();
        for i in 0..=reps {
            let t0 = Instant::now();
            let out = inference.forward(&x)?;
            drop(out);
            if i > 0 {
                times.push(t0.elapsed().as_secs_f64());
            }
        }
    }
    let peak_kib = vm_hwm_kib().ok_or("cannot read VmHWM from /proc/self/status (Linux only)")?;
    let list: Vec<String> = times.iter().map(|t| format!("{t:.4}")).collect();
    println!("RESULT {name} {:.6} {peak_kib} {}", median(&mut times), list.join(" "));
    Ok(())
}

/// Peak resident set size of this process in KiB (`VmHWM:  123 kB` in /proc/self/status).
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Parent mode: every case in its own child, then PyTorch if present, then the table.
fn run_parent(reps: usize) -> Result<(), Box<dyn Error>> {
    let threads = match env::var("RAYON_NUM_THREADS") {
        Ok(v) => v.parse::<usize>().map_err(|_| format!("RAYON_NUM_THREADS is not a number: {v}"))?,
        Err(_) => DEFAULT_THREADS,
    };
    let exe = env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    println!("U-Net (width 48), batch {BATCH}, {threads} threads, median of {reps} after 1 warm-up");
    println!("load average at start: {}", load_average());
    let mut ours = Vec::new();
    for case in &CASES {
        let out = Command::new(&exe)
            .args(["--case", case.name, "--reps", &reps.to_string()])
            .env("RAYON_NUM_THREADS", threads.to_string())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!("case {} failed ({}):\n{text}", case.name, out.status).into());
        }
        let m =
            parse_result(&text).ok_or_else(|| format!("case {}: no RESULT line in:\n{text}", case.name))?;
        println!(
            "ours    {:<12} {:>8.3} s  peak {:>6.0} MiB  (reps: {})",
            case.name,
            m.median_s,
            m.peak_mib,
            fmt_times(&m.times_s)
        );
        ours.push(m);
    }
    let torch = run_torch(reps, threads);
    if let Err(why) = &torch {
        println!("PyTorch not measured: {why}");
    }
    println!("load average at end: {}", load_average());
    println!();
    println!("| case | ours (s) | PyTorch (s) | ours / PyTorch | our peak MiB | PyTorch peak MiB |");
    println!("|---|---|---|---|---|---|");
    for (i, (case, m)) in CASES.iter().zip(&ours).enumerate() {
        let (pt, ratio, pmem) = match torch.as_ref().ok().and_then(|t| t.get(i)) {
            Some(p) => (
                format!("{:.3}", p.median_s),
                format!("{:.2}", m.median_s / p.median_s),
                format!("{:.0}", p.peak_mib),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        println!("| {} | {:.3} | {pt} | {ratio} | {:.0} | {pmem} |", case.name, m.median_s, m.peak_mib);
    }
    if let Some(base) = torch.as_ref().ok().and_then(|t| t.first()).and_then(|p| p.import_mib) {
        println!();
        println!("PyTorch's peaks include {base:.0} MiB already resident after `import torch`.");
    }
    Ok(())
}

/// Parses a child's `RESULT <case> <median> <peak KiB> <times…>` line.
fn parse_result(text: &str) -> Option<Measured> {
    let line = text.lines().find(|l| l.starts_with("RESULT "))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    let median_s = f.get(2)?.parse().ok()?;
    let peak_kib: f64 = f.get(3)?.parse().ok()?;
    let times_s = f[4..].iter().filter_map(|t| t.parse().ok()).collect();
    Some(Measured { median_s, times_s, peak_mib: peak_kib / 1024.0, import_mib: None })
}

/// Runs the PyTorch script if `import torch` works; its results in [`CASES`] order.
fn run_torch(reps: usize, threads: usize) -> Result<Vec<Measured>, String> {
    let python = env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import torch; print(torch.__version__)"])
        .stderr(Stdio::null())
        .output();
    let version = match probe {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(_) => return Err(format!("PyTorch was not found ({python} cannot import torch)")),
        Err(e) => return Err(format!("PyTorch was not found ({python} did not start: {e})")),
    };
    println!("PyTorch {version} found ({python}); running {TORCH_SCRIPT}");
    let out = Command::new(&python)
        .args([TORCH_SCRIPT, "--reps", &reps.to_string(), "--threads", &threads.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {python} {TORCH_SCRIPT}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{TORCH_SCRIPT} failed ({}): {text}", out.status));
    }
    let json: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("bad JSON from {TORCH_SCRIPT}: {e}: {text}"))?;
    let results = json["results"].as_array().ok_or("no 'results' array in the PyTorch JSON")?;
    CASES
        .iter()
        .map(|case| {
            let r = results
                .iter()
                .find(|r| r["case"] == case.name)
                .ok_or_else(|| format!("PyTorch JSON lacks case {}", case.name))?;
            let num =
                |k: &str| r[k].as_f64().ok_or_else(|| format!("PyTorch case {}: no number {k}", case.name));
            let times_s = r["times_s"].as_array().map(|a| a.iter().filter_map(|t| t.as_f64()).collect());
            let m = Measured {
                median_s: num("median_s")?,
                times_s: times_s.unwrap_or_default(),
                peak_mib: num("peak_mib")?,
                import_mib: r["import_mib"].as_f64(),
            };
            println!(
                "PyTorch {:<12} {:>8.3} s  peak {:>6.0} MiB  (reps: {})",
                case.name,
                m.median_s,
                m.peak_mib,
                fmt_times(&m.times_s)
            );
            Ok(m)
        })
        .collect()
}

/// Repetition times to 3 decimals, space-separated.
fn fmt_times(t: &[f64]) -> String {
    t.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(" ")
}

/// The 1-, 5- and 15-minute load averages, to show how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
