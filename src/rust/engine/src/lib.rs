//! glmmr's numerical engine. Pure Rust, no R: `cargo test` runs without R.
//!
//! The pipeline mirrors lme4's modular path:
//! - model structures: `reterm` (a random-effects term: Z, lambda and their
//!   products), `blocked` (the penalized least-squares system and its
//!   Cholesky factor), `response` (the response and its `family`);
//! - objectives: `lmm` (profiled deviance or REML criterion, its exact
//!   gradient in `lmm_gradient`, through `selected_inverse`); for a GLMM,
//!   `pirls` (conditional modes) with `laplace` or `vector_quadrature` (the
//!   Laplace approximation or adaptive Gauss-Hermite quadrature) and exact
//!   gradients (`laplace_gradient`, through `selected_inverse`);
//! - `optimizer` minimises them (one stage for an LMM, two for a GLMM:
//!   `lmm::LmmProblem::fit`, `glmm::GlmmProblem::fit`);
//! - `finish` ends both fits (signs, boundary, the `convergence` check);
//! - `profile` refits with one variance parameter held;
//! - `threads` caps the threads a fit uses and splits its large passes.

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
pub mod lmm_gradient;
pub mod memory;
pub mod monitor;
pub mod optimizer;
pub mod pirls;
pub mod prepared;
pub mod profile;
pub mod quadrature;
pub mod response;
pub mod reterm;
pub mod selected_inverse;
pub mod threads;
pub mod vector_quadrature;

#[cfg(test)]
pub(crate) mod brute_force;
#[cfg(test)]
pub(crate) mod testutil;

pub use error::{EngineError, Result};
