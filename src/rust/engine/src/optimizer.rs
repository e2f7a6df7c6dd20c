//! Minimisation of a smooth objective of a few parameters (theta; theta,
//! beta and log phi in a GLMM's second stage): a quasi-Newton (BFGS) method
//! with finite-difference gradients (`minimize`) or the objective's exact
//! ones (`minimize_with_gradient`), a first Hessian from second differences
//! (or partly given), a backtracking line search that needs objective values
//! only, and Powell's damped update so the Hessian approximation stays
//! positive definite.
//!
//! Why not argmin's BFGS: with its More-Thuente line search every trial
//! point costs a gradient (2n evaluations); on lme4's InstEval model it took
//! 1,036 evaluations (26 s) where this one took about 160 with finite
//! differences (the LMM now gives its exact gradient and limits its steps:
//! 27 values).
//!
//! The deviance depends on each lambda only through lambda lambda', so theta
//! needs no bounds: a column may change sign, and the caller normalises signs
//! afterwards (MixedModels.jl does the same). The best point ever evaluated is
//! what is returned.

use crate::error::{EngineError, Result};
use nalgebra::{DMatrix, DVector};

#[derive(Debug, Clone)]
pub struct OptimControl {
    /// Upper bound on objective evaluations (gradients included).
    pub max_evals: usize,
    /// Converged when the predicted decrease g' H^{-1} g / 2 is below this
    /// times 1 + |f| (relative, so that it sits above the rounding noise of
    /// large deviances).
    pub rel_tol: f64,
    /// Or when an iteration improves the objective by less than this
    /// (relative to 1 + |f|) twice in a row.
    pub cost_tol: f64,
    pub max_iter: u64,
    /// The longest step a line search starts from, per coordinate, in units
    /// of 1 + |x_i|: a longer quasi-Newton step is shortened to it (see
    /// `bfgs`). Infinite: no limit.
    pub max_reach: f64,
}

impl Default for OptimControl {
    fn default() -> Self {
        OptimControl { max_evals: 20_000, rel_tol: 1e-12, cost_tol: 1e-11, max_iter: 500, max_reach: f64::INFINITY }
    }
}

#[derive(Debug, Clone)]
pub struct OptimResult {
    pub par: Vec<f64>,
    pub value: f64,
    pub evals: usize,
    pub iterations: u64,
    /// How the run ended, in words.
    pub message: String,
    /// Did it stop at a (numerical) optimum? False when it ran into
    /// `limit` instead.
    pub converged: bool,
    /// The limit that stopped an unconverged run.
    pub limit: Option<Limit>,
}

/// The limits of `OptimControl` that can stop a run before it converges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Evaluations,
    Iterations,
}

/// How `bfgs` stopped.
enum Stop {
    Converged(String),
    Limit(Limit, String),
}

/// Central-difference step for coordinate value x.
#[inline]
pub fn fd_step(x: f64) -> f64 {
    1e-5 * (1.0 + x.abs())
}

/// The objective with an evaluation count, the best point seen, and the
/// evaluation limit.
struct Counted<F> {
    f: F,
    evals: usize,
    max_evals: usize,
    best: (Vec<f64>, f64),
}

impl<F: FnMut(&[f64]) -> Result<f64>> Counted<F> {
    fn eval(&mut self, x: &[f64]) -> Result<f64> {
        if self.evals >= self.max_evals {
            return Err(EngineError::Optimizer(format!("evaluation limit ({}) reached", self.max_evals)));
        }
        self.evals += 1;
        let v = (self.f)(x)?;
        if v < self.best.1 {
            self.best = (x.to_vec(), v);
        }
        Ok(v)
    }

    /// Forward-difference gradient (n evaluations): accurate enough far from
    /// the optimum, where the gradient is large.
    fn forward_gradient(&mut self, x: &[f64], fx: f64) -> Result<Vec<f64>> {
        let mut xx = x.to_vec();
        let mut g = vec![0.0; x.len()];
        for i in 0..x.len() {
            let h = fd_step(x[i]) * 10.0;
            xx[i] = x[i] + h;
            g[i] = (self.eval(&xx)? - fx) / h;
            xx[i] = x[i];
        }
        Ok(g)
    }

