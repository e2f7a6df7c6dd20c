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
use crate::optimizer::{minimize, minimize_with_gradient, OptimControl};

/// What a profile holds fixed. A term is given by the start of its theta
/// (`pos`) and its dimension `k`; its lambda's rows a, b give the standard
/// deviations (row norms, times sigma in an LMM) and correlations (cosines
/// of the angles between rows).
#[derive(Debug, Clone, Copy)]
pub enum Held {
    /// The residual standard deviation (LMM).
    Sigma,
    /// The standard deviation of column `row` of a term.
    Sd { pos: usize, k: usize, row: usize },
    /// The correlation of columns `a` < `b` of a term.
    Cor { pos: usize, k: usize, a: usize, b: usize },
}

/// Index in theta of lambda[i, j] (i >= j) for a term starting at `pos`.
fn lam_index(pos: usize, k: usize, i: usize, j: usize) -> usize {
    pos + (0..j).map(|c| k - c).sum::<usize>() + (i - j)
}

fn row_norm(theta: &[f64], pos: usize, k: usize, row: usize) -> f64 {
    (0..=row).map(|j| theta[lam_index(pos, k, row, j)].powi(2)).sum::<f64>().sqrt()
}

/// Move theta onto the set where the held quantity has `value`: a row
/// rescaled to that norm (when `scale_rows`, i.e. no sigma to absorb it),
/// or row b turned, keeping its norm, to that cosine with row a. The
/// objective composed with this map is minimised freely.
fn project(theta: &[f64], held: Held, value: f64, scale_rows: bool) -> Vec<f64> {
    let mut t = theta.to_vec();
    match held {
        Held::Sigma => {}
        Held::Sd { pos, k, row } => {
            if scale_rows {
                let nrm = row_norm(&t, pos, k, row);
                for j in 0..=row {
                    let idx = lam_index(pos, k, row, j);
                    t[idx] = if nrm > 0.0 {
                        t[idx] * value / nrm
                    } else if j == row {
                        value
                    } else {
                        0.0
                    };
                }
            }
        }
        Held::Cor { pos, k, a, b } => {
            let ra: Vec<f64> = (0..k).map(|j| if j <= a { t[lam_index(pos, k, a, j)] } else { 0.0 }).collect();
            let rb: Vec<f64> = (0..k).map(|j| if j <= b { t[lam_index(pos, k, b, j)] } else { 0.0 }).collect();
            let na = ra.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
            let nb = rb.iter().map(|v| v * v).sum::<f64>().sqrt();
            let u: Vec<f64> = ra.iter().map(|v| v / na).collect();
            let along: f64 = rb.iter().zip(&u).map(|(x, y)| x * y).sum();
            let mut w: Vec<f64> = rb.iter().zip(&u).map(|(x, y)| x - along * y).collect();
            let nw = w.iter().map(|v| v * v).sum::<f64>().sqrt();
            if nw > 0.0 {
                w.iter_mut().for_each(|v| *v /= nw);
            } else {
                // row b along row a: any direction orthogonal to it within
                // the first b + 1 columns (e_b is, as a < b)
                w = vec![0.0; k];
                w[b] = 1.0;
            }
            let s = (1.0 - value * value).max(0.0).sqrt();
            for j in 0..=b {
                t[lam_index(pos, k, b, j)] = nb * (value * u[j] + s * w[j]);
            }
        }
    }
    t
}

impl LmmProblem {
    /// -2 log L (or the REML criterion) at theta with the held quantity at
    /// `value` (sigma explicit, not profiled, when a standard deviation is
    /// held: sigma = value for Sigma, value / (row norm) for a term's sd).
    pub fn objective_held(&mut self, theta: &[f64], held: Held, value: f64) -> Result<f64> {
        let th = project(theta, held, value, false);
        let sigma = match held {
            Held::Sigma => value,
            Held::Sd { pos, k, row } => value / row_norm(&th, pos, k, row).max(1e-300),
            Held::Cor { .. } => return self.objective(&th),
        };
        let (ld, r2) = self.logdet_and_pwrss(&th)?;
        let d = self.residual_dof();
        Ok(ld + d * (2.0 * std::f64::consts::PI * sigma * sigma).ln() + r2 / (sigma * sigma))
    }

    /// Minimise over theta with the held quantity at `value`, from `start`.
    pub fn profile(&mut self, start: &[f64], held: Held, value: f64, ctl: &OptimControl) -> Result<f64> {
        check_value(held, value)?;
        let r = minimize(|th: &[f64]| self.objective_held(th, held, value), start, ctl)?;
        Ok(r.value)
    }
}

