//! Throughput of the 3×3 convolution's three passes (forward, input gradient, weight
//! gradient) on the U-Net's layer shapes, in GFLOP/s, against this machine's peak.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release -p models --example conv_speed [-- --reps N]
//! ```
//!
//! Each pass is timed alone (min of `--reps`, default 5, after a warm-up) through the public
//! `conv3x3` op: the forward on a graph-free input, the input gradient as the backward of a
//! convolution whose weights are constants, the weight gradient as the backward of one whose
//! input is a constant (that backward also sums the bias gradient, a negligible pass). FLOPs
//! count one multiply-add as two: `2·N·H·W·c_in·c_out·9` per pass. Besides wall time it
//! prints the process CPU time per pass, which stays meaningful on a busy machine.

use std::{env, time::Instant};

use candle_core::{DType, Device, Tensor, Var};
use models::kernels::conv3x3;

/// (label, batch, c_in, c_out, size): the U-Net's 48→48 layer at full and half resolution,
/// the decoder layers at 64² (144→96) and 128² (99→64, 64→32), and the first layer (3→48).
const SHAPES: [(&str, usize, usize, usize, usize); 6] = [
    ("48->48 @ 4x256^2", 4, 48, 48, 256),
    ("48->48 @ 4x64^2", 4, 48, 48, 64),
    ("144->96 @ 4x64^2", 4, 144, 96, 64),
    ("99->64 @ 4x128^2", 4, 99, 64, 128),
    ("64->32 @ 4x128^2", 4, 64, 32, 128),
    ("3->48 @ 4x128^2", 4, 3, 48, 128),
];

/// Process CPU time (user + system) in seconds, from /proc (Linux); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0. };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.);
    // utime and stime are fields 14 and 15 of the whole line (11, 12 after the ')').
    (ticks(11) + ticks(12)) / 100.
}

/// Min wall and CPU seconds of `reps` runs of `f` after one warm-up.
fn time(reps: usize, f: impl Fn()) -> (f64, f64) {
    f();
    let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
    for _ in 0..reps {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        f();
        wall = wall.min(t0.elapsed().as_secs_f64());
        cpu = cpu.min(cpu_seconds() - c0);
    }
    (wall, cpu)
}

fn main() -> candle_core::Result<()> {
    let args: Vec<String> = env::args().collect();
    let reps =
        args.iter().position(|a| a == "--reps").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(5);
    let dev = Device::Cpu;
    println!("threads: {}", candle_core::utils::get_num_threads());
    println!("{:<18} {:<12} {:>9} {:>9} {:>9}", "layer", "pass", "wall s", "cpu s", "GFLOP/s");
    for (label, n, ci, co, s) in SHAPES {
        let x = Tensor::randn(0f32, 1., (n, ci, s, s), &dev)?;
        let w = Tensor::randn(0f32, 0.1, (co, ci, 3, 3), &dev)?;
        let b = Tensor::zeros(co, DType::F32, &dev)?;
        let (xv, wv) = (Var::from_tensor(&x)?, Var::from_tensor(&w)?);
        let gflop = 2. * (n * s * s * ci * co * 9) as f64 / 1e9;
        let passes: [(&str, Box<dyn Fn()>); 3] = [
            ("forward", Box::new(|| drop(conv3x3(&x, &w, &b).unwrap()))),
            (
                "input grad",
                Box::new(|| {
                    let y = conv3x3(xv.as_tensor(), &w, &b).unwrap();
                    drop(y.backward().unwrap())
                }),
            ),
            (
                "weight grad",
                Box::new(|| {
                    let y = conv3x3(&x, wv.as_tensor(), &b).unwrap();
                    drop(y.backward().unwrap())
                }),
            ),
        ];
        // The backward cases (output gradient: ones) also run the forward: subtract it.
        let (fwd_wall, fwd_cpu) = time(reps, &passes[0].1);
        for (i, (pass, f)) in passes.iter().enumerate() {
            let (mut wall, mut cpu) = time(reps, f);
            if i > 0 {
                (wall, cpu) = ((wall - fwd_wall).max(1e-9), (cpu - fwd_cpu).max(0.));
            }
            println!("{label:<18} {pass:<12} {wall:>9.3} {cpu:>9.2} {:>9.1}", gflop / wall);
        }
    }
    Ok(())
}
