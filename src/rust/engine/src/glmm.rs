//! The generalized linear mixed model fit: PIRLS modes, the Laplace or
//! adaptive Gauss-Hermite objective, and its optimisation in two stages as
//! lme4 does: first theta alone with beta inside PIRLS (nAGQ = 0), then
//! (theta, beta) together from there (nAGQ >= 1).

use crate::blocked::{BlockedSystem, Factor};
use crate::convergence::ConvergenceCheck;
use crate::error::{check_not_constant, check_observations, EngineError, Result};
use crate::family::{Distribution, Link};
use crate::finish::{finish, Finished, Optimum, Record};
use crate::laplace::{agq_deviance, agq_value_gradient, laplace_deviance};
use crate::laplace_gradient::laplace_gradient;
use crate::memory::check_model;
use crate::monitor::{Monitor, Silent};
use crate::optimizer::{minimize, minimize_with_gradient, Limit, OptimControl, OptimResult};
use crate::pirls::{pirls_scalar_term, pirls_u, pirls_u_beta, PirlsResult};
use crate::quadrature::GaussHermite;
use crate::response::{
    check_response, eta_start, eta_start_mean, moment_theta, pearson_at, pearson_dispersion, saturated_constant, GlmmData,
};
use crate::reterm::{theta_start, LevelIndex, ReTerm};
use crate::vector_quadrature::{one_grouping_factor, VectorQuadrature};

#[derive(Debug, Clone)]
pub struct GlmmInput {
    pub y: Vec<f64>,
    pub x: Vec<f64>,
    pub p: usize,
    pub weights: Vec<f64>,
    pub offset: Vec<f64>,
    pub terms: Vec<ReTerm>,
    pub dist: Distribution,
    pub link: Link,
    /// 0: beta inside PIRLS; 1: Laplace; > 1: adaptive Gauss-Hermite.
    pub nagq: usize,
}

#[derive(Debug, Clone)]
pub struct GlmmFit {
    pub theta: Vec<f64>,
    pub beta: Vec<f64>,
    /// Covariance of beta from the factor at the optimum (conditional on theta).
    pub vcov_factor: Vec<f64>,
    /// Covariance of beta from the finite-difference Hessian in (theta, beta);
    /// empty when nAGQ = 0 or the Hessian is not positive definite.
    pub vcov_hessian: Vec<f64>,
    pub u: Vec<f64>,
    pub b: Vec<f64>,
    pub eta: Vec<f64>,
    /// -2 log L on the absolute scale.
    pub objective: f64,
    /// Sum of deviance residuals at the mode.
    pub deviance: f64,
    /// Dispersion (1 for families without a scale).
    pub phi: f64,
    pub evals: usize,
    pub iterations: u64,
    pub message: String,
    /// Did the optimizer stop at an optimum (see `OptimResult`)?
    pub converged: bool,
    pub limit: Option<Limit>,
    pub boundary: Vec<bool>,
    pub check: ConvergenceCheck,
    /// Conditional covariance blocks of b at the mode (see
    /// `BlockedSystem::conditional_covariances`).
    pub cond_var: Vec<f64>,
}

pub struct GlmmProblem {
    pub data: GlmmData,
    sys_u: BlockedSystem,
    sys_ub: BlockedSystem,
    factor: Factor,
    sat: f64,
    nagq: usize,
    rule: Option<GaussHermite>,
    levels: Option<LevelIndex>,
    /// nAGQ > 1 with random effects of any dimension that all share one
    /// grouping factor (see `vector_quadrature`); None otherwise.
    vector_agq: Option<VectorQuadrature>,
    u_warm: Vec<f64>,
    /// The theta of `u_warm` (one scalar term): a start at another theta
    /// keeps b = theta u, and with it the linear predictor (see
    /// `scalar_start`). NaN when unknown.
    theta_warm: f64,
    eta_warm: Vec<f64>,
    ntheta: usize,
    /// The dispersion is estimated: log phi is the last parameter.
    has_scale: bool,
    /// The last (theta, beta) the general Laplace path evaluated, with its
    /// value and mode (self.factor still holds its factor).
    last_point: Option<(Vec<f64>, Vec<f64>, f64, PirlsResult)>,
    /// order[k]: the caller's row of internal row k.
    order: Vec<usize>,
    /// The family as given (the negative binomial's theta at its start):
    /// each fit starts from it.
    dist: Distribution,
    /// A Bernoulli model's current response holds proportions (a
    /// simulated binomial response): it is fitted as binomial.
    proportions: bool,
    monitor: Box<dyn Monitor>,
}

impl GlmmProblem {
    pub fn new(input: GlmmInput) -> Result<Self> {
        let n = check_observations(&input.y, &input.x, input.p, &input.weights, &input.offset)?;
        check_response(input.dist, &input.y, &input.weights)?;
        if input.dist.has_scale() {
            // (a constant binomial or Poisson response is R's to refuse)
            check_not_constant(&input.y, &input.weights)?;
        }
        check_model(&input.terms, n, input.p, true)?;
        let single_scalar = input.terms.len() == 1 && input.terms[0].k == 1;
        if input.nagq > 1 && !single_scalar && !one_grouping_factor(&input.terms) {
            return Err(EngineError::Input(
                "nAGQ > 1 needs random-effects terms that all have the same grouping factor: with crossed or nested factors the integral does not split by level".into(),
            ));
        }
        if input.nagq > 25 {
            return Err(EngineError::Input("nAGQ must be at most 25".into()));
        }
        // Rows in the order of the first term's levels: each level's
        // observations are then contiguous, and the cross-products sum them
        // in registers (see `update_crossproducts`). The model does not
        // depend on the order of its rows.
        let (mut input, order) = rows_by_first_term(input);
        let terms = std::sync::Arc::new(std::mem::take(&mut input.terms));
        let ntheta = terms.iter().map(|t| t.ntheta()).sum();
        let levels = if single_scalar { Some(LevelIndex::new(&terms[0].group, terms[0].nlevels)) } else { None };
        let rule = if input.nagq > 1 { Some(GaussHermite::new(input.nagq)) } else { None };
        // vector AGQ: nAGQ > 1 and not the single scalar term
        let vector_agq = if input.nagq > 1 && !single_scalar { Some(VectorQuadrature::new(&terms, input.nagq)?) } else { None };
        let sys_u = BlockedSystem::new(terms.clone(), n, 0)?;
        let sys_ub = BlockedSystem::new(terms, n, input.p)?;
        let data = GlmmData {
            n,
            p: input.p,
            y: input.y,
            x: input.x,
            weights: input.weights,
            offset: input.offset,
            dist: input.dist,
            link: input.link,
            phi: 1.0,
        };
        let has_scale = data.dist.has_extra_parameter();
        let q = sys_u.q();
        let mut problem = GlmmProblem {
            data,
            sys_u,
            sys_ub,
            factor: Factor::default(),
            sat: 0.0,
            nagq: input.nagq,
            rule,
            levels,
            vector_agq,
            u_warm: vec![0.0; q],
            theta_warm: f64::NAN,
            eta_warm: Vec::new(),
            ntheta,
            has_scale,
            last_point: None,
            order,
            dist: input.dist,
            proportions: false,
            monitor: Box::new(Silent),
        };
        problem.start_from_response();
        Ok(problem)
    }

