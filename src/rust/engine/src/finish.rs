//! The end shared by the LMM and GLMM fits, from the optimizer's optimum to
//! the reported parameters: theta's signs normalised, variances that went
//! (numerically) to zero put on the boundary, the convergence check there,
//! and the record of the optimizer's runs.

use crate::convergence::{check_budget, check_optimum, check_optimum_with_gradient, ConvergenceCheck};
use crate::error::{EngineError, Result};
use crate::optimizer::{Limit, OptimResult};
use crate::reterm::{normalize_theta_signs, theta_diagonal_positions};

/// A diagonal element of lambda below this (in absolute value) is tried at
/// zero.
const NEAR_ZERO: f64 = 1e-3;

/// What the optimizer's runs of a fit did, as the fit reports it.
#[derive(Debug, Clone)]
pub struct Record {
    pub evals: usize,
    pub iterations: u64,
    /// How the last run ended, in words.
    pub message: String,
    /// Did the last run stop at an optimum?
    pub converged: bool,
    pub limit: Option<Limit>,
}

impl Record {
    pub fn of(run: &OptimResult) -> Self {
        Record { evals: run.evals, iterations: run.iterations, message: run.message.clone(), converged: run.converged, limit: run.limit }
    }

    /// This record followed by a later run: the work adds up; how the fit
    /// ended is how the later run ended.
    pub fn then(self, later: &OptimResult) -> Self {
        Record { evals: self.evals + later.evals, iterations: self.iterations + later.iterations, ..Record::of(later) }
    }
}

/// Where the optimizer of a fit stopped.
#[derive(Debug, Clone)]
pub struct Optimum {
    /// theta first (term by term, each the column-wise lower triangle of
    /// its lambda), then any other parameters.
    pub par: Vec<f64>,
    /// The objective at `par` where known; else it is evaluated when a
    /// boundary probe needs it.
    pub value: Option<f64>,
    /// Parameters the check leaves out besides those put on the boundary:
    /// ones that were not optimised, or where the objective is flat.
    pub held: Vec<bool>,
    /// Evaluations of the run that found `par`: the check may spend more
    /// on a costly model (see `check_budget`).
    pub run_evals: usize,
    pub record: Record,
}

/// The optimum as reported.
#[derive(Debug, Clone)]
pub struct Finished {
    pub par: Vec<f64>,
    /// Diagonal elements of lambda put at zero (a singular fit).
    pub boundary: Vec<bool>,
    /// The parameters the check covered: neither on the boundary nor held.
    pub free: Vec<bool>,
    pub check: ConvergenceCheck,
    /// The optimizer's record, the boundary probes' evaluations added.
    pub record: Record,
}