impl GlmmProblem {
    /// Minimise -2 log L over (theta, beta [, log phi]) with a term's sd or
    /// correlation held at `value`, from `start` = (theta, beta [, log phi]).
    pub fn profile(&mut self, start: &[f64], held: Held, value: f64, ctl: &OptimControl) -> Result<f64> {
        check_value(held, value)?;
        let nth = self.ntheta();
        if let Held::Sigma = held {
            // sigma = sqrt(phi) (theta for the negative binomial, as
            // glmmTMB's sigma()): hold its log, free the rest
            if !self.has_scale() {
                return Err(EngineError::Input("this family has no dispersion to profile".into()));
            }
            let log_phi = match self.data.dist {
                crate::family::Distribution::NegBinomial { .. } => value.ln(),
                _ => 2.0 * value.ln(),
            };
            let free = &start[..start.len() - 1];
            let r = minimize(
                |x: &[f64]| {
                    let mut full = x.to_vec();
                    full.push(log_phi);
                    let x = self.apply_phi(&full).to_vec();
                    let (th, be) = x.split_at(nth);
                    Ok(self.objective(th, be)?.0)
                },
                free,
                ctl,
            )?;
            return Ok(r.value);
        }
        if let (Held::Sd { pos, k: 1, .. }, true) = (held, self.has_gradient()) {
            // a scalar term's sd is its theta: the others are free, and the
            // exact gradient (less that coordinate) drives the minimisation
            let free: Vec<f64> = start.iter().enumerate().filter(|&(i, _)| i != pos).map(|(_, v)| *v).collect();
            let r = minimize_with_gradient(
                |x: &[f64], want: bool| {
                    let mut full = x.to_vec();
                    full.insert(pos, value);
                    let (th, be) = full.split_at(nth);
                    let (v, g) = self.value_maybe_gradient(th, be, want)?;
                    Ok((
                        v,
                        g.map(|mut g| {
                            g.remove(pos);
                            g
                        }),
                    ))
                },
                &free,
                None,
                ctl,
            )?;
            return Ok(r.value);
        }
        let r = minimize(
            |x: &[f64]| {
                let x = self.apply_phi(x);
                let (th, be) = x.split_at(nth);
                let th = project(th, held, value, true);
                Ok(self.objective(&th, be)?.0)
            },
            start,
            ctl,
        )?;
        Ok(r.value)
    }
}

fn check_value(held: Held, value: f64) -> Result<()> {
    let ok = match held {
        Held::Cor { .. } => value > -1.0 && value < 1.0,
        _ => value > 0.0,
    };
    if ok {
        Ok(())
    } else {
        Err(EngineError::Input("a profiled standard deviation must be positive and a correlation inside (-1, 1)".into()))
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
        let held = Held::Sd { pos: 0, k: 1, row: 0 };
        let at_sd = prob.profile(&fit.theta, held, sd0, &ctl).unwrap();
        assert!((at_sd - fit.objective).abs() < 1e-6, "{at_sd} vs {}", fit.objective);
        // and the profile rises on both sides
        for f in [0.7, 1.4] {
            assert!(prob.profile(&fit.theta, held, sd0 * f, &ctl).unwrap() > fit.objective + 1e-3);
            assert!(prob.profile(&fit.theta, Held::Sigma, fit.sigma * f, &ctl).unwrap() > fit.objective + 1e-3);
        }
    }

    #[test]
    fn projections_hold_the_norm_and_the_cosine() {
        // k = 3 term: theta = lower triangle column by column
        let theta = [1.0, 0.4, -0.3, 0.8, 0.2, 0.6];
        let t = project(&theta, Held::Sd { pos: 0, k: 3, row: 2 }, 2.0, true);
        assert!((row_norm(&t, 0, 3, 2) - 2.0).abs() < 1e-12);
        let t = project(&theta, Held::Cor { pos: 0, k: 3, a: 1, b: 2 }, -0.35, false);
        let r1 = [t[1], t[3], 0.0];
        let r2 = [t[2], t[4], t[5]];
        let dot: f64 = r1.iter().zip(&r2).map(|(x, y)| x * y).sum();
        let cos = dot / (row_norm(&t, 0, 3, 1) * row_norm(&t, 0, 3, 2));
        assert!((cos + 0.35).abs() < 1e-12, "{cos}");
        assert!((row_norm(&t, 0, 3, 2) - row_norm(&theta, 0, 3, 2)).abs() < 1e-12);
    }

    #[test]
    fn a_glmm_sd_profile_with_the_gradient_is_the_minimum_over_the_rest() {
        use crate::family::{Distribution, Link};
        use crate::glmm::GlmmInput;
        let mut rng = Rng::new(41);
        let pr = random_problem(&mut rng, 400, 2, &[(40, 1, None)]);
        let b: Vec<f64> = (0..pr.terms[0].nlevels).map(|_| 0.9 * rng.normal()).collect();
        let y: Vec<f64> = (0..pr.n)
            .map(|i| {
                let eta = -0.2 + 0.6 * pr.x[pr.n + i] + b[pr.terms[0].group[i]];
                (rng.uniform() < 1.0 / (1.0 + (-eta).exp())) as i32 as f64
            })
            .collect();
        let input = GlmmInput {
            y,
            x: pr.x.clone(),
            p: 2,
            weights: vec![1.0; pr.n],
            offset: vec![0.0; pr.n],
            terms: pr.terms.clone(),
            dist: Distribution::Bernoulli,
            link: Link::Logit,
            nagq: 5,
        };
        let ctl = OptimControl::default();
        let mut prob = GlmmProblem::new(input.clone()).unwrap();
        let fit = prob.fit(&ctl).unwrap();
        let start: Vec<f64> = fit.theta.iter().chain(&fit.beta).cloned().collect();
        let held = Held::Sd { pos: 0, k: 1, row: 0 };
        let at = prob.profile(&start, held, fit.theta[0], &ctl).unwrap();
        assert!((at - fit.objective).abs() < 1e-6, "{at} vs {}", fit.objective);
        // away from the estimate: the minimum over beta by the derivative-free
        // path (the projection, no gradient) agrees
        let value = 1.6 * fit.theta[0];
        let with_gradient = prob.profile(&start, held, value, &ctl).unwrap();
        let mut fresh = GlmmProblem::new(input).unwrap();
        let free = minimize(|x: &[f64]| Ok(fresh.objective(&[value], &x[1..])?.0), &start, &ctl).unwrap();
        assert!((with_gradient - free.value).abs() < 1e-5, "{with_gradient} vs {}", free.value);
        assert!(with_gradient > fit.objective + 1e-3);
    }
}