    /// Central-difference gradient; also returns f(x +- h e_i) sums for
    /// curvature estimates.
    fn gradient(&mut self, x: &[f64], h_scale: f64) -> Result<(Vec<f64>, Vec<f64>)> {
        let mut xx = x.to_vec();
        let n = x.len();
        let mut g = vec![0.0; n];
        let mut sums = vec![0.0; n];
        for i in 0..n {
            let h = fd_step(x[i]) * h_scale;
            xx[i] = x[i] + h;
            let fp = self.eval(&xx)?;
            xx[i] = x[i] - h;
            let fm = self.eval(&xx)?;
            xx[i] = x[i];
            g[i] = (fp - fm) / (2.0 * h);
            sums[i] = fp + fm;
        }
        Ok((g, sums))
    }
}

/// What BFGS needs from an objective: values, gradients and a start scale.
trait Objective {
    fn value(&mut self, x: &[f64]) -> Result<f64>;
    /// The gradient at x (f(x) = fx); `near` asks for the precise kind.
    fn grad(&mut self, x: &[f64], fx: f64, near: bool) -> Result<Vec<f64>>;
    /// Diagonal curvature estimates at the start, for the first Hessian.
    fn start_curvature(&mut self, x: &[f64], fx: f64, g: &[f64]) -> Result<Vec<f64>>;
    /// The first Hessian approximation: the diagonal of curvatures unless
    /// the objective knows better.
    fn start_hessian(&mut self, x: &[f64], fx: f64, g: &[f64]) -> Result<DMatrix<f64>> {
        let c = self.start_curvature(x, fx, g)?;
        Ok(DMatrix::from_diagonal(&DVector::from_vec(c)))
    }
    fn evals(&self) -> usize;
    fn max_evals(&self) -> usize;
    fn best(&self) -> (Vec<f64>, f64);
}

impl<F: FnMut(&[f64]) -> Result<f64>> Objective for Counted<F> {
    fn value(&mut self, x: &[f64]) -> Result<f64> {
        self.eval(x)
    }
    fn grad(&mut self, x: &[f64], fx: f64, near: bool) -> Result<Vec<f64>> {
        // Far from the optimum forward differences do; near it the central
        // ones give the precision.
        if near {
            Ok(self.gradient(x, 1.0)?.0)
        } else {
            self.forward_gradient(x, fx)
        }
    }
    fn start_curvature(&mut self, x: &[f64], fx: f64, _g: &[f64]) -> Result<Vec<f64>> {
        let (_, sums) = self.gradient(x, 100.0)?;
        Ok((0..x.len())
            .map(|i| {
                let h = fd_step(x[i]) * 100.0;
                (sums[i] - 2.0 * fx) / (h * h)
            })
            .collect())
    }
    fn evals(&self) -> usize {
        self.evals
    }
    fn max_evals(&self) -> usize {
        self.max_evals
    }
    fn best(&self) -> (Vec<f64>, f64) {
        self.best.clone()
    }
}

/// An objective that returns its exact gradient with its value. It is asked
/// for the gradient only where one is needed (`Some`); it may return one
/// anyway, or `None` when not asked.
struct WithGradient<F> {
    fg: F,
    evals: usize,
    max_evals: usize,
    best: (Vec<f64>, f64),
    last: Option<(Vec<f64>, Vec<f64>)>,
    /// A known block of the start Hessian (column-major n-by-n; NaN rows
    /// and columns are estimated).
    hint: Option<Vec<f64>>,
}

