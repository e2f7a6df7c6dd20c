//! Likelihood profiles of the variance components: the objective minimised
//! with one standard deviation held at a given value.
//!
//! LMM: with sigma not profiled out, -2 log L(theta, sigma) =
//!   log|L_theta|^2 [+ log|R_X|^2] + d log(2 pi sigma^2) + r^2(theta) / sigma^2
//! (d = n, or n - p for REML). Holding the residual sd at s fixes sigma = s;
//! holding a scalar term's sd sigma * theta_k at s fixes sigma = s / theta_k.
//! GLMM (no dispersion): a scalar term's sd is theta_k itself.

use crate::error::{EngineError, Result};
use crate::glmm::GlmmProblem;
use crate::lmm::LmmProblem;
use crate::optimizer::{minimize, OptimControl};

/// What is held fixed in an LMM profile.
#[derive(Debug, Clone, Copy)]
pub enum Held {
    /// The residual standard deviation.
    Sigma,
    /// The standard deviation of the scalar term whose theta has this index.
    TermSd(usize),
}

impl LmmProblem {
    /// -2 log L (or the REML criterion) at theta with the held sd at `s`.
    pub fn objective_held(&mut self, theta: &[f64], held: Held, s: f64) -> Result<f64> {
        let (ld, r2) = self.logdet_and_pwrss(theta)?;
        let sigma = match held {
            Held::Sigma => s,
            Held::TermSd(k) => s / theta[k].abs().max(1e-300),
        };
        let d = self.residual_dof();
        Ok(ld + d * (2.0 * std::f64::consts::PI * sigma * sigma).ln() + r2 / (sigma * sigma))
    }

    /// Minimise over theta with the held sd at `s`, from `start`.
    pub fn profile(&mut self, start: &[f64], held: Held, s: f64, ctl: &OptimControl) -> Result<f64> {
        if !(s > 0.0) {
            return Err(EngineError::Input("a profiled standard deviation must be positive".into()));
        }
        let r = minimize(|th: &[f64]| self.objective_held(th, held, s), start, ctl)?;
        Ok(r.value)
    }
}

impl GlmmProblem {
    /// Minimise -2 log L over (theta, beta) with parameter `index` (a
    /// scalar term's theta, its sd) held at `value`, from `start`.
    pub fn profile(&mut self, start: &[f64], index: usize, value: f64, ctl: &OptimControl) -> Result<f64> {
        let mut free: Vec<f64> = start.to_vec();
        free.remove(index);
        let nth = self.ntheta();
        let r = minimize(
            |x: &[f64]| {
                let mut full = x.to_vec();
                full.insert(index, value);
                let (th, be) = full.split_at(nth);
                Ok(self.objective(th, be)?.0)
            },
            &free,
            ctl,
        )?;
        Ok(r.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brute_force::random_problem;
    use crate::lmm::LmmInput;
    use crate::testutil::Rng;

    #[test]
    fn profile_at_the_estimate_is_the_optimum_and_rises_away_from_it() {
        let mut rng = Rng::new(31);
        let mut pr = random_problem(&mut rng, 200, 2, &[(20, 1, None), (6, 1, None)]);
        // real between-group variation in both terms
        let b0: Vec<f64> = (0..pr.terms[0].nlevels).map(|_| 1.5 * rng.normal()).collect();
        let b1: Vec<f64> = (0..pr.terms[1].nlevels).map(|_| 1.0 * rng.normal()).collect();
        for i in 0..pr.n {
            pr.y[i] += b0[pr.terms[0].group[i]] + b1[pr.terms[1].group[i]];
        }
        let input = LmmInput {
            y: pr.y.clone(),
            x: pr.x.clone(),
            p: 2,
            weights: pr.w.clone(),
            offset: vec![0.0; pr.n],
            terms: pr.terms.clone(),
            reml: false,
        };
        let mut prob = LmmProblem::new(input).unwrap();
        let ctl = OptimControl::default();
        let fit = prob.fit(&ctl).unwrap();
        // holding sigma, or term 0's sd, at its estimate gives the optimum back
        let at_sigma = prob.profile(&fit.theta, Held::Sigma, fit.sigma, &ctl).unwrap();
        assert!((at_sigma - fit.objective).abs() < 1e-6, "{at_sigma} vs {}", fit.objective);
        let sd0 = fit.sigma * fit.theta[0];
        let at_sd = prob.profile(&fit.theta, Held::TermSd(0), sd0, &ctl).unwrap();
        assert!((at_sd - fit.objective).abs() < 1e-6, "{at_sd} vs {}", fit.objective);
        // and the profile rises on both sides
        for f in [0.7, 1.4] {
            assert!(prob.profile(&fit.theta, Held::TermSd(0), sd0 * f, &ctl).unwrap() > fit.objective + 1e-3);
            assert!(prob.profile(&fit.theta, Held::Sigma, fit.sigma * f, &ctl).unwrap() > fit.objective + 1e-3);
        }
    }
}
