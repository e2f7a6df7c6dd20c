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
    /// The user interrupted the fit.
    Interrupted,
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Input(m) => write!(f, "invalid model input: {m}"),
            EngineError::NotPositiveDefinite(m) => write!(f, "matrix not positive definite: {m}"),
            EngineError::Optimizer(m) => write!(f, "optimizer failure: {m}"),
            EngineError::Interrupted => write!(f, "the fit was interrupted by the user"),
        }
    }
}

impl std::error::Error for EngineError {}

pub type Result<T> = std::result::Result<T, EngineError>;
