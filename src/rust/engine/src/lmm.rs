//! The linear mixed model: the profiled deviance (ML) or REML criterion as a
//! function of theta, its optimisation and the fitted quantities. BFGS runs
//! on the exact gradient (`lmm_gradient`), with steps limited to the scale
//! of theta: on InstEval 27 values of the objective, the check's included
//! (plus gradients), where finite differences took 133 and 19 more for the
//! convergence check. With scalar terms a gradient there costs
//! about 1.3 values (one triangular inverse of the dense block; see
//! `lmm_gradient`), with vector terms about 2.5 (its whole inverse)
//! (bench/README.md).

use crate::blocked::{BlockedSystem, Factor};
use crate::convergence::ConvergenceCheck;
use crate::error::{check_not_constant, check_observations, EngineError, Result};
use crate::finish::{finish, Finished, Optimum, Record};
use crate::lmm_gradient::lmm_gradient;
use crate::memory::check_model;
use crate::monitor::{Monitor, Silent};
use crate::optimizer::{minimize, minimize_with_gradient, Limit, OptimControl};
use crate::reterm::{theta_start, ReTerm};
use nalgebra::{DMatrix, DVector};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// What R hands over for a linear mixed model.
#[derive(Debug, Clone)]
pub struct LmmInput {
    pub y: Vec<f64>,
    /// Column-major n-by-p fixed-effects model matrix.
    pub x: Vec<f64>,
    pub p: usize,
    pub weights: Vec<f64>,
    pub offset: Vec<f64>,
    /// Ordered with the largest term first.
    pub terms: Vec<ReTerm>,
    pub reml: bool,
}

#[derive(Debug, Clone)]
pub struct LmmFit {
    pub theta: Vec<f64>,
    pub beta: Vec<f64>,
    /// Column-major p-by-p covariance of beta.
    pub vcov: Vec<f64>,
    pub sigma: f64,
    /// Spherical random effects u and b = Lambda u, full order.
    pub u: Vec<f64>,
    pub b: Vec<f64>,
    /// -2 log-likelihood (ML) or the REML criterion.
    pub objective: f64,
    pub evals: usize,
    pub iterations: u64,
    pub message: String,
    /// Did the optimizer stop at an optimum (see `OptimResult`)?
    pub converged: bool,
    pub limit: Option<Limit>,
    /// Diagonal elements of lambda held at zero (singular fit).
    pub boundary: Vec<bool>,
    pub check: ConvergenceCheck,
    /// Conditional covariance blocks of b (see `conditional_covariances`).
    pub cond_var: Vec<f64>,
}

/// What `LmmProblem::at` evaluates at given variance parameters.
#[derive(Debug, Clone)]
pub struct LmmAt {
    /// -2 log-likelihood (ML) or the REML criterion.
    pub deviance: f64,
    /// Column-major p-by-p (X' V0^-1 X)^-1.
    pub unscaled_vcov: Vec<f64>,
}

pub struct LmmProblem {
    pub system: BlockedSystem,
    factor: Factor,
    n: usize,
    p: usize,
    reml: bool,
    sum_log_weights: f64,
    /// Weighted standard deviation of the response less the offset.
    response_sd: f64,
    /// The data the cross-products come from: a new response or offset
    /// (a refit, a profile of a fixed effect) updates them in place of
    /// building the blocked system again.
    x: Vec<f64>,
    y: Vec<f64>,
    weights: Vec<f64>,
    offset: Vec<f64>,
    /// The theta `factor` was last computed at (None if it failed): a
    /// gradient asked for there reuses it.
    factored_at: Option<Vec<f64>>,
    /// See `has_gradient`.
    exact_gradient: bool,
    /// The gradient's work space (the inverse of the dense block's factor),
    /// kept from one gradient to the next during a fit, since fresh pages
    /// for it cost as much as a fifth of a gradient; freed when the fit ends.
    gradient_work: Vec<f64>,
    monitor: Box<dyn Monitor>,
}

