//! glmmr's numerical engine. Pure Rust, no R: `cargo test` runs without R.
//!
//! The pipeline mirrors lme4's modular path: model structures (`reterm`,
//! `blocked`) -> objective (`lmm`) -> optimizer (`optimizer`) -> fit (`fit`).

pub mod blocked;
pub mod convergence;
pub mod dense_chol;
pub mod error;
pub mod family;
pub mod finish;
pub mod glmm;
pub mod laplace;
pub mod laplace_gradient;
pub mod lmm;
pub mod memory;
pub mod monitor;
pub mod optimizer;
pub mod pirls;
pub mod profile;
pub mod quadrature;
pub mod response;
pub mod reterm;
pub mod selected_inverse;
pub mod vector_quadrature;

#[cfg(test)]
pub(crate) mod brute_force;
#[cfg(test)]
pub(crate) mod testutil;

pub use error::{EngineError, Result};
