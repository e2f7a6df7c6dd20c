//! Errors the engine reports. They travel back to R as messages, never as panics.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// The inputs do not describe a valid model (lengths, codes, values).
    Input(String),
    /// A matrix that must be positive definite was not.
    NotPositiveDefinite(String),
    /// The optimizer could not produce a usable optimum.
    Optimizer(String),
    /// The linear predictor leaves the range where the link gives a mean
    /// the family can have (the text says how, e.g. "mu outside (0, 1)"),
    /// at the start or wherever a mode is sought.
    OutOfRange(String),
    /// The model needs more memory than there is (see `memory`).
    TooLarge(String),
    /// The user interrupted the fit.
    Interrupted,
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Input(m) => write!(f, "invalid model input: {m}"),
            EngineError::NotPositiveDefinite(m) => write!(f, "matrix not positive definite: {m}"),
            EngineError::Optimizer(m) => write!(f, "optimizer failure: {m}"),
            EngineError::OutOfRange(m) => write!(f, "the linear predictor left the valid range of the link ({m})"),
            EngineError::TooLarge(m) => write!(f, "{m}"),
            EngineError::Interrupted => write!(f, "the fit was interrupted by the user"),
        }
    }
}

impl std::error::Error for EngineError {}

pub type Result<T> = std::result::Result<T, EngineError>;

/// The checks every model makes of its observation-level inputs: n rows
/// everywhere, finite values, non-negative weights. Returns n.
pub fn check_observations(y: &[f64], x: &[f64], p: usize, weights: &[f64], offset: &[f64]) -> Result<usize> {
    let n = y.len();
    if n == 0 {
        return Err(EngineError::Input("no observations".into()));
    }
    if x.len() != n * p || weights.len() != n || offset.len() != n {
        return Err(EngineError::Input("X, weights or offset do not have one row per observation".into()));
    }
    let bad = |v: &[f64]| v.iter().any(|a| !a.is_finite());
    if bad(y) || bad(x) || bad(offset) || bad(weights) {
        return Err(EngineError::Input("non-finite values in y, X, weights or offset".into()));
    }
    if weights.iter().any(|&w| w < 0.0) {
        return Err(EngineError::Input("negative weights".into()));
    }
    Ok(n)
}

/// A response with one value (among the rows with a positive weight)
/// leaves nothing for a residual variance or dispersion to describe: the
/// fit would drive it to zero and the likelihood to infinity.
pub fn check_not_constant(y: &[f64], weights: &[f64]) -> Result<()> {
    let mut values = y.iter().zip(weights).filter(|(_, &w)| w > 0.0).map(|(v, _)| *v);
    if let Some(first) = values.next() {
        if values.all(|v| v == first) {
            return Err(EngineError::Input(format!(
                "the response is constant (every value is {first}): its residual variance is zero and \
                 the model cannot be fitted"
            )));
        }
    }
    Ok(())
}
