//! [`MaskSpec`]: which mask a command uses, as one typed value with one text form.
//!
//! | text | value |
//! |---|---|
//! | `none` | [`MaskSpec::None`]: keep every sample |
//! | `file:PATH` | [`MaskSpec::File`]: a mask saved to a file (the caller loads it; kspace does no I/O) |
//! | `NAME` | a family of [`super::FAMILIES`] with [`MaskParams::default`] |
//! | `NAME:key=value,...` | the same with parameters, keys [`Param::key`]: `acceleration`, `center_fraction`, `p_edge`, `calib` (`ROWSxCOLS`), `offset`, `sigma` |
//!
//! Names and keys are case-insensitive, `-` the same as `_`. [`MaskSpec`]'s `Display` writes
//! the family's name and every parameter that differs from the default, so
//! `s.parse::<MaskSpec>()?.to_string().parse()` gives the same value back.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::family::{MaskFamily, Param};
use super::{family, invalid, normalise, MaskFunc, MaskParams, NAMES};
use crate::{KspaceError, Result};

/// A mask: none, a file, or a family with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskSpec {
    /// Keep every sample (fully sampled).
    None,
    /// A mask stored in a file (`file:PATH`), acquired or drawn before; whoever reads files
    /// (recon) loads it.
    File(PathBuf),
    /// A family drawn with its parameters (built once, so validated, when parsed).
    Family { family: &'static MaskFamily, params: MaskParams },
}

/// The prefix of [`MaskSpec::File`]'s text form.
pub const FILE_PREFIX: &str = "file:";

impl MaskSpec {
    /// Family `name` with `params`, validated (every check that does not need the shape).
    pub fn family(name: &str, params: MaskParams) -> Result<MaskSpec> {
        let family = family(name)?;
        family.build(&params)?;
        Ok(MaskSpec::Family { family, params })
    }

    /// Parses `s` (module docs), taking the parameters the text does not set from `base`
    /// instead of [`MaskParams::default`]: the command line's `--acceleration` and friends.
    pub fn parse_over(s: &str, base: &MaskParams) -> Result<MaskSpec> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("none") {
            return Ok(MaskSpec::None);
        }
        if s.len() >= FILE_PREFIX.len() && s[..FILE_PREFIX.len()].eq_ignore_ascii_case(FILE_PREFIX) {
            let path = &s[FILE_PREFIX.len()..];
            if path.is_empty() {
                return Err(invalid("mask 'file:' needs a path, e.g. file:mask.png"));
            }
            return Ok(MaskSpec::File(PathBuf::from(path)));
        }
        let (name, keys) = s.split_once(':').unwrap_or((s, ""));
        let family = family(name).map_err(|_| {
            KspaceError::UnknownMask(
                normalise(name),
                format!("{}, none, {FILE_PREFIX}PATH", NAMES.join(", ")),
            )
        })?;
        let mut params = base.clone();
        let mut seen = Vec::new();
        for pair in keys.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("mask '{s}': expected key=value, got '{pair}'")))?;
            let key = normalise(key);
            let param = Param::ALL.into_iter().find(|p| p.key() == key).ok_or_else(|| {
                let keys: Vec<&str> = Param::ALL.iter().map(|p| p.key()).collect();
                invalid(format!("mask '{s}': unknown parameter '{key}' (known: {})", keys.join(", ")))
            })?;
            if seen.contains(&param) {
                return Err(invalid(format!("mask '{s}': {key} given twice")));
            }
            seen.push(param);
            set(&mut params, param, value.trim())
                .map_err(|why| invalid(format!("mask '{s}': {key}: {why}")))?;
        }
        family.build(&params)?;
        Ok(MaskSpec::Family { family, params })
    }

    /// The family's parameters (`None` for [`MaskSpec::None`] and [`MaskSpec::File`]).
    pub fn params(&self) -> Option<&MaskParams> {
        match self {
            MaskSpec::Family { params, .. } => Some(params),
            _ => None,
        }
    }

    /// Whether the mask is drawn by a family that reads `param`.
    pub fn uses(&self, param: Param) -> bool {
        matches!(self, MaskSpec::Family { family, .. } if family.uses(param))
    }

    /// The family's mask function (`None` for [`MaskSpec::None`] and [`MaskSpec::File`]).
    pub fn mask_func(&self) -> Result<Option<Box<dyn MaskFunc>>> {
        match self {
            MaskSpec::Family { family, params } => family.build(params).map(Some),
            _ => Ok(None),
        }
    }

    /// The text form without `acceleration`, `center_fraction` and `p_edge`, which reports
    /// give fields of their own: `random`, `poisson:calib=24x24`, `none`, `file:PATH`.
    pub fn label(&self) -> String {
        self.write(&[Param::Calib, Param::Offset, Param::Sigma])
    }

    fn write(&self, keys: &[Param]) -> String {
        let (family, params) = match self {
            MaskSpec::None => return "none".into(),
            MaskSpec::File(p) => return format!("{FILE_PREFIX}{}", p.display()),
            MaskSpec::Family { family, params } => (family, params),
        };
        let pairs: Vec<String> = keys
            .iter()
            .filter(|k| k.is_set(params))
            .map(|&k| format!("{}={}", k.key(), value(params, k)))
            .collect();
        match pairs.is_empty() {
            true => family.name.to_string(),
            false => format!("{}:{}", family.name, pairs.join(",")),
        }
    }
}

