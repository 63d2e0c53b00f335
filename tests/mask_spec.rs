//! End-to-end tests of the one mask specification every command takes (`--mask` with its
//! flags, `MaskOpts` in src/cmd): `recon batch` takes `--p-edge` as `recon` does, a mask saved
//! by `recon mask` is a `--mask file:PATH`, a family's other parameters follow its name, and
//! the fixed choices of the command line are closed lists.

use std::path::Path;

mod common;
use common::*;

/// `recon batch` once declared its own mask flags and dropped `--p-edge`: now it takes the
/// same options as `recon`, and one volume of it is `recon --seed-from-name` with them.
#[test]
fn batch_takes_p_edge_like_recon() {
    let dir = tempfile::tempdir().unwrap();
    let input = dataset(dir.path(), 1);
    let out = dir.path().join("out");
    let mask = ["--mask", "n2n", "--p-edge", "0.05"];
    let mut args = vec!["batch", "--input-dir", s(&input), "--output-dir", s(&out), "--no-model"];
    args.extend_from_slice(&mask);
    let r = recon(&args);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let m = latest(&out.join("manifest.jsonl"));
    let e = &m["file0.h5"];
    assert_eq!((e["mask"].as_str(), e["settings"]["p_edge"].as_f64()), (Some("n2n"), Some(0.05)), "{e}");
    // p_edge, not the acceleration, set the mask: no requested acceleration is recorded.
    assert!(e["acceleration"].is_null(), "{e}");

    let file0 = input.join("file0.h5");
    let single = |name: &str, mask: &[&str]| {
        let path = dir.path().join(name);
        let mut args = vec!["-i", s(&file0), "--seed-from-name", "--no-model", "-o", s(&path)];
        args.extend_from_slice(mask);
        let r = recon(&args);
        assert!(r.status.success(), "{}", text(&r.stderr));
        std::fs::read(&path).unwrap()
    };
    let batch_output = std::fs::read(out.join("file0.h5")).unwrap();
    assert_eq!(single("flag.h5", &mask), batch_output);
    // The same parameter written in the mask's text.
    assert_eq!(single("text.h5", &["--mask", "n2n:p_edge=0.05"]), batch_output);
    assert_ne!(single("default.h5", &["--mask", "n2n"]), batch_output, "p_edge changes the mask");
}

/// `recon mask` saves a mask; `--mask file:PATH` reconstructs with exactly that mask (.png or
/// BART .cfl), reported as the file; a mask of another size is a one-line error naming it.
#[test]
fn a_saved_mask_is_a_mask_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    let drawn = path("drawn.h5");
    let args = ["--mask", "poisson", "--acceleration", "6", "--seed", "3"];
    let zero_filled = ["--method", "zero-filled", "--json"];
    let run = |extra: &[&str], out: &Path| {
        json(&recon(&[&["-i", SAMPLE, "-o", s(out)], extra, &zero_filled].concat()))
    };
    let v = run(&args, &drawn);
    let mask = |f: &Path| recon::io::hdf5::open_any(f).unwrap().read_bool("mask").unwrap();
    for ext in ["png", "cfl"] {
        let saved = path(&format!("mask.{ext}"));
        let r = recon(&[&["mask", "--shape", "217x181", "-o", s(&saved)], &args[..]].concat());
        assert!(r.status.success(), "{}", text(&r.stderr));
        let out = path(&format!("from_{ext}.h5"));
        let spec = format!("file:{}", s(&saved));
        let w = run(&["--mask", &spec], &out);
        assert_eq!(w["mask"]["name"], spec.as_str());
        assert_eq!(w["mask"]["kept"], v["mask"]["kept"]);
        assert_eq!(mask(&out), mask(&drawn), "{ext}");
        assert_eq!(reconstruction(&out), reconstruction(&drawn), "{ext}");
    }
    let small = path("small.png");
    assert!(recon(&["mask", "--shape", "64x48", "-o", s(&small)]).status.success());
    let spec = format!("file:{}", s(&small));
    let r = recon(&["-i", SAMPLE, "--mask", &spec, "-o", s(&path("x.h5"))]);
    fails(&r, 3, &["small.png", "64×48", "217×181"]);
    let r = recon(&["-i", SAMPLE, "--mask", "file:", "-o", s(&path("x.h5"))]);
    fails(&r, 2, &["file:"]);
    assert!(!path("x.h5").exists());
}

/// A family's parameters without a flag of their own follow its name; one it does not read
/// is a usage error, as is an unknown family (the error lists the known ones).
#[test]
fn family_parameters_follow_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let draw = |spec: &str, name: &str| {
        let out = dir.path().join(name);
        let v = json(&recon(&["mask", "--mask", spec, "--shape", "64x48", "-o", s(&out), "--json"]));
        (v["mask"].as_str().unwrap().to_string(), std::fs::read(&out).unwrap())
    };
    let (name1, one) = draw("equispaced:offset=1", "o1.png");
    let (name2, two) = draw("Equispaced:Offset=2", "o2.png");
    assert_eq!((name1.as_str(), name2.as_str()), ("equispaced:offset=1", "equispaced:offset=2"));
    assert_ne!(one, two, "the offset moves the lines");
    let o = dir.path().join("bad.png");
    let r = recon(&["mask", "--mask", "random:sigma=0.3", "--shape", "64x48", "-o", s(&o)]);
    fails(&r, 2, &["random", "does not use sigma"]);
    let r = recon(&["mask", "--mask", "spiral", "--shape", "64x48", "-o", s(&o)]);
    fails(&r, 2, &["spiral", "random", "n2n", "none", "file:PATH"]);
    assert!(!o.exists());
}

/// `--net` and `--shard` are typed when parsed: other values are usage errors that list or
/// explain the choices, and the old spellings still parse.
#[test]
fn net_and_shard_are_checked_when_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = dir.path().join("m.safetensors");
    let train =
        |net: &str| recon(&["denoise", "train", "--net", net, "--data", s(&missing), "--out", s(&out)]);
    let r = train("resnet");
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("unet") && text(&r.stderr).contains("red30"), "{}", text(&r.stderr));
    for net in ["unet", "U-Net", "red30", "RED30", "rednet30"] {
        let r = train(net);
        assert!(!r.status.success() && !text(&r.stderr).contains("--net"), "{net}: {}", text(&r.stderr));
    }
    let r = recon(&["batch", "--input-dir", s(dir.path()), "--output-dir", s(&missing), "--shard", "1/0"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("--shard") && !missing.exists(), "{}", text(&r.stderr));
}
