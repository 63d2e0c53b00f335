//! The point-spread-function analysis against numpy for two masks (issue 18): a 1-D random
//! column mask (32×24, the PSF is a line) and a 2-D variable-density Poisson-disc mask (40×40).
//! The masks and their references come from `docs/study/make_psf_fixtures.py`, which
//! implements the formulas of `kspace/src/analysis.rs` independently in numpy (float64): the
//! PSF values, the geometry, and the peak-side-lobe ratio and incoherence of the plain and the
//! density-compensated PSF.

use kspace::analysis::{self, PsfGeometry, PsfWeighting};
use kspace::SamplingMask;
use ndarray::Array2;

/// One fixture: the mask, numpy's geometry, stats `[psr, incoherence, psr_comp, incoherence_comp]`
/// and plain PSF.
struct Fixture {
    mask: SamplingMask,
    geometry: String,
    stats: Vec<f64>,
    psf: Array2<f64>,
}

/// The words after `key` on the next line.
fn header(lines: &mut std::str::Lines<'_>, key: &str) -> Vec<String> {
    let line = lines.next().unwrap();
    let mut words = line.split_whitespace().map(str::to_string);
    assert_eq!(words.next().as_deref(), Some(key), "{line}");
    words.collect()
}

fn read(name: &str) -> Fixture {
    let path = format!("{}/tests/fixtures/psf/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lines = &mut text.lines();
    let shape: Vec<usize> = header(lines, "shape").iter().map(|t| t.parse().unwrap()).collect();
    let (h, w) = (shape[0], shape[1]);
    let geometry = header(lines, "geometry").remove(0);
    let stats = header(lines, "stats").iter().map(|t| t.parse().unwrap()).collect();
    let mut block = |key: &str| -> Array2<f64> {
        header(lines, key);
        let vals: Vec<f64> = (0..h)
            .flat_map(|_| lines.next().unwrap().split_whitespace().map(|t| t.parse::<f64>().unwrap()))
            .collect();
        Array2::from_shape_vec((h, w), vals).unwrap()
    };
    let keep = block("keep").mapv(|v| v == 1.0);
    let prob = block("prob").mapv(|v| v as f32);
    let psf = block("psf");
    Fixture { mask: SamplingMask::new(keep, prob), geometry, stats, psf }
}

#[test]
fn psf_analysis_matches_numpy() {
    for (name, geometry) in
        [("psf_random1d.txt", PsfGeometry::Row), ("psf_poisson2d.txt", PsfGeometry::Plane)]
    {
        let f = read(name);
        assert_eq!(format!("{:?}", analysis::psf_geometry(&f.mask)).to_lowercase(), f.geometry, "{name}");
        assert_eq!(analysis::psf_geometry(&f.mask), geometry, "{name}");
        let psf = analysis::point_spread_function(&f.mask, PsfWeighting::Mask);
        assert_eq!(psf.dim(), f.psf.dim());
        for ((ij, &got), &want) in psf.indexed_iter().zip(&f.psf) {
            assert!((got as f64 - want).abs() < 1e-5, "{name} PSF at {ij:?}: {got} vs numpy {want}");
        }
        let a = analysis::analyse(&f.mask);
        let got = [a.psr, a.incoherence, a.psr_compensated, a.incoherence_compensated];
        for (what, (g, w)) in ["PSR", "incoherence", "PSR (keep/p)", "incoherence (keep/p)"]
            .iter()
            .zip(got.iter().zip(&f.stats))
        {
            assert!((g - w).abs() < 1e-5, "{name} {what}: {g} vs numpy {w}");
        }
        assert_eq!(analysis::peak_sidelobe_ratio(&f.mask), a.psr);
        assert_eq!(analysis::incoherence(&f.mask), a.incoherence);
        // Not trivially zero: both masks alias.
        assert!(a.psr > 0.1 && a.incoherence > 0.01, "{name}: {a}");
    }
}
