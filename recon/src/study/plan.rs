//! The plan of a study: which masks, accelerations, centre fractions, methods and seeds, as
//! typed values checked in one place, and the units of work they make.
//!
//! A **unit** is one mask drawn on a volume: (mask, acceleration, centre fraction, seed). All
//! the methods of the study reconstruct it in one pass of `crate::methods::run_methods`, so
//! they share the mask, the slices read and the coil maps; each method's result is one
//! **cell** ([`CellRecord`]). The units of one volume are, in this order, every mask item ×
//! acceleration × centre fraction × seed. A mask file is one unit per volume: it is not drawn
//! (no acceleration, centre or seed to sweep; it is recorded with the first seed and its
//! achieved acceleration).
//!
//! **Mask items** take `recon --mask`'s text form ([`MaskSpec`]): `random`, `poisson`,
//! `poisson:calib=16x16`, `random:center_fraction=0.04`, `file:PATH` (`.npy`, `.png`, `.cfl`,
//! `.h5`). Each item at acceleration `R` is the spec `recon --mask ITEM --acceleration R
//! [--center-fraction CF]` uses (the centre fraction defaults to `0.32 / R`, fastMRI's), so
//! every cell is reproduced by `recon --input FILE --mask ITEM --acceleration R --seed S
//! --method M`. The cell's mask label is the item's text without the acceleration
//! ([`MaskSpec::label`]), with `center_fraction=CF` when the centre fraction was chosen
//! (in the item or by `--center-fractions`) and the family reads it.

use super::record::CellRecord;
use crate::batch::ClassicalSettings;
use crate::classical::Method;
use crate::error::{ReconError, Result};
use kspace::mask::{MaskParams, MaskSpec, Param};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The most seeds, accelerations or mask items one study takes (far above any sensible
/// sweep; each is a factor in the number of reconstructions).
pub const MAX_LIST: usize = 1000;

/// Every method a study can sweep, in table order.
const METHODS: [Method; 5] = [Method::ZeroFilled, Method::Sense, Method::Cs, Method::Tv, Method::Network];

/// The method named `name` ([`Method::name`]: `zero_filled`, `sense`, `cs`, `tv`, `network`;
/// `-` for `_`).
pub fn method_named(name: &str) -> Option<Method> {
    let n = name.trim().to_lowercase().replace('-', "_");
    METHODS.into_iter().find(|m| m.name() == n)
}

/// What a study sweeps and reports; written to `study.json` so that a resumed run and
/// `recon study merge` know the study (and the report can be drawn again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyPlan {
    pub input_dir: PathBuf,
    /// `*`/`?` pattern on file names (as `recon batch`).
    pub pattern: String,
    /// Mask items, in `recon --mask` text form (module docs).
    pub masks: Vec<String>,
    pub accelerations: Vec<f64>,
    /// Centre fractions to sweep for the families that read one; empty: `0.32 / R`.
    pub center_fractions: Vec<f64>,
    #[serde(with = "method_names")]
    pub methods: Vec<Method>,
    pub seeds: Vec<u32>,
    /// The slice of the first volume the report shows (default: the middle one).
    pub report_slice: Option<usize>,
    /// The acceleration of the report's slice grid (default: the swept one nearest 4).
    pub report_acceleration: Option<f64>,
}

/// One mask drawn on a volume (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Index of the mask item in [`StudyPlan::masks`].
    pub item: usize,
    pub spec: MaskSpec,
    /// The cells' mask label (module docs).
    pub label: String,
    /// The requested acceleration; `None` for a mask file (its achieved one is recorded).
    pub acceleration: Option<f64>,
    /// The centre fraction, for families that read it (and no `calib` box).
    pub centre: Option<f64>,
    pub seed: u32,
}

impl Unit {
    /// The key of a cell of this unit on `volume` with `method` ([`cell_key`]).
    pub fn key(&self, volume: &str, method: &str) -> String {
        key_of(volume, &self.label, self.acceleration, self.centre, method, self.seed)
    }
}

/// The resume key of a recorded cell: volume, mask, acceleration (none for a mask file),
/// centre, method, seed.
pub fn cell_key(c: &CellRecord) -> String {
    let acc = (!c.mask.starts_with(kspace::mask::FILE_PREFIX)).then_some(c.acceleration);
    key_of(&c.volume, &c.mask, acc, c.centre, &c.method, c.seed)
}

