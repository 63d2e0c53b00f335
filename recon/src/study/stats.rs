//! The statistics of a study: per (mask, acceleration, method) the mean, standard deviation
//! and a 95 % bootstrap confidence interval of the mean over volumes and seeds; and paired
//! differences between masks on the same (volume, seed).
//!
//! **Bootstrap** (percentile method, Efron & Tibshirani 1993, ch. 13): draw `B` =
//! [`RESAMPLES`] samples of size n with replacement from the n values, take each sample's mean,
//! and report the 2.5th and 97.5th percentiles of those B means (linear interpolation between
//! order statistics, numpy's default). For a large sample this tends to
//! `mean ± 1.96 σ/√n`; a constant sample gives a zero-width interval. The generator is
//! SplitMix64 seeded by a hash of the group's name, so the same results give the same
//! intervals, whatever the order the groups are computed in.
//!
//! **Paired differences**: for masks `a` and `b` at one acceleration with one method, the
//! differences `a − b` of the metric over the (volume, seed) pairs both have; the mean and
//! its bootstrap interval. `significant` when the interval excludes 0 (a two-sided test at
//! about the 5 % level; no correction for the number of pairs compared).

use super::record::{CellRecord, Estimate, GroupStats, PairedDifference};
use std::collections::BTreeMap;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;

