//! A model prepared once: the problem built from the caller's data, kept
//! (behind an R external pointer) on the fit, and reused by the fit, by
//! refits to a new response (bootstrap replicates, simulations), by profile
//! steps and by the ML twin of a REML fit, none of which converts or
//! rebuilds the data again.
//!
//! Parameters are named as R names them, so that a caller says which one a
//! profile holds without knowing the engine's order: `sd_<column>|<term>`,
//! `cor_<column b>.<column a>|<term>`, `sigma` (the residual sd, or the
//! square root of a GLMM's dispersion), `theta` (the negative binomial's)
//! and `beta_<column of X>`.

use crate::error::{EngineError, Result};
use crate::family::Distribution;
use crate::glmm::{GlmmFit, GlmmInput, GlmmProblem};
use crate::lmm::{LmmAt, LmmFit, LmmInput, LmmProblem};
use crate::monitor::Monitor;
use crate::optimizer::OptimControl;
use crate::profile::Held;

/// What the caller hands over.
pub enum ModelInput {
    Lmm(LmmInput),
    Glmm(GlmmInput),
}

/// A fit of either kind.
pub enum Fit {
    Lmm(LmmFit),
    Glmm(GlmmFit),
}

/// The names of a random-effects term's parameters: the term's label (its
/// grouping factor's name, made unique among the terms) and its columns.
#[derive(Debug, Clone)]
pub struct TermNames {
    pub label: String,
    pub columns: Vec<String>,
}

/// The names of the fixed effects (the columns of X) and of the terms.
#[derive(Debug, Clone)]
pub struct Names {
    pub beta: Vec<String>,
    pub terms: Vec<TermNames>,
}

enum Problem {
    Lmm(Box<LmmProblem>),
    Glmm(Box<GlmmProblem>),
}

impl Problem {
    fn new(input: ModelInput) -> Result<Self> {
        Ok(match input {
            ModelInput::Lmm(i) => Problem::Lmm(Box::new(LmmProblem::new(i)?)),
            ModelInput::Glmm(i) => Problem::Glmm(Box::new(GlmmProblem::new(i)?)),
        })
    }

    fn input(&self) -> ModelInput {
        match self {
            Problem::Lmm(p) => ModelInput::Lmm(p.input()),
            Problem::Glmm(p) => ModelInput::Glmm(p.input()),
        }
    }

    fn set_response(&mut self, y: &[f64], offset: &[f64]) -> Result<()> {
        match self {
            Problem::Lmm(p) => p.set_response(y, offset),
            Problem::Glmm(p) => p.set_response(y, offset),
        }
    }

    /// Forget where the last fit or profile ended (an LMM keeps no such
    /// state: each fit starts from the same theta).
    fn restart(&mut self) {
        if let Problem::Glmm(p) = self {
            p.restart();
        }
    }

    fn set_monitor(&mut self, monitor: Box<dyn Monitor>) {
        match self {
            Problem::Lmm(p) => p.set_monitor(monitor),
            Problem::Glmm(p) => p.set_monitor(monitor),
        }
    }

    fn fit(&mut self, ctl: &OptimControl) -> Result<Fit> {
        Ok(match self {
            Problem::Lmm(p) => Fit::Lmm(p.fit(ctl)?),
            Problem::Glmm(p) => Fit::Glmm(p.fit(ctl)?),
        })
    }

    fn objective_of(fit: &Fit) -> f64 {
        match fit {
            Fit::Lmm(f) => f.objective,
            Fit::Glmm(f) => f.objective,
        }
    }
}

/// What a named parameter is to the engine.
#[derive(Debug, Clone, Copy)]
enum Target {
    Held(Held),
    /// A fixed effect, by its column of X.
    Beta(usize),
}

/// The model without one column of X, whose coefficient is then held as an
/// offset: the profile of a fixed effect (a REML criterion with another X
/// would not be comparable, so the caller profiles an ML fit's).
struct BetaTwin {
    column: usize,
    problem: Problem,
    xj: Vec<f64>,
}

pub struct PreparedModel {
    problem: Problem,
    names: Names,
    /// The parameters by name, in the order `parameter_names` lists them.
    targets: Vec<(String, Target)>,
    /// The model's own response and offset.
    y: Vec<f64>,
    offset: Vec<f64>,
    /// The problem holds another response (a refit's).
    other_response: bool,
    /// A fit or profile ran since the response was last set.
    used: bool,
    beta_twin: Option<BetaTwin>,
}