fn key_of(
    volume: &str,
    mask: &str,
    acc: Option<f64>,
    centre: Option<f64>,
    method: &str,
    seed: u32,
) -> String {
    let bits = |v: Option<f64>| v.map(|v| v.to_bits().to_string()).unwrap_or_else(|| "-".into());
    format!("{volume}\u{1f}{mask}\u{1f}{}\u{1f}{}\u{1f}{method}\u{1f}{seed}", bits(acc), bits(centre))
}

impl StudyPlan {
    /// Checks every list (usage errors naming the flag) and returns the units of one volume.
    pub fn units(&self) -> Result<Vec<Unit>> {
        let bad = |msg: String| Err(ReconError::Invalid(msg));
        for (flag, n) in [
            ("--masks", self.masks.len()),
            ("--accelerations", self.accelerations.len()),
            ("--methods", self.methods.len()),
            ("--seeds", self.seeds.len()),
        ] {
            if n == 0 || n > MAX_LIST {
                return bad(format!("{flag}: give 1 to {MAX_LIST} values"));
            }
        }
        if let Some(a) = self.accelerations.iter().find(|a| !(a.is_finite() && **a > 1.0)) {
            return bad(format!("--accelerations {a}: each must be a finite number > 1"));
        }
        if let Some(c) = self.center_fractions.iter().find(|c| !(c.is_finite() && (0.0..1.0).contains(*c))) {
            return bad(format!("--center-fractions {c}: each must be in [0, 1)"));
        }
        no_duplicates(
            "--accelerations",
            &self.accelerations.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )?;
        no_duplicates(
            "--center-fractions",
            &self.center_fractions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )?;
        no_duplicates("--methods", &self.methods.iter().map(|m| m.name().to_string()).collect::<Vec<_>>())?;
        no_duplicates("--seeds", &self.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        if let Some(r) = self.report_acceleration {
            if !self.accelerations.contains(&r) {
                return bad(format!("--report-acceleration {r}: not one of --accelerations"));
            }
        }
        let mut units = Vec::new();
        for (item, text) in self.masks.iter().enumerate() {
            units.extend(self.item_units(item, text)?);
        }
        let labels: Vec<String> = units
            .iter()
            .filter(|u| u.seed == self.seeds[0])
            .map(|u| match u.acceleration {
                Some(r) => format!("{} at {r}x", u.label),
                None => u.label.clone(),
            })
            .collect();
        no_duplicates("--masks", &labels)?;
        Ok(units)
    }

    fn item_units(&self, item: usize, text: &str) -> Result<Vec<Unit>> {
        let flag = |why: String| ReconError::Invalid(format!("--masks '{text}': {why}"));
        let base = MaskParams::new(self.accelerations[0], 0.32 / self.accelerations[0]);
        let first = MaskSpec::parse_over(text, &base).map_err(|e| flag(e.to_string()))?;
        match &first {
            MaskSpec::None => return Err(flag("`none` keeps every sample: nothing to study".into())),
            MaskSpec::File(path) => {
                crate::io::limits::check_regular_file(path)?;
                let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
                if !crate::maskfile::MASK_FILE_EXTENSIONS.contains(&ext.as_str()) {
                    return Err(flag("a mask file is .npy, .png, .cfl or .h5".into()));
                }
                let label = first.label();
                let seed = self.seeds[0];
                return Ok(vec![Unit { item, spec: first, label, acceleration: None, centre: None, seed }]);
            }
            MaskSpec::Family { params, .. } => {
                if params.acceleration != base.acceleration {
                    return Err(flag("give the accelerations with --accelerations, not in the mask".into()));
                }
                if params.p_edge.is_some() {
                    return Err(flag("p_edge sets the acceleration: sweep n2n with --accelerations".into()));
                }
            }
        }
        let lower = text.to_lowercase().replace('-', "_");
        let item_cf = lower.contains("center_fraction=");
        let mut units = Vec::new();
        for &r in &self.accelerations {
            let cfs: Vec<f64> = match (item_cf, self.center_fractions.is_empty()) {
                (false, false) => self.center_fractions.clone(),
                _ => vec![0.32 / r],
            };
            let mut seen = Vec::new();
            for cf in cfs {
                let spec = MaskSpec::parse_over(text, &MaskParams::new(r, cf))
                    .map_err(|e| flag(format!("at acceleration {r}: {e}")))?;
                let params = spec.params().cloned().unwrap_or_default();
                let reads_cf = spec.uses(Param::CenterFraction) && params.calib.is_none();
                let centre = reads_cf.then_some(params.center_fraction);
                if seen.contains(&centre) {
                    continue; // a family that ignores the centre fraction: one unit, not one per value
                }
                seen.push(centre);
                let label = match centre {
                    Some(cf) if item_cf || !self.center_fractions.is_empty() => {
                        with_centre(&spec.label(), cf)
                    }
                    _ => spec.label(),
                };
                for &seed in &self.seeds {
                    units.push(Unit {
                        item,
                        spec: spec.clone(),
                        label: label.clone(),
                        acceleration: Some(r),
                        centre,
                        seed,
                    });
                }
            }
        }
        Ok(units)
    }

    /// The acceleration of the report's slice grid: the one asked for, else the swept one
    /// nearest 4 (the first of equals).
    pub fn report_acceleration(&self) -> f64 {
        self.report_acceleration.unwrap_or_else(|| {
            let d = |a: f64| (a - 4.0).abs();
            self.accelerations.iter().copied().fold(f64::NAN, |best, a| {
                if best.is_nan() || d(a) < d(best) {
                    a
                } else {
                    best
                }
            })
        })
    }
}

/// `name:center_fraction=CF[,rest]`: the text form's order (the centre fraction comes first
/// after the acceleration, which labels leave out).
fn with_centre(label: &str, cf: f64) -> String {
    match label.split_once(':') {
        Some((name, rest)) => format!("{name}:center_fraction={cf},{rest}"),
        None => format!("{label}:center_fraction={cf}"),
    }
}

fn no_duplicates(flag: &str, values: &[String]) -> Result<()> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(ReconError::Invalid(format!("{flag}: {v} is given twice")));
        }
    }
    Ok(())
}