impl<F: FnMut(&[f64], bool) -> Result<(f64, Option<Vec<f64>>)>> WithGradient<F> {
    fn call(&mut self, x: &[f64], want: bool) -> Result<(f64, Option<Vec<f64>>)> {
        if self.evals >= self.max_evals {
            return Err(EngineError::Optimizer(format!("evaluation limit ({}) reached", self.max_evals)));
        }
        self.evals += 1;
        let (v, g) = (self.fg)(x, want)?;
        if v < self.best.1 {
            self.best = (x.to_vec(), v);
        }
        if let Some(g) = &g {
            self.last = Some((x.to_vec(), g.clone()));
        }
        Ok((v, g))
    }

    fn gradient_at(&mut self, x: &[f64]) -> Result<Vec<f64>> {
        if let Some((lx, g)) = &self.last {
            if lx.as_slice() == x {
                return Ok(g.clone());
            }
        }
        // the objective computes it from its state at x when x was its
        // last point; this does not count as another evaluation
        self.evals = self.evals.saturating_sub(1);
        match self.call(x, true)? {
            (_, Some(g)) => Ok(g),
            _ => Err(EngineError::Optimizer("the objective gave no gradient".into())),
        }
    }
}

impl<F: FnMut(&[f64], bool) -> Result<(f64, Option<Vec<f64>>)>> Objective for WithGradient<F> {
    fn value(&mut self, x: &[f64]) -> Result<f64> {
        Ok(self.call(x, false)?.0)
    }
    fn grad(&mut self, x: &[f64], _fx: f64, _near: bool) -> Result<Vec<f64>> {
        self.gradient_at(x)
    }
    fn start_hessian(&mut self, x: &[f64], fx: f64, g: &[f64]) -> Result<DMatrix<f64>> {
        let n = x.len();
        let hint = match self.hint.take() {
            Some(h) if h.len() == n * n => h,
            _ => {
                let c = self.start_curvature(x, fx, g)?;
                return Ok(DMatrix::from_diagonal(&DVector::from_vec(c)));
            }
        };
        let mut h = DMatrix::from_column_slice(n, n, &hint);
        let unknown: Vec<usize> = (0..n).filter(|&i| !hint[i + i * n].is_finite()).collect();
        let c = self.curvature_at(x, g, &unknown)?;
        for r in 0..n {
            for q in 0..n {
                if !h[(r, q)].is_finite() {
                    h[(r, q)] = 0.0;
                }
            }
        }
        for (&i, ci) in unknown.iter().zip(c) {
            h[(i, i)] = ci;
        }
        Ok(h)
    }
    fn start_curvature(&mut self, x: &[f64], _fx: f64, g: &[f64]) -> Result<Vec<f64>> {
        let all: Vec<usize> = (0..x.len()).collect();
        let c = self.curvature_at(x, g, &all)?;
        Ok(c)
    }
    fn evals(&self) -> usize {
        self.evals
    }
    fn max_evals(&self) -> usize {
        self.max_evals
    }
    fn best(&self) -> (Vec<f64>, f64) {
        self.best.clone()
    }
}

impl<F: FnMut(&[f64], bool) -> Result<(f64, Option<Vec<f64>>)>> WithGradient<F> {
    /// Forward differences of the gradient for the listed coordinates.
    fn curvature_at(&mut self, x: &[f64], g: &[f64], which: &[usize]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(which.len());
        let mut xx = x.to_vec();
        for &i in which {
            let h = fd_step(x[i]) * 100.0;
            xx[i] = x[i] + h;
            let gi = match self.call(&xx, true)? {
                (_, Some(gg)) => gg[i],
                _ => return Err(EngineError::Optimizer("the objective gave no gradient".into())),
            };
            out.push((gi - g[i]) / h);
            xx[i] = x[i];
        }
        Ok(out)
    }
}

/// Minimise `f` from `start`. Errors of `f` are returned; reaching the
/// evaluation limit is not an error (the best point so far is returned with
/// a message saying so).
pub fn minimize<F>(f: F, start: &[f64], ctl: &OptimControl) -> Result<OptimResult>
where
    F: FnMut(&[f64]) -> Result<f64>,
{
    let mut obj = Counted { f, evals: 0, max_evals: ctl.max_evals.max(1), best: (start.to_vec(), f64::INFINITY) };
    run(&mut obj, start, ctl)
}

