//! A hook the fitting loops call once per objective evaluation, so that the
//! caller (the R binding) can show progress and stop a fit on a user
//! interrupt. The engine itself knows nothing about R.

use crate::error::Result;

pub trait Monitor {
    /// Called after each objective evaluation; an error stops the fit.
    fn tick(&mut self, value: f64) -> Result<()>;
    /// Called once when the fit is over (to finish a progress line).
    fn finish(&mut self) {}
}

/// The monitor that does nothing.
pub struct Silent;

impl Monitor for Silent {
    fn tick(&mut self, _value: f64) -> Result<()> {
        Ok(())
    }
}