impl LmmProblem {
    pub fn new(input: LmmInput) -> Result<Self> {
        let n = check_observations(&input.y, &input.x, input.p, &input.weights, &input.offset)?;
        if input.reml && n <= input.p {
            return Err(EngineError::Input("REML needs more observations than fixed effects".into()));
        }
        check_not_constant(&input.y, &input.weights)?;
        check_exact_fit(&input.y, &input.x, input.p, &input.weights, &input.offset)?;
        check_model(&input.terms, n, input.p, false)?;
        let LmmInput { y, x, p, weights, offset, terms, reml } = input;
        let system = BlockedSystem::new(terms, n, p)?;
        let sum_log_weights = weights.iter().filter(|&&w| w > 0.0).map(|w| w.ln()).sum();
        let mut problem = LmmProblem {
            exact_gradient: system.q_rest <= MAX_GRADIENT_DENSE,
            system,
            factor: Factor::default(),
            n,
            p,
            reml,
            sum_log_weights,
            response_sd: 0.0,
            x,
            y,
            weights,
            offset,
            factored_at: None,
            gradient_work: Vec::new(),
            monitor: Box::new(Silent),
        };
        problem.update_crossproducts();
        Ok(problem)
    }

    /// A new response and offset for the same design (rows, weights, X and
    /// terms unchanged), checked as `new` checks them.
    pub fn set_response(&mut self, y: &[f64], offset: &[f64]) -> Result<()> {
        check_observations(y, &self.x, self.p, &self.weights, offset)?;
        if y.len() != self.n {
            return Err(EngineError::Input(format!("the response has {} values for {} observations", y.len(), self.n)));
        }
        check_not_constant(y, &self.weights)?;
        check_exact_fit(y, &self.x, self.p, &self.weights, offset)?;
        self.y.copy_from_slice(y);
        self.offset.copy_from_slice(offset);
        self.update_crossproducts();
        Ok(())
    }

    /// What the problem was built from, with its current response and offset.
    pub fn input(&self) -> LmmInput {
        LmmInput {
            y: self.y.clone(),
            x: self.x.clone(),
            p: self.p,
            weights: self.weights.clone(),
            offset: self.offset.clone(),
            terms: self.system.terms.to_vec(),
            reml: self.reml,
        }
    }

    fn update_crossproducts(&mut self) {
        let yo: Vec<f64> = self.y.iter().zip(&self.offset).map(|(y, o)| y - o).collect();
        self.system.update_crossproducts(&self.x, &yo, &self.weights);
        self.factored_at = None;
        self.response_sd = weighted_sd(&yo, &self.weights);
    }

    /// The objective at theta: -2 log L profiled over beta and sigma (ML), or
    /// the REML criterion.
    pub fn objective(&mut self, theta: &[f64]) -> Result<f64> {
        self.factor_at(theta)?;
        let v = self.objective_from_factor();
        self.monitor.tick(v)?;
        Ok(v)
    }

    /// The objective and its exact gradient in theta (see `lmm_gradient`).
    pub fn value_gradient(&mut self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (v, g) = self.value_maybe_gradient(theta, true)?;
        Ok((v, g.expect("gradient requested")))
    }

    /// The objective, with its gradient when `want`. At the theta factored
    /// last, the factor is reused (the optimizer asks for the gradient only
    /// at points whose value it has accepted).
    fn value_maybe_gradient(&mut self, theta: &[f64], want: bool) -> Result<(f64, Option<Vec<f64>>)> {
        if !(want && self.factored_at.as_deref() == Some(theta)) {
            self.factor_at(theta)?;
            self.monitor.tick(self.objective_from_factor())?;
        }
        let v = self.objective_from_factor();
        if !want {
            return Ok((v, None));
        }
        let yo: Vec<f64> = self.y.iter().zip(&self.offset).map(|(y, o)| y - o).collect();
        let g = lmm_gradient(&self.system, &self.factor, &self.x, &yo, &self.weights, self.reml, &mut self.gradient_work)?;
        Ok((v, Some(g)))
    }

    /// The scalar-terms path's gradient (None where it does not apply, with
    /// `min_gap` in place of its threshold) and the general path's, at theta.
    #[cfg(test)]
    pub(crate) fn gradient_paths(&mut self, theta: &[f64], min_gap: f64) -> (Option<Vec<f64>>, Vec<f64>) {
        use crate::lmm_gradient::{general_gradient, scalar_terms_gradient};
        self.factor_at(theta).unwrap();
        let yo: Vec<f64> = self.y.iter().zip(&self.offset).map(|(y, o)| y - o).collect();
        let (sys, f, x, w) = (&self.system, &self.factor, &self.x, &self.weights);
        let fast = scalar_terms_gradient(sys, f, x, &yo, w, self.reml, min_gap, &mut Vec::new()).unwrap();
        (fast, general_gradient(sys, f, x, &yo, w, self.reml).unwrap())
    }