/// Minimise an objective that returns its exact gradient with its value.
/// `hessian_hint` may give part of the first Hessian approximation
/// (column-major n-by-n, NaN where unknown); the rest is estimated.
pub fn minimize_with_gradient<F>(fg: F, start: &[f64], hessian_hint: Option<Vec<f64>>, ctl: &OptimControl) -> Result<OptimResult>
where
    F: FnMut(&[f64], bool) -> Result<(f64, Option<Vec<f64>>)>,
{
    let mut obj = WithGradient {
        fg,
        evals: 0,
        max_evals: ctl.max_evals.max(1),
        best: (start.to_vec(), f64::INFINITY),
        last: None,
        hint: hessian_hint,
    };
    run(&mut obj, start, ctl)
}

fn run<O: Objective>(obj: &mut O, start: &[f64], ctl: &OptimControl) -> Result<OptimResult> {
    let n = start.len();
    let f0 = obj.value(start)?;
    if n == 0 {
        return Ok(OptimResult {
            par: vec![],
            value: f0,
            evals: 1,
            iterations: 0,
            message: "no parameters".into(),
            converged: true,
            limit: None,
        });
    }
    let (iterations, stop) = match bfgs(obj, start, f0, ctl) {
        Ok(done) => done,
        Err(EngineError::Optimizer(m)) if m.starts_with("evaluation limit") => (0, Stop::Limit(Limit::Evaluations, m)),
        Err(e) => return Err(e),
    };
    let (par, value) = obj.best();
    let (message, converged, limit) = match stop {
        Stop::Converged(m) => (m, true, None),
        Stop::Limit(l, m) => (m, false, Some(l)),
    };
    Ok(OptimResult { par, value, evals: obj.evals(), iterations, message, converged, limit })
}