/// `--masks`: mask items separated by commas, where a piece `key=value` without a `:`
/// continues the item before it, so `random,gaussian:sigma=0.3,calib=24x24,n2n` is three
/// items (`random`, `gaussian:sigma=0.3,calib=24x24`, `n2n`).
pub fn split_mask_items(s: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for piece in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let continues = piece.contains('=') && !piece.contains(':');
        match items.last_mut() {
            Some(last) if continues && last.contains(':') => {
                last.push(',');
                last.push_str(piece);
            }
            _ => items.push(piece.to_string()),
        }
    }
    items
}

/// `--seeds`: `A..B` (A to B − 1, Rust's half-open range: `0..4` is 0, 1, 2, 3), `A..=B`, or
/// a comma-separated list (`0,3,7`).
pub fn parse_seeds(s: &str) -> Result<Vec<u32>> {
    let bad = |why: &str| ReconError::Invalid(format!("--seeds '{s}': {why}"));
    let num = |t: &str| t.trim().parse::<u32>().map_err(|_| bad("seeds are whole numbers 0 to 4294967295"));
    let seeds: Vec<u32> = if let Some((a, b)) = s.split_once("..") {
        let (a, inclusive, b) = match b.strip_prefix('=') {
            Some(b) => (num(a)?, true, num(b)?),
            None => (num(a)?, false, num(b)?),
        };
        let end = if inclusive { b.checked_add(1).ok_or_else(|| bad("range too large"))? } else { b };
        if end <= a {
            return Err(bad("an empty range (A..B needs A < B, e.g. 0..4 for 0, 1, 2, 3)"));
        }
        if (end - a) as usize > MAX_LIST {
            return Err(bad(&format!("more than {MAX_LIST} seeds")));
        }
        (a..end).collect()
    } else {
        s.split(',').map(num).collect::<Result<_>>()?
    };
    Ok(seeds)
}

/// What a cell was computed with besides its key; a recorded cell counts for resuming only
/// when these equal the current ones (as `recon batch`'s [`crate::batch::Settings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSettings {
    /// The network (`default` or the model file), for the `network` method only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// λ, iterations and maps, for `sense`, `cs` and `tv` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classical: Option<ClassicalSettings>,
}

/// The options every cell of a study shares, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub model: String,
    pub classical: ClassicalSettings,
}

