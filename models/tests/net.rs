//! Architecture facts: parameter counts, names, reproducible init, shapes.

use models::{
    count_parameters, param_names, DType, Device, Module, NetConfig, Network, PadMode, Red30Config, Tensor,
    UNetConfig, VarMap,
};

fn init(cfg: &NetConfig, seed: u64) -> (Network, VarMap) {
    let vm = VarMap::new();
    let net = Network::init(cfg, &vm, seed, DType::F32, &Device::Cpu).unwrap();
    (net, vm)
}

fn weights(vm: &VarMap) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = vm
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn unet_has_988609_parameters_for_one_channel() {
    let cfg = NetConfig::by_name("unet", 1, 1).unwrap();
    assert_eq!(cfg.num_parameters(), 988_609);
    let (_, vm) = init(&cfg, 0);
    assert_eq!(count_parameters(&vm), 988_609);
    assert_eq!(vm.all_vars().len(), 36); // 18 convolutions × (weight, bias)
}

#[test]
fn parameter_counts_follow_the_channel_and_width_formulas() {
    for (cin, cout, width) in [(2, 2, 48), (3, 3, 48), (1, 1, 24), (2, 2, 7)] {
        let cfg = NetConfig::UNet(UNetConfig::new(cin, cout).with_width(width));
        let (_, vm) = init(&cfg, 0);
        assert_eq!(count_parameters(&vm), cfg.num_parameters(), "{cin}->{cout} width {width}");
    }
    // Input channels add 9·48 (enc_conv0) + 9·64 (dec_conv1a, concatenated input) per channel,
    // output channels 9·32 + 1 each.
    let c3 = NetConfig::by_name("unet", 3, 3).unwrap().num_parameters();
    assert_eq!(c3, 988_609 + 2 * (9 * 48 + 9 * 64) + 2 * (9 * 32 + 1));
    let red = NetConfig::by_name("red30", 1, 1).unwrap();
    assert_eq!(red.num_parameters(), 9 * 128 + 128 + 28 * (9 * 128 * 128 + 128) + 9 * 128 + 1);
    let small = NetConfig::Red30(Red30Config::new(1, 1).with_features(8));
    let (_, vm) = init(&small, 0);
    assert_eq!(count_parameters(&vm), small.num_parameters());
}

#[test]
fn weight_names_are_stable() {
    let names = param_names(&NetConfig::by_name("unet", 1, 1).unwrap()).unwrap();
    for n in [
        "enc_conv0.weight",
        "enc_conv6.bias",
        "dec_conv5a.weight",
        "dec_conv2b.bias",
        "dec_conv1a.bias",
        "dec_conv1.weight",
    ] {
        assert!(names.iter().any(|x| x == n), "missing {n}");
    }
    let red = param_names(&NetConfig::by_name("RED30", 1, 1).unwrap()).unwrap();
    assert_eq!(red.len(), 60);
    assert!(red.iter().any(|x| x == "deconv15.weight"));
    assert!(NetConfig::by_name("resnet", 1, 1).is_err());
}

#[test]
fn same_seed_gives_same_weights_and_he_normal_statistics() {
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(16));
    let (_, a) = init(&cfg, 42);
    let (_, b) = init(&cfg, 42);
    let (_, c) = init(&cfg, 43);
    let (wa, wb, wc) = (weights(&a), weights(&b), weights(&c));
    assert_eq!(wa, wb);
    assert_ne!(wa, wc);
    for (name, w) in &wa {
        if name.ends_with(".bias") {
            assert!(w.iter().all(|&v| v == 0.), "{name} not zero");
        }
    }
    // enc_conv1: 16·16·9 weights, std √2/√(9·16).
    let w = &wa.iter().find(|(n, _)| n == "enc_conv1.weight").unwrap().1;
    let std = (w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
    let want = (2.0f64 / (9.0 * 16.0)).sqrt();
    assert!((std / want - 1.).abs() < 0.1, "std {std}, want {want}");
    // The last layer (1 × 11 × 3 × 3, c_in = ⌈2·16/3⌉ = 11) uses gain 1: std 1/√99.
    let w = &wa.iter().find(|(n, _)| n == "dec_conv1.weight").unwrap().1;
    assert_eq!(w.len(), 99);
    let std = (w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / 99.0).sqrt();
    assert!((std * 99f64.sqrt() - 1.).abs() < 0.3, "std {std}");
}

#[test]
fn forward_keeps_any_spatial_size_and_maps_channels() {
    for (cin, cout, h, w) in [(1, 1, 37, 45), (2, 2, 32, 64), (3, 3, 5, 70)] {
        let cfg = NetConfig::UNet(UNetConfig::new(cin, cout).with_width(4));
        let (net, _) = init(&cfg, 1);
        let x = Tensor::randn(0f32, 1., (2, cin, h, w), &Device::Cpu).unwrap();
        assert_eq!(net.forward(&x).unwrap().dims(), &[2, cout, h, w]);
    }
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(4).with_pad(PadMode::Constant(-0.5)));
    let (net, _) = init(&cfg, 1);
    let x = Tensor::randn(0f32, 1., (1, 1, 33, 31), &Device::Cpu).unwrap();
    assert_eq!(net.forward(&x).unwrap().dims(), &[1, 1, 33, 31]);
    let red = NetConfig::Red30(Red30Config::new(2, 2).with_features(8));
    let (net, _) = init(&red, 1);
    let x = Tensor::randn(0f32, 1., (1, 2, 13, 17), &Device::Cpu).unwrap();
    assert_eq!(net.forward(&x).unwrap().dims(), &[1, 2, 13, 17]);
    let wrong = Tensor::zeros((1, 3, 8, 8), DType::F32, &Device::Cpu).unwrap();
    assert!(net.forward(&wrong).is_err());
}

#[test]
fn detached_network_builds_no_graph_and_matches() {
    let cfg = NetConfig::UNet(UNetConfig::new(1, 1).with_width(4));
    let (net, _) = init(&cfg, 3);
    let x = Tensor::randn(0f32, 1., (1, 1, 32, 32), &Device::Cpu).unwrap();
    let y = net.forward(&x).unwrap();
    let yd = net.detached().forward(&x).unwrap();
    assert!(y.track_op() && !yd.track_op());
    let d = y.sub(&yd).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(d, 0.);
}

#[test]
fn config_json_round_trips() {
    let cfg = NetConfig::UNet(UNetConfig::new(2, 2).with_width(32).with_pad(PadMode::Constant(-0.5)));
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(json.contains("\"name\":\"unet\""), "{json}");
    assert_eq!(serde_json::from_str::<NetConfig>(&json).unwrap(), cfg);
    let minimal: NetConfig =
        serde_json::from_str(r#"{"name":"unet","in_channels":1,"out_channels":1}"#).unwrap();
    assert_eq!(minimal, NetConfig::by_name("unet", 1, 1).unwrap());
}
