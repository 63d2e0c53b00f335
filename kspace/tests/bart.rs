//! Agreement with BART v0.8.00 on a 48×48 4-coil phantom with a Poisson-disc mask (fixtures
//! and the exact commands: `tests/fixtures/bart/make_fixtures.sh`; CI needs no BART).
//! Solvers are compared on BART's own maps, so that map and solver differences stay apart.

mod common;

use common::{coil_similarity, psnr, read_cfl};
use kspace::espirit::{espirit, EspiritOptions, MapsMethod};
use kspace::operator::SenseOperator;
use kspace::pics::{
    bart_scaling, l1_wavelet, sense, total_variation, CycleSpinning, PicsOptions, Scaling, TvOptions,
};
use kspace::{SamplingMask, C32};
use ndarray::{Array2, Array3, Axis, Ix2, Ix3};

struct Case {
    ksp: Array3<C32>,
    ksp_u: Array3<C32>,
    mask: SamplingMask,
    maps: Array3<C32>,
}

fn load() -> Case {
    let coils = |name: &str| {
        read_cfl(&format!("bart/{name}")).remove_axis(Axis(1)).into_dimensionality::<Ix3>().unwrap()
    };
    let pat = read_cfl("bart/pat").into_dimensionality::<Ix2>().unwrap();
    let keep = pat.mapv(|z| z.re > 0.5);
    let prob = Array2::ones(keep.raw_dim());
    Case {
        ksp: coils("ksp"),
        ksp_u: coils("ksp_u"),
        mask: SamplingMask::new(keep, prob),
        maps: coils("maps"),
    }
}

fn image(name: &str) -> Array2<C32> {
    read_cfl(&format!("bart/{name}")).into_dimensionality::<Ix2>().unwrap()
}

fn rel_err(a: &Array2<C32>, b: &Array2<C32>) -> f32 {
    let num: f32 = a.iter().zip(b).map(|(x, y)| (x.norm() - y.norm()).powi(2)).sum();
    (num / b.iter().map(|z| z.norm_sqr()).sum::<f32>()).sqrt()
}

/// Fully sampled reference: least-squares SENSE on the full k-space with BART's maps.
fn reference(c: &Case) -> Array2<C32> {
    let full = SamplingMask::full(c.mask.shape());
    let mut op = SenseOperator::new(c.maps.clone(), &full).unwrap();
    let o = PicsOptions { lambda: 0.0, iterations: 50, scaling: Scaling::None, ..Default::default() };
    sense(&mut op, &c.ksp.view(), &o).unwrap().first_map_set().to_owned()
}

#[test]
fn data_scaling_matches_bart() {
    let c = load();
    let want: f32 = std::fs::read_to_string(format!("{}bart/scaling.txt", common::FIXTURES))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let got = bart_scaling(&c.ksp_u.view(), &c.mask);
    assert!((got - want).abs() <= 1e-3 * want, "scaling {got} vs BART {want}");
}

#[test]
fn espirit_maps_match_bart_ecalib() {
    let c = load();
    let ours = espirit(&c.ksp_u.view(), &c.mask, &EspiritOptions::default()).unwrap();
    assert!(matches!(ours.method, MapsMethod::Espirit { calib: (20, 20), .. }), "{:?}", ours.method);
    let est = ours.first();
    let (mut n, mut ok) = (0, 0);
    for i in 0..48 {
        for j in 0..48 {
            let b: Vec<C32> = c.maps.slice(ndarray::s![.., i, j]).to_vec();
            if b.iter().all(|z| z.norm() == 0.0) {
                continue; // outside BART's crop
            }
            let a: Vec<C32> = est.slice(ndarray::s![.., i, j]).to_vec();
            n += 1;
            ok += (coil_similarity(&a, &b) >= 0.95) as usize;
        }
    }
    assert!(ok as f32 >= 0.95 * n as f32, "{ok}/{n} pixels with |⟨s, s_bart⟩| ≥ 0.95");
}