impl FromStr for MaskSpec {
    type Err = KspaceError;

    /// The text form (module docs), unset parameters from [`MaskParams::default`].
    fn from_str(s: &str) -> Result<MaskSpec> {
        MaskSpec::parse_over(s, &MaskParams::default())
    }
}

impl fmt::Display for MaskSpec {
    /// The text form that [`MaskSpec::from_str`] reads back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.write(&Param::ALL))
    }
}

/// `param`'s value in `params` as the text form writes it (Rust's shortest round-trip float).
fn value(params: &MaskParams, param: Param) -> String {
    match param {
        Param::Acceleration => params.acceleration.to_string(),
        Param::CenterFraction => params.center_fraction.to_string(),
        Param::PEdge => params.p_edge.map(|v| v.to_string()).unwrap_or_default(),
        Param::Calib => params.calib.map(|(r, c)| format!("{r}x{c}")).unwrap_or_default(),
        Param::Offset => params.offset.map(|v| v.to_string()).unwrap_or_default(),
        Param::Sigma => params.sigma.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// Sets `param` from its text.
fn set(params: &mut MaskParams, param: Param, text: &str) -> std::result::Result<(), String> {
    let number = || text.parse::<f64>().map_err(|_| format!("'{text}' is not a number"));
    let whole = |t: &str| t.trim().parse::<usize>().map_err(|_| format!("'{text}' is not a whole number"));
    match param {
        Param::Acceleration => params.acceleration = number()?,
        Param::CenterFraction => params.center_fraction = number()?,
        Param::PEdge => params.p_edge = Some(number()?),
        Param::Sigma => params.sigma = Some(number()?),
        Param::Offset => params.offset = Some(whole(text)?),
        Param::Calib => {
            let (r, c) =
                text.split_once(['x', 'X']).ok_or_else(|| format!("'{text}': expected ROWSxCOLS"))?;
            params.calib = Some((whole(r)?, whole(c)?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::FAMILIES;

    fn round_trip(spec: &MaskSpec) {
        let text = spec.to_string();
        let back: MaskSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&back, spec, "{text}");
        assert_eq!(back.to_string(), text);
    }

    /// Every family, with defaults and with each parameter it reads set away from its default.
    #[test]
    fn every_family_round_trips_through_its_text() {
        for family in FAMILIES {
            let plain: MaskSpec = family.name.parse().unwrap();
            assert_eq!(plain, MaskSpec::Family { family, params: MaskParams::default() });
            assert_eq!(plain.to_string(), family.name);
            round_trip(&plain);
            let mut p = MaskParams { acceleration: 6.0, center_fraction: 0.0625, ..Default::default() };
            for &param in family.params {
                match param {
                    Param::PEdge => p.p_edge = Some(0.025),
                    Param::Calib => p.calib = Some((12, 10)),
                    Param::Offset => p.offset = Some(1),
                    Param::Sigma => p.sigma = Some(0.3),
                    Param::Acceleration | Param::CenterFraction => {}
                }
            }
            let spec = MaskSpec::family(family.name, p.clone()).unwrap();
            round_trip(&spec);
            assert_eq!(spec.params(), Some(&p));
            // Awkward floats keep every bit.
            round_trip(
                &MaskSpec::family(family.name, MaskParams { center_fraction: 0.1 + 0.2, ..p }).unwrap(),
            );
        }
        round_trip(&MaskSpec::family("random", MaskParams::new(1.0 + 1e-15, 1.0 / 3.0)).unwrap());
        let text = "poisson:acceleration=8,calib=24x20";
        assert_eq!(text.parse::<MaskSpec>().unwrap().to_string(), text);
        assert_eq!("poisson:calib=24x20".parse::<MaskSpec>().unwrap().label(), "poisson:calib=24x20");
        assert_eq!(
            "Equispaced-Fraction:Center-Fraction=0.1".parse::<MaskSpec>().unwrap().to_string(),
            "equispaced_fraction:center_fraction=0.1"
        );
    }

    #[test]
    fn none_and_file_are_variants_with_a_text() {
        assert_eq!("none".parse::<MaskSpec>().unwrap(), MaskSpec::None);
        assert_eq!(" NONE ".parse::<MaskSpec>().unwrap(), MaskSpec::None);
        round_trip(&MaskSpec::None);
        let f: MaskSpec = "file:scans/mask 1.png".parse().unwrap();
        assert_eq!(f, MaskSpec::File(PathBuf::from("scans/mask 1.png")));
        assert_eq!(f.to_string(), "file:scans/mask 1.png");
        assert_eq!(f.label(), f.to_string());
        round_trip(&f);
        // A path with a colon or an `=` stays a path.
        round_trip(&MaskSpec::File(PathBuf::from("C:/a=b,c.cfl")));
        assert!("file:".parse::<MaskSpec>().is_err());
        assert!(MaskSpec::None.mask_func().unwrap().is_none() && f.params().is_none());
    }

    #[test]
    fn unknown_names_and_bad_parameters_are_errors_that_say_why() {
        match "spiral".parse::<MaskSpec>() {
            Err(KspaceError::UnknownMask(name, known)) => {
                assert_eq!(name, "spiral");
                for family in FAMILIES {
                    assert!(known.contains(family.name), "{known}");
                }
                assert!(known.contains("none") && known.contains("file:PATH"), "{known}");
            }
            other => panic!("{other:?}"),
        }
        let err = |s: &str| s.parse::<MaskSpec>().unwrap_err().to_string();
        assert!(err("random:sigma=0.3").contains("does not use sigma"));
        assert!(err("random:speed=3").contains("unknown parameter 'speed'"));
        assert!(err("random:acceleration").contains("key=value"));
        assert!(err("random:acceleration=x").contains("not a number"));
        assert!(err("random:acceleration=3,acceleration=4").contains("twice"));
        assert!(err("random:acceleration=0.5").contains("acceleration must be"));
        assert!(err("poisson:calib=24").contains("ROWSxCOLS"));
        assert!(err("equispaced:acceleration=2.5").contains("integer acceleration"));
    }

    /// Parameters the text leaves out come from the base (the command line's flags).
    #[test]
    fn parse_over_fills_in_from_the_base() {
        let base =
            MaskParams { acceleration: 8.0, center_fraction: 0.04, p_edge: None, ..Default::default() };
        let s = MaskSpec::parse_over("gaussian:sigma=0.25", &base).unwrap();
        assert_eq!(s.params(), Some(&MaskParams { sigma: Some(0.25), ..base.clone() }));
        let s = MaskSpec::parse_over("random:acceleration=6", &base).unwrap();
        assert_eq!(s.params().map(|p| (p.acceleration, p.center_fraction)), Some((6.0, 0.04)));
        assert!(s.uses(Param::CenterFraction) && !s.uses(Param::PEdge));
    }
}
