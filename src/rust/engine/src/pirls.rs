//! Penalized iteratively reweighted least squares: the conditional modes of
//! the spherical random effects u (and, for nAGQ = 0, of beta as well) for
//! given theta, by Newton steps (Fisher scoring for the joint mode of
//! nAGQ = 0, as lme4) on the penalized deviance
//!   sum_i d_i(mu_i) + ||u||^2,   eta = X beta + offset + Z Lambda u,
//! with step halving. Each step solves a weighted version of the LMM's
//! penalized least-squares problem on the same blocked system.

use crate::blocked::{BlockedSystem, Factor};
use crate::error::{EngineError, Result};
use crate::response::GlmmData;
use crate::reterm::{LevelIndex, ReTerm};

#[derive(Debug, Clone)]
pub struct PirlsResult {
    pub u: Vec<f64>,
    /// beta (the given one, or the PIRLS estimate for nAGQ = 0).
    pub beta: Vec<f64>,
    pub eta: Vec<f64>,
    /// sum of deviance residuals at the mode
    pub deviance: f64,
    pub usq: f64,
}

impl PirlsResult {
    /// No mode: the linear predictor leaves the link's or the family's
    /// range at every starting point, so the objective is +infinity there
    /// (the optimizer's line search steps back).
    fn out_of_range(u: Vec<f64>, beta: &[f64], eta: Vec<f64>) -> Self {
        PirlsResult { u, beta: beta.to_vec(), eta, deviance: f64::INFINITY, usq: 0.0 }
    }

    /// Was a mode found?
    pub fn in_range(&self) -> bool {
        self.deviance.is_finite()
    }
}

const MAX_ITER: usize = 100;
const MAX_HALVINGS: usize = 20;
const TOL: f64 = 1e-10;