impl PreparedModel {
    pub fn new(input: ModelInput, names: Names) -> Result<Self> {
        let (dims, p, extra, y, offset) = match &input {
            ModelInput::Lmm(i) => (i.terms.iter().map(|t| t.k).collect::<Vec<_>>(), i.p, Some("sigma"), i.y.clone(), i.offset.clone()),
            ModelInput::Glmm(i) => {
                let extra = match i.dist {
                    Distribution::NegBinomial { fixed: false, .. } => Some("theta"),
                    d if d.has_scale() => Some("sigma"),
                    _ => None,
                };
                (i.terms.iter().map(|t| t.k).collect(), i.p, extra, i.y.clone(), i.offset.clone())
            }
        };
        if names.beta.len() != p {
            return Err(EngineError::Input(format!("{} fixed-effect names for {p} columns of X", names.beta.len())));
        }
        if names.terms.len() != dims.len() || names.terms.iter().zip(&dims).any(|(t, &k)| t.columns.len() != k) {
            return Err(EngineError::Input("the term names do not match the random-effects terms".into()));
        }
        let targets = targets(&names, &dims, extra);
        let problem = Problem::new(input)?;
        Ok(PreparedModel { problem, names, targets, y, offset, other_response: false, used: false, beta_twin: None })
    }

    /// The parameters a profile can hold, by name: the terms' standard
    /// deviations and correlations, sigma or theta, then the fixed effects.
    pub fn parameter_names(&self) -> Vec<String> {
        self.targets.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Fit the model, to its own response (`y` None) or to another one for
    /// the same design (a refit: the rows the model was prepared with).
    pub fn fit(&mut self, y: Option<&[f64]>, ctl: &OptimControl, monitor: Box<dyn Monitor>) -> Result<Fit> {
        match y {
            Some(y) => {
                // mark first: a response refused half way leaves the
                // problem's own to be set again
                self.other_response = true;
                self.problem.set_response(y, &self.offset)?;
                self.used = false;
            }
            None => self.own_response()?,
        }
        if self.used {
            self.problem.restart();
        }
        self.used = true;
        self.problem.set_monitor(monitor);
        self.problem.fit(ctl)
    }

    /// The profile objective at `value` of the parameter called `name`
    /// (see `parameter_names`): the objective minimised over the others from
    /// `start` (theta for an LMM; theta, beta and, with a dispersion, its
    /// log for a GLMM). A fixed effect's profile refits the model without
    /// its column, the coefficient held as an offset, under `ctl`.
    pub fn profile(&mut self, name: &str, value: f64, start: &[f64], ctl: &OptimControl, monitor: Box<dyn Monitor>) -> Result<f64> {
        let target = self
            .targets
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| EngineError::Input(format!("the model has no parameter `{name}`")))?;
        match target {
            Target::Held(held) => {
                self.own_response()?;
                if self.used {
                    self.problem.restart();
                }
                self.used = true;
                self.problem.set_monitor(monitor);
                match &mut self.problem {
                    Problem::Lmm(p) => p.profile(start, held, value, &OptimControl::default()),
                    Problem::Glmm(p) => {
                        if start.len() != p.npar() {
                            return Err(EngineError::Input("`start` must hold theta, beta and (with a dispersion) its log".into()));
                        }
                        p.profile(start, held, value, &OptimControl::default())
                    }
                }
            }
            Target::Beta(j) => {
                if !value.is_finite() {
                    return Err(EngineError::Input("a fixed effect's value must be finite".into()));
                }
                self.build_beta_twin(j)?;
                let twin = self.beta_twin.as_mut().expect("just built");
                let offset: Vec<f64> = self.offset.iter().zip(&twin.xj).map(|(o, x)| o + value * x).collect();
                twin.problem.set_response(&self.y, &offset)?;
                twin.problem.set_monitor(monitor);
                let fit = twin.problem.fit(ctl)?;
                Ok(Problem::objective_of(&fit))
            }
        }
    }

