//! The report on a small synthetic study: files written, PNGs that decode to the expected sizes
//! with real content, the HTML embedding exactly those bytes, escaping, and the empty case.

use super::*;
use crate::study::record::{CellRecord, Estimate, GroupStats, MaskView, PairedDifference, SliceView};
use base64::Engine;
use kspace::analysis::{point_spread_function, PsfWeighting};
use kspace::SamplingMask;
use ndarray::Array2;

fn est(mean: f64, spread: f64) -> Estimate {
    Estimate { mean, std: spread, ci_low: mean - spread, ci_high: mean + spread }
}

fn mask_view(label: &str, acceleration: f64, keep: Array2<bool>) -> MaskView {
    let mask = SamplingMask::new(keep.clone(), Array2::from_elem(keep.dim(), 0.5));
    MaskView {
        mask: label.into(),
        acceleration,
        pattern: keep.mapv(|k| k as u8 as f32),
        psf: point_spread_function(&mask, PsfWeighting::Mask),
        geometry: kspace::analysis::psf_geometry(&mask),
    }
}

/// Two masks (one with `<` and `&` in its label) × 2 accelerations × 2 methods, 2 volumes.
pub(crate) fn synthetic_input() -> ReportInput {
    let masks = ["random", "poisson<a&b>"];
    let methods = ["zero-filled", "cs"];
    let mut records = Vec::new();
    let mut groups = Vec::new();
    for (mi, mask) in masks.iter().enumerate() {
        for acc in [2.0, 4.0] {
            for (ki, method) in methods.iter().enumerate() {
                let psnr = 36.0 - 2.0 * acc + 1.5 * mi as f64 + 2.0 * ki as f64;
                for volume in ["a.h5", "b<&>.h5"] {
                    records.push(CellRecord {
                        volume: volume.into(),
                        mask: mask.to_string(),
                        acceleration: acc,
                        centre: Some(0.08),
                        method: method.to_string(),
                        seed: 0,
                        psnr,
                        ssim: psnr / 40.0,
                        nmse: 0.01 * acc,
                        achieved_acceleration: acc * 0.98,
                        psf_peak_sidelobe_ratio: 0.3,
                        incoherence: 0.05,
                        centre_sampled_fraction: 1.0,
                        seconds: 0.1,
                    });
                }
                groups.push(GroupStats {
                    mask: mask.to_string(),
                    acceleration: acc,
                    method: method.to_string(),
                    n: 2,
                    psnr: est(psnr, 0.8),
                    ssim: est(psnr / 40.0, 0.01),
                    nmse: est(0.01 * acc, 0.002),
                    achieved_acceleration: acc * 0.98,
                });
            }
        }
    }
    let paired = vec![PairedDifference {
        mask_a: masks[1].into(),
        mask_b: masks[0].into(),
        acceleration: 4.0,
        method: "cs".into(),
        metric: "psnr".into(),
        n: 2,
        difference: est(1.5, 0.3),
        significant: true,
    }];
    let (h, w) = (24, 20);
    let random_cols: Vec<bool> = (0..w).map(|j| j == w / 2 || (j * 7 + 3) % 5 == 0).collect();
    let one_d = Array2::from_shape_fn((h, w), |(_, j)| random_cols[j]);
    let two_d =
        Array2::from_shape_fn((h, w), |(i, j)| (i * 31 + j * 17) % 7 == 0 || (i == h / 2 && j == w / 2));
    let reference = Array2::from_shape_fn((32, 32), |(i, j)| {
        ((i as f32 - 16.0).hypot(j as f32 - 16.0) < 10.0) as u8 as f32
    });
    let reconstructions = masks
        .iter()
        .flat_map(|m| methods.iter().map(move |k| (m.to_string(), k.to_string())))
        .enumerate()
        .map(|(n, (m, k))| (m, k, reference.mapv(|v| v * 0.9) + (n as f32 * 0.02)))
        .collect();
    ReportInput {
        title: "Study of <scans> & masks".into(),
        command: "recon study --input-dir 'a<b' --masks random,poisson".into(),
        records,
        groups,
        paired,
        masks: vec![
            mask_view(masks[0], 2.0, one_d.clone()),
            mask_view(masks[0], 4.0, one_d),
            mask_view(masks[1], 2.0, two_d.clone()),
            mask_view(masks[1], 4.0, two_d),
        ],
        slice: Some(SliceView {
            volume: "a.h5".into(),
            slice: 3,
            acceleration: 4.0,
            reference,
            reconstructions,
        }),
        throughput: Some((12.5, 0.64)),
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("recon-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Decodes a PNG: (width, height, RGB bytes).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn report_writes_html_and_decodable_figures() {
    let dir = temp_dir("full");
    let files = write_report(&dir, &synthetic_input()).unwrap();
    assert_eq!(files.html, dir.join("report.html"));
    let names: Vec<String> =
        files.figures.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["psnr.png", "ssim.png", "masks.png", "slice.png"]);
    let html = std::fs::read_to_string(&files.html).unwrap();
    for path in &files.figures {
        let bytes = std::fs::read(path).unwrap();
        let (w, h, rgb) = decode(&bytes);
        assert!(w >= 480 && h >= 300, "{path:?} is {w}×{h}");
        assert_eq!(rgb.len(), (w * h * 3) as usize);
        // Real content: many distinct colours, and more than white.
        let mut colours: Vec<&[u8]> = rgb.chunks(3).collect();
        colours.sort();
        colours.dedup();
        assert!(colours.len() > 20, "{path:?}: only {} colours", colours.len());
        // The HTML embeds exactly these bytes.
        let id = path.file_stem().unwrap().to_string_lossy();
        let marker = format!("<figure id=\"{id}\"><img src=\"data:image/png;base64,");
        let at = html.find(&marker).unwrap_or_else(|| panic!("no embedded {id}")) + marker.len();
        let b64 = &html[at..at + html[at..].find('"').unwrap()];
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), bytes, "{id}");
    }
    assert_eq!(html.matches("<img src=\"data:image/png;base64,").count(), 4);
    // Sizes follow the layout: the curves are 960×600; the mask grid and the slice grid have
    // 2 rows (masks) of 2 × 2 panels (accelerations or methods, each with 2 images), under a
    // title (34 px) and colour bars (42 px), each row under a 24 px header; the slice grid
    // has the reference panel on top.
    let size = |n: usize| decode(&std::fs::read(&files.figures[n]).unwrap());
    let (p, q) = (images::PANEL, images::SLICE_PANEL);
    let sizes: Vec<(u32, u32)> = (0..4).map(|n| (size(n).0, size(n).1)).collect();
    assert_eq!(
        sizes,
        [(960, 600), (960, 600), (4 * p, 34 + 42 + 2 * (24 + p)), (4 * q, 34 + q + 42 + 2 * (24 + q))]
    );
    // Self-contained: nothing fetched from elsewhere.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    // RECON_KEEP_REPORT=1 keeps the report to look at (docs/study/screenshot.sh).
    if std::env::var_os("RECON_KEEP_REPORT").is_some() {
        eprintln!("report kept in {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn report_escapes_strings_and_marks_significance() {
    let dir = temp_dir("escape");
    let files = write_report(&dir, &synthetic_input()).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(html.contains("<title>Study of &lt;scans&gt; &amp; masks</title>"));
    assert!(html.contains("poisson&lt;a&amp;b&gt;") && !html.contains("poisson<a&b>"));
    assert!(html.contains("b&lt;&amp;&gt;.h5") && html.contains("&#39;a&lt;b&#39;"));
    assert!(!html.contains("<scans>") && !html.contains("'a<b'"));
    // The one significant paired difference is marked, and the best mask at R 4 with cs beats
    // its one competitor significantly.
    assert_eq!(html.matches("<tr class=\"sig\">").count(), 1);
    assert!(html.contains("significantly better than 1 of 1"));
    assert!(html.contains("no paired comparison"), "the other (R, method) have no paired data");
    assert!(html.contains("12.50 reconstructions per second"));
    assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_without_records_is_an_error_and_writes_nothing() {
    let dir = temp_dir("empty");
    let mut input = synthetic_input();
    input.records.clear();
    let err = write_report(&dir, &input).unwrap_err().to_string();
    assert!(err.contains("no results to report"), "{err}");
    assert!(!dir.join("report.html").exists());
}

#[test]
fn report_without_masks_or_slice_has_only_the_curves() {
    let dir = temp_dir("curves");
    write_report(&dir, &synthetic_input()).unwrap();
    assert!(dir.join("figures/masks.png").exists());
    let mut input = synthetic_input();
    input.masks.clear();
    input.slice = None;
    input.throughput = None;
    let files = write_report(&dir, &input).unwrap();
    assert_eq!(files.figures.len(), 2);
    assert!(
        !dir.join("figures/masks.png").exists() && !dir.join("figures/slice.png").exists(),
        "stale figures removed"
    );
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert_eq!(html.matches("<img src=\"data:image/png;base64,").count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn slice_of_the_wrong_size_is_a_clear_error() {
    let dir = temp_dir("badslice");
    let mut input = synthetic_input();
    if let Some(s) = input.slice.as_mut() {
        s.reconstructions[1].2 = Array2::zeros((8, 8));
    }
    let err = write_report(&dir, &input).unwrap_err().to_string();
    assert!(err.contains("poisson") || err.contains("random"), "{err}");
    assert!(err.contains("reference"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn images_shown_smaller_are_averaged_or_max_pooled() {
    use super::plot::{resample, Reduce};
    let a = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f32);
    assert_eq!(resample(&a, (2, 3), Reduce::Mean)[[0, 0]], 3.5, "mean of 0, 1, 6, 7");
    assert_eq!(resample(&a, (2, 3), Reduce::Max)[[1, 2]], 23.0);
    let up = resample(&a, (8, 12), Reduce::Mean);
    assert_eq!((up[[0, 0]], up[[7, 11]], up[[3, 5]]), (0.0, 23.0, 8.0), "nearest when enlarged");
    // A one-pixel PSF peak survives max-pooling, where nearest-neighbour would drop it.
    let mut psf = Array2::zeros((101, 101));
    psf[[50, 50]] = 1.0;
    assert!(resample(&psf, (10, 10), Reduce::Max).iter().any(|&v| v == 1.0));
    assert!(resample(&Array2::from_elem((3, 3), f32::NAN), (1, 1), Reduce::Mean)[[0, 0]].is_nan());
}

/// Text is drawn with each glyph at its own bounds (plotters 0.3.7's ab_glyph backend drops
/// the left side bearing, which shifts letters such as "p" left and breaks words apart).
#[test]
fn glyphs_keep_their_side_bearings() {
    use ab_glyph::{Font, ScaleFont};
    let font = ab_glyph::FontRef::try_from_slice(super::plot::FONT).unwrap();
    let size = 40.0;
    let ink = |text: &str| {
        let mut xs = Vec::new();
        let advance = super::text::rasterise(&font, size, text, |x, _, c| {
            if c > 0.5 {
                xs.push(x)
            }
        });
        (xs.iter().copied().min().unwrap(), xs.iter().copied().max().unwrap(), advance)
    };
    let scaled = font.as_scaled(size);
    let bearing = |c| scaled.h_side_bearing(scaled.glyph_id(c));
    let (p_left, _, _) = ink("p");
    assert!(
        bearing('p') > 2.0 && (p_left as f32 - bearing('p')).abs() <= 1.0,
        "p ink at {p_left}, bearing {}",
        bearing('p')
    );
    // In "np" the p starts one advance of n (plus kerning) further right than alone.
    let (_, n_right, n_advance) = ink("n");
    let (_, np_right, _) = ink("np");
    let (_, p_right, _) = ink("p");
    assert!((np_right - p_right) as f32 - n_advance <= 1.0 && np_right > n_right);
}