/// Conditional modes of u for fixed theta and beta. `sys` must have p = 0.
/// On return `factor` holds the factor at the mode (weights at the mode).
pub fn pirls_u(
    data: &GlmmData,
    sys: &mut BlockedSystem,
    factor: &mut Factor,
    theta: &[f64],
    beta: &[f64],
    u_start: &[f64],
) -> Result<PirlsResult> {
    let n = data.n;
    let fixed = data.fixed_eta(beta);
    let mut u = u_start.to_vec();
    let mut zb = vec![0.0; n];
    let mut eta = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut resid = vec![0.0; n];
    let mut work = vec![0.0; n];
    let mut f = Factor::default();
    let lambdas = sys.lambdas(theta);
    let set_eta = |sys: &BlockedSystem, u: &[f64], zb: &mut [f64], eta: &mut [f64]| {
        sys.z_times(&sys.lambda_times(&lambdas, u), zb);
        for i in 0..n {
            eta[i] = fixed[i] + zb[i];
        }
    };
    set_eta(sys, &u, &mut zb, &mut eta);
    let mut usq: f64 = u.iter().map(|v| v * v).sum();
    let mut pdev = data.deviance(&eta) + usq;
    if !pdev.is_finite() {
        // a warm start that is unusable: start from zero
        u.iter_mut().for_each(|v| *v = 0.0);
        set_eta(sys, &u, &mut zb, &mut eta);
        usq = 0.0;
        pdev = data.deviance(&eta);
        if !pdev.is_finite() {
            return Ok(PirlsResult::out_of_range(u, beta, eta));
        }
    }
    // Newton steps (Fisher scoring where a curvature is not positive); for
    // a non-canonical link one more step once converged, so that the mode,
    // and with it the Laplace value, is exact to working precision.
    let mut polish = !data.is_canonical();
    for _ in 0..MAX_ITER {
        let u_new = match newton_step(data, sys, &mut f, theta, &lambdas, &eta, &zb, &mut w, &mut resid)? {
            Some(u_new) => u_new,
            None => {
                // Fisher scoring: the LMM's system with working weights
                data.working(&eta, &mut w, &mut resid);
                for i in 0..n {
                    work[i] = zb[i] + resid[i];
                }
                sys.update_crossproducts(&[], &work, &w);
                // PIRLS never reads the penalized residual sum of squares: a
                // unit added to it keeps an exact fit from stopping the
                // factorisation.
                sys.add_to_response_ss(1.0);
                sys.factor(theta, &mut f).map_err(|e| data.explain(e, &eta))?;
                sys.solve_u_beta(&f).0
            }
        };
        // step halving on the penalized deviance
        let mut step = 1.0;
        let mut accepted = false;
        let mut trial = u.clone();
        for _ in 0..MAX_HALVINGS {
            for j in 0..u.len() {
                trial[j] = u[j] + step * (u_new[j] - u[j]);
            }
            set_eta(sys, &trial, &mut zb, &mut eta);
            let usq_t: f64 = trial.iter().map(|v| v * v).sum();
            let pdev_t = data.deviance(&eta) + usq_t;
            if pdev_t.is_finite() && pdev_t <= pdev + 1e-10 * pdev.abs().max(1.0) {
                let change = pdev - pdev_t;
                u.copy_from_slice(&trial);
                usq = usq_t;
                pdev = pdev_t;
                accepted = true;
                if change.abs() < TOL * (1.0 + pdev.abs()) {
                    if polish {
                        polish = false;
                        break;
                    }
                    return result_at_mode(data, sys, factor, theta, u, beta.to_vec(), eta, pdev - usq, usq, true, &mut w, &mut resid);
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            // no decrease along the scoring direction: at the mode to precision
            set_eta(sys, &u, &mut zb, &mut eta);
            return result_at_mode(data, sys, factor, theta, u, beta.to_vec(), eta, pdev - usq, usq, true, &mut w, &mut resid);
        }
    }
    Err(data.explain(EngineError::Optimizer("PIRLS did not converge in 100 iterations".into()), &eta))
}

/// The Newton step's target: u solving M u = Lambda' Z' (w Z b + g) with
/// the observed information as weights (see `GlmmData::newton_weights`), or
/// None where that M is not positive definite (Fisher scoring then).
#[allow(clippy::too_many_arguments)]
fn newton_step(
    data: &GlmmData,
    sys: &mut BlockedSystem,
    f: &mut Factor,
    theta: &[f64],
    lambdas: &[Vec<f64>],
    eta: &[f64],
    zb: &[f64],
    w: &mut [f64],
    g: &mut [f64],
) -> Result<Option<Vec<f64>>> {
    if !data.newton_weights(eta, w, g) {
        return Ok(None);
    }
    let zero = vec![0.0; data.n];
    sys.update_crossproducts(&[], &zero, w);
    sys.add_to_response_ss(1.0);
    if sys.factor(theta, f).is_err() {
        return Ok(None);
    }
    for i in 0..data.n {
        g[i] += w[i] * zb[i];
    }
    let mut rhs = sys.zt_times(g);
    sys.lambda_t_times(lambdas, &mut rhs);
    sys.solve_m(f, &mut rhs);
    Ok(Some(rhs))
}

/// The result at the mode (u, beta, eta), with `factor` refactored there.
#[allow(clippy::too_many_arguments)]
fn result_at_mode(
    data: &GlmmData,
    sys: &mut BlockedSystem,
    factor: &mut Factor,
    theta: &[f64],
    u: Vec<f64>,
    beta: Vec<f64>,
    eta: Vec<f64>,
    deviance: f64,
    usq: f64,
    observed: bool,
    w: &mut [f64],
    resid: &mut [f64],
) -> Result<PirlsResult> {
    // The factor at the mode, for the Laplace term: with the observed
    // information (the true Laplace approximation) when `observed`, else,
    // or where the observed information is not positive definite, with
    // Fisher's (lme4's choice; the same for canonical links).
    let zero = vec![0.0; data.n];
    if observed && data.observed_weights(&eta, w) {
        sys.update_crossproducts(&data.x[..sys.p * data.n], &zero, w);
        sys.add_to_response_ss(1.0);
        if sys.factor(theta, factor).is_ok() {
            return Ok(PirlsResult { u, beta, eta, deviance, usq });
        }
    }
    data.working(&eta, w, resid);
    sys.update_crossproducts(&data.x[..sys.p * data.n], &zero, w);
    sys.add_to_response_ss(1.0);
    sys.factor(theta, factor).map_err(|e| data.explain(e, &eta))?;
    Ok(PirlsResult { u, beta, eta, deviance, usq })
}

/// Joint conditional modes of u and beta for fixed theta (nAGQ = 0).
/// `sys` has the p fixed-effects columns. `eta_start` seeds the first
/// weights (e.g. from the GLM starting values).
pub fn pirls_u_beta(
    data: &GlmmData,
    sys: &mut BlockedSystem,
    factor: &mut Factor,
    theta: &[f64],
    eta_start: &[f64],
) -> Result<PirlsResult> {
    let n = data.n;
    let p = data.p;
    let mut eta = eta_start.to_vec();
    let mut w = vec![0.0; n];
    let mut resid = vec![0.0; n];
    let mut work = vec![0.0; n];
    let mut zb = vec![0.0; n];
    let mut f = Factor::default();
    let mut u = vec![0.0; sys.q()];
    let mut beta = vec![0.0; p];
    let mut pdev = f64::INFINITY;
    let mut usq = 0.0;
    let mut have = false;
    for _ in 0..MAX_ITER {
        data.working(&eta, &mut w, &mut resid);
        for i in 0..n {
            work[i] = eta[i] - data.offset[i] + resid[i];
        }
        sys.update_crossproducts(&data.x, &work, &w);
        sys.add_to_response_ss(1.0);
        sys.factor(theta, &mut f).map_err(|e| data.explain(e, &eta))?;
        let (u_new, beta_new) = sys.solve_u_beta(&f);
        let eta_of = |zb: &mut [f64], ut: &[f64], bt: &[f64]| -> Vec<f64> {
            sys.z_times(&sys.lambda_times(&f.lambdas, ut), zb);
            data.fixed_eta(bt).iter().zip(zb.iter()).map(|(a, b)| a + b).collect()
        };
        if !have {
            // No (u, beta) yet, only a working linear predictor (at first
            // glm's start): the first solution is taken whole where its
            // linear predictor is valid; else the working point moves part
            // of the way there (halving in eta, as glm steps back toward
            // its start) and the solve is repeated from it.
            let eta_new = eta_of(&mut zb, &u_new, &beta_new);
            let usq_new: f64 = u_new.iter().map(|v| v * v).sum();
            let pdev_new = data.deviance(&eta_new) + usq_new;
            if pdev_new.is_finite() {
                (u, beta, eta, usq, pdev) = (u_new, beta_new, eta_new, usq_new, pdev_new);
                have = true;
                continue;
            }
            if let Some((u0, beta0, eta0)) = intercept_start(data, sys.q()) {
                // a valid point with (u, beta): from here on the usual
                // halving between valid points, as glm from a start
                let dev0 = data.deviance(&eta0);
                (u, beta, eta, usq, pdev) = (u0, beta0, eta0, 0.0, dev0);
                have = true;
                continue;
            }
            if !data.deviance(&eta).is_finite() {
                return Err(data.out_of_range());
            }
            let mut step = 0.5;
            let mut moved = false;
            for _ in 0..MAX_HALVINGS {
                let eta_t: Vec<f64> = eta.iter().zip(&eta_new).map(|(a, b)| a + step * (b - a)).collect();
                if data.deviance(&eta_t).is_finite() {
                    eta = eta_t;
                    moved = true;
                    break;
                }
                step *= 0.5;
            }
            if !moved {
                return Err(data.out_of_range());
            }
            continue;
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..MAX_HALVINGS {
            let ut: Vec<f64> = u.iter().zip(&u_new).map(|(a, b)| a + step * (b - a)).collect();
            let bt: Vec<f64> = beta.iter().zip(&beta_new).map(|(a, b)| a + step * (b - a)).collect();
            let eta_t = eta_of(&mut zb, &ut, &bt);
            let usq_t: f64 = ut.iter().map(|v| v * v).sum();
            let pdev_t = data.deviance(&eta_t) + usq_t;
            if pdev_t.is_finite() && pdev_t <= pdev + 1e-10 * pdev.abs().max(1.0) {
                let change = pdev - pdev_t;
                u = ut;
                beta = bt;
                eta = eta_t;
                usq = usq_t;
                pdev = pdev_t;
                accepted = true;
                if change.abs() < TOL * (1.0 + pdev.abs()) {
                    return result_at_mode(data, sys, factor, theta, u, beta, eta, pdev - usq, usq, false, &mut w, &mut resid);
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            return result_at_mode(data, sys, factor, theta, u, beta, eta, pdev - usq, usq, false, &mut w, &mut resid);
        }
    }
    Err(data.explain(EngineError::Optimizer("PIRLS did not converge in 100 iterations".into()), &eta))
}

/// u = 0 and beta of the intercept alone at g(mean of y) (less the mean
/// offset), where X has a constant column and that linear predictor is
/// valid: a point from which PIRLS can halve its steps; None otherwise.
fn intercept_start(data: &GlmmData, q: usize) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let n = data.n;
    let col = (0..data.p).find(|&c| {
        let x = &data.x[c * n..(c + 1) * n];
        x[0] != 0.0 && x.iter().all(|&v| v == x[0])
    })?;
    let wsum: f64 = data.weights.iter().sum();
    let ybar = data.y.iter().zip(&data.weights).map(|(y, w)| y * w).sum::<f64>() / wsum;
    let obar = data.offset.iter().sum::<f64>() / n as f64;
    let mut beta = vec![0.0; data.p];
    beta[col] = (data.link.linkfun(ybar) - obar) / data.x[col * n];
    let eta = data.fixed_eta(&beta);
    if !data.deviance(&eta).is_finite() {
        return None;
    }
    Some((vec![0.0; q], beta, eta))
}

/// PIRLS for a model with one scalar term: the levels are independent, so
/// each mode is a one-dimensional Newton iteration (Fisher scoring where the
/// observed curvature is not positive), with step halving on
/// G(u) = sum of scaled deviances + u^2. No blocked system is needed.
pub fn pirls_scalar_term(
    data: &GlmmData,
    term: &ReTerm,
    levels: &LevelIndex,
    theta: f64,
    beta: &[f64],
    u_start: &[f64],
) -> Result<PirlsResult> {
    let mut eta = data.fixed_eta(beta);
    let mut u = u_start.to_vec();
    let mut deviance = 0.0;
    for j in 0..term.nlevels {
        let obs = &levels.obs[levels.ptr[j]..levels.ptr[j + 1]];
        let fixed: Vec<f64> = obs.iter().map(|&i| eta[i]).collect();
        let g_at = |uj: f64| -> f64 {
            let mut g = uj * uj;
            for (o, &i) in obs.iter().enumerate() {
                let eta = fixed[o] + term.z[i] * theta * uj;
                if !data.on_branch(eta) {
                    return f64::INFINITY;
                }
                g += data.scaled_dev(i, eta);
            }
            g
        };
        let mut uj = if u[j].is_finite() { u[j] } else { 0.0 };
        if !g_at(uj).is_finite() {
            uj = 0.0;
            if !g_at(uj).is_finite() {
                return Ok(PirlsResult::out_of_range(u, beta, eta));
            }
        }
        // One pass per iteration gives G and its first two derivatives at
        // the current u; a step that does not decrease G is halved.
        let pass = |uj: f64| -> (f64, f64, f64, f64) {
            let (mut g, mut gp, mut gpp, mut fisher) = (uj * uj, 2.0 * uj, 2.0, 2.0);
            for (o, &i) in obs.iter().enumerate() {
                let c = term.z[i] * theta;
                let eta = fixed[o] + c * uj;
                let t = data.obs_terms(i, eta);
                g += if data.on_branch(eta) { t.dev } else { f64::INFINITY };
                gp += c * t.d1;
                gpp += c * c * t.d2;
                fisher += 2.0 * c * c * t.w;
            }
            (g, gp, gpp, fisher)
        };
        let (mut g, mut gp, mut gpp, mut fisher) = pass(uj);
        let mut converged = false;
        for _ in 0..MAX_ITER {
            let curv = if gpp > 0.0 { gpp } else { fisher };
            let full = gp / curv;
            if full.abs() < 1e-12 * (1.0 + uj.abs()) {
                converged = true;
                break;
            }
            // Near the mode the decrease a Newton step promises, gp^2 /
            // (2 curv), falls below the rounding noise of G (counts of 1e5:
            // terms y ln(y / mu) of 1e6 sum to a G of 10), and the halving
            // test below would compare noise: take the step and stop. (The
            // gradient, a sum of terms y - mu, not of y ln(y / mu), keeps its
            // precision there: it still points to the mode.)
            if 0.5 * gp * full < 1e-14 * (1.0 + g.abs()) {
                let ut = uj - full;
                let gt = pass(ut).0;
                if gt.is_finite() {
                    uj = ut;
                    g = gt;
                }
                converged = true;
                break;
            }
            let mut step = 1.0;
            let mut moved = false;
            for _ in 0..MAX_HALVINGS {
                let ut = uj - step * full;
                let (gt, gpt, gppt, ft) = pass(ut);
                if gt.is_finite() && gt <= g + 1e-12 * g.abs().max(1.0) {
                    uj = ut;
                    g = gt;
                    gp = gpt;
                    gpp = gppt;
                    fisher = ft;
                    moved = true;
                    break;
                }
                step *= 0.5;
            }
            if !moved {
                converged = true; // at the minimum to working precision
                break;
            }
        }
        if !converged {
            let eta_j: Vec<f64> = obs.iter().enumerate().map(|(o, &i)| fixed[o] + term.z[i] * theta * uj).collect();
            return Err(data.explain(EngineError::Optimizer("PIRLS (one scalar term) did not converge".into()), &eta_j));
        }
        u[j] = uj;
        for (o, &i) in obs.iter().enumerate() {
            eta[i] = fixed[o] + term.z[i] * theta * uj;
        }
        deviance += g - uj * uj;
    }
    let usq = u.iter().map(|v| v * v).sum();
    Ok(PirlsResult { u, beta: beta.to_vec(), eta, deviance, usq })
}
