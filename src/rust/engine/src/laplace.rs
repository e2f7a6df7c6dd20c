//! The GLMM objective at a PIRLS mode: -2 log L on the absolute scale
//! (normalising constants included) by the Laplace approximation, or by
//! adaptive Gauss-Hermite quadrature for a model with one scalar
//! random-effects term, where the levels are independent one-dimensional
//! integrals.

use crate::blocked::{BlockedSystem, Factor};
use crate::pirls::{GlmmData, PirlsResult};
use crate::quadrature::GaussHermite;

/// -2 log p(y | mu = y) summed at the data's dispersion: the gap between
/// the scaled deviance residuals and the absolute -2 log-likelihood (0 for
/// Bernoulli responses).
pub fn saturated_constant(data: &GlmmData) -> f64 {
    (0..data.n)
        .map(|i| data.dist.neg2_loglik(data.y[i], data.y[i], data.weights[i], data.phi))
        .filter(|v| v.is_finite())
        .sum()
}

/// Laplace: deviance + ||u||^2 + log |L|^2 + constant.
pub fn laplace_deviance(sys: &BlockedSystem, f: &Factor, mode: &PirlsResult, sat: f64) -> f64 {
    mode.deviance + mode.usq + sys.logdet_theta(f) + sat
}

/// Observations of each level of the (single, scalar) term, as CSR.
#[derive(Debug, Clone)]
pub struct LevelIndex {
    pub ptr: Vec<usize>,
    pub obs: Vec<usize>,
}

impl LevelIndex {
    pub fn new(group: &[usize], nlevels: usize) -> Self {
        let mut ptr = vec![0usize; nlevels + 1];
        for &g in group {
            ptr[g + 1] += 1;
        }
        for j in 0..nlevels {
            ptr[j + 1] += ptr[j];
        }
        let mut fill = ptr.clone();
        let mut obs = vec![0usize; group.len()];
        for (i, &g) in group.iter().enumerate() {
            obs[fill[g]] = i;
            fill[g] += 1;
        }
        LevelIndex { ptr, obs }
    }
}

/// Adaptive Gauss-Hermite quadrature for one scalar term with parameter
/// theta: each level's integral over u_j is taken on nodes centred at the
/// mode and scaled by the conditional standard deviation 1 / L_jj.
pub fn agq_deviance(
    data: &GlmmData,
    sys: &BlockedSystem,
    f: &Factor,
    mode: &PirlsResult,
    theta: f64,
    levels: &LevelIndex,
    rule: &GaussHermite,
    sat: f64,
) -> f64 {
    let term = &sys.terms[0];
    let mut total = sat;
    let mut node_val = vec![0.0; rule.nodes.len()];
    for j in 0..term.nlevels {
        let obs = &levels.obs[levels.ptr[j]..levels.ptr[j + 1]];
        let uj = mode.u[j];
        let sd = 1.0 / sys.l11_diagonal(f, j);
        let mut g_mode = uj * uj;
        for &i in obs {
            g_mode += data.scaled_dev(i, mode.eta[i]);
        }
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