fn bfgs<O: Objective>(obj: &mut O, start: &[f64], f0: f64, ctl: &OptimControl) -> Result<(u64, Stop)> {
    let n = start.len();
    let mut x = DVector::from_column_slice(start);
    let mut fx = f0;
    let g0 = obj.grad(start, f0, true)?;
    let mut g = DVector::from_vec(g0);

    // Initial Hessian: diagonal curvature estimates with steps large enough
    // for them to be accurate; a non-positive curvature gets a scale that
    // makes the first step modest.
    let mut hess = obj.start_hessian(start, f0, g.as_slice())?;
    let gnorm = g.norm().max(1e-300);
    for i in 0..n {
        let curv = hess[(i, i)];
        hess[(i, i)] = if curv.is_finite() && curv > 0.0 { curv.max(gnorm / 5.0) } else { 2.0 * gnorm };
    }

    let mut small_steps = 0;
    for iter in 1..=ctl.max_iter {
        // Newton direction on the current Hessian approximation.
        let chol = match hess.clone().cholesky() {
            Some(c) => c,
            None => {
                hess = DMatrix::from_diagonal(&hess.diagonal().map(|d| d.abs().max(1e-8)));
                hess.clone().cholesky().ok_or_else(|| EngineError::Optimizer("Hessian approximation broke down".into()))?
            }
        };
        let newton = -chol.solve(&g);
        if -g.dot(&newton) / 2.0 < ctl.rel_tol * (1.0 + fx.abs()) {
            return Ok((iter, Stop::Converged("converged: predicted decrease below tolerance".into())));
        }
        // A step that would move some coordinate by more than `max_reach`
        // times its own size (1 + |x_i|) is shortened to that: a poor
        // Hessian approximation far from the optimum proposes such steps,
        // and backtracking from them costs several values.
        let reach = newton.iter().zip(x.iter()).map(|(d, xi)| d.abs() / (1.0 + xi.abs())).fold(0.0, f64::max);
        let dir = if reach > ctl.max_reach { newton * (ctl.max_reach / reach) } else { newton };
        let decrease = -g.dot(&dir);
        // Backtracking line search on objective values (Armijo condition),
        // quadratic interpolation for the next trial step.
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            let xt = &x + &dir * alpha;
            let ft = obj.value(xt.as_slice())?;
            if ft.is_finite() && ft <= fx - 1e-4 * alpha * decrease {
                accepted = Some((xt, ft));
                break;
            }
            let next = if ft.is_finite() {
                // minimiser of the quadratic through f(0), f'(0), f(alpha)
                let denom = 2.0 * (ft - fx + alpha * decrease);
                if denom > 0.0 {
                    decrease * alpha * alpha / denom
                } else {
                    0.1 * alpha
                }
            } else {
                0.1 * alpha
            };
            alpha = next.clamp(0.1 * alpha, 0.5 * alpha);
        }
        let (xn, fnew) = match accepted {
            Some(a) => a,
            None => {
                let m = "line search could not improve: at the optimum to numerical precision";
                return Ok((iter, Stop::Converged(m.into())));
            }
        };
        let gn = obj.grad(xn.as_slice(), fnew, decrease <= 1.0)?;
        let gn = DVector::from_vec(gn);
        let s = &xn - &x;
        let y = &gn - &g;
        // Powell's damping keeps the update positive definite.
        let hs = &hess * &s;
        let shs = s.dot(&hs);
        let sy = s.dot(&y);
        let theta = if sy >= 0.2 * shs { 1.0 } else { 0.8 * shs / (shs - sy) };
        let r = &y * theta + &hs * (1.0 - theta);
        let sr = s.dot(&r);
        if shs > 0.0 && sr > 0.0 {
            hess = &hess - (&hs * hs.transpose()) / shs + (&r * r.transpose()) / sr;
        }
        let improvement = fx - fnew;
        x = xn;
        fx = fnew;
        g = gn;
        if improvement < ctl.cost_tol * (1.0 + fx.abs()) {
            small_steps += 1;
            if small_steps >= 2 {
                return Ok((iter, Stop::Converged("converged: objective no longer decreasing".into())));
            }
        } else {
            small_steps = 0;
        }
        if obj.evals() >= obj.max_evals() {
            return Ok((iter, Stop::Limit(Limit::Evaluations, format!("evaluation limit ({}) reached", obj.max_evals()))));
        }
    }
    Ok((ctl.max_iter, Stop::Limit(Limit::Iterations, "iteration limit reached".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let f = |x: &[f64]| -> Result<f64> { Ok((1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)) };
        let ctl = OptimControl { rel_tol: 1e-14, ..Default::default() };
        let r = minimize(f, &[-1.2, 1.0], &ctl).unwrap();
        assert!((r.par[0] - 1.0).abs() < 1e-4, "{:?}", r);
        assert!((r.par[1] - 1.0).abs() < 1e-4, "{:?}", r);
    }

    #[test]
    fn a_quadratic_takes_few_evaluations() {
        let f = |x: &[f64]| -> Result<f64> { Ok(3.0 * (x[0] - 2.0).powi(2) + 0.5 * (x[1] + 1.0).powi(2) + 0.2 * x[0] * x[1] + 100.0) };
        let ctl = OptimControl { rel_tol: 1e-16, ..Default::default() };
        let r = minimize(f, &[0.0, 0.0], &ctl).unwrap();
        // exact minimiser of the quadratic
        let h = DMatrix::from_row_slice(2, 2, &[6.0, 0.2, 0.2, 1.0]);
        let b = DVector::from_row_slice(&[12.0, -1.0]);
        let want = h.lu().solve(&b).unwrap();
        assert!((r.par[0] - want[0]).abs() < 1e-5 && (r.par[1] - want[1]).abs() < 1e-5, "{:?}", r);
        assert!(r.evals < 80, "{} evaluations", r.evals);
    }

    #[test]
    fn exact_gradients_need_fewer_evaluations() {
        let f = |x: &[f64]| -> Result<f64> { Ok((1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)) };
        let fg = |x: &[f64], want: bool| -> Result<(f64, Option<Vec<f64>>)> {
            let v = (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
            let g0 = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            let g1 = 200.0 * (x[1] - x[0] * x[0]);
            Ok((v, if want { Some(vec![g0, g1]) } else { None }))
        };
        let ctl = OptimControl { rel_tol: 1e-14, ..Default::default() };
        let a = minimize(f, &[-1.2, 1.0], &ctl).unwrap();
        let b = minimize_with_gradient(fg, &[-1.2, 1.0], None, &ctl).unwrap();
        assert!((b.par[0] - 1.0).abs() < 1e-5 && (b.par[1] - 1.0).abs() < 1e-5, "{b:?}");
        assert!(b.evals < a.evals, "{} vs {}", b.evals, a.evals);
    }

    #[test]
    fn max_reach_shortens_long_steps() {
        // f = sqrt(1 + (x - 50)^2): flat far out, so the first curvature
        // estimate at 0 (about 2e-5) proposes a step far past 50
        let run = |max_reach: f64| {
            let mut best = (0.0f64, f64::INFINITY);
            let mut far = 0.0f64;
            let fg = |x: &[f64], _want: bool| -> Result<(f64, Option<Vec<f64>>)> {
                let d = x[0] - 50.0;
                let v = (1.0 + d * d).sqrt();
                far = far.max((x[0] - best.0).abs() / (1.0 + best.0.abs()));
                if v < best.1 {
                    best = (x[0], v);
                }
                Ok((v, Some(vec![d / v])))
            };
            let ctl = OptimControl { rel_tol: 1e-14, max_reach, ..Default::default() };
            let r = minimize_with_gradient(fg, &[0.0], None, &ctl).unwrap();
            (r, far)
        };
        let (capped, far) = run(1.0);
        assert!((capped.par[0] - 50.0).abs() < 1e-4, "{capped:?}");
        assert!(far <= 1.0 + 1e-9, "a point {far} times its start's size away");
        let (free, far) = run(f64::INFINITY);
        assert!((free.par[0] - 50.0).abs() < 1e-4, "{free:?}");
        assert!(far > 2.0, "without the limit the first step goes far ({far})");
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

    #[test]
    fn evaluation_limit_returns_the_best_point() {
        let f = |x: &[f64]| -> Result<f64> { Ok((x[0] - 3.0).powi(4) + x[0].sin()) };
        let ctl = OptimControl { max_evals: 7, ..Default::default() };
        let r = minimize(f, &[0.0], &ctl).unwrap();
        assert!(r.message.contains("evaluation limit"));
        assert!(r.value < 81.0);
        assert!(!r.converged);
        assert_eq!(r.limit, Some(Limit::Evaluations));
        // a single evaluation: the start, unconverged
        let ctl = OptimControl { max_evals: 1, ..Default::default() };
        let r = minimize(f, &[0.0], &ctl).unwrap();
        assert_eq!((r.evals, r.par.as_slice(), r.converged), (1, &[0.0][..], false));
        let fg = |x: &[f64], want: bool| -> Result<(f64, Option<Vec<f64>>)> {
            Ok(((x[0] - 3.0).powi(2), if want { Some(vec![2.0 * (x[0] - 3.0)]) } else { None }))
        };
        let r = minimize_with_gradient(fg, &[0.0], None, &ctl).unwrap();
        assert_eq!((r.par.as_slice(), r.converged, r.limit), (&[0.0][..], false, Some(Limit::Evaluations)));
    }

    #[test]
    fn the_iteration_limit_is_not_convergence() {
        let f = |x: &[f64]| -> Result<f64> { Ok((1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)) };
        let ctl = OptimControl { max_iter: 2, ..Default::default() };
        let r = minimize(f, &[-1.2, 1.0], &ctl).unwrap();
        assert!(!r.converged);
        assert_eq!(r.limit, Some(Limit::Iterations));
        let r = minimize(f, &[-1.2, 1.0], &OptimControl::default()).unwrap();
        assert!(r.converged && r.limit.is_none(), "{r:?}");
    }
}