    /// Seconds for the scalar-terms path's gradient and the general path's
    /// at theta (the factor is computed first, outside the timings).
    #[cfg(test)]
    pub(crate) fn time_gradient_paths(&mut self, theta: &[f64]) -> (f64, f64) {
        use crate::lmm_gradient::{general_gradient, scalar_terms_gradient, MIN_GAP};
        self.factor_at(theta).unwrap();
        let yo: Vec<f64> = self.y.iter().zip(&self.offset).map(|(y, o)| y - o).collect();
        let (sys, f, x, w) = (&self.system, &self.factor, &self.x, &self.weights);
        let t0 = std::time::Instant::now();
        scalar_terms_gradient(sys, f, x, &yo, w, self.reml, MIN_GAP, &mut Vec::new()).unwrap().unwrap();
        let a = t0.elapsed().as_secs_f64();
        let t0 = std::time::Instant::now();
        general_gradient(sys, f, x, &yo, w, self.reml).unwrap();
        (a, t0.elapsed().as_secs_f64())
    }

    /// Factor M(theta), remembering where.
    fn factor_at(&mut self, theta: &[f64]) -> Result<()> {
        self.factored_at = None;
        self.system.factor(theta, &mut self.factor)?;
        self.factored_at = Some(theta.to_vec());
        Ok(())
    }

    /// Progress and interrupts: see `monitor`.
    pub fn set_monitor(&mut self, monitor: Box<dyn Monitor>) {
        self.monitor = monitor;
    }

    /// log |L_theta|^2 (+ log |R_X|^2 for REML) less the log weights, and
    /// the penalized residual sum of squares, at theta.
    pub(crate) fn logdet_and_pwrss(&mut self, theta: &[f64]) -> Result<(f64, f64)> {
        self.factor_at(theta)?;
        self.monitor.tick(0.0)?;
        let f = &self.factor;
        let mut ld = self.system.logdet_theta(f) - self.sum_log_weights;
        if self.reml {
            ld += self.system.logdet_x(f);
        }
        Ok((ld, self.system.pwrss(f)))
    }

