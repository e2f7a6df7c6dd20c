//! The GLMM objective at a PIRLS mode: -2 log L on the absolute scale
//! (normalising constants included) by the Laplace approximation, or by
//! adaptive Gauss-Hermite quadrature for a model with one scalar
//! random-effects term, where the levels are independent one-dimensional
//! integrals.

use crate::blocked::{BlockedSystem, Factor};
use crate::pirls::PirlsResult;
use crate::quadrature::GaussHermite;
use crate::response::{GlmmData, ObsTerms};
use crate::reterm::{LevelIndex, ReTerm};

/// Laplace: deviance + ||u||^2 + log |L|^2 + constant.
pub fn laplace_deviance(sys: &BlockedSystem, f: &Factor, mode: &PirlsResult, sat: f64) -> f64 {
    mode.deviance + mode.usq + sys.logdet_theta(f) + sat
}

/// Adaptive Gauss-Hermite quadrature for one scalar term with parameter
/// theta: each level's integral over u_j is taken on nodes centred at the
/// mode and scaled by the conditional standard deviation 1 / L_jj, L_jj^2
/// the observed information (so that one node is the true Laplace value).
pub fn agq_deviance(
    data: &GlmmData,
    term: &ReTerm,
    mode: &PirlsResult,
    theta: f64,
    levels: &LevelIndex,
    rule: &GaussHermite,
    sat: f64,
) -> f64 {
    let mut total = sat;
    let mut node_val = vec![0.0; rule.nodes.len()];
    for j in 0..term.nlevels {
        let obs = &levels.obs[levels.ptr[j]..levels.ptr[j + 1]];
        let uj = mode.u[j];
        // conditional scale from the observed information at the mode
        // (half the curvature of G there: the true Laplace approximation),
        // Fisher's where that is not positive
        let mut g_mode = uj * uj;
        let mut l2 = 1.0;
        let mut l2_fisher = 1.0;
        for &i in obs {
            let t = data.obs_terms(i, mode.eta[i]);
            g_mode += t.dev;
            let c = term.z[i] * theta;
            l2 += 0.5 * c * c * t.d2;
            l2_fisher += c * c * t.w;
        }
        if l2 <= 0.0 || l2.is_nan() {
            l2 = l2_fisher;
        }
        let sd = 1.0 / l2.sqrt();
        for (k, &z) in rule.nodes.iter().enumerate() {
            if z == 0.0 {
                node_val[k] = 0.0;
                continue;
            }
            let du = sd * z;
            let u = uj + du;
            let mut g = u * u;
            for &i in obs {
                let eta = mode.eta[i] + term.z[i] * theta * du;
                g += data.scaled_dev(i, eta);
            }
            node_val[k] = -0.5 * (g - g_mode) + 0.5 * z * z;
        }
        let mx = node_val.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = node_val.iter().zip(&rule.weights).map(|(v, w)| w * (v - mx).exp()).sum();
        total += g_mode - 2.0 * sd.ln() - 2.0 * (s.ln() + mx);
    }
    total
}