    /// A linear mixed model's deviance (ML) or REML criterion at theta and
    /// sigma, and the unscaled covariance of beta at theta (see
    /// `LmmProblem::at`), for the model's own response: what R
    /// differentiates for Satterthwaite's degrees of freedom.
    pub fn lmm_at(&mut self, theta: &[f64], sigma: f64) -> Result<LmmAt> {
        self.own_response()?;
        match &mut self.problem {
            Problem::Lmm(p) => p.at(theta, sigma),
            Problem::Glmm(_) => Err(EngineError::Input("the deviance at given theta and sigma is for linear mixed models".into())),
        }
    }

    /// The same model fitted by ML (`reml` false) or REML: a linear mixed
    /// model's twin, built from this one's data without the caller.
    pub fn with_reml(&self, reml: bool) -> Result<PreparedModel> {
        let ModelInput::Lmm(mut input) = self.problem.input() else {
            return Err(EngineError::Input("REML applies to linear mixed models only".into()));
        };
        input.reml = reml;
        input.y.clone_from(&self.y);
        input.offset.clone_from(&self.offset);
        PreparedModel::new(ModelInput::Lmm(input), self.names.clone())
    }

    fn own_response(&mut self) -> Result<()> {
        if self.other_response {
            self.problem.set_response(&self.y, &self.offset)?;
            self.other_response = false;
            self.used = false;
        }
        Ok(())
    }

    fn build_beta_twin(&mut self, j: usize) -> Result<()> {
        if self.beta_twin.as_ref().map(|t| t.column) != Some(j) {
            let (problem, xj) = match self.problem.input() {
                ModelInput::Lmm(mut i) => {
                    let xj = drop_column(&mut i.x, &mut i.p, j);
                    i.y.clone_from(&self.y);
                    i.offset.clone_from(&self.offset);
                    (Problem::new(ModelInput::Lmm(i))?, xj)
                }
                ModelInput::Glmm(mut i) => {
                    let xj = drop_column(&mut i.x, &mut i.p, j);
                    i.y.clone_from(&self.y);
                    i.offset.clone_from(&self.offset);
                    (Problem::new(ModelInput::Glmm(i))?, xj)
                }
            };
            self.beta_twin = Some(BetaTwin { column: j, problem, xj });
        }
        Ok(())
    }
}

/// Take column j out of the column-major n-by-p matrix x; returns it.
fn drop_column(x: &mut Vec<f64>, p: &mut usize, j: usize) -> Vec<f64> {
    let n = x.len() / *p;
    let xj = x.drain(j * n..(j + 1) * n).collect();
    *p -= 1;
    xj
}