    /// The deviance (ML) or REML criterion at theta and a given sigma (not
    /// profiled over sigma: lmerTest's `devfun_vp`, whose derivatives give
    /// Satterthwaite's degrees of freedom), and the unscaled covariance of
    /// beta, (X' V0^-1 X)^-1 with V0 = W^-1 + Z Lambda Lambda' Z'. At the
    /// fit's sigma the deviance is the fit's objective.
    pub fn at(&mut self, theta: &[f64], sigma: f64) -> Result<LmmAt> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(EngineError::Input(format!("sigma must be positive and finite, not {sigma}")));
        }
        let (ld, r2) = self.logdet_and_pwrss(theta)?;
        let s2 = sigma * sigma;
        let deviance = ld + r2 / s2 + self.residual_dof() * (LN_2PI + s2.ln());
        Ok(LmmAt { deviance, unscaled_vcov: self.system.unscaled_vcov(&self.factor) })
    }

    /// n, or n - p for REML.
    pub(crate) fn residual_dof(&self) -> f64 {
        if self.reml {
            (self.n - self.p) as f64
        } else {
            self.n as f64
        }
    }

    fn objective_from_factor(&self) -> f64 {
        let f = &self.factor;
        let ld = self.system.logdet_theta(f);
        let r2 = self.system.pwrss(f);
        let dof = self.residual_dof();
        let mut d = ld + dof * (1.0 + LN_2PI + (r2 / dof).ln()) - self.sum_log_weights;
        if self.reml {
            d += self.system.logdet_x(f);
        }
        d
    }

    /// Does the fit use the exact gradient? Not where the terms after the
    /// first have more than `MAX_GRADIENT_DENSE` random effects: the
    /// selected inverse holds two more arrays of the dense block's size
    /// (L^{-1} and M^{-1} there), and finite differences need none.
    pub fn has_gradient(&self) -> bool {
        self.exact_gradient
    }

    pub fn fit(&mut self, ctl: &OptimControl) -> Result<LmmFit> {
        let out = self.fit_inner(ctl);
        self.monitor.finish();
        out
    }

    fn fit_inner(&mut self, ctl: &OptimControl) -> Result<LmmFit> {
        let start: Vec<f64> = self.system.terms.iter().flat_map(|t| theta_start(t.k)).collect();
        // Where the response leaves (almost) no residual variance, theta
        // runs off to where the factor breaks down numerically: such a trial
        // point counts as +infinity, so the line search steps back (the
        // start itself must factor: a failure there is the model's).
        let exact = self.has_gradient();
        let mut started = false;
        let mut guarded = |th: &[f64], want: bool| match self.value_maybe_gradient(th, want) {
            Err(EngineError::NotPositiveDefinite(_)) if started => Ok((f64::INFINITY, None)),
            other => {
                started = true;
                other
            }
        };
        // Steps of theta are kept within 1 + |theta_i| of where they start:
        // far from the optimum the first Hessian approximations propose much
        // longer ones, and backtracking from them cost InstEval a third of
        // its values. (Not in a GLMM: there a long step can leave the
        // link's range, which is itself the answer for some data.)
        let ctl = &OptimControl { max_reach: ctl.max_reach.min(1.0), ..ctl.clone() };
        let opt = if exact {
            minimize_with_gradient(&mut guarded, &start, None, ctl)?
        } else {
            minimize(|th: &[f64]| Ok(guarded(th, false)?.0), &start, ctl)?
        };
        // signs, the boundary and the convergence check (with the exact
        // gradient, the Hessian from its differences); then everything else
        // from the factor at the reported theta
        let ks: Vec<usize> = self.system.terms.iter().map(|t| t.k).collect();
        let at = Optimum {
            par: opt.par.clone(),
            value: Some(opt.value),
            held: vec![false; opt.par.len()],
            run_evals: opt.evals,
            record: Record::of(&opt),
        };
        let Finished { par: theta, boundary, check, record, .. } =
            finish(&ks, at, exact, |th: &[f64], want| self.value_maybe_gradient(th, want))?;
        self.gradient_work = Vec::new();
        let objective = self.objective(&theta)?;
        let (u, beta) = self.system.solve_u_beta(&self.factor);
        let b = self.system.lambda_times(&self.factor.lambdas, &u);
        let sigma2 = self.system.pwrss(&self.factor) / self.residual_dof();
        if sigma2.sqrt() <= ZERO_RESIDUAL * self.response_sd {
            // with the random effects taking up the response (constant
            // within the levels of a factor, say)
            return Err(EngineError::Input(format!(
                "the fixed and random effects fit the response exactly (residual standard deviation \
                 {:.2e}, under {ZERO_RESIDUAL:.0e} of the response's {:.3}): the residual variance is \
                 zero and the model cannot be fitted",
                sigma2.sqrt(),
                self.response_sd
            )));
        }
        let vcov: Vec<f64> = self.system.unscaled_vcov(&self.factor).iter().map(|v| v * sigma2).collect();
        let cond_var = self.system.conditional_covariances(&self.factor, sigma2)?;
        Ok(LmmFit {
            theta,
            beta,
            vcov,
            sigma: sigma2.sqrt(),
            u,
            b,
            objective,
            evals: record.evals,
            iterations: record.iterations,
            message: record.message,
            converged: record.converged,
            limit: record.limit,
            boundary,
            check,
            cond_var,
        })
    }
}

/// The most random effects of the terms after the first for which the fit
/// uses the exact gradient (see `LmmProblem::has_gradient`): 4,000 makes
/// the selected inverse's two arrays 256 MB.
pub const MAX_GRADIENT_DENSE: usize = 4_000;

/// A residual standard deviation below this fraction of the response's
/// counts as zero. Where it is zero the profiled deviance has no minimum
/// (it falls without bound as sigma -> 0) and the optimizer stops somewhere
/// on the way; this far down, a stop like that and a true optimum with a
/// tiny sigma cannot be told apart.
const ZERO_RESIDUAL: f64 = 1e-5;

/// Weighted standard deviation.
fn weighted_sd(v: &[f64], w: &[f64]) -> f64 {
    let wsum: f64 = w.iter().sum();
    let mean = v.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / wsum;
    (v.iter().zip(w).map(|(a, b)| b * (a - mean).powi(2)).sum::<f64>() / wsum).sqrt()
}