impl Recorded {
    /// The settings that matter for `method`.
    pub fn settings(&self, method: Method) -> CellSettings {
        CellSettings {
            model: (method == Method::Network).then(|| self.model.clone()),
            classical: method.is_classical().then(|| self.classical.clone()),
        }
    }
}

/// Serde of a method list by [`Method::name`].
mod method_names {
    use super::{method_named, Method};
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &[Method], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter().map(|m| m.name()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Method>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| method_named(n).ok_or_else(|| D::Error::custom(format!("unknown method {n}"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(masks: &[&str]) -> StudyPlan {
        StudyPlan {
            input_dir: "scans".into(),
            pattern: "*.h5".into(),
            masks: masks.iter().map(|m| m.to_string()).collect(),
            accelerations: vec![4.0, 8.0],
            center_fractions: vec![],
            methods: vec![Method::ZeroFilled, Method::Cs],
            seeds: vec![0, 1],
            report_slice: None,
            report_acceleration: None,
        }
    }

    #[test]
    fn mask_items_keep_their_parameters() {
        assert_eq!(
            split_mask_items("random, gaussian:sigma=0.3,calib=24x24,n2n,file:m.npy"),
            ["random", "gaussian:sigma=0.3,calib=24x24", "n2n", "file:m.npy"]
        );
    }

    #[test]
    fn seeds_parse_as_ranges_and_lists() {
        assert_eq!(parse_seeds("0..4").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_seeds("2..=4").unwrap(), vec![2, 3, 4]);
        assert_eq!(parse_seeds("0,3,7").unwrap(), vec![0, 3, 7]);
        for bad in ["4..4", "5..2", "a..3", "1,,2", "-1", "0..2000"] {
            let e = parse_seeds(bad).unwrap_err();
            assert!(matches!(e, ReconError::Invalid(_)) && e.to_string().contains("--seeds"), "{bad}: {e}");
        }
    }

    #[test]
    fn units_sweep_items_accelerations_centres_and_seeds() {
        let p = plan(&["random", "poisson:calib=16x16", "n2n"]);
        let u = p.units().unwrap();
        assert_eq!(u.len(), 3 * 2 * 2);
        assert_eq!(
            (u[0].label.as_str(), u[0].acceleration, u[0].centre, u[0].seed),
            ("random", Some(4.0), Some(0.08), 0)
        );
        assert_eq!(u[4].label, "poisson:calib=16x16");
        assert_eq!(u[4].centre, None);
        assert_eq!(u[2].centre, Some(0.04));
        // Swept centre fractions: in the label, once for families that ignore them.
        let p = StudyPlan {
            center_fractions: vec![0.04, 0.08],
            ..plan(&["random", "n2n", "random:center_fraction=0.1"])
        };
        let u = p.units().unwrap();
        let labels: Vec<&str> = u
            .iter()
            .filter(|u| u.seed == 0 && u.acceleration == Some(4.0))
            .map(|u| u.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "random:center_fraction=0.04",
                "random:center_fraction=0.08",
                "n2n",
                "random:center_fraction=0.1"
            ]
        );
        assert_eq!(with_centre("gaussian1d:sigma=0.3", 0.1), "gaussian1d:center_fraction=0.1,sigma=0.3");
        assert_eq!(p.report_acceleration(), 4.0);
        assert_eq!(
            StudyPlan { accelerations: vec![2.0, 6.0, 8.0], ..plan(&["random"]) }.report_acceleration(),
            2.0
        );
    }

    #[test]
    fn bad_plans_are_usage_errors_naming_the_flag() {
        let err = |p: StudyPlan| p.units().unwrap_err().to_string();
        assert!(err(plan(&["spiral"])).contains("--masks 'spiral'"));
        assert!(err(plan(&["random", "random"])).contains("twice"));
        assert!(err(plan(&["random:acceleration=3"])).contains("--accelerations"));
        assert!(err(plan(&["none"])).contains("nothing to study"));
        assert!(err(StudyPlan { accelerations: vec![4.0, 0.5], ..plan(&["random"]) }).contains("> 1"));
        assert!(err(StudyPlan { accelerations: vec![2.5], ..plan(&["equispaced"]) }).contains("integer"));
        assert!(err(StudyPlan { seeds: vec![], ..plan(&["random"]) }).contains("--seeds"));
        assert!(err(plan(&["file:/nonexistent/mask.npy"])).contains("mask.npy"));
    }
}