    /// The state a fit starts from, which depends on the response: the
    /// dispersion's start (Pearson's; the negative binomial's theta by
    /// moments), the saturated constant, glm's starting linear predictor
    /// and no warm start. A refit or a profile step starts here, so it gives
    /// what a problem built afresh gives.
    fn start_from_response(&mut self) {
        self.data.dist = if self.proportions { Distribution::Binomial } else { self.dist };
        self.data.phi = 1.0;
        if self.data.dist.has_scale() {
            self.data.phi = pearson_dispersion(&self.data);
        }
        if let Distribution::NegBinomial { fixed: false, .. } = self.data.dist {
            self.data.set_dispersion(moment_theta(&self.data, &eta_start_mean(&self.data)));
        }
        self.sat = saturated_constant(&self.data);
        self.eta_warm = eta_start(&self.data);
        self.u_warm.iter_mut().for_each(|u| *u = 0.0);
        self.theta_warm = f64::NAN;
        self.last_point = None;
    }

    /// A new response and offset (in the caller's row order) for the same
    /// design, checked as `new` checks them. A Bernoulli model given
    /// proportions (a simulated binomial response) becomes binomial.
    pub fn set_response(&mut self, y: &[f64], offset: &[f64]) -> Result<()> {
        let n = self.data.n;
        if y.len() != n || offset.len() != n {
            return Err(EngineError::Input(format!("the response and offset need {n} values each")));
        }
        if y.iter().chain(offset).any(|v| !v.is_finite()) {
            return Err(EngineError::Input("the response and offset must be finite".into()));
        }
        let y: Vec<f64> = self.order.iter().map(|&i| y[i]).collect();
        let offset: Vec<f64> = self.order.iter().map(|&i| offset[i]).collect();
        let proportions = self.dist == Distribution::Bernoulli && y.iter().any(|&v| v != 0.0 && v != 1.0);
        let dist = if proportions { Distribution::Binomial } else { self.dist };
        check_response(dist, &y, &self.data.weights)?;
        if dist.has_scale() {
            check_not_constant(&y, &self.data.weights)?;
        }
        self.proportions = proportions;
        self.data.y = y;
        self.data.offset = offset;
        self.start_from_response();
        Ok(())
    }

    /// Start the next fit or profile from the response's own start (see
    /// `start_from_response`), not from where the last one ended.
    pub fn restart(&mut self) {
        self.start_from_response();
    }

    /// What the problem was built from (in the caller's row order), with its
    /// current response and offset.
    pub fn input(&self) -> GlmmInput {
        let n = self.data.n;
        let mut back = vec![0; n];
        for (k, &i) in self.order.iter().enumerate() {
            back[i] = k;
        }
        let pick = |v: &[f64]| back.iter().map(|&k| v[k]).collect::<Vec<f64>>();
        let mut x = Vec::with_capacity(self.data.x.len());
        for c in 0..self.data.p {
            x.extend(back.iter().map(|&k| self.data.x[k + c * n]));
        }
        let terms = self
            .sys_u
            .terms
            .iter()
            .map(|t| ReTerm {
                group: back.iter().map(|&k| t.group[k]).collect(),
                nlevels: t.nlevels,
                k: t.k,
                z: back.iter().flat_map(|&k| t.zrow(k).to_vec()).collect(),
            })
            .collect();
        GlmmInput {
            y: pick(&self.data.y),
            x,
            p: self.data.p,
            weights: pick(&self.data.weights),
            offset: pick(&self.data.offset),
            terms,
            dist: self.dist,
            link: self.data.link,
            nagq: self.nagq,
        }
    }

    /// Stage-1 objective: Laplace at the joint mode of (u, beta) for theta.
    pub fn objective_fast(&mut self, theta: &[f64]) -> Result<(f64, PirlsResult)> {
        self.last_point = None; // self.factor is about to change
        let mode = pirls_u_beta(&self.data, &mut self.sys_ub, &mut self.factor, theta, &self.eta_warm)?;
        self.eta_warm.copy_from_slice(&mode.eta);
        let v = laplace_deviance(&self.sys_ub, &self.factor, &mode, self.sat);
        self.monitor.tick(v)?;
        Ok((v, mode))
    }

    /// -2 log L at (theta, beta): Laplace, or AGQ for nAGQ > 1.
    pub fn objective(&mut self, theta: &[f64], beta: &[f64]) -> Result<(f64, PirlsResult)> {
        self.last_point = None; // self.factor is about to change
        if let (Some(levels), true) = (&self.levels, self.nagq >= 1) {
            // one scalar term: independent one-dimensional modes and integrals
            let start = scalar_start(&self.u_warm, self.theta_warm, theta[0]);
            let mode = pirls_scalar_term(&self.data, &self.sys_u.terms[0], levels, theta[0], beta, &start)?;
            if !mode.in_range() {
                return Ok((f64::INFINITY, mode));
            }
            self.u_warm.copy_from_slice(&mode.u);
            self.theta_warm = theta[0];
            let one = GaussHermite::new(1);
            let rule = self.rule.as_ref().unwrap_or(&one);
            let v = agq_deviance(&self.data, &self.sys_u.terms[0], &mode, theta[0], levels, rule, self.sat);
            self.monitor.tick(v)?;
            return Ok((v, mode));
        }
        // one grouping factor, nAGQ > 1: the quadrature of vector_quadrature.rs
        if let Some(vq) = &self.vector_agq {
            let (v, mode, _) = vq.evaluate(&self.data, &self.sys_u.terms, theta, beta, &self.u_warm, self.sat, false)?;
            if !mode.in_range() {
                return Ok((f64::INFINITY, mode));
            }
            self.u_warm.copy_from_slice(&mode.u);
            self.monitor.tick(v)?;
            return Ok((v, mode));
        }
        let mode = match pirls_u(&self.data, &mut self.sys_u, &mut self.factor, theta, beta, &self.u_warm) {
            Ok(m) => m,
            Err(_) => {
                // a poor warm start can stall PIRLS; retry from zero
                let zero = vec![0.0; self.u_warm.len()];
                pirls_u(&self.data, &mut self.sys_u, &mut self.factor, theta, beta, &zero)?
            }
        };
        if !mode.in_range() {
            return Ok((f64::INFINITY, mode));
        }
        self.u_warm.copy_from_slice(&mode.u);
        let v = match (&self.rule, &self.levels) {
            (Some(rule), Some(levels)) => agq_deviance(&self.data, &self.sys_u.terms[0], &mode, theta[0], levels, rule, self.sat),
            _ => laplace_deviance(&self.sys_u, &self.factor, &mode, self.sat),
        };
        self.monitor.tick(v)?;
        Ok((v, mode))
    }

    /// Is the exact gradient available? No dispersion, nAGQ >= 1, and
    /// either one scalar term or a dense block small enough to invert at
    /// each evaluation; any link.
    pub(crate) fn has_gradient(&self) -> bool {
        if self.has_scale || self.nagq == 0 {
            return false;
        }
        if self.vector_agq.is_some() {
            return true; // vector AGQ: the exact gradient through the quadrature
        }
        self.levels.is_some() || self.sys_u.q_rest <= 1000
    }

    /// -2 log L and its exact gradient in (theta, beta).
    pub fn value_gradient(&mut self, theta: &[f64], beta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (v, g) = self.value_maybe_gradient(theta, beta, true)?;
        Ok((v, g.expect("gradient requested")))
    }