#[test]
fn sense_matches_bart_pics_l2() {
    let c = load();
    let mut op = SenseOperator::new(c.maps.clone(), &c.mask).unwrap();
    let o = PicsOptions { lambda: 0.01, iterations: 30, ..Default::default() };
    let ours = sense(&mut op, &c.ksp_u.view(), &o).unwrap().first_map_set().to_owned();
    let bart = image("sense");
    let e = rel_err(&ours, &bart);
    assert!(e < 1e-3, "relative difference to BART pics -l2: {e}");
    let r = reference(&c);
    assert!(psnr(&r, &ours) >= psnr(&r, &bart) - 0.3);
}

#[test]
fn l1_wavelet_matches_bart_pics_l1() {
    let c = load();
    let mut op = SenseOperator::new(c.maps.clone(), &c.mask).unwrap();
    let o = PicsOptions {
        lambda: 0.01,
        iterations: 50,
        cycle_spinning: CycleSpinning::None,
        ..Default::default()
    };
    let ours = l1_wavelet(&mut op, &c.ksp_u.view(), &o).unwrap().first_map_set().to_owned();
    let bart = image("l1");
    let r = reference(&c);
    let (po, pb) = (psnr(&r, &ours), psnr(&r, &bart));
    eprintln!("L1: ours {po:.2} dB, BART {pb:.2} dB, rel diff {}", rel_err(&ours, &bart));
    assert!(po >= pb - 0.3, "L1-wavelet PSNR {po} vs BART {pb}");
    // BART's dau2 transform extends the borders instead of wrapping, so the iterates differ
    // (~15% here) while the quality is the same or better.
    assert!(rel_err(&ours, &bart) < 0.2);
}

#[test]
fn tv_matches_bart_pics_tv() {
    let c = load();
    let mut op = SenseOperator::new(c.maps.clone(), &c.mask).unwrap();
    let o = PicsOptions { lambda: 0.01, iterations: 30, ..Default::default() };
    let ours = total_variation(&mut op, &c.ksp_u.view(), &o, &TvOptions::default()).unwrap();
    let ours = ours.first_map_set().to_owned();
    let bart = image("tv");
    let r = reference(&c);
    let (po, pb) = (psnr(&r, &ours), psnr(&r, &bart));
    eprintln!("TV: ours {po:.2} dB, BART {pb:.2} dB, rel diff {}", rel_err(&ours, &bart));
    assert!(po >= pb - 0.3, "TV PSNR {po} vs BART {pb}");
    // Same ADMM (ρ = 0.5, 10 CG steps) but BART's 30 iterations end further from the optimum
    // (4 dB lower PSNR here), so only the quality is compared, with a loose closeness check.
    assert!(rel_err(&ours, &bart) < 0.25);
}

#[test]
fn our_maps_and_solvers_end_to_end_match_bart_pipeline() {
    // ecalib -m1 + pics -S (-l2 | -l1 -n) by BART vs ESPIRiT + SENSE / L1 here, both scored
    // against the same fully sampled reference (magnitudes, so the maps' phase convention
    // does not matter).
    let c = load();
    let r = reference(&c);
    let ours = espirit(&c.ksp_u.view(), &c.mask, &EspiritOptions::default()).unwrap();
    let mut op = SenseOperator::new(ours.first(), &c.mask).unwrap();
    let o = PicsOptions {
        lambda: 0.01,
        iterations: 30,
        cycle_spinning: CycleSpinning::None,
        ..Default::default()
    };
    let s = sense(&mut op, &c.ksp_u.view(), &o).unwrap().first_map_set().to_owned();
    let l1 = l1_wavelet(&mut op, &c.ksp_u.view(), &PicsOptions { iterations: 50, ..o }).unwrap();
    let l1 = l1.first_map_set().to_owned();
    let (ps, pb) = (psnr(&r, &s), psnr(&r, &image("sense")));
    let (pl, plb) = (psnr(&r, &l1), psnr(&r, &image("l1")));
    eprintln!("end to end: SENSE ours {ps:.2} / BART {pb:.2} dB, L1 ours {pl:.2} / BART {plb:.2} dB");
    assert!(ps >= pb - 0.3 && pl >= plb - 0.3);
}
