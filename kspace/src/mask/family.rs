//! [`MaskFamily`]: one row of the family table ([`super::FAMILIES`]): the name, the `--help`
//! line, the parameters the family reads, and its constructor. Every family's file declares its
//! row next to its formula, so the validation here, [`super::from_name`], `--help` and
//! [`super::MaskSpec`] all read one list.

use super::{invalid, MaskFunc, MaskParams};
use crate::Result;

/// A parameter of [`MaskParams`], by the key [`super::MaskSpec`] writes it under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `acceleration`: target R > 1.
    Acceleration,
    /// `center_fraction`: fully sampled centre, in [0, 1).
    CenterFraction,
    /// `p_edge`: keep probability at the k-space edge, in (0, 1].
    PEdge,
    /// `calib`: calibration box `ROWSxCOLS`.
    Calib,
    /// `offset`: fixed offset of the equispaced pattern.
    Offset,
    /// `sigma`: width of the Gaussian density.
    Sigma,
}

impl Param {
    /// Every parameter, in the order [`super::MaskSpec`] prints them.
    pub const ALL: [Param; 6] =
        [Param::Acceleration, Param::CenterFraction, Param::PEdge, Param::Calib, Param::Offset, Param::Sigma];

    /// The key of `name:key=value` ([`super::MaskSpec`]) and of error messages.
    pub const fn key(self) -> &'static str {
        match self {
            Param::Acceleration => "acceleration",
            Param::CenterFraction => "center_fraction",
            Param::PEdge => "p_edge",
            Param::Calib => "calib",
            Param::Offset => "offset",
            Param::Sigma => "sigma",
        }
    }

    /// Whether `params` sets this parameter away from [`MaskParams::default`].
    pub(crate) fn is_set(self, params: &MaskParams) -> bool {
        let d = MaskParams::default();
        match self {
            Param::Acceleration => params.acceleration.to_bits() != d.acceleration.to_bits(),
            Param::CenterFraction => params.center_fraction.to_bits() != d.center_fraction.to_bits(),
            Param::PEdge => params.p_edge.is_some(),
            Param::Calib => params.calib.is_some(),
            Param::Offset => params.offset.is_some(),
            Param::Sigma => params.sigma.is_some(),
        }
    }
}

/// One sampling-mask family: a row of [`super::FAMILIES`].
#[derive(Clone, Copy)]
pub struct MaskFamily {
    /// The name `--mask` takes (lower case, `_` between words).
    pub name: &'static str,
    /// One line for `--help`: the kind and the formula.
    pub description: &'static str,
    /// The parameters it reads. `acceleration` and `center_fraction` are always present in
    /// [`MaskParams`] and ignored where not listed; any other parameter set for a family that
    /// does not list it is an error.
    pub params: &'static [Param],
    /// Builds the family from parameters that [`MaskFamily::build`] has validated.
    pub construct: fn(&MaskParams) -> Result<Box<dyn MaskFunc>>,
}

impl std::fmt::Debug for MaskFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskFamily").field("name", &self.name).field("params", &self.params).finish()
    }
}

impl PartialEq for MaskFamily {
    /// Families are their names (the table holds each name once).
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl MaskFamily {
    /// Whether the family reads `param`.
    pub fn uses(&self, param: Param) -> bool {
        self.params.contains(&param)
    }

    /// Checks every parameter that does not depend on the shape: `acceleration` finite and
    /// > 1, `center_fraction` in [0, 1), `sigma` > 0, `p_edge` in (0, 1], and no optional
    /// parameter (`p_edge`, `calib`, `offset`, `sigma`) that the family does not read.
    pub fn check(&self, p: &MaskParams) -> Result<()> {
        let acc = p.acceleration;
        if !(acc.is_finite() && acc > 1.0) {
            return Err(invalid(format!("acceleration must be a finite number > 1, got {acc}")));
        }
        let cf = p.center_fraction;
        if !(cf.is_finite() && (0.0..1.0).contains(&cf)) {
            return Err(invalid(format!("center_fraction must be in [0, 1), got {cf}")));
        }
        if let Some(s) = p.sigma {
            if !(s.is_finite() && s > 0.0) {
                return Err(invalid(format!("sigma must be a positive number, got {s}")));
            }
        }
        if let Some(pe) = p.p_edge {
            if !(pe.is_finite() && pe > 0.0 && pe <= 1.0) {
                return Err(invalid(format!("p_edge must be in (0, 1], got {pe}")));
            }
        }
        let optional = [Param::PEdge, Param::Calib, Param::Offset, Param::Sigma];
        match optional.iter().find(|&&q| q.is_set(p) && !self.uses(q)) {
            Some(q) => Err(invalid(format!("mask '{}' does not use {}", self.name, q.key()))),
            None => Ok(()),
        }
    }

    /// The family with `params`, validated ([`MaskFamily::check`]).
    pub fn build(&self, params: &MaskParams) -> Result<Box<dyn MaskFunc>> {
        self.check(params)?;
        (self.construct)(params)
    }
}