/// The adaptive Gauss-Hermite objective of a single scalar term (one node:
/// the Laplace approximation) and its exact gradient with respect to
/// (theta, beta), the moving mode and scale of the rule included: the mode
/// by implicit differentiation of G'(u) = 0, the scale through the observed
/// information G''(u) / 2 at the mode (its derivative needs d3). Costs about two objective evaluations, where a
/// central-difference gradient costs 2 (p + 1).
#[allow(clippy::too_many_arguments)]
pub fn agq_value_gradient(
    data: &GlmmData,
    sys: &BlockedSystem,
    mode: &PirlsResult,
    theta: f64,
    levels: &LevelIndex,
    rule: &GaussHermite,
    sat: f64,
) -> (f64, Vec<f64>) {
    let term = &sys.terms[0];
    let n = data.n;
    let p = data.p;
    let np = p + 1;
    let mut total = sat;
    let mut grad = vec![0.0; np];
    let nk = rule.nodes.len();
    let mut node_val = vec![0.0; nk];
    let mut dg = vec![0.0; nk * np];
    let mut dpg = vec![0.0; np]; // d/dr G'(u) at the mode
    let mut dl2 = vec![0.0; np];
    let mut du = vec![0.0; np];
    let mut dsig = vec![0.0; np];
    let mut partial = vec![0.0; np];
    let mut eta_loc: Vec<f64> = Vec::new();
    let mut tb: Vec<ObsTerms> = Vec::new();
    for j in 0..term.nlevels {
        let obs = &levels.obs[levels.ptr[j]..levels.ptr[j + 1]];
        // Polish the level's mode with exact Newton steps (Fisher scoring
        // converges only linearly for non-canonical links, and the gradient
        // assumes G'(u) = 0 to working precision); the last pass leaves the
        // per-observation terms at the mode in `tb`.
        eta_loc.clear();
        eta_loc.extend(obs.iter().map(|&i| mode.eta[i]));
        let mut uj = mode.u[j];
        let fill = |tb: &mut Vec<ObsTerms>, eta_loc: &[f64]| {
            tb.clear();
            tb.extend(obs.iter().zip(eta_loc).map(|(&i, &e)| data.obs_terms(i, e)));
        };
        fill(&mut tb, &eta_loc);
        for _ in 0..4 {
            let (mut gp, mut gpp) = (2.0 * uj, 2.0);
            for (o, &i) in obs.iter().enumerate() {
                let c = term.z[i] * theta;
                gp += c * tb[o].d1;
                gpp += c * c * tb[o].d2;
            }
            if gpp <= 0.0 || gpp.is_nan() {
                break;
            }
            let step = gp / gpp;
            if step.abs() < 1e-13 * (1.0 + uj.abs()) {
                break;
            }
            uj -= step;
            for (o, &i) in obs.iter().enumerate() {
                eta_loc[o] -= term.z[i] * theta * step;
            }
            fill(&mut tb, &eta_loc);
        }
        // mode quantities: l2 = G''(u) / 2, the observed information
        let mut g2 = 2.0;
        let mut g_mode = uj * uj;
        dpg.iter_mut().for_each(|v| *v = 0.0);
        for (o, &i) in obs.iter().enumerate() {
            let zi = term.z[i];
            let c = zi * theta;
            let e = &tb[o];
            g_mode += e.dev;
            g2 += c * c * e.d2;
            dpg[0] += e.d2 * c * zi * uj + e.d1 * zi;
            for s in 0..p {
                dpg[1 + s] += e.d2 * c * data.x[i + s * n];
            }
        }
        let l2 = 0.5 * g2;
        let sd = 1.0 / l2.sqrt();
        for r in 0..np {
            du[r] = -dpg[r] / g2;
        }
        dl2.iter_mut().for_each(|v| *v = 0.0);
        for (o, &i) in obs.iter().enumerate() {
            let zi = term.z[i];
            let c = zi * theta;
            let e = &tb[o];
            dl2[0] += c * zi * e.d2 + 0.5 * c * c * e.d3 * (zi * uj + c * du[0]);
            for s in 0..p {
                dl2[1 + s] += 0.5 * c * c * e.d3 * (data.x[i + s * n] + c * du[1 + s]);
            }
        }
        for r in 0..np {
            dsig[r] = -0.5 * sd * sd * sd * dl2[r];
        }
        // nodes
        for (k, &z) in rule.nodes.iter().enumerate() {
            let dz = sd * z;
            let uk = uj + dz;
            let mut g = uk * uk;
            let mut gp = 2.0 * uk;
            partial.iter_mut().for_each(|v| *v = 0.0);
            for (o, &i) in obs.iter().enumerate() {
                let zi = term.z[i];
                let c = zi * theta;
                let (dev, d1) = if z == 0.0 { (tb[o].dev, tb[o].d1) } else { data.dev_d1(i, eta_loc[o] + c * dz) };
                if z != 0.0 {
                    g += dev;
                }
                gp += c * d1;
                partial[0] += d1 * zi * uk;
                for s in 0..p {
                    partial[1 + s] += d1 * data.x[i + s * n];
                }
            }
            node_val[k] = if z == 0.0 { 0.0 } else { -0.5 * (g - g_mode) + 0.5 * z * z };
            for r in 0..np {
                dg[k * np + r] = partial[r] + gp * (du[r] + dsig[r] * z);
            }
        }
        let mx = node_val.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for (v, w) in node_val.iter_mut().zip(&rule.weights) {
            *v = w * (*v - mx).exp();
            s += *v;
        }
        total += g_mode - 2.0 * sd.ln() - 2.0 * (s.ln() + mx);
        for r in 0..np {
            let mut acc = -2.0 * dsig[r] / sd;
            for k in 0..nk {
                acc += node_val[k] / s * dg[k * np + r];
            }
            grad[r] += acc;
        }
    }
    (total, grad)
}