/// Every parameter's name and what it is, terms first (each term's sds,
/// then its correlations), then sigma or theta, then the fixed effects.
fn targets(names: &Names, dims: &[usize], extra: Option<&str>) -> Vec<(String, Target)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (t, &k) in names.terms.iter().zip(dims) {
        for row in 0..k {
            out.push((format!("sd_{}|{}", t.columns[row], t.label), Target::Held(Held::Sd { pos, k, row })));
        }
        for a in 0..k {
            for b in a + 1..k {
                out.push((format!("cor_{}.{}|{}", t.columns[b], t.columns[a], t.label), Target::Held(Held::Cor { pos, k, a, b })));
            }
        }
        pos += k * (k + 1) / 2;
    }
    if let Some(e) = extra {
        out.push((e.to_string(), Target::Held(Held::Sigma)));
    }
    for (j, b) in names.beta.iter().enumerate() {
        out.push((format!("beta_{b}"), Target::Beta(j)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brute_force::random_problem;
    use crate::family::Link;
    use crate::monitor::Silent;
    use crate::testutil::Rng;

    fn names(p: usize, dims: &[usize]) -> Names {
        Names {
            beta: (0..p).map(|j| format!("x{j}")).collect(),
            terms: dims
                .iter()
                .enumerate()
                .map(|(t, &k)| TermNames { label: format!("g{t}"), columns: (0..k).map(|a| format!("c{a}")).collect() })
                .collect(),
        }
    }

    fn lmm_input(seed: u64) -> LmmInput {
        let mut rng = Rng::new(seed);
        let mut pr = random_problem(&mut rng, 240, 2, &[(24, 2, None), (6, 1, None)]);
        let b: Vec<f64> = (0..pr.terms[0].nlevels).map(|_| rng.normal()).collect();
        for i in 0..pr.n {
            pr.y[i] += b[pr.terms[0].group[i]];
        }
        LmmInput { y: pr.y, x: pr.x, p: 2, weights: pr.w, offset: vec![0.0; pr.n], terms: pr.terms, reml: false }
    }

    fn glmm_input(seed: u64) -> GlmmInput {
        let i = lmm_input(seed);
        let y = i.y.iter().map(|v| (*v > 0.3) as i32 as f64).collect();
        GlmmInput {
            y,
            x: i.x,
            p: i.p,
            weights: vec![1.0; i.weights.len()],
            offset: i.offset,
            terms: i.terms,
            dist: Distribution::Bernoulli,
            link: Link::Logit,
            nagq: 1,
        }
    }

    fn lmm(f: Fit) -> LmmFit {
        match f {
            Fit::Lmm(f) => f,
            Fit::Glmm(_) => panic!("an LMM fit expected"),
        }
    }

    fn glmm(f: Fit) -> GlmmFit {
        match f {
            Fit::Glmm(f) => f,
            Fit::Lmm(_) => panic!("a GLMM fit expected"),
        }
    }

    fn silent() -> Box<dyn Monitor> {
        Box::new(Silent)
    }

    #[test]
    fn names_follow_the_terms_then_sigma_then_beta() {
        let m = PreparedModel::new(ModelInput::Lmm(lmm_input(1)), names(2, &[2, 1])).unwrap();
        assert_eq!(m.parameter_names(), ["sd_c0|g0", "sd_c1|g0", "cor_c1.c0|g0", "sd_c0|g1", "sigma", "beta_x0", "beta_x1"]);
        assert!(PreparedModel::new(ModelInput::Lmm(lmm_input(1)), names(3, &[2, 1])).is_err());
        assert!(PreparedModel::new(ModelInput::Lmm(lmm_input(1)), names(2, &[1, 1])).is_err());
    }

    #[test]
    fn lmm_refits_equal_fits_of_problems_built_afresh() {
        let ctl = OptimControl::default();
        let input = lmm_input(2);
        let mut m = PreparedModel::new(ModelInput::Lmm(input.clone()), names(2, &[2, 1])).unwrap();
        let own = lmm(m.fit(None, &ctl, silent()).unwrap());
        let mut rng = Rng::new(9);
        let y2: Vec<f64> = input.y.iter().map(|v| v + 0.5 * rng.normal()).collect();
        let refit = lmm(m.fit(Some(&y2), &ctl, silent()).unwrap());
        let fresh = LmmProblem::new(LmmInput { y: y2, ..input.clone() }).unwrap().fit(&ctl).unwrap();
        assert_eq!(refit.objective, fresh.objective);
        assert_eq!(refit.theta, fresh.theta);
        assert_eq!(refit.beta, fresh.beta);
        // and back to the model's own response
        let again = lmm(m.fit(None, &ctl, silent()).unwrap());
        assert_eq!(again.objective, own.objective);
        assert_eq!(again.theta, own.theta);
        assert!(refit.objective != own.objective);
    }

    #[test]
    fn glmm_refits_equal_fits_of_problems_built_afresh() {
        let ctl = OptimControl::default();
        let input = glmm_input(3);
        let mut m = PreparedModel::new(ModelInput::Glmm(input.clone()), names(2, &[2, 1])).unwrap();
        let own = glmm(m.fit(None, &ctl, silent()).unwrap());
        let y2: Vec<f64> = input.y.iter().rev().cloned().collect();
        let refit = glmm(m.fit(Some(&y2), &ctl, silent()).unwrap());
        let fresh = GlmmProblem::new(GlmmInput { y: y2.clone(), ..input.clone() }).unwrap().fit(&ctl).unwrap();
        assert_eq!(refit.objective, fresh.objective);
        assert_eq!(refit.theta, fresh.theta);
        assert_eq!(refit.eta, fresh.eta);
        // a second refit to the same response repeats it exactly (no warm start kept)
        let twice = glmm(m.fit(Some(&y2), &ctl, silent()).unwrap());
        assert_eq!(twice.objective, refit.objective);
        let again = glmm(m.fit(None, &ctl, silent()).unwrap());
        assert_eq!(again.objective, own.objective);
        assert_eq!(again.beta, own.beta);
    }

    #[test]
    fn a_bernoulli_model_refits_proportions_as_binomial() {
        let ctl = OptimControl::default();
        let input = glmm_input(4);
        let mut m = PreparedModel::new(ModelInput::Glmm(input.clone()), names(2, &[2, 1])).unwrap();
        let yp: Vec<f64> = input.y.iter().enumerate().map(|(i, v)| if i % 7 == 0 { 0.5 } else { *v }).collect();
        let refit = glmm(m.fit(Some(&yp), &ctl, silent()).unwrap());
        let fresh = GlmmProblem::new(GlmmInput { y: yp, dist: Distribution::Binomial, ..input }).unwrap().fit(&ctl).unwrap();
        assert_eq!(refit.objective, fresh.objective);
        // a refused response names the problem and leaves the model usable
        assert!(m.fit(Some(&[2.0; 240]), &ctl, silent()).is_err());
        assert!(m.fit(None, &ctl, silent()).is_ok());
    }

    #[test]
    fn profiles_by_name_hold_the_named_parameter() {
        let ctl = OptimControl::default();
        let input = lmm_input(5);
        let mut m = PreparedModel::new(ModelInput::Lmm(input.clone()), names(2, &[2, 1])).unwrap();
        let fit = lmm(m.fit(None, &ctl, silent()).unwrap());
        // sd of term 0's first column: sigma * |row 0 of lambda|
        let sd = fit.sigma * fit.theta[0].abs();
        let by_name = m.profile("sd_c0|g0", 1.3 * sd, &fit.theta, &ctl, silent()).unwrap();
        let held = LmmProblem::new(input.clone())
            .unwrap()
            .profile(&fit.theta, Held::Sd { pos: 0, k: 2, row: 0 }, 1.3 * sd, &OptimControl::default())
            .unwrap();
        assert_eq!(by_name, held);
        // a fixed effect held at its estimate gives the optimum back, and
        // the profile rises away from it as a refit with the offset does
        let at = m.profile("beta_x1", fit.beta[1], &fit.theta, &ctl, silent()).unwrap();
        assert!((at - fit.objective).abs() < 1e-6, "{at} vs {}", fit.objective);
        let b = fit.beta[1] + 0.3;
        let away = m.profile("beta_x1", b, &fit.theta, &ctl, silent()).unwrap();
        let mut reduced = input.clone();
        let xj = drop_column(&mut reduced.x, &mut reduced.p, 1);
        reduced.offset = xj.iter().map(|x| b * x).collect();
        let direct = LmmProblem::new(reduced).unwrap().fit(&ctl).unwrap().objective;
        assert_eq!(away, direct);
        assert!(away > fit.objective + 1e-3);
        assert!(m.profile("sd_c9|g0", 1.0, &fit.theta, &ctl, silent()).is_err());
    }

    #[test]
    fn lmm_at_the_fit_gives_its_objective_and_vcov() {
        let ctl = OptimControl::default();
        let mut m = PreparedModel::new(ModelInput::Lmm(LmmInput { reml: true, ..lmm_input(7) }), names(2, &[2, 1])).unwrap();
        let fit = lmm(m.fit(None, &ctl, silent()).unwrap());
        // after a refit to another response it is the model's own again
        let y2: Vec<f64> = lmm_input(8).y;
        m.fit(Some(&y2), &ctl, silent()).unwrap();
        let at = m.lmm_at(&fit.theta, fit.sigma).unwrap();
        assert!((at.deviance - fit.objective).abs() < 1e-9 * fit.objective.abs());
        let s2 = fit.sigma * fit.sigma;
        for (a, v) in at.unscaled_vcov.iter().zip(&fit.vcov) {
            assert!((a * s2 - v).abs() < 1e-10 * v.abs().max(1e-300), "{a} vs {v}");
        }
        let mut g = PreparedModel::new(ModelInput::Glmm(glmm_input(3)), names(2, &[2, 1])).unwrap();
        assert!(g.lmm_at(&fit.theta, 1.0).is_err());
    }

    #[test]
    fn the_ml_twin_of_a_reml_model_is_the_ml_fit() {
        let ctl = OptimControl::default();
        let input = LmmInput { reml: true, ..lmm_input(6) };
        let m = PreparedModel::new(ModelInput::Lmm(input.clone()), names(2, &[2, 1])).unwrap();
        let mut ml = m.with_reml(false).unwrap();
        let twin = lmm(ml.fit(None, &ctl, silent()).unwrap());
        let direct = LmmProblem::new(LmmInput { reml: false, ..input }).unwrap().fit(&ctl).unwrap();
        assert_eq!(twin.objective, direct.objective);
    }
}
