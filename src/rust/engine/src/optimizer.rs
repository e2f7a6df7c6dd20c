//! Unconstrained minimisation of a smooth objective: argmin's BFGS with a
//! More-Thuente line search and central finite-difference gradients.
//!
//! The deviance depends on each lambda only through lambda lambda', so theta
//! needs no bounds: a column may change sign, and the caller normalises signs
//! afterwards (MixedModels.jl does the same). The best point ever evaluated is
//! kept, so a line search that gives up near the optimum loses nothing.

use std::cell::{Cell, RefCell};

use argmin::core::{CostFunction, Error as ArgminError, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::BFGS;

use crate::error::{EngineError, Result};

#[derive(Debug, Clone)]
pub struct OptimControl {
    /// Upper bound on objective evaluations (gradients included).
    pub max_evals: usize,
    /// Stop when the gradient's Euclidean norm falls below this.
    pub grad_tol: f64,
    /// Stop when an iteration improves the objective by less than this.
    pub cost_tol: f64,
    pub max_iter: u64,
}

impl Default for OptimControl {
    fn default() -> Self {
        OptimControl { max_evals: 20_000, grad_tol: 1e-6, cost_tol: 1e-11, max_iter: 500 }
    }
}

#[derive(Debug, Clone)]
pub struct OptimResult {
    pub par: Vec<f64>,
    pub value: f64,
    pub evals: usize,
    pub iterations: u64,
    /// How the run ended, in words (argmin's termination reason or error).
    pub message: String,
}

/// Central-difference step for coordinate value x.
#[inline]
pub fn fd_step(x: f64) -> f64 {
    1e-5 * (1.0 + x.abs())
}

struct Tracked<'a, F: FnMut(&[f64]) -> Result<f64>> {
    f: RefCell<F>,
    best: RefCell<(Vec<f64>, f64)>,
    evals: Cell<usize>,
    max_evals: usize,
    failure: RefCell<Option<EngineError>>,
    _l: std::marker::PhantomData<&'a ()>,
}

impl<'a, F: FnMut(&[f64]) -> Result<f64>> Tracked<'a, F> {
    fn eval(&self, x: &[f64]) -> std::result::Result<f64, ArgminError> {
        if self.evals.get() >= self.max_evals {
            return Err(ArgminError::msg("evaluation limit reached"));
        }
        self.evals.set(self.evals.get() + 1);
        match (self.f.borrow_mut())(x) {
            Ok(v) => {
                let mut best = self.best.borrow_mut();
                if v < best.1 {
                    best.0.clear();
                    best.0.extend_from_slice(x);
                    best.1 = v;
                }
                Ok(v)
            }
            Err(e) => {
                let msg = e.to_string();
                *self.failure.borrow_mut() = Some(e);
                Err(ArgminError::msg(msg))
            }
        }
    }
}

impl<'a, F: FnMut(&[f64]) -> Result<f64>> CostFunction for Tracked<'a, F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> std::result::Result<f64, ArgminError> {
        self.eval(p)
    }
}

impl<'a, F: FnMut(&[f64]) -> Result<f64>> Gradient for Tracked<'a, F> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Self::Param) -> std::result::Result<Vec<f64>, ArgminError> {
        let mut x = p.clone();
        let mut g = vec![0.0; p.len()];
        for i in 0..p.len() {
            let h = fd_step(p[i]);
            x[i] = p[i] + h;
            let fp = self.eval(&x)?;
            x[i] = p[i] - h;
            let fm = self.eval(&x)?;
            x[i] = p[i];
            g[i] = (fp - fm) / (2.0 * h);
        }
        Ok(g)
    }
}

/// Minimise `f` from `start`. Errors of `f` (other than the evaluation
/// limit) are returned as errors; a line search that stalls is not an error.
pub fn minimize<F>(f: F, start: &[f64], ctl: &OptimControl) -> Result<OptimResult>
where
    F: FnMut(&[f64]) -> Result<f64>,
{
    let n = start.len();
    let problem = Tracked {
        f: RefCell::new(f),
        best: RefCell::new((start.to_vec(), f64::INFINITY)),
        evals: Cell::new(0),
        max_evals: ctl.max_evals,
        failure: RefCell::new(None),
        _l: std::marker::PhantomData,
    };
    let f0 = problem.eval(start).map_err(|e| {
        problem
            .failure
            .borrow_mut()
            .take()
            .unwrap_or_else(|| EngineError::Optimizer(e.to_string()))
    })?;
    if n == 0 {
        return Ok(OptimResult { par: vec![], value: f0, evals: 1, iterations: 0, message: "no parameters".into() });
    }
    let mut message = String::new();
    let mut iterations = 0;
    let linesearch = MoreThuenteLineSearch::new();
    let solver = BFGS::new(linesearch)
        .with_tolerance_grad(ctl.grad_tol)
        .and_then(|s| s.with_tolerance_cost(ctl.cost_tol))
        .map_err(|e| EngineError::Optimizer(e.to_string()))?;
    let mut inv_h = vec![vec![0.0; n]; n];
    for (i, row) in inv_h.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    let run = Executor::new(&problem, solver)
        .configure(|state| state.param(start.to_vec()).inv_hessian(inv_h).max_iters(ctl.max_iter))
        .ctrlc(false)
        .timer(false)
        .run();
    match run {
        Ok(res) => {
            iterations = res.state.get_iter();
            message = format!("{}", res.state.get_termination_status());
        }
        Err(e) => {
            if let Some(fail) = problem.failure.borrow_mut().take() {
                return Err(fail);
            }
            message.push_str(&format!("stopped: {e}"));
        }
    }
    let (par, value) = problem.best.borrow().clone();
    Ok(OptimResult { par, value, evals: problem.evals.get(), iterations, message })
}

impl<'a, F: FnMut(&[f64]) -> Result<f64>> CostFunction for &Tracked<'a, F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> std::result::Result<f64, ArgminError> {
        (*self).eval(p)
    }
}

impl<'a, F: FnMut(&[f64]) -> Result<f64>> Gradient for &Tracked<'a, F> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Self::Param) -> std::result::Result<Vec<f64>, ArgminError> {
        Gradient::gradient(*self, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let f = |x: &[f64]| -> Result<f64> {
            Ok((1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2))
        };
        let r = minimize(f, &[-1.2, 1.0], &OptimControl::default()).unwrap();
        assert!((r.par[0] - 1.0).abs() < 1e-4, "{:?}", r);
        assert!((r.par[1] - 1.0).abs() < 1e-4, "{:?}", r);
    }

    #[test]
    fn objective_errors_propagate() {
        let f = |x: &[f64]| -> Result<f64> {
            if x[0] < 0.5 {
                Err(EngineError::Input("bad".into()))
            } else {
                Ok(x[0] * x[0])
            }
        };
        assert!(minimize(f, &[1.0], &OptimControl::default()).is_err());
    }
}
