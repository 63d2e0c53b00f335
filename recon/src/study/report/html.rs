//! `report.html`: one self-contained page (inline CSS, figures as `data:image/png;base64`
//! URIs, no script and no external link), every string from the study escaped.

use super::plot::distinct;
use super::Figure;
use crate::study::record::{CellRecord, Estimate, GroupStats, PairedDifference, ReportInput};
use base64::Engine;
use std::fmt::Write;

/// The per-cell table shows at most this many rows; all of them are in `results.csv`.
pub const MAX_CELL_ROWS: usize = 200;

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1320px;\
color:#222;line-height:1.4;padding:0 16px}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}\
pre{background:#f4f4f4;padding:8px;white-space:pre-wrap;word-break:break-all}\
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}\
figcaption{color:#555;font-size:.92em;max-width:960px}\
table{border-collapse:collapse;font-size:.88em;margin:.6em 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}\
th{background:#eee}td.t{text-align:left}tr.sig td{background:#e8f5e9}small{color:#666}.note{color:#555}";

/// Escapes `s` for HTML text and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page.
pub(super) fn document(input: &ReportInput, figures: &[Figure]) -> String {
    let mut h = String::new();
    let title = escape(&input.title);
    let _ =
        write!(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>");
    let _ = write!(h, "<style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n");
    let _ = writeln!(h, "<p>Command:</p><pre><code>{}</code></pre>", escape(&input.command));
    let n = input.records.len();
    let _ = match input.throughput {
        Some((rate, secs)) => writeln!(
            h,
            "<p>{n} reconstructions in {secs:.1} s: <b>{rate:.2} reconstructions per second</b>.</p>"
        ),
        None => writeln!(h, "<p>{n} reconstructions.</p>"),
    };
    h.push_str("<h2>Figures</h2>\n");
    for f in figures {
        let data = base64::engine::general_purpose::STANDARD.encode(&f.png);
        let _ = writeln!(
            h,
            "<figure id=\"{id}\"><img src=\"data:image/png;base64,{data}\" alt=\"{alt}\">\
             <figcaption><b>{alt}</b> (<code>figures/{id}.png</code>). {caption}</figcaption></figure>",
            id = escape(&f.name),
            alt = escape(&f.title),
            caption = escape(&f.caption),
        );
    }
    group_table(&mut h, &input.groups);
    best_table(&mut h, &input.groups, &input.paired);
    paired_table(&mut h, &input.paired);
    cell_table(&mut h, &input.records);
    h.push_str("</body></html>\n");
    h
}

/// `mean ± std` over `[ci_low, ci_high]`, with `digits` decimals.
fn estimate(e: &Estimate, digits: usize) -> String {
    format!(
        "{:.d$} ± {:.d$}<br><small>[{:.d$}, {:.d$}]</small>",
        e.mean,
        e.std,
        e.ci_low,
        e.ci_high,
        d = digits
    )
}

/// Decimals a metric is shown with.
fn digits(metric: &str) -> usize {
    if metric == "psnr" {
        2
    } else {
        4
    }
}

fn group_table(h: &mut String, groups: &[GroupStats]) {
    h.push_str("<h2>Statistics per (mask, acceleration, method)</h2>\n<p class=\"note\">Mean ± standard deviation \
        over volumes and seeds; below it the 95 % bootstrap confidence interval of the mean (↑ higher is better, \
        ↓ lower is better).</p>\n<table><tr><th>mask</th>\
        <th>R</th><th>achieved R</th><th>method</th><th>n</th><th>PSNR (dB) ↑</th><th>SSIM ↑</th><th>NMSE ↓</th></tr>\n");
    for g in groups {
        let _ = writeln!(
            h,
            "<tr><td class=\"t\">{}</td><td>{}</td><td>{:.2}</td><td class=\"t\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&g.mask),
            g.acceleration,
            g.achieved_acceleration,
            escape(&g.method),
            g.n,
            estimate(&g.psnr, 2),
            estimate(&g.ssim, 4),
            estimate(&g.nmse, 4)
        );
    }
    h.push_str("</table>\n");
}

/// The mean of `metric` in a group (NMSE: lower is better, so it is negated for ranking).
fn score(g: &GroupStats, metric: &str) -> f64 {
    match metric {
        "psnr" => g.psnr.mean,
        "ssim" => g.ssim.mean,
        _ => -g.nmse.mean,
    }
}

/// How many of the other masks `best` beats significantly on `metric` (paired, CI excluding
/// zero in its favour), and against how many a paired difference exists.
pub(super) fn beats(
    paired: &[PairedDifference],
    best: &str,
    acc: f64,
    method: &str,
    metric: &str,
) -> (usize, usize) {
    let sign = if metric == "nmse" { -1.0 } else { 1.0 };
    let (mut wins, mut compared) = (0, 0);
    for p in paired.iter().filter(|p| p.acceleration == acc && p.method == method && p.metric == metric) {
        let d = if p.mask_a == best {
            p.difference.mean
        } else if p.mask_b == best {
            -p.difference.mean
        } else {
            continue;
        };
        compared += 1;
        if p.significant && sign * d > 0.0 {
            wins += 1;
        }
    }
    (wins, compared)
}

/// For each (acceleration, method): the mask with the best mean PSNR and SSIM, and whether it
/// is significantly better than the others.
fn best_table(h: &mut String, groups: &[GroupStats], paired: &[PairedDifference]) {
    h.push_str(
        "<h2>Best mask per (acceleration, method)</h2>\n<p class=\"note\">The mask with the highest mean; \
        “significantly better than k of m” counts the other masks whose paired difference (same volumes and \
        seeds) has a 95 % confidence interval above zero.</p>\n<table><tr><th>R</th><th>method</th>\
        <th>best by PSNR</th><th>best by SSIM</th></tr>\n",
    );
    let mut accs: Vec<f64> = Vec::new();
    for g in groups {
        if !accs.contains(&g.acceleration) {
            accs.push(g.acceleration);
        }
    }
    accs.sort_by(f64::total_cmp);
    for acc in accs {
        for method in distinct(groups.iter().map(|g| g.method.as_str())) {
            let cell: Vec<&GroupStats> =
                groups.iter().filter(|g| g.acceleration == acc && g.method == method).collect();
            if cell.is_empty() {
                continue;
            }
            let best = |metric: &str| {
                let g = cell
                    .iter()
                    .max_by(|a, b| score(a, metric).total_cmp(&score(b, metric)))
                    .expect("non-empty"); // ok: `cell` is not empty (checked above)
                let (wins, of) = beats(paired, &g.mask, acc, method, metric);
                let value = if metric == "psnr" { g.psnr.mean } else { g.ssim.mean };
                let test = match of {
                    0 => "no paired comparison".to_string(),
                    _ => format!("significantly better than {wins} of {of}"),
                };
                format!("{} ({value:.d$})<br><small>{test}</small>", escape(&g.mask), d = digits(metric))
            };
            let _ = writeln!(
                h,
                "<tr><td>{acc}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td></tr>",
                escape(method),
                best("psnr"),
                best("ssim")
            );
        }
    }
    h.push_str("</table>\n");
}

fn paired_table(h: &mut String, paired: &[PairedDifference]) {
    h.push_str("<h2>Paired differences between masks</h2>\n<p class=\"note\">Mask a minus mask b on the same \
        volumes and seeds: mean and 95 % bootstrap confidence interval. Rows marked ✓ (shaded) are significant: \
        the interval excludes zero.</p>\n<table><tr><th>mask a</th><th>mask b</th><th>R</th><th>method</th>\
        <th>metric</th><th>n</th><th>a − b</th><th>95 % CI</th><th>significant</th></tr>\n");
    for p in paired {
        let d = digits(&p.metric);
        let e = &p.difference;
        let _ = writeln!(
            h,
            "<tr{}><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td>\
             <td>{}</td><td>{:+.d$}</td><td>[{:+.d$}, {:+.d$}]</td><td>{}</td></tr>",
            if p.significant { " class=\"sig\"" } else { "" },
            escape(&p.mask_a),
            escape(&p.mask_b),
            p.acceleration,
            escape(&p.method),
            escape(&p.metric),
            p.n,
            e.mean,
            e.ci_low,
            e.ci_high,
            if p.significant { "✓" } else { "" }
        );
    }
    h.push_str("</table>\n");
}

fn cell_table(h: &mut String, records: &[CellRecord]) {
    let _ = write!(h, "<h2>Cells</h2>\n<p class=\"note\">");
    if records.len() > MAX_CELL_ROWS {
        let _ = write!(h, "The first {MAX_CELL_ROWS} of {} cells; all of them are in ", records.len());
    } else {
        let _ = write!(h, "All {} cells, also in ", records.len());
    }
    h.push_str("<code>results.csv</code> and <code>results.jsonl</code>.</p>\n<table><tr><th>volume</th><th>mask</th>\
        <th>R</th><th>centre</th><th>method</th><th>seed</th><th>PSNR</th><th>SSIM</th><th>NMSE</th>\
        <th>achieved R</th><th>PSR</th><th>incoherence</th><th>centre sampled</th><th>seconds</th></tr>\n");
    for r in records.iter().take(MAX_CELL_ROWS) {
        let centre = r.centre.map(|c| format!("{c}")).unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td><td>{centre}</td><td class=\"t\">{}</td>\
             <td>{}</td><td>{:.2}</td><td>{:.4}</td><td>{:.4}</td><td>{:.2}</td><td>{:.4}</td><td>{:.4}</td>\
             <td>{:.3}</td><td>{:.2}</td></tr>",
            escape(&r.volume),
            escape(&r.mask),
            r.acceleration,
            escape(&r.method),
            r.seed,
            r.psnr,
            r.ssim,
            r.nmse,
            r.achieved_acceleration,
            r.psf_peak_sidelobe_ratio,
            r.incoherence,
            r.centre_sampled_fraction,
            r.seconds
        );
    }
    h.push_str("</table>\n");
}
