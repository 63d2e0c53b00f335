//! `recon batch merge` end to end: shards merged equal one run; merges refused (nothing
//! written) while a shard is missing, running or was killed; the merge's own output never
//! read as a shard.

mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn three_shards_merged_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let (input, one) = dataset_and_reference_run(dir.path(), 5, "one");

    // Shards 0/3 and 1/3 run at the same time into one folder; merging without 2/3 refuses.
    let out = dir.path().join("sharded");
    let spawn = |i: usize| {
        bin()
            .args(batch_args(&input, &out, &["--no-model", "--jobs", "1", "--shard", &format!("{i}/3")]))
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| spawn(0));
        let b = sc.spawn(|| spawn(1));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success(), "{} {}", text(&a.stderr), text(&b.stderr));
    let early = recon(&["batch", "merge", "--output-dir", s(&out)]);
    assert_eq!(early.status.code(), Some(1), "{}", text(&early.stderr));
    assert!(text(&early.stderr).contains("[2]"), "{}", text(&early.stderr));
    assert!(!out.join("manifest.jsonl").exists(), "a refused merge writes nothing");
    assert!(spawn(2).status.success());

    // Each shard did its 1/3 (files sorted by name, position p % 3), together exactly once.
    let mut seen = Vec::new();
    for i in 0..3 {
        let m = latest(&out.join(format!("manifest.shard-{i}-of-3.jsonl")));
        let want: Vec<String> = (0..5).filter(|p| p % 3 == i).map(|p| format!("file{p}.h5")).collect();
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), want);
        seen.extend(want);
    }
    seen.sort();
    assert_eq!(seen, (0..5).map(|p| format!("file{p}.h5")).collect::<Vec<_>>());

    let merged = recon(&["batch", "merge", "--output-dir", s(&out)]);
    assert!(merged.status.success(), "{}", text(&merged.stderr));
    assert!(text(&merged.stdout).contains("5 volume(s), 0 failed"), "{}", text(&merged.stdout));
    assert_eq!(h5_outputs(&out), h5_outputs(&one));
    assert_eq!(
        std::fs::read(out.join("summary.csv")).unwrap(),
        std::fs::read(one.join("summary.csv")).unwrap()
    );
    let (m1, m2) = (latest(&one.join("manifest.jsonl")), latest(&out.join("manifest.jsonl")));
    assert_eq!(m1.keys().collect::<Vec<_>>(), m2.keys().collect::<Vec<_>>());
    for (k, v) in &m1 {
        assert_eq!(v["metrics"], m2[k]["metrics"], "{k}");
    }
    // The merged manifest is a manifest: an unsharded run in that folder has nothing to do.
    let resume = recon(&batch_args(&input, &out, &["--no-model"]));
    assert!(text(&resume.stdout).contains("0 done, skipped 5"), "{}", text(&resume.stdout));
    // The merge's own output is never an input: a line that only manifest.jsonl has (an
    // older merge, a foreign line) does not come back.
    let merged_bytes = std::fs::read(out.join("manifest.jsonl")).unwrap();
    let mut ghost = manifest(&out.join("manifest.jsonl"))[0].clone();
    ghost["file"] = "ghost.h5".into();
    let mut with_ghost = merged_bytes.clone();
    with_ghost.extend(format!("{ghost}\n").into_bytes());
    std::fs::write(out.join("manifest.jsonl"), with_ghost).unwrap();
    let again = recon(&["batch", "merge", "--output-dir", s(&out)]);
    assert!(again.status.success() && text(&again.stdout).contains("5 volume(s)"), "{}", text(&again.stdout));
    assert_eq!(std::fs::read(out.join("manifest.jsonl")).unwrap(), merged_bytes);
}

#[test]
fn merge_refuses_while_a_shard_runs_or_after_it_was_killed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dataset(dir.path(), 4);
    let out = dir.path().join("out");
    let shard = |i: usize| {
        batch_args(&input, &out, &["--no-model", "--jobs", "1", "--shard", &format!("{i}/2")])
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    batch_ok(&input, &out, &["--no-model", "--jobs", "1", "--shard", "0/2"]);
    // Shard 1/2, slowed down, is running: its marker is there and a merge refuses.
    let shard1 = shard(1);
    let mut child = spawn_slowed(&shard1.iter().map(String::as_str).collect::<Vec<_>>(), 1500);
    let marker = out.join("manifest.shard-1-of-2.running");
    let t0 = Instant::now();
    while !marker.exists() {
        assert!(t0.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none(), "no marker");
        std::thread::sleep(Duration::from_millis(10));
    }
    let merge = || recon(&["batch", "merge", "--output-dir", s(&out)]);
    let running = merge();
    assert_eq!(running.status.code(), Some(1), "{}", text(&running.stderr));
    assert!(
        text(&running.stderr).contains("still running") && text(&running.stderr).contains("[1]"),
        "{}",
        text(&running.stderr)
    );
    assert!(!out.join("manifest.jsonl").exists());
    // Killed part-way: the marker stays, and the merge still refuses.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(marker.exists());
    assert_eq!(merge().status.code(), Some(1));
    // Re-running the shard completes it and removes the marker; now the merge is whole.
    batch_ok(&input, &out, &["--no-model", "--jobs", "1", "--shard", "1/2"]);
    assert!(!marker.exists() && !out.join("manifest.shard-0-of-2.running").exists());
    let whole = merge();
    assert!(whole.status.success(), "{}", text(&whole.stderr));
    assert!(text(&whole.stdout).contains("4 volume(s), 0 failed"), "{}", text(&whole.stdout));
}