/// Finish a fit at `at`. `ks` gives the dimension of each term, in order.
/// `objective(par, want)` gives the value at par and, when `want`, its
/// exact gradient; it is asked for gradients only if `exact_gradient`
/// (the check then differentiates the gradient, not values).
pub fn finish<F>(ks: &[usize], at: Optimum, exact_gradient: bool, mut objective: F) -> Result<Finished>
where
    F: FnMut(&[f64], bool) -> Result<(f64, Option<Vec<f64>>)>,
{
    let Optimum { mut par, value, held, run_evals, mut record } = at;
    // The objective depends on each lambda only through lambda lambda': a
    // column's sign is free, and lme4 reports non-negative diagonals.
    let mut pos = 0;
    let mut diagonal = Vec::new();
    for &k in ks {
        let len = k * (k + 1) / 2;
        normalize_theta_signs(&mut par[pos..pos + len], k);
        diagonal.extend(theta_diagonal_positions(k).into_iter().map(|d| d + pos));
        pos += len;
    }
    // The optimizer has no bounds, so a variance whose optimum is zero ends
    // near zero, not on it: put it there when that does not worsen the
    // objective.
    let mut best = value;
    let mut boundary = vec![false; par.len()];
    for &d in &diagonal {
        if par[d].abs() >= NEAR_ZERO {
            continue;
        }
        let b = match best {
            Some(b) => b,
            None => objective(&par, false)?.0,
        };
        let mut trial = par.clone();
        trial[d] = 0.0;
        let v = objective(&trial, false)?.0;
        record.evals += 1;
        best = Some(b);
        if v <= b + 1e-9 * b.abs().max(1.0) {
            par = trial;
            best = Some(b.min(v));
            boundary[d] = true;
        }
    }
    let free: Vec<bool> = boundary.iter().zip(&held).map(|(b, h)| !b && !h).collect();
    let budget = check_budget(run_evals);
    let check = if exact_gradient {
        let with_gradient = |p: &[f64]| -> Result<(f64, Vec<f64>)> {
            match objective(p, true)? {
                (v, Some(g)) => Ok((v, g)),
                _ => Err(EngineError::Optimizer("the objective gave no gradient".into())),
            }
        };
        check_optimum_with_gradient(with_gradient, &par, &free, budget)?
    } else {
        check_optimum(|p: &[f64]| Ok(objective(p, false)?.0), &par, &free, budget)?
    };
    Ok(Finished { par, boundary, free, check, record })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(evals: usize, iterations: u64, message: &str, converged: bool) -> OptimResult {
        OptimResult { par: vec![], value: 0.0, evals, iterations, message: message.into(), converged, limit: None }
    }

    fn optimum(par: Vec<f64>, value: Option<f64>) -> Optimum {
        let n = par.len();
        Optimum { par, value, held: vec![false; n], run_evals: 10, record: Record::of(&run(10, 3, "done", true)) }
    }

    #[test]
    fn records_add_up_and_keep_the_last_runs_ending() {
        let r = Record::of(&run(5, 2, "first", false)).then(&run(7, 4, "second", true));
        assert_eq!((r.evals, r.iterations, r.message.as_str(), r.converged), (12, 6, "second", true));
    }

    /// (theta_11, theta_21, theta_22, beta): a 2-by-2 term and one more
    /// parameter; the value depends on lambda lambda' only, and is least at
    /// lambda = diag(1, 0), beta = 2.
    fn objective(p: &[f64]) -> f64 {
        let (a, b, c) = (p[0], p[1], p[2]);
        let (s11, s21, s22) = (a * a, a * b, b * b + c * c);
        (s11 - 1.0).powi(2) + s21.powi(2) + s22 + (p[3] - 2.0).powi(2)
    }

    #[test]
    fn signs_are_normalised_and_a_zero_variance_goes_on_the_boundary() {
        // a = -1 is a = 1 with the column's sign flipped
        let at = optimum(vec![-1.0, -1e-5, 2e-4, 2.0], None);
        let mut calls = 0;
        let f = finish(&[2], at, false, |p: &[f64], _| {
            calls += 1;
            Ok((objective(p), None))
        })
        .unwrap();
        assert_eq!(f.par[0], 1.0);
        assert_eq!(f.par[1], 1e-5);
        assert_eq!(f.par[2], 0.0);
        assert_eq!(f.boundary, vec![false, false, true, false]);
        assert_eq!(f.free, vec![true, true, false, true]);
        // one evaluation at the optimum (its value was not given), one probe
        assert_eq!(f.record.evals, 11);
        assert!(f.check.hessian_positive_definite && f.check.max_abs_gradient < 1e-3, "{:?}", f.check);
        assert!(calls > 2);
    }

    #[test]
    fn a_probe_that_worsens_the_objective_is_not_taken() {
        // theta_22 = 5e-4, where the objective is least
        let at = optimum(vec![1.0, 0.0, 5e-4, 0.0], Some(0.0));
        let f =
            finish(&[2], at, false, |p: &[f64], _| Ok(((p[0] - 1.0).powi(2) + p[1].powi(2) + (p[2] - 5e-4).powi(2) + p[3].powi(2), None)))
                .unwrap();
        assert_eq!(f.par[2], 5e-4);
        assert!(f.boundary.iter().all(|b| !b));
        assert_eq!(f.record.evals, 11);
    }

    #[test]
    fn held_parameters_are_left_out_and_gradients_are_used_when_exact() {
        let mut at = optimum(vec![1.0, 0.5, 1.0], Some(0.5625));
        at.held[2] = true;
        let f = finish(&[1, 1], at, true, |p: &[f64], want| {
            let v = p.iter().map(|x| (x * x - 1.0).powi(2)).sum::<f64>();
            Ok((v, want.then(|| p.iter().map(|x| 4.0 * x * (x * x - 1.0)).collect())))
        })
        .unwrap();
        assert_eq!(f.free, vec![true, true, false]);
        // the exact gradient at theta_2 = 0.5: 4 * 0.5 * (0.25 - 1)
        assert_eq!(f.check.gradient[1], -1.5);
        assert_eq!(f.check.gradient[2], 0.0);
        // without one, the check is an error
        let at = optimum(vec![1.0], Some(0.0));
        assert!(finish(&[1], at, true, |p: &[f64], _| Ok((p[0], None))).is_err());
    }
}