    /// -2 log L, with the gradient when `want` (always for one scalar term,
    /// where both come from one pass). Asked for the gradient at the point
    /// it evaluated last, it reuses that point's mode and factor.
    pub(crate) fn value_maybe_gradient(&mut self, theta: &[f64], beta: &[f64], want: bool) -> Result<(f64, Option<Vec<f64>>)> {
        // one grouping factor, nAGQ > 1: value and exact gradient in one pass
        if let Some(vq) = &self.vector_agq {
            let (v, mode, g) = vq.evaluate(&self.data, &self.sys_u.terms, theta, beta, &self.u_warm, self.sat, want)?;
            if !mode.in_range() {
                return Ok((f64::INFINITY, Some(vec![f64::NAN; theta.len() + beta.len()])));
            }
            self.u_warm.copy_from_slice(&mode.u);
            self.monitor.tick(v)?;
            return Ok((v, g));
        }
        let Some(levels) = &self.levels else {
            let same = matches!(&self.last_point, Some((t, b, _, _)) if t.as_slice() == theta && b.as_slice() == beta);
            if !same {
                let (v, mode) = self.objective(theta, beta)?;
                self.last_point = Some((theta.to_vec(), beta.to_vec(), v, mode));
            }
            let (_, _, v, mode) = self.last_point.as_ref().unwrap();
            let v = *v;
            if !want {
                return Ok((v, None));
            }
            if !mode.in_range() {
                return Ok((v, Some(vec![f64::NAN; theta.len() + beta.len()])));
            }
            let g = laplace_gradient(&self.data, &self.sys_u, &self.factor, mode)?;
            return Ok((v, Some(g)));
        };
        // one scalar term: the quadrature gives its value with the gradient
        let start = scalar_start(&self.u_warm, self.theta_warm, theta[0]);
        let mode = pirls_scalar_term(&self.data, &self.sys_u.terms[0], levels, theta[0], beta, &start)?;
        if !mode.in_range() {
            return Ok((f64::INFINITY, Some(vec![f64::NAN; theta.len() + beta.len()])));
        }
        self.u_warm.copy_from_slice(&mode.u);
        self.theta_warm = theta[0];
        let one = GaussHermite::new(1);
        let rule = self.rule.as_ref().unwrap_or(&one);
        let (v, g) = agq_value_gradient(&self.data, &self.sys_u, &mode, theta[0], levels, rule, self.sat);
        self.monitor.tick(v)?;
        Ok((v, Some(g)))
    }

    pub fn ntheta(&self) -> usize {
        self.ntheta
    }

    /// Is the dispersion estimated (log phi the last parameter)?
    pub fn has_scale(&self) -> bool {
        self.has_scale
    }

    /// Number of parameters: theta, beta and, with a dispersion, log phi.
    pub fn npar(&self) -> usize {
        self.ntheta + self.data.p + self.has_scale as usize
    }