/// Mean, sample standard deviation (n − 1; 0 for one value) and the 95 % bootstrap interval of
/// the mean of `values`, resampled with the generator seeded by `key`.
pub fn estimate(values: &[f64], key: &str) -> Estimate {
    let n = values.len();
    if n == 0 {
        return Estimate { mean: f64::NAN, std: f64::NAN, ci_low: f64::NAN, ci_high: f64::NAN };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let mut rng = SplitMix64(fnv1a(key));
    let mut means: Vec<f64> =
        (0..RESAMPLES).map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    Estimate { mean, std, ci_low: percentile(&means, 0.025), ci_high: percentile(&means, 0.975) }
}

/// The `q` quantile of sorted values, linear between order statistics (numpy's default).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

/// The statistics of every (mask, acceleration, method) group, in the order the groups first
/// appear in `records` (the study's order).
pub fn group_stats(records: &[CellRecord]) -> Vec<GroupStats> {
    let mut order: Vec<(String, u64, String)> = Vec::new();
    let mut groups: BTreeMap<(String, u64, String), Vec<&CellRecord>> = BTreeMap::new();
    for r in records {
        let key = (r.mask.clone(), r.acceleration.to_bits(), r.method.clone());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    order
        .into_iter()
        .map(|key| {
            let cells = &groups[&key];
            let name = format!("{}|{}|{}", key.0, f64::from_bits(key.1), key.2);
            let of = |f: fn(&CellRecord) -> f64, metric: &str| {
                estimate(&cells.iter().map(|c| f(c)).collect::<Vec<_>>(), &format!("{name}|{metric}"))
            };
            GroupStats {
                mask: key.0.clone(),
                acceleration: f64::from_bits(key.1),
                method: key.2.clone(),
                n: cells.len(),
                psnr: of(|c| c.psnr, "psnr"),
                ssim: of(|c| c.ssim, "ssim"),
                nmse: of(|c| c.nmse, "nmse"),
                achieved_acceleration: cells.iter().map(|c| c.achieved_acceleration).sum::<f64>()
                    / cells.len() as f64,
            }
        })
        .collect()
}

/// Paired differences `a − b` of PSNR and SSIM for every pair of masks (a before b in the
/// study's order) at each (acceleration, method), over the (volume, seed) pairs both have.
pub fn paired_differences(records: &[CellRecord]) -> Vec<PairedDifference> {
    // (acceleration, method) → mask → (volume, seed) → record, keeping first-seen orders.
    type Cells<'a> = BTreeMap<(String, u32), &'a CellRecord>;
    let mut slots: Vec<(u64, String)> = Vec::new();
    let mut masks: BTreeMap<(u64, String), Vec<(String, Cells)>> = BTreeMap::new();
    for r in records {
        let slot = (r.acceleration.to_bits(), r.method.clone());
        if !masks.contains_key(&slot) {
            slots.push(slot.clone());
        }
        let list = masks.entry(slot).or_default();
        let i = match list.iter().position(|(m, _)| *m == r.mask) {
            Some(i) => i,
            None => {
                list.push((r.mask.clone(), BTreeMap::new()));
                list.len() - 1
            }
        };
        list[i].1.insert((r.volume.clone(), r.seed), r);
    }
    let mut out = Vec::new();
    for slot in slots {
        let list = &masks[&slot];
        for (i, (a, cells_a)) in list.iter().enumerate() {
            for (b, cells_b) in &list[i + 1..] {
                let pairs: Vec<(&CellRecord, &CellRecord)> =
                    cells_a.iter().filter_map(|(k, ra)| cells_b.get(k).map(|rb| (*ra, *rb))).collect();
                if pairs.is_empty() {
                    continue;
                }
                for (metric, f) in
                    [("psnr", (|c: &CellRecord| c.psnr) as fn(&CellRecord) -> f64), ("ssim", |c| c.ssim)]
                {
                    let diffs: Vec<f64> = pairs.iter().map(|(x, y)| f(x) - f(y)).collect();
                    let acc = f64::from_bits(slot.0);
                    let d = estimate(&diffs, &format!("{a}|{b}|{acc}|{}|{metric}", slot.1));
                    out.push(PairedDifference {
                        mask_a: a.clone(),
                        mask_b: b.clone(),
                        acceleration: acc,
                        method: slot.1.clone(),
                        metric: metric.into(),
                        n: pairs.len(),
                        significant: d.ci_low > 0.0 || d.ci_high < 0.0,
                        difference: d,
                    });
                }
            }
        }
    }
    out
}

/// FNV-1a, 64 bits: a fixed hash of a group's name (std's hasher may change between releases).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// SplitMix64 (Steele, Lea & Flood 2014): small, fast and the same on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias for n ≪ 2⁶⁴ is negligible).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(mask: &str, volume: &str, seed: u32, psnr: f64) -> CellRecord {
        CellRecord {
            volume: volume.into(),
            mask: mask.into(),
            acceleration: 4.0,
            centre: Some(0.08),
            method: "cs".into(),
            seed,
            psnr,
            ssim: psnr / 100.0,
            nmse: 0.01,
            achieved_acceleration: 3.9,
            psf_peak_sidelobe_ratio: 0.3,
            incoherence: 0.1,
            centre_sampled_fraction: 1.0,
            seconds: 1.0,
        }
    }

    #[test]
    fn a_constant_sample_has_a_zero_width_interval() {
        let e = estimate(&[3.5; 7], "x");
        assert_eq!((e.mean, e.std, e.ci_low, e.ci_high), (3.5, 0.0, 3.5, 3.5));
        let one = estimate(&[2.0], "x");
        assert_eq!((one.std, one.ci_low, one.ci_high), (0.0, 2.0, 2.0));
    }

    /// A large normal sample (Box–Muller from the same generator): the interval is
    /// mean ± 1.96 σ/√n to within a few per cent of its half-width, and covers the true mean.
    #[test]
    fn a_large_normal_sample_gives_the_normal_interval() {
        let mut rng = SplitMix64(42);
        let u = |rng: &mut SplitMix64| (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let values: Vec<f64> = (0..4000)
            .map(|_| {
                let (u1, u2) = (u(&mut rng).max(1e-300), u(&mut rng));
                10.0 + 2.0 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            })
            .collect();
        let e = estimate(&values, "normal");
        assert!((e.std - 2.0).abs() < 0.1, "{e:?}");
        let half = 1.96 * e.std / (values.len() as f64).sqrt();
        assert!(((e.ci_high - e.ci_low) / 2.0 - half).abs() < 0.1 * half, "{e:?} vs ±{half}");
        assert!(((e.ci_high + e.ci_low) / 2.0 - e.mean).abs() < 0.1 * half, "{e:?}");
        assert!(e.ci_low < 10.0 && 10.0 < e.ci_high, "{e:?}");
        // Same values, same key: the same bytes.
        assert_eq!(estimate(&values, "normal"), e);
    }

    #[test]
    fn identical_masks_differ_by_zero_and_not_significantly() {
        let mut records = Vec::new();
        for (v, seed, p) in [("a.h5", 0, 30.0), ("a.h5", 1, 31.5), ("b.h5", 0, 28.0), ("b.h5", 1, 29.0)] {
            records.push(cell("random", v, seed, p));
            records.push(cell("random_copy", v, seed, p));
            records.push(cell("better", v, seed, p + 2.0 + seed as f64 * 0.1));
        }
        let paired = paired_differences(&records);
        assert_eq!(paired.len(), 3 * 2, "3 mask pairs × psnr, ssim");
        let same = &paired[0];
        assert_eq!(
            (same.mask_a.as_str(), same.mask_b.as_str(), same.metric.as_str()),
            ("random", "random_copy", "psnr")
        );
        assert_eq!(
            (same.n, same.difference.mean, same.difference.ci_low, same.difference.ci_high),
            (4, 0.0, 0.0, 0.0)
        );
        assert!(!same.significant);
        let better = paired
            .iter()
            .find(|p| p.mask_a == "random" && p.mask_b == "better" && p.metric == "psnr")
            .unwrap();
        assert!((better.difference.mean + 2.05).abs() < 1e-12 && better.significant, "{better:?}");
        let groups = group_stats(&records);
        assert_eq!(
            groups.iter().map(|g| g.mask.as_str()).collect::<Vec<_>>(),
            ["random", "random_copy", "better"]
        );
        assert_eq!(groups[0].n, 4);
        assert!((groups[0].psnr.mean - 29.625).abs() < 1e-12);
        assert!(groups[0].psnr.ci_low <= 29.625 && groups[0].psnr.ci_high >= 29.625);
    }
}
