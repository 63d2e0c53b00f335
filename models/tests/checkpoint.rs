//! Checkpoints: bit-exact round trips of weights, metadata and optimiser state, exact
//! resumption, f16 export, errors.

use std::{collections::BTreeMap, path::PathBuf};

use models::{
    export_model, l2, load_checkpoint, load_model, read_meta, save_checkpoint, Adam, AdamConfig, DType,
    Device, ModelMeta, Module, NetConfig, Network, Normalisation, PadMode, Red30Config, StepParams, Tensor,
    UNetConfig, VarMap,
};

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("models-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bits(vm: &VarMap) -> BTreeMap<String, Vec<u32>> {
    vm.data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let t = v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (k.clone(), t.iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

fn tensor_bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()
}

fn meta(arch: NetConfig) -> ModelMeta {
    let mut params = BTreeMap::new();
    params.insert("offset".to_string(), -0.5);
    params.insert("scale".to_string(), 1.0 / 3.0);
    ModelMeta {
        arch,
        normalisation: Normalisation { method: "max".into(), params },
        config: r#"{"mask":{"name":"bernoulli","p_edge":0.025},"batch":16,"lr":0.001}"#.into(),
        step: 0,
        loss_since_log: None,
    }
}

struct Run {
    net: Network,
    vm: VarMap,
    adam: Adam,
    x: Tensor,
    y: Tensor,
}

impl Run {
    fn new(cfg: &NetConfig) -> Self {
        let vm = VarMap::new();
        let net = Network::init(cfg, &vm, 9, DType::F32, &Device::Cpu).unwrap();
        let adam = Adam::new(&vm, AdamConfig::default()).unwrap();
        let x = Tensor::randn(0f32, 0.3, (2, cfg.in_channels(), 32, 32), &Device::Cpu).unwrap();
        let y = x.affine(-0.7, 0.05).unwrap();
        Self { net, vm, adam, x, y }
    }

    fn steps(&mut self, n: usize) {
        for i in 0..n {
            let loss = l2(&self.net.forward(&self.x).unwrap(), &self.y).unwrap();
            let beta1 = 0.9 - 0.1 * (self.adam.steps() + i as u64) as f64 / 10.0;
            self.adam.backward_step(&loss, StepParams { lr: 1e-3, beta1 }).unwrap();
        }
    }
}

#[test]
fn checkpoint_round_trip_is_bit_exact_and_resumes_exactly() {
    let dir = tmp_dir("roundtrip");
    let path = dir.join("model.safetensors");
    let cfg = NetConfig::UNet(UNetConfig::new(2, 2).with_width(8).with_pad(PadMode::Constant(-0.5)));
    let mut run = Run::new(&cfg);
    run.steps(3);
    let mut m = meta(cfg.clone());
    m.step = run.adam.steps();
    m.loss_since_log = Some((0.1 + 0.2, 2));
    save_checkpoint(&path, &run.vm, &m, Some(&run.adam.state())).unwrap();
    // Nothing but the checkpoint is left in the directory (the temporary file was renamed).
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("model.safetensors")]);

    let ck = load_checkpoint(&path, &Device::Cpu).unwrap();
    assert_eq!(ck.meta, m);
    assert_eq!(read_meta(&path).unwrap(), m);
    assert_eq!(ck.stored_dtype, DType::F32);
    assert_eq!(bits(&ck.varmap), bits(&run.vm));
    let (saved, loaded) = (run.adam.state(), ck.optimiser.as_ref().expect("optimiser state"));
    assert_eq!(
        (loaded.step, loaded.beta1_power.to_bits(), loaded.beta2_power.to_bits()),
        (saved.step, saved.beta1_power.to_bits(), saved.beta2_power.to_bits())
    );
    for (name, t) in &saved.m {
        assert_eq!(tensor_bits(t), tensor_bits(&loaded.m[name]), "m of {name}");
        assert_eq!(tensor_bits(&saved.v[name]), tensor_bits(&loaded.v[name]), "v of {name}");
    }

    // Two more steps in memory versus two more steps after reloading: identical bits.
    run.steps(2);
    let mut adam = Adam::new(&ck.varmap, AdamConfig::default()).unwrap();
    adam.set_state(loaded).unwrap();
    let mut resumed = Run { net: ck.net, vm: ck.varmap, adam, x: run.x.clone(), y: run.y.clone() };
    resumed.steps(2);
    assert_eq!(bits(&resumed.vm), bits(&run.vm));
    assert_eq!(resumed.adam.steps(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The safetensors header's metadata is a `HashMap`: written unsorted, the same checkpoint
/// got different bytes from one save to the next. Sorted, the bytes (and checksums) are stable.
#[test]
fn the_same_checkpoint_gives_the_same_bytes() {
    let dir = tmp_dir("stable");
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(4));
    let mut run = Run::new(&cfg);
    run.steps(1);
    let mut m = meta(cfg.clone());
    m.step = 1;
    let save = |i: usize| {
        let p = dir.join(format!("m{i}.safetensors"));
        save_checkpoint(&p, &run.vm, &m, Some(&run.adam.state())).unwrap();
        std::fs::read(&p).unwrap()
    };
    let first = save(0);
    for i in 1..8 {
        assert!(save(i) == first, "save {i} differs from save 0");
    }
    // The header is valid JSON padded to 8 bytes, and the file still loads.
    let n = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0);
    let header: serde_json::Value = serde_json::from_slice(&first[8..8 + n]).unwrap();
    let keys: Vec<&String> = header["__metadata__"].as_object().unwrap().keys().collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    assert_eq!(load_checkpoint(dir.join("m0.safetensors"), &Device::Cpu).unwrap().meta, m);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn model_files_describe_themselves() {
    let dir = tmp_dir("describe");
    let path = dir.join("red.safetensors");
    let cfg = NetConfig::Red30(Red30Config::new(1, 1).with_features(4));
    let vm = VarMap::new();
    let net = Network::init(&cfg, &vm, 2, DType::F32, &Device::Cpu).unwrap();
    save_checkpoint(&path, &vm, &meta(cfg.clone()), None).unwrap();
    let (loaded, m) = load_model(&path, &Device::Cpu).unwrap();
    assert_eq!(m.arch, cfg);
    assert_eq!(loaded.config(), cfg);
    let x = Tensor::randn(0f32, 1., (1, 1, 9, 11), &Device::Cpu).unwrap();
    let (a, b) = (net.forward(&x).unwrap(), loaded.forward(&x).unwrap());
    assert_eq!(tensor_bits(&a), tensor_bits(&b));
    assert!(!b.track_op(), "inference model must not build a graph");
    assert!(load_checkpoint(&path, &Device::Cpu).unwrap().optimiser.is_none());
    // Human-readable copies in the safetensors metadata.
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let info = header.metadata().as_ref().unwrap();
    assert_eq!(info["arch"], "red30");
    assert_eq!(info["width"], "4");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn f16_export_loads_into_f32() {
    let dir = tmp_dir("f16");
    let path = dir.join("shipped.safetensors");
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(4));
    let vm = VarMap::new();
    let net = Network::init(&cfg, &vm, 4, DType::F32, &Device::Cpu).unwrap();
    export_model(&path, &vm, &meta(cfg.clone()), DType::F16).unwrap();
    let ck = load_checkpoint(&path, &Device::Cpu).unwrap();
    assert_eq!(ck.stored_dtype, DType::F16);
    assert!(ck.optimiser.is_none());
    for (name, var) in vm.data().lock().unwrap().iter() {
        let want = var.as_tensor().to_dtype(DType::F16).unwrap().to_dtype(DType::F32).unwrap();
        let got = ck.varmap.data().lock().unwrap()[name].as_tensor().clone();
        assert_eq!(got.dtype(), DType::F32);
        assert_eq!(tensor_bits(&got), tensor_bits(&want), "{name}");
    }
    // The f16 model is close to the f32 one.
    let x = Tensor::randn(0f32, 0.3, (1, 1, 32, 32), &Device::Cpu).unwrap();
    let d = net.forward(&x).unwrap().sub(&ck.net.forward(&x).unwrap()).unwrap();
    assert!(d.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_are_rejected() {
    let dir = tmp_dir("bad");
    // A safetensors file without our metadata.
    let plain = dir.join("plain.safetensors");
    let t = Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap();
    safetensors::serialize_to_file([("w", &t)], None, &plain).unwrap();
    let err = load_checkpoint(&plain, &Device::Cpu).err().expect("must fail").to_string();
    assert!(err.contains("metadata"), "{err}");
    // Weights that do not match the declared architecture.
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(4));
    let vm = VarMap::new();
    Network::init(&cfg, &vm, 1, DType::F32, &Device::Cpu).unwrap();
    let wrong = dir.join("wrong.safetensors");
    save_checkpoint(&wrong, &vm, &meta(NetConfig::UNet(UNetConfig::new(1, 1).with_width(8))), None).unwrap();
    assert!(load_checkpoint(&wrong, &Device::Cpu).is_err());
    // Not a file at all.
    assert!(load_model(dir.join("missing.safetensors"), &Device::Cpu).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