    /// For a family with a scale, take phi = exp(last parameter) and
    /// return the other parameters.
    pub(crate) fn apply_phi<'a>(&mut self, par: &'a [f64]) -> &'a [f64] {
        if !self.has_scale {
            return par;
        }
        let (rest, last) = par.split_at(par.len() - 1);
        let v = last[0].clamp(-700.0, 700.0).exp();
        if v != self.data.dispersion() {
            self.data.set_dispersion(v);
            self.sat = saturated_constant(&self.data);
        }
        rest
    }

    /// Progress and interrupts: see `monitor`.
    pub fn set_monitor(&mut self, monitor: Box<dyn Monitor>) {
        self.monitor = monitor;
    }

    pub fn fit(&mut self, ctl: &OptimControl) -> Result<GlmmFit> {
        let out = self.fit_inner(ctl);
        self.monitor.finish();
        out
    }

    /// The fit in lme4's two stages, then the finish shared with the LMM.
    fn fit_inner(&mut self, ctl: &OptimControl) -> Result<GlmmFit> {
        let (stage1, mut mode1) = self.stage1(ctl)?;
        if self.has_scale {
            mode1 = self.start_dispersion(&stage1.par, &mode1)?;
        }
        let free_beta = self.nagq >= 1;
        let at = if free_beta {
            let stage2 = self.stage2(ctl, &stage1.par, &mode1)?;
            self.optimum(stage2.par.clone(), stage2.evals, Record::of(&stage1).then(&stage2))
        } else {
            // nAGQ = 0: stage 1's theta is the estimate (beta the joint mode's)
            let mut par = stage1.par.clone();
            if self.has_scale {
                par.push(self.data.dispersion().ln());
            }
            self.optimum(par, stage1.evals, Record::of(&stage1))
        };
        let ks: Vec<usize> = self.sys_u.terms.iter().map(|t| t.k).collect();
        let exact_gradient = free_beta && self.has_gradient();
        let finished = finish(&ks, at, exact_gradient, |p: &[f64], want| self.last_stage_objective(p, free_beta, want))?;
        self.fit_at(finished, free_beta)
    }

    /// theta's start: identity lambdas, scaled for links whose linear
    /// predictor carries the response's units (see `link_scale`).
    fn start_theta(&self) -> Vec<f64> {
        let scale = link_scale(&self.data, &self.eta_warm);
        self.sys_u.terms.iter().flat_map(|t| theta_start(t.k)).map(|t| t * scale).collect()
    }

    /// Stage 1: theta alone, with beta inside PIRLS (the nAGQ = 0
    /// objective), which gives stage 2 a start near its optimum cheaply; the
    /// dispersion stays at its Pearson start (the joint-mode objective
    /// degenerates as phi -> 0). With exact gradients for stage 2 the joint
    /// mode at the starting theta is start enough: stage 1 is then that one
    /// evaluation. Returns the run and the joint mode at its theta (whose
    /// factor `self.factor` then holds).
    fn stage1(&mut self, ctl: &OptimControl) -> Result<(OptimResult, PirlsResult)> {
        let start = self.start_theta();
        if self.has_gradient() {
            let (value, mode) = self.objective_fast(&start)?;
            let run = OptimResult { par: start, value, evals: 1, iterations: 0, message: String::new(), converged: true, limit: None };
            return Ok((run, mode));
        }
        let run = minimize(|th: &[f64]| Ok(self.objective_fast(th)?.0), &start, ctl)?;
        let mode = self.objective_fast(&run.par)?.1;
        Ok((run, mode))
    }

    /// The dispersion's start for stage 2: Pearson's (the negative
    /// binomial's theta by moments) at stage 1's joint mode. Returns the
    /// joint mode again at that dispersion.
    fn start_dispersion(&mut self, theta1: &[f64], mode1: &PirlsResult) -> Result<PirlsResult> {
        let v = match self.data.dist {
            Distribution::NegBinomial { .. } => moment_theta(&self.data, &mode1.eta),
            _ => pearson_at(&self.data, &mode1.eta),
        };
        self.data.set_dispersion(v);
        self.sat = saturated_constant(&self.data);
        Ok(self.objective_fast(theta1)?.1)
    }

    /// Stage 2 (nAGQ >= 1): (theta, beta [, log phi]) together, the
    /// Laplace or quadrature objective, from stage 1's theta and joint mode;
    /// by exact gradients where the model has them (see `has_gradient`).
    fn stage2(&mut self, ctl: &OptimControl, theta1: &[f64], mode1: &PirlsResult) -> Result<OptimResult> {
        let mut start = theta1.to_vec();
        start.extend_from_slice(&mode1.beta);
        if self.has_scale {
            start.push(self.data.dispersion().ln());
        }
        self.u_warm.copy_from_slice(&mode1.u);
        self.theta_warm = theta1[0];
        let run = if self.has_gradient() {
            let hint = self.beta_hessian_hint();
            minimize_with_gradient(
                |pb: &[f64], want: bool| {
                    let (th, be) = pb.split_at(self.ntheta);
                    self.value_maybe_gradient(th, be, want)
                },
                &start,
                Some(hint),
                ctl,
            )?
        } else {
            minimize(
                |pb: &[f64]| {
                    let pb = self.apply_phi(pb);
                    let (th, be) = pb.split_at(self.ntheta);
                    Ok(self.objective(th, be)?.0)
                },
                &start,
                ctl,
            )?
        };
        if !run.value.is_finite() {
            // no (theta, beta) near the start has a valid mode
            return Err(self.data.out_of_range());
        }
        Ok(run)
    }

    /// beta's block of stage 2's first Hessian from stage 1's factor (in
    /// `self.factor`): twice the information about beta with the random
    /// effects profiled out. NaN elsewhere: estimated by the optimizer.
    fn beta_hessian_hint(&self) -> Vec<f64> {
        let (nth, p) = (self.ntheta, self.data.p);
        let npar = nth + p;
        let info = self.sys_ub.fixed_information(&self.factor);
        let mut hint = vec![f64::NAN; npar * npar];
        for a in 0..p {
            for b in 0..p {
                hint[(nth + a) + (nth + b) * npar] = 2.0 * info[a + b * p];
            }
        }
        hint
    }

    /// The last stage's optimum for `finish`. The check leaves out the
    /// dispersion where nAGQ = 0 takes it as Pearson's (not an optimum), and
    /// the negative binomial's theta in the Poisson limit (no
    /// overdispersion: the likelihood is flat in a huge theta, which the
    /// check must not read as a problem).
    fn optimum(&self, par: Vec<f64>, run_evals: usize, record: Record) -> Optimum {
        let mut held = vec![false; par.len()];
        if self.has_scale {
            let last = par.len() - 1;
            let unfixed_negbin = matches!(self.data.dist, Distribution::NegBinomial { fixed: false, .. });
            let poisson_limit = unfixed_negbin && par[last].clamp(-700.0, 700.0).exp() > 1e6;
            held[last] = self.nagq == 0 || poisson_limit;
        }
        Optimum { par, value: None, held, run_evals, record }
    }

    /// The last stage's objective at par (nAGQ = 0: stage 1's, at theta and
    /// log phi), with its exact gradient when `want`.
    fn last_stage_objective(&mut self, par: &[f64], free_beta: bool, want: bool) -> Result<(f64, Option<Vec<f64>>)> {
        let par = self.apply_phi(par);
        if !free_beta {
            return Ok((self.objective_fast(par)?.0, None));
        }
        let (th, be) = par.split_at(self.ntheta);
        if want {
            let (v, g) = self.value_gradient(th, be)?;
            return Ok((v, Some(g)));
        }
        Ok((self.objective(th, be)?.0, None))
    }

    /// The fit at the finished parameters: the mode there, the covariances
    /// of beta (from the factor, and from the check's Hessian) and the
    /// conditional covariances of b.
    fn fit_at(&mut self, finished: Finished, free_beta: bool) -> Result<GlmmFit> {
        let Finished { par, boundary, free, check, record } = finished;
        let core = self.apply_phi(&par).to_vec();
        let (objective, mode, theta, beta) = if free_beta {
            let (th, be) = core.split_at(self.ntheta);
            let (v, m) = self.objective(th, be)?;
            (v, m, th.to_vec(), be.to_vec())
        } else {
            let (v, m) = self.objective_fast(&core)?;
            let be = m.beta.clone();
            (v, m, core, be)
        };
        if !mode.in_range() || self.data.at_range_edge(&mode.eta) {
            // no valid mode, or the estimates put means on the edge of the
            // family's range (the optimum is not inside the valid region)
            return Err(self.data.out_of_range());
        }
        let f = fisher_factor(&self.data, &mut self.sys_ub, &theta, &mode.eta)?;
        let vcov_factor = self.sys_ub.unscaled_vcov(&f);
        let vcov_hessian = if free_beta && check.hessian_positive_definite {
            hessian_vcov(&check.hessian, par.len(), self.ntheta, self.data.p, &free)
        } else {
            Vec::new()
        };
        let b = self.sys_u.lambda_times(&self.sys_u.lambdas(&theta), &mode.u);
        // Lambda M^{-1} Lambda' with M at the mode
        let f = fisher_factor(&self.data, &mut self.sys_u, &theta, &mode.eta)?;
        let cond_var = self.sys_u.conditional_covariances(&f, 1.0)?;
        Ok(GlmmFit {
            theta,
            beta,
            vcov_factor,
            vcov_hessian,
            u: mode.u.clone(),
            b,
            eta: self.in_callers_order(&mode.eta),
            objective,
            deviance: mode.deviance * self.data.phi,
            phi: self.data.dispersion(),
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

    /// Per-observation values in the caller's row order.
    fn in_callers_order(&self, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        for (k, &i) in self.order.iter().enumerate() {
            out[i] = v[k];
        }
        out
    }
}

/// The factor of `sys` at theta with Fisher's weights at eta and a zero
/// response, for covariances at the mode: a unit sum of squares for the
/// response keeps the factor positive definite without touching the rest.
fn fisher_factor(data: &GlmmData, sys: &mut BlockedSystem, theta: &[f64], eta: &[f64]) -> Result<Factor> {
    let mut w = vec![0.0; data.n];
    let mut r = vec![0.0; data.n];
    data.working(eta, &mut w, &mut r);
    r.iter_mut().for_each(|v| *v = 0.0);
    sys.update_crossproducts(&data.x[..sys.p * data.n], &r, &w);
    sys.add_to_response_ss(1.0);
    let mut f = Factor::default();
    sys.factor(theta, &mut f)?;
    Ok(f)
}

/// Where PIRLS for one scalar term starts at theta: the last modes u_warm
/// (found at theta_warm) rescaled so that b = theta u, and with it every
/// linear predictor, is where the last modes left it. From the unscaled
/// modes a large change of theta (a line search's trial point) would start
/// Newton's method far away, where it moves the linear predictor by about
/// one unit an iteration (counts in the thousands: hundreds of iterations).
fn scalar_start(u_warm: &[f64], theta_warm: f64, theta: f64) -> Vec<f64> {
    let r = theta_warm / theta;
    if r.is_finite() && r != 0.0 {
        u_warm.iter().map(|u| u * r).collect()
    } else {
        u_warm.to_vec()
    }
}

/// The input with its rows sorted (stably) by the first term's level, and
/// the permutation applied (order[k] = original row of row k).
fn rows_by_first_term(input: GlmmInput) -> (GlmmInput, Vec<usize>) {
    let n = input.y.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| input.terms[0].group[i]);
    let pick = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let mut x = Vec::with_capacity(input.x.len());
    for c in 0..input.p {
        x.extend(order.iter().map(|&i| input.x[i + c * n]));
    }
    let terms = input
        .terms
        .iter()
        .map(|t| {
            let group = order.iter().map(|&i| t.group[i]).collect();
            let z = order.iter().flat_map(|&i| t.zrow(i).to_vec()).collect();
            ReTerm { group, nlevels: t.nlevels, k: t.k, z }
        })
        .collect();
    let out = GlmmInput {
        y: pick(&input.y),
        x,
        p: input.p,
        weights: pick(&input.weights),
        offset: pick(&input.offset),
        terms,
        dist: input.dist,
        link: input.link,
        nagq: input.nagq,
    };
    (out, order)
}

/// The scale of theta's start. Random effects on the logit, probit, log
/// (...) scale are unit-free, and lambda = I starts them at one unit; for
/// the identity, inverse, sqrt and 1/mu^2 links the linear predictor carries
/// the response's units, so the start is half its typical size there (the
/// fit then does not depend on the units the response is measured in).
fn link_scale(data: &GlmmData, eta: &[f64]) -> f64 {
    match data.link {
        Link::Identity | Link::Inverse | Link::InverseSquare | Link::Sqrt => {
            let m = eta.iter().map(|e| e.abs()).sum::<f64>() / eta.len().max(1) as f64;
            if m.is_finite() && m > 0.0 {
                0.5 * m
            } else {
                1.0
            }
        }
        _ => 1.0,
    }
}

/// 2 H^{-1} restricted to beta (H the Hessian of -2 log L over the free
/// parameters), as lme4 computes its default standard errors.
fn hessian_vcov(h: &[f64], npar: usize, ntheta: usize, p: usize, free: &[bool]) -> Vec<f64> {
    let idx: Vec<usize> = (0..npar).filter(|&i| free[i]).collect();
    let k = idx.len();
    let hm = nalgebra::DMatrix::from_fn(k, k, |a, b| h[idx[a] + idx[b] * npar]);
    let inv = match hm.cholesky() {
        Some(c) => c.inverse(),
        None => return Vec::new(),
    };
    let mut v = vec![0.0; p * p];
    for a in 0..p {
        for b in 0..p {
            let ia = idx.iter().position(|&i| i == ntheta + a).unwrap();
            let ib = idx.iter().position(|&i| i == ntheta + b).unwrap();
            v[a + b * p] = 2.0 * inv[(ia, ib)];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::laplace::{agq_deviance, laplace_deviance};
    use crate::optimizer::{minimize, OptimControl};
    use crate::testutil::Rng;

    /// Bernoulli data with one scalar grouping term (or counts, Poisson).
    fn problem(seed: u64, dist: Distribution, link: Link, levels: usize, per: usize, nagq: usize) -> GlmmProblem {
        let mut rng = Rng::new(seed);
        let n = levels * per;
        let group: Vec<usize> = (0..n).map(|i| i / per).collect();
        let b: Vec<f64> = (0..levels).map(|_| 0.8 * rng.normal()).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mut x = vec![1.0; n];
        x.extend_from_slice(&xv);
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let eta = -0.3 + 0.7 * xv[i] + b[group[i]];
                match dist {
                    Distribution::Poisson | Distribution::NegBinomial { .. } => rng.poisson(eta.exp()),
                    Distribution::Gamma => {
                        // shape 5: a sum of five exponentials, scaled to mean mu
                        let mu = link.linkinv(eta);
                        (0..5).map(|_| -rng.uniform().ln()).sum::<f64>() * mu / 5.0
                    }
                    _ => (rng.uniform() < link.linkinv(eta)) as i32 as f64,
                }
            })
            .collect();
        let term = ReTerm::new(group, levels, 1, vec![1.0; n]).unwrap();
        GlmmProblem::new(GlmmInput { y, x, p: 2, weights: vec![1.0; n], offset: vec![0.0; n], terms: vec![term], dist, link, nagq })
            .unwrap()
    }

    #[test]
    fn one_node_quadrature_equals_laplace() {
        let mut pr = problem(1, Distribution::Bernoulli, Link::Logit, 12, 8, 1);
        let (lap, mode) = pr.objective(&[0.9], &[-0.2, 0.5]).unwrap();
        let rule = GaussHermite::new(1);
        let levels = LevelIndex::new(&pr.sys_u.terms[0].group, 12);
        let agq = agq_deviance(&pr.data, &pr.sys_u.terms[0], &mode, 0.9, &levels, &rule, pr.sat);
        assert!((lap - agq).abs() < 1e-10, "{lap} vs {agq}");
        // and both equal the general Laplace formula on the blocked factor
        let beta = [-0.2, 0.5];
        let general = pirls_u(&pr.data, &mut pr.sys_u, &mut pr.factor, &[0.9], &beta, &[0.0; 12]).unwrap();
        let lap_general = laplace_deviance(&pr.sys_u, &pr.factor, &general, pr.sat);
        assert!((lap_general - lap).abs() < 1e-8, "{lap_general} vs {lap}");
        for j in 0..12 {
            assert!((general.u[j] - mode.u[j]).abs() < 1e-6);
        }
    }

    /// -2 log of prod_j int prod_i p(y_i | eta_i(u)) phi(u) du by a fine
    /// trapezoid rule on [-12, 12].
    fn brute_force(pr: &GlmmProblem, theta: f64, beta: &[f64]) -> f64 {
        let d = &pr.data;
        let fixed = d.fixed_eta(beta);
        let term = &pr.sys_u.terms[0];
        let mut total = 0.0;
        for j in 0..term.nlevels {
            let obs: Vec<usize> = (0..d.n).filter(|&i| term.group[i] == j).collect();
            let npts = 20001;
            let (lo, hi) = (-12.0, 12.0);
            let h = (hi - lo) / (npts - 1) as f64;
            let mut s = 0.0;
            for k in 0..npts {
                let u: f64 = lo + k as f64 * h;
                let mut ll = -0.5 * u * u - 0.5 * (2.0 * std::f64::consts::PI).ln();
                for &i in &obs {
                    let mu = d.mu(fixed[i] + term.z[i] * theta * u);
                    ll -= 0.5 * d.dist.neg2_loglik(d.y[i], mu, d.weights[i], d.phi);
                }
                let wk = if k == 0 || k == npts - 1 { 0.5 } else { 1.0 };
                s += wk * ll.exp();
            }
            total += -2.0 * (s * h).ln();
        }
        total
    }

    #[test]
    fn adaptive_quadrature_matches_brute_force_integration() {
        for &(dist, link) in &[
            (Distribution::Bernoulli, Link::Logit),
            (Distribution::Poisson, Link::Log),
            (Distribution::Bernoulli, Link::Probit),
            (Distribution::Gamma, Link::Log),
            (Distribution::NegBinomial { theta: 1.8, fixed: true }, Link::Log),
        ] {
            let mut pr = problem(2, dist, link, 10, 6, 25);
            let (theta, beta) = (1.1, [-0.4, 0.6]);
            let (agq, _) = pr.objective(&[theta], &beta).unwrap();
            let want = brute_force(&pr, theta, &beta);
            assert!((agq - want).abs() < 1e-6 * want.abs(), "{dist:?}: {agq} vs {want}");
            // Laplace is only an approximation: visibly different, but close
            let mut lap = problem(2, dist, link, 10, 6, 1);
            let (l, _) = lap.objective(&[theta], &beta).unwrap();
            assert!((l - want).abs() < 0.05 * want.abs());
        }
    }

    #[test]
    fn pirls_mode_matches_a_general_minimizer() {
        let mut pr = problem(3, Distribution::Bernoulli, Link::Logit, 8, 10, 1);
        let (theta, beta) = ([0.7], [0.1, -0.4]);
        let (_, mode) = pr.objective(&theta, &beta).unwrap();
        let d = pr.data.clone();
        let fixed = d.fixed_eta(&beta);
        let group = pr.sys_u.terms[0].group.clone();
        let pdev = |u: &[f64]| -> crate::error::Result<f64> {
            let mut s: f64 = u.iter().map(|v| v * v).sum();
            for i in 0..d.n {
                s += d.dist.dev_resid(d.y[i], d.mu(fixed[i] + theta[0] * u[group[i]]), d.weights[i]);
            }
            Ok(s)
        };
        let ctl = OptimControl { rel_tol: 1e-16, ..Default::default() };
        let r = minimize(pdev, &[0.0; 8], &ctl).unwrap();
        for j in 0..8 {
            assert!((r.par[j] - mode.u[j]).abs() < 1e-5, "u[{j}]: {} vs {}", r.par[j], mode.u[j]);
        }
    }

    #[test]
    fn fit_reaches_a_stationary_point() {
        let mut pr = problem(4, Distribution::Bernoulli, Link::Logit, 30, 12, 9);
        let fit = pr.fit(&OptimControl::default()).unwrap();
        assert!(fit.check.hessian_positive_definite);
        assert!(fit.check.max_scaled_gradient < 1e-3, "{:?}", fit.check);
        // factor-based and Hessian-based standard errors are close
        for a in 0..2 {
            let sf = fit.vcov_factor[a + a * 2].sqrt();
            let sh = fit.vcov_hessian[a + a * 2].sqrt();
            assert!((sf - sh).abs() < 0.1 * sh, "{sf} vs {sh}");
        }
    }

    /// Gamma-Poisson draws (theta = 2) with a random intercept: the fit's
    /// theta is near the truth and its -2 log L is the quadrature integral.
    #[test]
    fn negative_binomial_estimates_theta() {
        let mut rng = Rng::new(91);
        let (levels, per) = (40, 25);
        let n = levels * per;
        let group: Vec<usize> = (0..n).map(|i| i / per).collect();
        let b: Vec<f64> = (0..levels).map(|_| 0.5 * rng.normal()).collect();
        let theta = 2.0;
        let y: Vec<f64> = (0..n)
            .map(|i| {
                // a gamma(shape 2, mean mu) draw as a sum of two exponentials
                let mu = (1.0 + b[group[i]]).exp();
                let lam = (0..2).map(|_| -rng.uniform().ln()).sum::<f64>() * mu / theta;
                rng.poisson(lam)
            })
            .collect();
        let term = ReTerm::new(group, levels, 1, vec![1.0; n]).unwrap();
        let mut pr = GlmmProblem::new(GlmmInput {
            y,
            x: vec![1.0; n],
            p: 1,
            weights: vec![1.0; n],
            offset: vec![0.0; n],
            terms: vec![term],
            dist: Distribution::NegBinomial { theta: 1.0, fixed: false },
            link: Link::Log,
            nagq: 9,
        })
        .unwrap();
        let fit = pr.fit(&OptimControl::default()).unwrap();
        assert!((fit.phi - theta).abs() < 0.5, "theta {}", fit.phi);
        assert!(fit.check.hessian_positive_definite && fit.check.max_scaled_gradient < 1e-3, "{:?}", fit.check);
        // the optimum is the integral at the estimates (brute force)
        pr.data.set_dispersion(fit.phi);
        pr.sat = saturated_constant(&pr.data);
        let want = brute_force(&pr, fit.theta[0], &fit.beta);
        assert!((fit.objective - want).abs() < 1e-6 * want, "{} vs {want}", fit.objective);
    }

    #[test]
    fn invalid_responses_are_errors() {
        let term = ReTerm::new(vec![0, 1, 1], 2, 1, vec![1.0; 3]).unwrap();
        let mk = |y: Vec<f64>, dist| GlmmInput {
            y,
            x: vec![1.0; 3],
            p: 1,
            weights: vec![1.0; 3],
            offset: vec![0.0; 3],
            terms: vec![term.clone()],
            dist,
            link: Link::Logit,
            nagq: 1,
        };
        assert!(GlmmProblem::new(mk(vec![0.0, 2.0, 1.0], Distribution::Bernoulli)).is_err());
        assert!(GlmmProblem::new(mk(vec![0.0, -1.0, 1.0], Distribution::Poisson)).is_err());
        assert!(GlmmProblem::new(mk(vec![0.0, 1.0, 1.0], Distribution::Bernoulli)).is_ok());
    }
}

#[cfg(test)]
mod general_gradient_tests {
    use super::*;
    use crate::laplace_gradient::laplace_gradient;
    use crate::testutil::Rng;

    /// Every family without a dispersion, with each of its links: the
    /// intercept keeps every mean valid for links with a bounded range.
    const CASES: [(Distribution, Link, f64); 13] = [
        (Distribution::Bernoulli, Link::Logit, -0.2),
        (Distribution::Bernoulli, Link::Probit, -0.2),
        (Distribution::Bernoulli, Link::Cloglog, -0.4),
        (Distribution::Bernoulli, Link::Cauchit, -0.2),
        (Distribution::Bernoulli, Link::Log, -2.5),
        (Distribution::Binomial, Link::Logit, 0.1),
        (Distribution::Binomial, Link::Probit, 0.1),
        (Distribution::Binomial, Link::Cloglog, -0.3),
        (Distribution::Poisson, Link::Log, 0.3),
        (Distribution::Poisson, Link::Sqrt, 1.5),
        (Distribution::Poisson, Link::Identity, 4.0),
        (Distribution::NegBinomial { theta: 1.5, fixed: true }, Link::Log, 0.3),
        (Distribution::NegBinomial { theta: 3.0, fixed: true }, Link::Sqrt, 1.5),
    ];

    /// The structures: one scalar term, (1 | g1) + (1 | g2), or a
    /// correlated slope (1 + x | g1) + (1 | g2).
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Structure {
        OneScalar,
        Crossed,
        CorrelatedSlope,
    }

    fn data(seed: u64, dist: Distribution, link: Link, b0: f64, structure: Structure) -> GlmmProblem {
        let mut rng = Rng::new(seed);
        let (n, l1, l2) = (240, 24, 7);
        let g1: Vec<usize> = (0..n).map(|i| i % l1).collect();
        let g2: Vec<usize> = (0..n).map(|i| if i < l2 { i } else { rng.below(l2) }).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.uniform() - 0.5).collect();
        let b1: Vec<f64> = (0..l1).map(|_| 0.3 * rng.normal()).collect();
        let b2: Vec<f64> = (0..l2).map(|_| 0.2 * rng.normal()).collect();
        let trials = 5.0;
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let mu = link.linkinv(b0 + 0.4 * xv[i] + b1[g1[i]] + b2[g2[i]]);
                match dist {
                    Distribution::Poisson | Distribution::NegBinomial { .. } => rng.poisson(mu),
                    Distribution::Binomial => (0..5).filter(|_| rng.uniform() < mu).count() as f64 / trials,
                    _ => (rng.uniform() < mu) as i32 as f64,
                }
            })
            .collect();
        let t1 = if structure == Structure::CorrelatedSlope {
            let z: Vec<f64> = (0..n).flat_map(|i| [1.0, xv[i]]).collect();
            ReTerm::new(g1, l1, 2, z).unwrap()
        } else {
            ReTerm::new(g1, l1, 1, vec![1.0; n]).unwrap()
        };
        let mut terms = vec![t1];
        if structure != Structure::OneScalar {
            terms.push(ReTerm::new(g2, l2, 1, vec![1.0; n]).unwrap());
        }
        let mut x = vec![1.0; n];
        x.extend_from_slice(&xv);
        let weights = vec![if dist == Distribution::Binomial { trials } else { 1.0 }; n];
        GlmmProblem::new(GlmmInput { y, x, p: 2, weights, offset: vec![0.0; n], terms, dist, link, nagq: 1 }).unwrap()
    }

    /// The exact gradient of the Laplace objective (the general path, on the
    /// blocked factor) against central differences of the objective itself.
    #[test]
    fn laplace_gradient_matches_finite_differences_for_every_link_and_structure() {
        for (c, &(dist, link, b0)) in CASES.iter().enumerate() {
            for (s, &structure) in [Structure::OneScalar, Structure::Crossed, Structure::CorrelatedSlope].iter().enumerate() {
                let mut pr = data(100 + 10 * c as u64 + s as u64, dist, link, b0, structure);
                let par: Vec<f64> = match structure {
                    Structure::OneScalar => vec![0.4, b0, 0.3],
                    Structure::Crossed => vec![0.4, 0.3, b0, 0.3],
                    Structure::CorrelatedSlope => vec![0.4, 0.1, 0.3, 0.3, b0, 0.3],
                };
                let nth = pr.ntheta;
                // the general path, also for one scalar term
                pr.levels = None;
                let (_, mode) = pr.objective(&par[..nth], &par[nth..]).unwrap();
                let g = laplace_gradient(&pr.data, &pr.sys_u, &pr.factor, &mode).unwrap();
                for r in 0..par.len() {
                    let h = 1e-5;
                    let mut a = par.clone();
                    a[r] += h;
                    let fp = pr.objective(&a[..nth], &a[nth..]).unwrap().0;
                    a[r] -= 2.0 * h;
                    let fm = pr.objective(&a[..nth], &a[nth..]).unwrap().0;
                    let num = (fp - fm) / (2.0 * h);
                    assert!((num - g[r]).abs() < 1e-5 * (1.0 + num.abs()), "{dist:?} {link:?} {structure:?} param {r}: {} vs {num}", g[r]);
                }
            }
        }
    }

    /// The single-term path (its own modes and the quadrature's gradient)
    /// against central differences, at one node (Laplace) and at five.
    #[test]
    fn scalar_term_gradient_matches_finite_differences_for_every_link() {
        for (c, &(dist, link, b0)) in CASES.iter().enumerate() {
            for &nagq in &[1usize, 5] {
                let mut pr = data(300 + c as u64, dist, link, b0, Structure::OneScalar);
                pr.nagq = nagq;
                pr.rule = if nagq > 1 { Some(GaussHermite::new(nagq)) } else { None };
                let par = [0.4, b0, 0.3];
                let (v, g) = pr.value_gradient(&par[..1], &par[1..]).unwrap();
                let v0 = pr.objective(&par[..1], &par[1..]).unwrap().0;
                assert!((v - v0).abs() < 1e-9 * v0.abs(), "{dist:?} {link:?}: value {v} vs {v0}");
                for r in 0..3 {
                    let h = 1e-5;
                    let mut a = par;
                    a[r] += h;
                    let fp = pr.objective(&a[..1], &a[1..]).unwrap().0;
                    a[r] -= 2.0 * h;
                    let fm = pr.objective(&a[..1], &a[1..]).unwrap().0;
                    let num = (fp - fm) / (2.0 * h);
                    assert!((num - g[r]).abs() < 1e-5 * (1.0 + num.abs()), "{dist:?} {link:?} nAGQ {nagq} param {r}: {} vs {num}", g[r]);
                }
            }
        }
    }

    /// Both paths give one value: the scalar-term modes and integrals equal
    /// the blocked factor's Laplace value (true Laplace for every link).
    #[test]
    fn scalar_path_and_general_path_agree_for_every_link() {
        for (c, &(dist, link, b0)) in CASES.iter().enumerate() {
            let mut pr = data(500 + c as u64, dist, link, b0, Structure::OneScalar);
            let par = [0.6, b0, 0.3];
            let scalar = pr.objective(&par[..1], &par[1..]).unwrap().0;
            pr.levels = None;
            let general = pr.objective(&par[..1], &par[1..]).unwrap().0;
            assert!((scalar - general).abs() < 1e-8 * scalar.abs(), "{dist:?} {link:?}: {scalar} vs {general}");
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::laplace_gradient::laplace_gradient;
    use crate::optimizer::OptimControl;
    use crate::testutil::Rng;

    /// 50,000 Bernoulli rows, (1 + x | subj) + (1 | item), 1,000 x 100.
    /// cargo test --release glmm::timing -- --ignored --nocapture
    #[test]
    #[ignore]
    fn fifty_thousand_rows() {
        let mut rng = Rng::new(9);
        let n = 50_000;
        let g1: Vec<usize> = (0..n).map(|i| i % 1000).collect();
        let g2: Vec<usize> = (0..n).map(|_| rng.below(100)).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let y: Vec<f64> = (0..n).map(|i| (rng.uniform() < 1.0 / (1.0 + (-(0.5 * xv[i] - 0.2)).exp())) as i32 as f64).collect();
        let z: Vec<f64> = (0..n).flat_map(|i| [1.0, xv[i]]).collect();
        let t1 = ReTerm::new(g1, 1000, 2, z).unwrap();
        let t2 = ReTerm::new(g2, 100, 1, vec![1.0; n]).unwrap();
        let mut x = vec![1.0; n];
        x.extend_from_slice(&xv);
        let mut pr = GlmmProblem::new(GlmmInput {
            y,
            x,
            p: 2,
            weights: vec![1.0; n],
            offset: vec![0.0; n],
            terms: vec![t1, t2],
            dist: Distribution::Bernoulli,
            link: Link::Logit,
            nagq: 1,
        })
        .unwrap();
        let th = [0.7, 0.1, 0.4, 0.5];
        let be = [-0.2, 0.5];
        pr.objective(&th, &be).unwrap();
        let t0 = std::time::Instant::now();
        let (_, mode) = pr.objective(&[0.71, 0.1, 0.4, 0.5], &be).unwrap();
        eprintln!("objective (warm) {:?}", t0.elapsed());
        let t0 = std::time::Instant::now();
        let mut w = vec![0.0; n];
        let mut r = vec![0.0; n];
        pr.data.working(&mode.eta, &mut w, &mut r);
        pr.sys_u.update_crossproducts(&[], &r, &w);
        eprintln!("update_crossproducts {:?}", t0.elapsed());
        let t0 = std::time::Instant::now();
        let mut f = Factor::default();
        pr.sys_u.add_to_response_ss(1.0);
        pr.sys_u.factor(&th, &mut f).unwrap();
        eprintln!("factor {:?}", t0.elapsed());
        let t0 = std::time::Instant::now();
        let _ = pr.data.deviance(&mode.eta);
        eprintln!("deviance {:?}", t0.elapsed());
        let t0 = std::time::Instant::now();
        let _g = laplace_gradient(&pr.data, &pr.sys_u, &pr.factor, &mode).unwrap();
        eprintln!("gradient {:?}", t0.elapsed());
        let t0 = std::time::Instant::now();
        let fit = pr.fit(&OptimControl::default()).unwrap();
        eprintln!("fit {:?} evals {} iterations {}", t0.elapsed(), fit.evals, fit.iterations);
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn fitted_linear_predictor_comes_back_in_the_callers_row_order() {
        let mut rng = Rng::new(77);
        let n = 150;
        // levels interleaved, so the internal sort really permutes rows
        let g: Vec<usize> = (0..n).map(|i| i % 10).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let y: Vec<f64> = (0..n).map(|i| rng.poisson((0.3 + 0.4 * xv[i] + 0.1 * (g[i] as f64 - 4.5)).exp())).collect();
        let mut x = vec![1.0; n];
        x.extend_from_slice(&xv);
        let term = ReTerm::new(g.clone(), 10, 1, vec![1.0; n]).unwrap();
        let mut pr = GlmmProblem::new(GlmmInput {
            y,
            x: x.clone(),
            p: 2,
            weights: vec![1.0; n],
            offset: vec![0.0; n],
            terms: vec![term],
            dist: Distribution::Poisson,
            link: Link::Log,
            nagq: 1,
        })
        .unwrap();
        let fit = pr.fit(&OptimControl::default()).unwrap();
        for i in 0..n {
            let want = fit.beta[0] * x[i] + fit.beta[1] * x[n + i] + fit.b[g[i]];
            assert!((fit.eta[i] - want).abs() < 1e-8, "row {i}: {} vs {want}", fit.eta[i]);
        }
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;
    use crate::testutil::Rng;

    /// One scalar term (levels of `per` rows), x uniform on (0, 1), y from
    /// `draw(x, level effect)`.
    fn scalar_problem(
        seed: u64,
        levels: usize,
        per: usize,
        sd: f64,
        dist: Distribution,
        link: Link,
        draw: &dyn Fn(&mut Rng, f64, f64) -> f64,
    ) -> GlmmProblem {
        let mut rng = Rng::new(seed);
        let n = levels * per;
        let g: Vec<usize> = (0..n).map(|i| i / per).collect();
        let b: Vec<f64> = (0..levels).map(|_| sd * rng.normal()).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
        let y: Vec<f64> = (0..n).map(|i| draw(&mut rng, xv[i], b[g[i]])).collect();
        let mut x = vec![1.0; n];
        x.extend_from_slice(&xv);
        let term = ReTerm::new(g, levels, 1, vec![1.0; n]).unwrap();
        let w = vec![1.0; n];
        GlmmProblem::new(GlmmInput { y, x, p: 2, weights: w, offset: vec![0.0; n], terms: vec![term], dist, link, nagq: 1 }).unwrap()
    }

    #[test]
    fn counts_of_a_hundred_thousand_fit_with_one_scalar_term() {
        // Poisson means around 1e5 (drawn by the normal approximation): the
        // Newton steps of the scalar-term modes end below the rounding noise
        // of the deviance. The general (blocked) PIRLS path is the reference.
        let draw = |r: &mut Rng, x: f64, b: f64| {
            let mu = (1e5f64.ln() + 0.1 * (x - 0.5) + b).exp();
            (mu + mu.sqrt() * r.normal()).round()
        };
        let mut scalar = scalar_problem(1, 20, 10, 0.2, Distribution::Poisson, Link::Log, &draw);
        let mut general = scalar_problem(1, 20, 10, 0.2, Distribution::Poisson, Link::Log, &draw);
        general.levels = None;
        let a = scalar.fit(&OptimControl::default()).unwrap();
        let b = general.fit(&OptimControl::default()).unwrap();
        assert!(a.converged && a.check.hessian_positive_definite, "{:?}", a.check);
        assert!(a.check.max_scaled_gradient < 1e-3, "{:?}", a.check);
        assert!((a.objective - b.objective).abs() < 1e-8 * b.objective.abs(), "{} vs {}", a.objective, b.objective);
        assert!((a.theta[0] - b.theta[0]).abs() < 1e-4 * b.theta[0], "{:?} vs {:?}", a.theta, b.theta);
        for j in 0..2 {
            assert!((a.beta[j] - b.beta[j]).abs() < 1e-6 * (1.0 + b.beta[j].abs()), "{:?} vs {:?}", a.beta, b.beta);
        }
    }

    #[test]
    fn the_scalar_start_keeps_the_linear_predictor() {
        let s = scalar_start(&[0.5, -2.0], 0.2, -4.0);
        // b = theta u: 0.2 * 0.5 = -4 * -0.025
        assert_eq!(s, vec![-0.025, 0.1]);
        assert_eq!(scalar_start(&[0.5], f64::NAN, 1.0), vec![0.5]);
        assert_eq!(scalar_start(&[0.5], 0.3, 0.0), vec![0.5]);
    }

    #[test]
    fn binomial_log_joint_mode_from_an_invalid_first_step() {
        // Means up to 0.95 under the log link: the first weighted least
        // squares solve from glm's start leaves mu < 1; PIRLS restarts from
        // the intercept and halves its steps. The reference: a general
        // minimiser of the penalized deviance over (u, beta).
        let draw = |r: &mut Rng, x: f64, b: f64| (r.uniform() < (-0.3 + 0.2 * x + b).exp()) as i32 as f64;
        let mut pr = scalar_problem(11, 15, 60, 0.05, Distribution::Bernoulli, Link::Log, &draw);
        let theta = [1.0];
        let eta0 = eta_start(&pr.data);
        let mode = pirls_u_beta(&pr.data, &mut pr.sys_ub, &mut pr.factor, &theta, &eta0).unwrap();
        let d = pr.data.clone();
        let group = pr.sys_u.terms[0].group.clone();
        let q = 15;
        let pdev = |par: &[f64]| -> crate::error::Result<f64> {
            let (u, beta) = par.split_at(q);
            let fixed = d.fixed_eta(beta);
            let eta: Vec<f64> = (0..d.n).map(|i| fixed[i] + theta[0] * u[group[i]]).collect();
            Ok(d.deviance(&eta) + u.iter().map(|v| v * v).sum::<f64>())
        };
        let mut start = vec![0.0; q];
        start.extend_from_slice(&[-0.5, 0.0]);
        let ctl = OptimControl { rel_tol: 1e-16, ..Default::default() };
        let r = minimize(pdev, &start, &ctl).unwrap();
        let mut got = mode.u.clone();
        got.extend_from_slice(&mode.beta);
        assert!(mode.deviance + mode.usq <= r.value + 1e-8, "{} vs {}", mode.deviance + mode.usq, r.value);
        for (k, (a, b)) in got.iter().zip(&r.par).enumerate() {
            assert!((a - b).abs() < 1e-4, "parameter {k}: {a} vs {b}");
        }
        // and the fit runs through
        assert!(pr.fit(&OptimControl::default()).is_ok());
    }

    #[test]
    fn modes_on_the_edge_of_the_range_are_out_of_range_errors() {
        // Groups of ten with means near 0.85 under the log link: groups of
        // ones put their modes on mu = 1.
        let draw = |r: &mut Rng, x: f64, _b: f64| (r.uniform() < (-0.2 + 0.1 * x).exp()) as i32 as f64;
        let mut pr = scalar_problem(2, 20, 10, 0.0, Distribution::Bernoulli, Link::Log, &draw);
        let err = pr.fit(&OptimControl::default()).unwrap_err();
        assert_eq!(err, EngineError::OutOfRange("mu outside (0, 1)".into()));
        assert_eq!(err.to_string(), "the linear predictor left the valid range of the link (mu outside (0, 1))");
        // Poisson counts with mean 6x - 2 (0 where negative) under the
        // identity link: the fitted line wants mu < 0.
        let draw = |r: &mut Rng, x: f64, _b: f64| r.poisson((6.0 * x - 2.0).max(0.0));
        let mut pr = scalar_problem(3, 20, 10, 0.0, Distribution::Poisson, Link::Identity, &draw);
        let err = pr.fit(&OptimControl::default()).unwrap_err();
        assert_eq!(err.to_string(), "the linear predictor left the valid range of the link (mu < 0)");
    }
}