/// Zero residual variance from the fixed effects alone (see
/// `ZERO_RESIDUAL`), known before any fitting. Weighted least squares of y
/// (less the offset) on X by the p-by-p normal equations with refinement
/// steps (accurate residuals without a copy of X); a rank-deficient X is
/// left to the fit.
fn check_exact_fit(y: &[f64], x: &[f64], p: usize, w: &[f64], offset: &[f64]) -> Result<()> {
    let n = y.len();
    if n <= p {
        return Ok(());
    }
    let xm = x;
    let x = |i: usize, c: usize| xm[i + c * n];
    let yo: Vec<f64> = y.iter().zip(offset).map(|(y, o)| y - o).collect();
    let mut resid = yo.clone();
    if p > 0 {
        let mut g: DMatrix<f64> = DMatrix::zeros(p, p);
        for (i, wi) in w.iter().enumerate() {
            for a in 0..p {
                for b in 0..=a {
                    g[(a, b)] += wi * x(i, a) * x(i, b);
                }
            }
        }
        let g = DMatrix::from_fn(p, p, |a, b| if a >= b { g[(a, b)] } else { g[(b, a)] });
        let Some(chol) = g.cholesky() else {
            return Ok(());
        };
        let mut beta: DVector<f64> = DVector::zeros(p);
        for _ in 0..3 {
            let xtr = DVector::from_fn(p, |a, _| (0..n).map(|i| w[i] * x(i, a) * resid[i]).sum());
            beta += chol.solve(&xtr);
            for i in 0..n {
                resid[i] = yo[i] - (0..p).map(|c| x(i, c) * beta[c]).sum::<f64>();
            }
        }
        if beta.iter().any(|b| !b.is_finite()) {
            return Ok(());
        }
    }
    let wsum: f64 = w.iter().sum();
    let rms = (resid.iter().zip(w).map(|(r, wi)| wi * r * r).sum::<f64>() / wsum).sqrt();
    let sd = weighted_sd(&yo, w);
    if rms <= ZERO_RESIDUAL * sd {
        return Err(EngineError::Input(format!(
            "the fixed effects fit the response exactly (residual standard deviation {rms:.2e}, under \
             {ZERO_RESIDUAL:.0e} of the response's {sd:.3}): the residual variance is zero and the model \
             cannot be fitted"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brute_force::{dense_lambda, dense_z, marginal_deviance, random_problem, Problem};
    use crate::testutil::Rng;

    pub(super) fn input(pr: &Problem, reml: bool) -> LmmInput {
        LmmInput {
            y: pr.y.clone(),
            x: pr.x.clone(),
            p: pr.p,
            weights: pr.w.clone(),
            offset: vec![0.0; pr.n],
            terms: pr.terms.clone(),
            reml,
        }
    }

    #[test]
    fn objective_equals_the_marginal_likelihood() {
        let mut rng = Rng::new(11);
        let pr = random_problem(&mut rng, 120, 2, &[(20, 2, None), (6, 1, None)]);
        for &reml in &[false, true] {
            let mut prob = LmmProblem::new(input(&pr, reml)).unwrap();
            for _ in 0..3 {
                let theta: Vec<f64> = (0..prob.system.ntheta()).map(|_| rng.normal()).collect();
                let got = prob.objective(&theta).unwrap();
                let want = marginal_deviance(&pr, &theta, reml);
                assert!((got - want).abs() < 1e-8 * want.abs(), "reml={reml}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn deviance_and_vcov_at_any_sigma_equal_the_dense_ones() {
        let mut rng = Rng::new(14);
        let pr = random_problem(&mut rng, 90, 3, &[(15, 2, None), (4, 1, None)]);
        for &reml in &[false, true] {
            let mut prob = LmmProblem::new(input(&pr, reml)).unwrap();
            let theta: Vec<f64> = (0..prob.system.ntheta()).map(|_| rng.normal()).collect();
            let sigma = 0.5 + rng.uniform();
            let got = prob.at(&theta, sigma).unwrap();
            let (dev, vc) = dense_deviance_at(&pr, &theta, sigma, reml);
            assert!((got.deviance - dev).abs() < 1e-9 * dev.abs(), "reml={reml}: {} vs {dev}", got.deviance);
            for (g, w) in got.unscaled_vcov.iter().zip(vc.iter()) {
                assert!((g - w).abs() < 1e-9 * (1.0 + w.abs()), "{g} vs {w}");
            }
            // at the profiled sigma it is the objective
            let (_, r2) = prob.logdet_and_pwrss(&theta).unwrap();
            let s_hat = (r2 / prob.residual_dof()).sqrt();
            let obj = prob.objective(&theta).unwrap();
            assert!((prob.at(&theta, s_hat).unwrap().deviance - obj).abs() < 1e-9 * obj.abs());
        }
        let mut prob = LmmProblem::new(input(&pr, false)).unwrap();
        assert!(prob.at(&[1.0, 0.0, 1.0, 1.0], 0.0).is_err());
        assert!(prob.at(&[1.0], 1.0).is_err());
    }

    /// -2 log L (or the REML criterion) at theta and sigma straight from
    /// y ~ N(X beta, sigma^2 V0), V0 = W^-1 + Z Lambda Lambda' Z' (beta at
    /// its GLS estimate), and (X' V0^-1 X)^-1.
    fn dense_deviance_at(pr: &Problem, theta: &[f64], sigma: f64, reml: bool) -> (f64, DMatrix<f64>) {
        let zl = dense_z(&pr.terms, pr.n) * dense_lambda(&pr.terms, theta);
        let mut v0 = &zl * zl.transpose();
        for i in 0..pr.n {
            v0[(i, i)] += 1.0 / pr.w[i];
        }
        let ch = v0.cholesky().unwrap();
        let logdet_v0: f64 = 2.0 * ch.l().diagonal().iter().map(|d| d.ln()).sum::<f64>();
        let x = DMatrix::from_column_slice(pr.n, pr.p, &pr.x);
        let y = DVector::from_column_slice(&pr.y);
        let xtvx = x.transpose() * ch.solve(&x);
        let xtvx_inv = xtvx.clone().try_inverse().unwrap();
        let beta = &xtvx_inv * (x.transpose() * ch.solve(&y));
        let r = &y - &x * &beta;
        let s2 = sigma * sigma;
        let two_pi_s2 = 2.0 * std::f64::consts::PI * s2;
        let mut dev = pr.n as f64 * two_pi_s2.ln() + logdet_v0 + r.dot(&ch.solve(&r)) / s2;
        if reml {
            dev += xtvx.determinant().ln() - pr.p as f64 * two_pi_s2.ln();
        }
        (dev, xtvx_inv)
    }

    #[test]
    fn fit_reaches_a_stationary_point_no_worse_than_a_grid() {
        let mut rng = Rng::new(12);
        let pr = random_problem(&mut rng, 150, 2, &[(15, 1, None), (5, 1, None)]);
        let mut prob = LmmProblem::new(input(&pr, false)).unwrap();
        let fit = prob.fit(&OptimControl::default()).unwrap();
        assert!(fit.check.max_abs_gradient < 1e-3, "{:?}", fit.check);
        // brute force: a coarse grid never beats the optimum
        for a in 0..=10 {
            for b in 0..=10 {
                let th = [a as f64 * 0.2, b as f64 * 0.2];
                let v = marginal_deviance(&pr, &th, false);
                assert!(fit.objective <= v + 1e-8);
            }
        }
        assert!(fit.theta.iter().all(|&t| t >= 0.0));
    }

    #[test]
    fn exact_and_finite_difference_gradients_reach_one_optimum() {
        let mut rng = Rng::new(15);
        let pr = random_problem(&mut rng, 300, 2, &[(30, 2, None), (8, 1, None)]);
        for reml in [false, true] {
            let mut exact = LmmProblem::new(input(&pr, reml)).unwrap();
            let mut fd = LmmProblem::new(input(&pr, reml)).unwrap();
            fd.exact_gradient = false;
            let (a, b) = (exact.fit(&OptimControl::default()).unwrap(), fd.fit(&OptimControl::default()).unwrap());
            assert!(a.converged && b.converged);
            assert!(a.objective <= b.objective + 1e-9 * b.objective.abs(), "reml={reml}: {} vs {}", a.objective, b.objective);
            assert!(a.check.max_scaled_gradient < 1e-4, "{:?}", a.check);
            assert!(a.evals < b.evals, "{} vs {}", a.evals, b.evals);
            for (x, y) in a.theta.iter().zip(&b.theta) {
                assert!((x - y).abs() < 1e-3, "{:?} vs {:?}", a.theta, b.theta);
            }
        }
    }

    #[test]
    fn a_variance_of_zero_is_a_clean_boundary_fit() {
        // y independent of the grouping: the optimum puts theta on zero.
        let mut rng = Rng::new(13);
        let mut pr = random_problem(&mut rng, 200, 1, &[(10, 1, None)]);
        pr.w = vec![1.0; pr.n];
        // Remove group means exactly so the between-group variance is zero.
        let l = pr.terms[0].nlevels;
        let mut sum = vec![0.0; l];
        let mut cnt = vec![0.0; l];
        for i in 0..pr.n {
            sum[pr.terms[0].group[i]] += pr.y[i];
            cnt[pr.terms[0].group[i]] += 1.0;
        }
        for i in 0..pr.n {
            let g = pr.terms[0].group[i];
            pr.y[i] -= sum[g] / cnt[g];
        }
        let mut prob = LmmProblem::new(input(&pr, false)).unwrap();
        let fit = prob.fit(&OptimControl::default()).unwrap();
        assert_eq!(fit.theta, vec![0.0]);
        assert!(fit.boundary[0]);
        let want = marginal_deviance(&pr, &[0.0], false);
        assert!((fit.objective - want).abs() < 1e-8 * want.abs());
    }
}

#[cfg(test)]
mod degenerate_tests {
    use super::*;
    use crate::testutil::Rng;

    /// 20 levels of 10 rows, an intercept and x; y from `f(row, level)`.
    fn input(f: &dyn Fn(usize, usize, f64) -> f64) -> LmmInput {
        let mut rng = Rng::new(21);
        let n = 200;
        let g: Vec<usize> = (0..n).map(|i| i / 10).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let y = (0..n).map(|i| f(i, g[i], xv[i])).collect();
        let mut x = vec![1.0; n];
        x.extend_from_slice(&xv);
        LmmInput {
            y,
            x,
            p: 2,
            weights: vec![1.0; n],
            offset: vec![0.0; n],
            terms: vec![ReTerm::new(g, 20, 1, vec![1.0; n]).unwrap()],
            reml: false,
        }
    }

    fn fit_error(input: LmmInput) -> String {
        match LmmProblem::new(input).and_then(|mut p| p.fit(&OptimControl::default())) {
            Ok(_) => "fitted".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_constant_response_is_named() {
        let e = fit_error(input(&|_, _, _| 5.0));
        assert!(e.contains("the response is constant (every value is 5)"), "{e}");
    }

    #[test]
    fn a_response_the_fixed_effects_fit_exactly_is_named() {
        let e = fit_error(input(&|_, _, x| 5.0 + 2.0 * x));
        assert!(e.contains("the fixed effects fit the response exactly (residual standard deviation"), "{e}");
        // noise at a ten-thousandth of the response's spread fits
        let mut rng = Rng::new(5);
        let noise: Vec<f64> = (0..200).map(|_| 1e-4 * rng.normal()).collect();
        assert_eq!(fit_error(input(&|i, _, x| 5.0 + 2.0 * x + noise[i])), "fitted");
    }

    #[test]
    fn a_response_constant_within_levels_has_zero_residual_variance() {
        let mut rng = Rng::new(6);
        let level: Vec<f64> = (0..20).map(|_| rng.normal()).collect();
        let e = fit_error(input(&|_, j, _| level[j]));
        assert!(e.contains("the fixed and random effects fit the response exactly (residual standard deviation"), "{e}");
        assert!(e.contains("the residual variance is zero"), "{e}");
        // with noise of a tenth of the levels' spread it fits
        let noise: Vec<f64> = (0..200).map(|_| 0.1 * rng.normal()).collect();
        assert_eq!(fit_error(input(&|i, j, _| level[j] + noise[i])), "fitted");
    }
}

#[cfg(test)]
mod monitor_tests {
    use super::*;
    use crate::brute_force::random_problem;
    use crate::testutil::Rng;

    struct StopAfter(usize);
    impl Monitor for StopAfter {
        fn tick(&mut self, _v: f64) -> Result<()> {
            if self.0 == 0 {
                return Err(EngineError::Interrupted);
            }
            self.0 -= 1;
            Ok(())
        }
    }

    #[test]
    fn a_monitor_can_stop_the_fit() {
        let mut rng = Rng::new(5);
        let pr = random_problem(&mut rng, 100, 2, &[(10, 1, None)]);
        let mut prob = LmmProblem::new(super::tests::input(&pr, false)).unwrap();
        prob.set_monitor(Box::new(StopAfter(5)));
        assert_eq!(prob.fit(&OptimControl::default()).unwrap_err(), EngineError::Interrupted);
    }
}
