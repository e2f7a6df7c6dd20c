//! Adaptive Gauss-Hermite quadrature for vector-valued random effects.
//!
//! When every random-effects term of a model has the same grouping factor
//! ((1 + x | g), (1 | g) + (0 + x | g), (x || g)), the marginal likelihood
//! splits into one q-dimensional integral per level, q the total number of
//! columns of the terms. With b_j = Lambda_j u_j, u_j ~ N(0, I_q), and
//! G_j(u) = sum_i d_i(eta_i(u)) + ||u||^2 (d_i the scaled deviance residual,
//! eta_i(u) = x_i' beta + o_i + c_i' u, c_i = Lambda_j' z_i),
//!
//!   -2 log L_j = sat_j + q log(2 pi) - 2 log int exp(-G_j(u) / 2) du.
//!
//! The rule is centred at the level's mode u^ and scaled by the Cholesky
//! factor L of the conditional precision H = G''(u^) / 2 =
//! C' W_obs C + I (W_obs = d2 / 2, the observed information): with
//! u = u^ + L^{-T} z the integral is |L|^{-1} (2 pi)^{q/2} E[f(Z)],
//! f(z) = exp(-(G(u) - G(u^)) / 2 + ||z||^2 / 2), Z ~ N(0, I_q), and E is
//! taken by a product Gauss-Hermite rule, so
//!
//!   -2 log L_j = sat_j + G(u^) + log |L|^2 - 2 log sum_k w_k f(z_k).
//!
//! One node is the Laplace approximation exactly (the value of
//! `laplace_deviance` on the blocked factor, whose first block is then
//! block diagonal by level).
//!
//! The rule. q <= 2: the full k^q tensor product. q >= 3: the tensor
//! product pruned of the nodes whose product weight is below `PRUNE`
//! (1e-12) times the largest (the centre's), the remaining weights rescaled
//! to sum to one (the pruning is symmetric, so odd moments stay zero), as
//! in Jaeckel (2005, "A note on multivariate Gauss-Hermite quadrature").
//! The dropped nodes sit in the corners of the grid, where the standard
//! normal puts almost no mass and the integrand, a ratio to the Gaussian
//! already fitted at the mode, is moderate. Nodes kept: nAGQ = 7, all 343
//! for q = 3 and all 2,401 for q = 4, 16,615 of 16,807 for q = 5;
//! nAGQ = 11, 1,227 of 1,331 (q = 3) and 11,665 of 14,641 (q = 4);
//! nAGQ = 15, 2,483 of 3,375 and nAGQ = 25, 5,989 of 15,625 (q = 3). The
//! error against the full product stayed below 1e-6 in -2 log L on the
//! test problems (`pruning_study`: 1e-8 costs up to 6e-5, 1e-6 up to 1e-3).
//! A rule of more than `MAX_NODES` nodes is an error that asks for a
//! smaller nAGQ.
//!
//! Levels are independent: each level's mode is a q-dimensional Newton
//! iteration (Fisher scoring where the observed curvature is not positive
//! definite) with step halving, as `pirls_scalar_term` does for q = 1.
//!
//! The gradient with respect to (theta, beta) is exact, the moving mode and
//! scale included (as `agq_value_gradient` for one scalar term):
//! dV/dr = tr(L^{-1} dH L^{-T}) + sum_k pi_k dG(u_k)/dr, pi_k the normalised
//! node contributions, u_k = u^ + L^{-T} z_k, du^/dr = -(2H)^{-1} d_r G'(u^)
//! by implicit differentiation, d(L^{-T}) = -L^{-T} Phi(L^{-1} dH L^{-T})'
//! (Phi: the lower triangle, half the diagonal), and dH/dr through d3.

use crate::error::{EngineError, Result};
use crate::pirls::PirlsResult;
use crate::quadrature::GaussHermite;
use crate::response::GlmmData;
use crate::reterm::{lambda_from_theta, level_lambda_t_times, LevelIndex, ReTerm};

/// Relative product weight below which a node of a rule in q >= 3
/// dimensions is dropped (see the module notes).
pub const PRUNE: f64 = 1e-12;

/// The largest rule built: beyond it nAGQ (or the number of random effects
/// per level) is too large for a product rule.
pub const MAX_NODES: usize = 2_000_000;

/// A product Gauss-Hermite rule for the q-dimensional standard normal:
/// sum_k weights[k] f(nodes[k]) ~ E f(Z), Z ~ N(0, I_q).
#[derive(Debug, Clone)]
pub struct ProductRule {
    pub q: usize,
    /// Row-major: node k is nodes[k q .. (k + 1) q].
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
    /// Number of nodes in the full tensor product (before pruning).
    pub full_size: usize,
}

impl ProductRule {
    /// The k-point rule in q dimensions: full tensor product for q <= 2,
    /// pruned at `PRUNE` for q >= 3.
    pub fn new(k: usize, q: usize) -> Result<Self> {
        Self::with_threshold(k, q, if q >= 3 { PRUNE } else { 0.0 })
    }

    /// The tensor product without the nodes whose weight is below
    /// `rel` times the largest.
    pub fn with_threshold(k: usize, q: usize, rel: f64) -> Result<Self> {
        assert!(k >= 1 && q >= 1);
        let one = GaussHermite::new(k);
        let wmax = one.weights.iter().cloned().fold(0.0, f64::max);
        let cut = rel * wmax.powi(q as i32);
        let full_size = (k as f64).powi(q as i32);
        let mut nodes = Vec::new();
        let mut weights = Vec::new();
        let mut idx = vec![0usize; q];
        // depth-first over the multi-indices; a partial product that cannot
        // reach the cut even with the largest weights left is abandoned
        #[allow(clippy::too_many_arguments)] // the recursion's state, passed down
        fn visit(
            d: usize,
            w: f64,
            one: &GaussHermite,
            wmax: f64,
            cut: f64,
            idx: &mut Vec<usize>,
            nodes: &mut Vec<f64>,
            weights: &mut Vec<f64>,
        ) -> bool {
            let q = idx.len();
            if d == q {
                if w >= cut {
                    nodes.extend(idx.iter().map(|&a| one.nodes[a]));
                    weights.push(w);
                    if weights.len() > MAX_NODES {
                        return false;
                    }
                }
                return true;
            }
            for a in 0..one.nodes.len() {
                let wa = w * one.weights[a];
                if wa * wmax.powi((q - d - 1) as i32) < cut {
                    continue;
                }
                idx[d] = a;
                if !visit(d + 1, wa, one, wmax, cut, idx, nodes, weights) {
                    return false;
                }
            }
            true
        }
        if !visit(0, 1.0, &one, wmax, cut, &mut idx, &mut nodes, &mut weights) {
            return Err(EngineError::Input(format!(
                "nAGQ = {k} with {q} random effects per level needs more than {MAX_NODES} quadrature nodes; use a smaller nAGQ"
            )));
        }
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        Ok(ProductRule { q, nodes, weights, full_size: full_size as usize })
    }

    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    #[inline]
    pub fn node(&self, k: usize) -> &[f64] {
        &self.nodes[k * self.q..(k + 1) * self.q]
    }
}

/// Do all the terms have one grouping factor (the same level of every
/// observation), so that the integral splits by level?
pub fn one_grouping_factor(terms: &[ReTerm]) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.nlevels == terms[0].nlevels && t.group == terms[0].group)
}

/// The quadrature of a model whose terms share one grouping factor.
#[derive(Debug, Clone)]
pub struct VectorQuadrature {
    pub levels: LevelIndex,
    pub nlevels: usize,
    /// Random effects per level (total columns of the terms).
    pub q: usize,
    ks: Vec<usize>,
    /// Start of each term's columns within a level's q random effects.
    local_off: Vec<usize>,
    /// Start of each term's random effects in the blocked order.
    u_off: Vec<usize>,
    /// For theta_m: the (row, column) of the level's Lambda_j it sits in.
    theta_rc: Vec<(usize, usize)>,
    pub rule: ProductRule,
}

/// Lower Cholesky factor in place (column-major q-by-q; reads and writes
/// the lower triangle only). False where not positive definite.
fn chol(a: &mut [f64], q: usize) -> bool {
    for j in 0..q {
        let mut d = a[j + j * q];
        for p in 0..j {
            d -= a[j + p * q] * a[j + p * q];
        }
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j + j * q] = d;
        for i in j + 1..q {
            let mut s = a[i + j * q];
            for p in 0..j {
                s -= a[i + p * q] * a[j + p * q];
            }
            a[i + j * q] = s / d;
        }
    }
    true
}

/// x <- L^{-1} x.
#[inline]
fn solve_l(l: &[f64], q: usize, x: &mut [f64]) {
    for i in 0..q {
        let mut s = x[i];
        for p in 0..i {
            s -= l[i + p * q] * x[p];
        }
        x[i] = s / l[i + i * q];
    }
}

/// x <- L^{-T} x.
#[inline]
fn solve_lt(l: &[f64], q: usize, x: &mut [f64]) {
    for i in (0..q).rev() {
        let mut s = x[i];
        for p in i + 1..q {
            s -= l[p + i * q] * x[p];
        }
        x[i] = s / l[i + i * q];
    }
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

const MAX_ITER: usize = 100;
const MAX_HALVINGS: usize = 30;

/// Per-level work space.
#[derive(Default)]
struct Work {
    zf: Vec<f64>,
    c: Vec<f64>,
    ct: Vec<f64>,
    fixed: Vec<f64>,
    eta: Vec<f64>,
    grad: Vec<f64>,
    hess: Vec<f64>,
    fisher: Vec<f64>,
    eta_t: Vec<f64>,
    grad_t: Vec<f64>,
    hess_t: Vec<f64>,
    fisher_t: Vec<f64>,
    m: Vec<f64>,
    step: Vec<f64>,
    u: Vec<f64>,
    ut: Vec<f64>,
}

/// G(u) with its gradient, observed Hessian (G'') and Fisher's Hessian, the
/// linear predictor in `eta`; infinite off the family's range, and off the
/// link's principal branch for a non-zero response (modes are sought there).
#[allow(clippy::too_many_arguments)]
fn pass(
    data: &GlmmData,
    obs: &[usize],
    q: usize,
    c: &[f64],
    fixed: &[f64],
    u: &[f64],
    eta: &mut [f64],
    grad: &mut [f64],
    hess: &mut [f64],
    fisher: &mut [f64],
) -> f64 {
    let mut g = 0.0;
    hess.iter_mut().for_each(|v| *v = 0.0);
    fisher.iter_mut().for_each(|v| *v = 0.0);
    for a in 0..q {
        g += u[a] * u[a];
        grad[a] = 2.0 * u[a];
        hess[a + a * q] = 2.0;
        fisher[a + a * q] = 2.0;
    }
    for (o, &i) in obs.iter().enumerate() {
        let co = &c[o * q..(o + 1) * q];
        let e = fixed[o] + dot(co, u);
        eta[o] = e;
        if !data.on_branch(e) && data.y[i] != 0.0 {
            // Modes on the link's principal branch (sqrt: eta > 0), except
            // through a zero response, whose deviance (sqrt link: 2 eta^2)
            // is smooth and even across the branch's edge: held there, the
            // mode would stop on the edge with G' != 0, and where it
            // stops would depend on the start.
            return f64::INFINITY;
        }
        let t = data.obs_terms(i, e);
        g += t.dev;
        for b in 0..q {
            grad[b] += t.d1 * co[b];
            for a in b..q {
                hess[a + b * q] += t.d2 * co[a] * co[b];
                fisher[a + b * q] += 2.0 * t.w * co[a] * co[b];
            }
        }
    }
    g
}

impl VectorQuadrature {
    /// For terms that share one grouping factor, with a `nagq`-point rule
    /// per dimension.
    pub fn new(terms: &[ReTerm], nagq: usize) -> Result<Self> {
        if !one_grouping_factor(terms) {
            return Err(EngineError::Input(
                "nAGQ > 1 needs random-effects terms that all have the same grouping factor: with crossed or nested factors the integral does not split by level".into(),
            ));
        }
        let nlevels = terms[0].nlevels;
        let levels = LevelIndex::new(&terms[0].group, nlevels);
        let ks: Vec<usize> = terms.iter().map(|t| t.k).collect();
        let mut local_off = Vec::with_capacity(ks.len());
        let mut u_off = Vec::with_capacity(ks.len());
        let mut theta_rc = Vec::new();
        let (mut lo, mut uo) = (0, 0);
        for &k in &ks {
            local_off.push(lo);
            u_off.push(uo);
            for j in 0..k {
                for i in j..k {
                    theta_rc.push((lo + i, lo + j));
                }
            }
            lo += k;
            uo += k * nlevels;
        }
        let q = lo;
        let rule = ProductRule::new(nagq.max(1), q)?;
        Ok(VectorQuadrature { levels, nlevels, q, ks, local_off, u_off, theta_rc, rule })
    }

    /// Replace the rule (tests: other numbers of nodes, other pruning).
    #[cfg(test)]
    pub fn set_rule(&mut self, rule: ProductRule) {
        assert_eq!(rule.q, self.q);
        self.rule = rule;
    }

    /// The level's q-by-q block diagonal Lambda_j, column-major.
    fn lambda_block(&self, theta: &[f64]) -> Vec<f64> {
        let q = self.q;
        let mut lam = vec![0.0; q * q];
        let mut pos = 0;
        for (t, &k) in self.ks.iter().enumerate() {
            let nt = k * (k + 1) / 2;
            let l = lambda_from_theta(&theta[pos..pos + nt], k);
            let off = self.local_off[t];
            for j in 0..k {
                for i in j..k {
                    lam[(off + i) + (off + j) * q] = l[i + j * k];
                }
            }
            pos += nt;
        }
        lam
    }

    /// -2 log L by the quadrature, the modes, and with `want` the exact
    /// gradient in (theta, beta). The value is +infinity (gradient NaN)
    /// where some level has no mode in the link's range.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate(
        &self,
        data: &GlmmData,
        terms: &[ReTerm],
        theta: &[f64],
        beta: &[f64],
        u_start: &[f64],
        sat: f64,
        want: bool,
    ) -> Result<(f64, PirlsResult, Option<Vec<f64>>)> {
        let q = self.q;
        let n = data.n;
        let p = data.p;
        let nth = theta.len();
        let np = nth + p;
        let lam = self.lambda_block(theta);
        let fixed_all = data.fixed_eta(beta);
        let mut eta_all = fixed_all.clone();
        let mut u_all = u_start.to_vec();
        let mut deviance = 0.0;
        let mut total = sat;
        let mut grad = if want { Some(vec![0.0; np]) } else { None };
        let mut observed_everywhere = true;
        let mut w = Work::default();
        let rule = &self.rule;
        let nk = rule.len();
        let mut node_val = vec![0.0; nk];
        let mut dg = if want { vec![0.0; nk * np] } else { Vec::new() };
        let mut lg = LevelGrad::default();
        for j in 0..self.nlevels {
            let obs = &self.levels.obs[self.levels.ptr[j]..self.levels.ptr[j + 1]];
            let nj = obs.len();
            let Work { zf, c, ct, fixed, eta, grad: gr, hess, fisher, eta_t, grad_t, hess_t, fisher_t, m, step, u, ut } = &mut w;
            // the level's Z rows (all terms side by side) and c_i = Lambda_j' z_i
            zf.clear();
            for &i in obs {
                for t in terms {
                    zf.extend_from_slice(t.zrow(i));
                }
            }
            c.clear();
            c.extend_from_slice(zf);
            for co in c.chunks_exact_mut(q) {
                level_lambda_t_times(&lam, co);
            }
            fixed.clear();
            fixed.extend(obs.iter().map(|&i| fixed_all[i]));
            for v in [&mut *eta, &mut *eta_t] {
                v.clear();
                v.resize(nj, 0.0);
            }
            for v in [&mut *gr, &mut *grad_t, &mut *step, &mut *u, &mut *ut] {
                v.clear();
                v.resize(q, 0.0);
            }
            for v in [&mut *hess, &mut *fisher, &mut *hess_t, &mut *fisher_t, &mut *m] {
                v.clear();
                v.resize(q * q, 0.0);
            }
            for (t, &k) in self.ks.iter().enumerate() {
                for a in 0..k {
                    let v = u_all[self.u_off[t] + j * k + a];
                    u[self.local_off[t] + a] = if v.is_finite() { v } else { 0.0 };
                }
            }
            // the mode: Newton steps with halving on G
            let mut g = pass(data, obs, q, c, fixed, u, eta, gr, hess, fisher);
            if !g.is_finite() {
                u.iter_mut().for_each(|v| *v = 0.0);
                g = pass(data, obs, q, c, fixed, u, eta, gr, hess, fisher);
                if !g.is_finite() {
                    let nan = grad.map(|g| vec![f64::NAN; g.len()]);
                    let mode = PirlsResult { u: u_all, beta: beta.to_vec(), eta: eta_all, deviance: f64::INFINITY, usq: 0.0 };
                    return Ok((f64::INFINITY, mode, nan));
                }
            }
            let mut converged = false;
            for _ in 0..MAX_ITER {
                m.copy_from_slice(hess);
                if !chol(m, q) {
                    m.copy_from_slice(fisher);
                    if !chol(m, q) {
                        return Err(EngineError::Optimizer("quadrature: Fisher information not positive definite".into()));
                    }
                }
                step.copy_from_slice(gr);
                solve_l(m, q, step);
                solve_lt(m, q, step);
                let umax = u.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                let smax = step.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                if smax < 1e-12 * (1.0 + umax) {
                    converged = true;
                    break;
                }
                let mut s = 1.0;
                let mut moved = false;
                for _ in 0..MAX_HALVINGS {
                    for a in 0..q {
                        ut[a] = u[a] - s * step[a];
                    }
                    let gt = pass(data, obs, q, c, fixed, ut, eta_t, grad_t, hess_t, fisher_t);
                    if gt.is_finite() && gt <= g + 1e-12 * g.abs().max(1.0) {
                        std::mem::swap(u, ut);
                        std::mem::swap(eta, eta_t);
                        std::mem::swap(gr, grad_t);
                        std::mem::swap(hess, hess_t);
                        std::mem::swap(fisher, fisher_t);
                        g = gt;
                        moved = true;
                        break;
                    }
                    s *= 0.5;
                }
                if !moved {
                    converged = true; // at the minimum to working precision
                    break;
                }
            }
            if !converged {
                // no mode within the iterations (a trial point far out):
                // +infinity, so that the optimizer's line search steps back
                let nan = grad.map(|g| vec![f64::NAN; g.len()]);
                let mode = PirlsResult { u: u_all, beta: beta.to_vec(), eta: eta_all, deviance: f64::INFINITY, usq: 0.0 };
                return Ok((f64::INFINITY, mode, nan));
            }
            // the scale: L L' = H = G'' / 2 (observed), Fisher's where that
            // is not positive definite
            for a in 0..q * q {
                m[a] = 0.5 * hess[a];
            }
            let observed = chol(m, q);
            // the exact gradient assumes G'(u^) = 0: not so where the mode
            // is held on the link's principal branch (sqrt link, y = 0)
            let gmax = gr.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if gmax > 1e-6 * (1.0 + g.abs()) {
                observed_everywhere = false;
            }
            if !observed {
                for a in 0..q * q {
                    m[a] = 0.5 * fisher[a];
                }
                if !chol(m, q) {
                    return Err(EngineError::Optimizer("quadrature: Fisher information not positive definite".into()));
                }
                observed_everywhere = false;
            }
            let l = &m[..];
            let logdet: f64 = (0..q).map(|a| 2.0 * l[a + a * q].ln()).sum();
            // ct_o = L^{-1} c_o: then c_o' L^{-T} z = ct_o' z
            w_ct(ct, c, l, q, nj);
            let ct: &[f64] = ct;
            let uhat: &[f64] = u;
            let want_level = want && observed_everywhere;
            if want_level {
                lg.prepare(self, data, obs, q, np, nth, zf, c, eta, uhat, l);
            }
            let mut du = vec![0.0; q];
            let mut uk = vec![0.0; q];
            let mut sz = vec![0.0; q];
            let mut sx = vec![0.0; p];
            let mut gp = vec![0.0; q];
            for k in 0..nk {
                let z = rule.node(k);
                let centre = z.iter().all(|&v| v == 0.0);
                du.copy_from_slice(z);
                solve_lt(l, q, &mut du);
                for a in 0..q {
                    uk[a] = uhat[a] + du[a];
                }
                let zz = dot(z, z);
                if !want_level {
                    if centre {
                        node_val[k] = 0.0;
                        continue;
                    }
                    let mut gk = dot(&uk, &uk);
                    for (o, &i) in obs.iter().enumerate() {
                        let e = eta[o] + dot(&ct[o * q..(o + 1) * q], z);
                        gk += data.dev_d1(i, e).0;
                    }
                    node_val[k] = -0.5 * (gk - g) + 0.5 * zz;
                    continue;
                }
                let mut gk = dot(&uk, &uk);
                sz.iter_mut().for_each(|v| *v = 0.0);
                sx.iter_mut().for_each(|v| *v = 0.0);
                for (o, &i) in obs.iter().enumerate() {
                    let e = if centre { eta[o] } else { eta[o] + dot(&ct[o * q..(o + 1) * q], z) };
                    let (dev, d1) = data.dev_d1(i, e);
                    gk += dev;
                    let zo = &zf[o * q..(o + 1) * q];
                    for a in 0..q {
                        sz[a] += d1 * zo[a];
                    }
                    for (s, v) in sx.iter_mut().enumerate() {
                        *v += d1 * data.x[i + s * n];
                    }
                }
                node_val[k] = if centre { 0.0 } else { -0.5 * (gk - g) + 0.5 * zz };
                // G'(u_k) = 2 u_k + Lambda' s_z, and v = L^{-1} G'(u_k)
                for a in 0..q {
                    let mut s = 2.0 * uk[a];
                    for b in a..q {
                        s += lam[b + a * q] * sz[b];
                    }
                    gp[a] = s;
                }
                let mut v = gp.clone();
                solve_l(l, q, &mut v);
                let row = &mut dg[k * np..(k + 1) * np];
                for r in 0..np {
                    let partial = if r < nth {
                        let (im, jm) = self.theta_rc[r];
                        uk[jm] * sz[im]
                    } else {
                        sx[r - nth]
                    };
                    let du_r = &lg.du[r * q..(r + 1) * q];
                    // z' Phi(A_r) v, Phi the lower triangle with half diagonal
                    let a_r = &lg.a[r * q * q..(r + 1) * q * q];
                    let mut zpv = 0.0;
                    for b in 0..q {
                        zpv += 0.5 * z[b] * a_r[b + b * q] * v[b];
                        for a in b + 1..q {
                            zpv += z[a] * a_r[a + b * q] * v[b];
                        }
                    }
                    row[r] = partial + dot(&gp, du_r) - zpv;
                }
            }
            let mx = node_val.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for (v, w) in node_val.iter_mut().zip(&rule.weights) {
                *v = w * (*v - mx).exp();
                s += *v;
            }
            total += g + logdet - 2.0 * (s.ln() + mx);
            if let (Some(gv), true) = (grad.as_mut(), want_level) {
                for r in 0..np {
                    let mut acc = lg.trace[r];
                    for k in 0..nk {
                        acc += node_val[k] / s * dg[k * np + r];
                    }
                    gv[r] += acc;
                }
            }
            // the level's mode into the blocked order and the linear predictor
            for (t, &k) in self.ks.iter().enumerate() {
                for a in 0..k {
                    u_all[self.u_off[t] + j * k + a] = uhat[a + self.local_off[t]];
                }
            }
            for (o, &i) in obs.iter().enumerate() {
                eta_all[i] = eta[o];
            }
            deviance += g - dot(uhat, uhat);
        }
        let usq = u_all.iter().map(|v| v * v).sum();
        let mode = PirlsResult { u: u_all, beta: beta.to_vec(), eta: eta_all, deviance, usq };
        if want && !observed_everywhere {
            // some level's observed information is not positive definite
            // (a link that is not log-concave): the exact gradient assumes
            // it; central differences of the value instead
            let g = self.fd_gradient(data, terms, theta, beta, &mode.u, sat)?;
            return Ok((total, mode, Some(g)));
        }
        Ok((total, mode, grad))
    }

    /// Central differences of the value (where the exact gradient does not apply).
    fn fd_gradient(&self, data: &GlmmData, terms: &[ReTerm], theta: &[f64], beta: &[f64], u: &[f64], sat: f64) -> Result<Vec<f64>> {
        let nth = theta.len();
        let mut par: Vec<f64> = theta.iter().chain(beta).cloned().collect();
        let mut g = vec![0.0; par.len()];
        for r in 0..par.len() {
            let h = crate::optimizer::fd_step(par[r]);
            let x0 = par[r];
            par[r] = x0 + h;
            let fp = self.evaluate(data, terms, &par[..nth], &par[nth..], u, sat, false)?.0;
            par[r] = x0 - h;
            let fm = self.evaluate(data, terms, &par[..nth], &par[nth..], u, sat, false)?.0;
            par[r] = x0;
            g[r] = (fp - fm) / (2.0 * h);
        }
        Ok(g)
    }
}

fn w_ct(ct: &mut Vec<f64>, c: &[f64], l: &[f64], q: usize, nj: usize) {
    ct.clear();
    ct.extend_from_slice(&c[..nj * q]);
    for o in 0..nj {
        solve_l(l, q, &mut ct[o * q..(o + 1) * q]);
    }
}

/// A level's derivatives at the mode, for every parameter r: du^/dr (q
/// each), A_r = L^{-1} dH/dr L^{-T} (q-by-q each) and its trace.
#[derive(Default)]
struct LevelGrad {
    du: Vec<f64>,
    a: Vec<f64>,
    trace: Vec<f64>,
    dh: Vec<f64>,
    d1: Vec<f64>,
    d2: Vec<f64>,
    d3: Vec<f64>,
}

impl LevelGrad {
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &mut self,
        vq: &VectorQuadrature,
        data: &GlmmData,
        obs: &[usize],
        q: usize,
        np: usize,
        nth: usize,
        zf: &[f64],
        c: &[f64],
        eta: &[f64],
        uhat: &[f64],
        l: &[f64],
    ) {
        let n = data.n;
        let p = np - nth;
        let nj = obs.len();
        self.d1.clear();
        self.d2.clear();
        self.d3.clear();
        for (o, &i) in obs.iter().enumerate() {
            let t = data.obs_terms(i, eta[o]);
            self.d1.push(t.d1);
            self.d2.push(t.d2);
            self.d3.push(t.d3);
        }
        // d_r G'(u^): Qm = sum d2 c z' (q-by-q), Rm = sum d2 c x' (q-by-p),
        // szd = sum d1 z
        let mut qm = vec![0.0; q * q];
        let mut rm = vec![0.0; q * p];
        let mut szd = vec![0.0; q];
        for (o, &i) in obs.iter().enumerate() {
            let co = &c[o * q..(o + 1) * q];
            let zo = &zf[o * q..(o + 1) * q];
            let (d1, d2) = (self.d1[o], self.d2[o]);
            for b in 0..q {
                szd[b] += d1 * zo[b];
                for a in 0..q {
                    qm[a + b * q] += d2 * co[a] * zo[b];
                }
            }
            for s in 0..p {
                let xv = data.x[i + s * n];
                for a in 0..q {
                    rm[a + s * q] += d2 * co[a] * xv;
                }
            }
        }
        // du^/dr = -(2H)^{-1} d_r G'(u^) = -(1/2) L^{-T} L^{-1} B_r
        self.du.clear();
        self.du.resize(np * q, 0.0);
        for r in 0..np {
            let col = &mut self.du[r * q..(r + 1) * q];
            if r < nth {
                let (im, jm) = vq.theta_rc[r];
                for a in 0..q {
                    col[a] = qm[a + im * q] * uhat[jm];
                }
                col[jm] += szd[im];
            } else {
                col.copy_from_slice(&rm[(r - nth) * q..(r - nth + 1) * q]);
            }
            solve_l(l, q, col);
            solve_lt(l, q, col);
            col.iter_mut().for_each(|v| *v *= -0.5);
        }
        // dH/dr = (1/2) sum d3 (D eta / dr) c c' + (1/2) sum d2 (dc c' + c dc')
        self.dh.clear();
        self.dh.resize(np * q * q, 0.0);
        let mut deta = vec![0.0; np];
        for (o, &i) in obs.iter().enumerate() {
            let co = &c[o * q..(o + 1) * q];
            let zo = &zf[o * q..(o + 1) * q];
            for (r, dr) in deta.iter_mut().enumerate() {
                let part = if r < nth {
                    let (im, jm) = vq.theta_rc[r];
                    zo[im] * uhat[jm]
                } else {
                    data.x[i + (r - nth) * n]
                };
                *dr = 0.5 * self.d3[o] * (part + dot(co, &self.du[r * q..(r + 1) * q]));
            }
            for b in 0..q {
                for a in b..q {
                    let cc = co[a] * co[b];
                    for (r, dr) in deta.iter().enumerate() {
                        self.dh[r * q * q + a + b * q] += dr * cc;
                    }
                }
            }
        }
        for r in 0..nth {
            let (im, jm) = vq.theta_rc[r];
            // (1/2) (e_J qv' + qv e_J'), qv = Qm[:, I]
            let dh = &mut self.dh[r * q * q..(r + 1) * q * q];
            for a in 0..q {
                let v = 0.5 * qm[a + im * q];
                // lower triangle only: entry (max, min)
                let (x, y) = if a >= jm { (a, jm) } else { (jm, a) };
                dh[x + y * q] += v;
                if a == jm {
                    dh[x + y * q] += v;
                }
            }
        }
        // A_r = L^{-1} dH_r L^{-T}, dH_r symmetric from its lower triangle
        self.a.clear();
        self.a.resize(np * q * q, 0.0);
        self.trace.clear();
        self.trace.resize(np, 0.0);
        let mut x = vec![0.0; q * q];
        let mut col = vec![0.0; q];
        for r in 0..np {
            let dh = &self.dh[r * q * q..(r + 1) * q * q];
            // X = L^{-1} dH (column by column)
            for b in 0..q {
                for a in 0..q {
                    col[a] = if a >= b { dh[a + b * q] } else { dh[b + a * q] };
                }
                solve_l(l, q, &mut col);
                x[b * q..(b + 1) * q].copy_from_slice(&col);
            }
            // A = L^{-1} X' (X' = dH L^{-T})
            let a_r = &mut self.a[r * q * q..(r + 1) * q * q];
            for b in 0..q {
                for a in 0..q {
                    col[a] = x[b + a * q];
                }
                solve_l(l, q, &mut col);
                a_r[b * q..(b + 1) * q].copy_from_slice(&col);
            }
            self.trace[r] = (0..q).map(|a| a_r[a + a * q]).sum();
        }
        let _ = nj;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocked::{BlockedSystem, Factor};
    use crate::family::{Distribution, Link};
    use crate::glmm::{GlmmInput, GlmmProblem};
    use crate::laplace::laplace_deviance;
    use crate::optimizer::OptimControl;
    use crate::pirls::pirls_u;
    use crate::response::saturated_constant;
    use crate::testutil::Rng;

    /// (1 + x | g); (1 | g) + (0 + x | g); (1 + x + x2 | g);
    /// (1 + x | g) + (0 + x2 | g).
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Shape {
        Correlated2,
        Split2,
        Correlated3,
        Mixed3,
    }

    impl Shape {
        fn theta(self) -> Vec<f64> {
            match self {
                Shape::Correlated2 => vec![0.8, 0.3, 0.6],
                Shape::Split2 => vec![0.8, 0.6],
                Shape::Correlated3 => vec![0.7, 0.2, -0.3, 0.5, 0.1, 0.4],
                Shape::Mixed3 => vec![0.7, 0.25, 0.5, 0.45],
            }
        }
    }

    struct Case {
        data: GlmmData,
        terms: Vec<ReTerm>,
    }

    fn case(seed: u64, dist: Distribution, link: Link, b0: f64, shape: Shape, nlev: usize, per: usize) -> Case {
        let mut rng = Rng::new(seed);
        let n = nlev * per;
        // levels interleaved (the quadrature does not need sorted rows)
        let g: Vec<usize> = (0..n).map(|i| i % nlev).collect();
        let x1: Vec<f64> = (0..n).map(|_| rng.uniform() * 2.0 - 1.0).collect();
        let x2: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let b: Vec<[f64; 3]> = (0..nlev).map(|_| [0.7 * rng.normal(), 0.5 * rng.normal(), 0.3 * rng.normal()]).collect();
        let trials = 4.0;
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let bj = b[g[i]];
                let eta = b0 + 0.5 * x1[i] + bj[0] + bj[1] * x1[i] + bj[2] * x2[i];
                let mu = link.linkinv(eta);
                match dist {
                    Distribution::Poisson => rng.poisson(mu),
                    Distribution::Binomial => (0..4).filter(|_| rng.uniform() < mu).count() as f64 / trials,
                    _ => (rng.uniform() < mu) as i32 as f64,
                }
            })
            .collect();
        let z2: Vec<f64> = (0..n).flat_map(|i| [1.0, x1[i]]).collect();
        let z3: Vec<f64> = (0..n).flat_map(|i| [1.0, x1[i], x2[i]]).collect();
        let t = |k: usize, z: Vec<f64>| ReTerm::new(g.clone(), nlev, k, z).unwrap();
        let terms = match shape {
            Shape::Correlated2 => vec![t(2, z2)],
            Shape::Split2 => vec![t(1, vec![1.0; n]), t(1, x1.clone())],
            Shape::Correlated3 => vec![t(3, z3)],
            Shape::Mixed3 => vec![t(2, z2), t(1, x2.clone())],
        };
        let mut x = vec![1.0; n];
        x.extend_from_slice(&x1);
        let weights = vec![if dist == Distribution::Binomial { trials } else { 1.0 }; n];
        let data = GlmmData { n, p: 2, y, x, weights, offset: vec![0.0; n], dist, link, phi: 1.0 };
        Case { data, terms }
    }

    fn value(c: &Case, nagq: usize, theta: &[f64], beta: &[f64]) -> f64 {
        let vq = VectorQuadrature::new(&c.terms, nagq).unwrap();
        let q: usize = c.terms.iter().map(|t| t.nranef()).sum();
        let sat = saturated_constant(&c.data);
        vq.evaluate(&c.data, &c.terms, theta, beta, &vec![0.0; q], sat, false).unwrap().0
    }

    /// -2 log prod_j int prod_i p(y_i | eta_i(u)) phi_q(u) du, each level's
    /// q-dimensional integral by the trapezoid rule on the grid of step h
    /// over [-lim, lim]^q in u itself: no mode, no scaling, and the
    /// likelihood from the family's -2 log-likelihood.
    fn brute_force(c: &Case, theta: &[f64], beta: &[f64], h: f64, lim: f64) -> f64 {
        let vq = VectorQuadrature::new(&c.terms, 1).unwrap();
        let q = vq.q;
        let lam = vq.lambda_block(theta);
        let d = &c.data;
        let fixed = d.fixed_eta(beta);
        let npts = (2.0 * lim / h).round() as usize + 1;
        let total_pts = npts.pow(q as u32);
        let mut total = 0.0;
        let mut ll = vec![0.0; total_pts];
        let mut u = vec![0.0; q];
        let mut bv = vec![0.0; q];
        for j in 0..vq.nlevels {
            let obs: Vec<usize> = (0..d.n).filter(|&i| c.terms[0].group[i] == j).collect();
            let zf: Vec<Vec<f64>> = obs.iter().map(|&i| c.terms.iter().flat_map(|t| t.zrow(i).to_vec()).collect()).collect();
            for (pt, l) in ll.iter_mut().enumerate() {
                let mut r = pt;
                let mut wgt = 0.0;
                for ua in u.iter_mut() {
                    let ia = r % npts;
                    r /= npts;
                    *ua = -lim + ia as f64 * h;
                    if ia == 0 || ia == npts - 1 {
                        wgt += 0.5f64.ln();
                    }
                }
                // b = Lambda u
                for a in 0..q {
                    bv[a] = (0..=a).map(|b| lam[a + b * q] * u[b]).sum();
                }
                let mut v = wgt - 0.5 * dot(&u, &u) - 0.5 * q as f64 * (2.0 * std::f64::consts::PI).ln();
                for (o, &i) in obs.iter().enumerate() {
                    let mu = d.mu(fixed[i] + dot(&zf[o], &bv));
                    v -= 0.5 * d.dist.neg2_loglik(d.y[i], mu, d.weights[i], d.phi);
                }
                *l = v;
            }
            let mx = ll.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = ll.iter().map(|v| (v - mx).exp()).sum();
            total += -2.0 * (s.ln() + mx + q as f64 * h.ln());
        }
        total
    }

    /// Pruning: nodes kept and error against the full product rule.
    /// cargo test --release pruning_study -- --ignored --nocapture
    #[test]
    #[ignore]
    fn pruning_study() {
        for &(dist, link, b0, shape, nl) in &[
            (Distribution::Bernoulli, Link::Logit, -0.2, Shape::Correlated3, 4usize),
            (Distribution::Poisson, Link::Log, 0.3, Shape::Mixed3, 4),
            (Distribution::Bernoulli, Link::Logit, -0.2, Shape::Correlated3, 40),
        ] {
            let c = case(21, dist, link, b0, shape, nl, 8);
            let theta = shape.theta();
            let beta = [b0, 0.4];
            let sat = saturated_constant(&c.data);
            let u0 = vec![0.0; 3 * nl];
            for k in [5usize, 7, 11, 15, 25] {
                let mut vq = VectorQuadrature::new(&c.terms, k).unwrap();
                vq.set_rule(ProductRule::with_threshold(k, 3, 0.0).unwrap());
                let full = vq.evaluate(&c.data, &c.terms, &theta, &beta, &u0, sat, false).unwrap().0;
                for rel in [1e-6, 1e-8, 1e-10, 1e-12, 1e-14] {
                    vq.set_rule(ProductRule::with_threshold(k, 3, rel).unwrap());
                    let v = vq.evaluate(&c.data, &c.terms, &theta, &beta, &u0, sat, false).unwrap().0;
                    eprintln!(
                        "{dist:?} {shape:?} L={nl} k={k} prune {rel:.0e}: {} of {} nodes, error {:.2e}",
                        vq.rule.len(),
                        k * k * k,
                        v - full
                    );
                }
            }
        }
    }

    #[test]
    fn product_rule_integrates_normal_moments() {
        for &(k, q) in &[(5usize, 2usize), (7, 3), (9, 3), (5, 4)] {
            let r = ProductRule::new(k, q).unwrap();
            let e = |f: &dyn Fn(&[f64]) -> f64| -> f64 { (0..r.len()).map(|i| r.weights[i] * f(r.node(i))).sum() };
            assert!((e(&|_| 1.0) - 1.0).abs() < 1e-14);
            // exact for the full product; pruning costs of order PRUNE
            assert!((e(&|z| z[0] * z[0]) - 1.0).abs() < 1e-9, "k={k} q={q}");
            assert!((e(&|z| z[0] * z[0] * z[1] * z[1]) - 1.0).abs() < 1e-9);
            assert!((e(&|z| z[q - 1].powi(4)) - 3.0).abs() < 1e-8);
            assert!(e(&|z| z[0] * z[1]).abs() < 1e-14);
        }
        // full tensor product for q <= 2, pruned for q >= 3
        assert_eq!(ProductRule::new(7, 2).unwrap().len(), 49);
        assert_eq!(ProductRule::new(25, 2).unwrap().len(), 625);
        let sizes: Vec<(usize, usize, usize)> = [(7usize, 3usize), (7, 4), (7, 5), (11, 3), (15, 3), (25, 3), (11, 4)]
            .iter()
            .map(|&(k, q)| (k, q, ProductRule::new(k, q).unwrap().len()))
            .collect();
        eprintln!("pruned rule sizes (k, q, nodes): {sizes:?}");
        for &(k, q, m) in &sizes {
            assert!(m <= k.pow(q as u32));
        }
    }

    /// 2-D integrals: (1 + x | g) and (1 | g) + (0 + x | g), several
    /// families and links, 25 nodes per dimension against a fine grid.
    #[test]
    fn two_dimensional_quadrature_matches_brute_force_integration() {
        for &(dist, link, b0) in &[
            (Distribution::Bernoulli, Link::Logit, -0.2),
            (Distribution::Poisson, Link::Log, 0.3),
            (Distribution::Bernoulli, Link::Probit, 0.1),
            (Distribution::Binomial, Link::Cloglog, -0.5),
            // means away from 0: with small counts the sqrt link's integrand
            // has a second, mirrored mode (all eta < 0) that a rule centred
            // at the principal mode misses (one level here lost 0.015 at
            // intercept 2; one scalar term shares the limitation)
            (Distribution::Poisson, Link::Sqrt, 3.5),
        ] {
            for shape in [Shape::Correlated2, Shape::Split2] {
                let c = case(11, dist, link, b0, shape, 6, 8);
                let theta = shape.theta();
                let beta = [b0, 0.4];
                let agq = value(&c, 25, &theta, &beta);
                let want = brute_force(&c, &theta, &beta, 0.04, 8.0);
                let rel = (agq - want).abs() / want.abs();
                eprintln!("2-D {dist:?} {link:?} {shape:?}: AGQ(25) {agq:.10} brute force {want:.10} rel {rel:.2e}");
                assert!(rel < 1e-6, "{dist:?} {link:?} {shape:?}: {agq} vs {want}");
                // Laplace: close, not equal
                let lap = value(&c, 1, &theta, &beta);
                assert!((lap - want).abs() < 0.05 * want.abs() && (lap - want).abs() > 1e-6);
            }
        }
    }

    /// 3-D integrals with the pruned rule.
    #[test]
    fn three_dimensional_quadrature_matches_brute_force_integration() {
        for &(dist, link, b0, shape) in
            &[(Distribution::Bernoulli, Link::Logit, -0.2, Shape::Correlated3), (Distribution::Poisson, Link::Log, 0.3, Shape::Mixed3)]
        {
            let c = case(21, dist, link, b0, shape, 4, 8);
            let theta = shape.theta();
            let beta = [b0, 0.4];
            let agq = value(&c, 15, &theta, &beta);
            let want = brute_force(&c, &theta, &beta, 0.125, 7.0);
            let rel = (agq - want).abs() / want.abs();
            // the full tensor product: pruning costs (almost) nothing
            let mut vq = VectorQuadrature::new(&c.terms, 15).unwrap();
            let pruned = vq.rule.len();
            vq.set_rule(ProductRule::with_threshold(15, 3, 0.0).unwrap());
            let sat = saturated_constant(&c.data);
            let full = vq.evaluate(&c.data, &c.terms, &theta, &beta, &[0.0; 3 * 4], sat, false).unwrap().0;
            eprintln!(
                "3-D {dist:?} {shape:?}: AGQ(15, {pruned} nodes) {agq:.10} full ({} nodes) {full:.10} brute force {want:.10} rel {rel:.2e}",
                vq.rule.len()
            );
            assert!(rel < 1e-6, "{dist:?} {shape:?}: {agq} vs {want}");
            assert!((full - agq).abs() < 1e-8 * want.abs(), "pruned {agq} vs full {full}");
        }
    }

    /// One node: the Laplace value of the general path (PIRLS on the
    /// blocked system, log-determinant of its factor).
    #[test]
    fn one_node_equals_the_laplace_value_on_the_blocked_factor() {
        for &(dist, link, b0) in &[
            (Distribution::Bernoulli, Link::Logit, -0.2),
            (Distribution::Poisson, Link::Log, 0.3),
            (Distribution::Bernoulli, Link::Probit, 0.1),
            (Distribution::Binomial, Link::Cloglog, -0.5),
        ] {
            for shape in [Shape::Correlated2, Shape::Split2, Shape::Correlated3, Shape::Mixed3] {
                let c = case(31, dist, link, b0, shape, 12, 10);
                let theta = shape.theta();
                let beta = [b0, 0.4];
                let one = value(&c, 1, &theta, &beta);
                let mut sys = BlockedSystem::new(c.terms.clone(), c.data.n, 0).unwrap();
                let mut f = Factor::default();
                let q = sys.q();
                let mode = pirls_u(&c.data, &mut sys, &mut f, &theta, &beta, &vec![0.0; q]).unwrap();
                let lap = laplace_deviance(&sys, &f, &mode, saturated_constant(&c.data));
                assert!((one - lap).abs() < 1e-10, "{dist:?} {link:?} {shape:?}: {one} vs {lap} ({:.2e})", one - lap);
            }
        }
    }

    /// The value settles as the number of nodes grows.
    #[test]
    fn value_converges_in_the_number_of_nodes() {
        for shape in [Shape::Correlated2, Shape::Mixed3] {
            let c = case(41, Distribution::Bernoulli, Link::Logit, -0.2, shape, 6, 6);
            let theta = shape.theta();
            let beta = [-0.2, 0.4];
            let ks = [1usize, 3, 5, 7, 9, 11, 13];
            let v: Vec<f64> = ks.iter().map(|&k| value(&c, k, &theta, &beta)).collect();
            let diffs: Vec<f64> = v.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
            eprintln!("{shape:?}: values {v:?}\n  |v(k) - v(k + 2)| {diffs:?}");
            for w in diffs.windows(2) {
                assert!(w[1] < w[0], "{shape:?}: {diffs:?}");
            }
            assert!(diffs[diffs.len() - 1] < 1e-5);
        }
    }

    /// The exact gradient against central differences of the value.
    #[test]
    fn gradient_matches_finite_differences() {
        for &(dist, link, b0) in &[
            (Distribution::Bernoulli, Link::Logit, -0.2),
            (Distribution::Poisson, Link::Log, 0.3),
            (Distribution::Bernoulli, Link::Probit, 0.1),
            (Distribution::Binomial, Link::Cloglog, -0.5),
            // (means near 0: zero counts take modes across the branch's edge)
            (Distribution::Poisson, Link::Sqrt, 1.0),
            (Distribution::Poisson, Link::Sqrt, 3.0),
        ] {
            for shape in [Shape::Correlated2, Shape::Split2, Shape::Mixed3] {
                for nagq in [1usize, 4, 5] {
                    let c = case(51, dist, link, b0, shape, 8, 9);
                    let vq = VectorQuadrature::new(&c.terms, nagq).unwrap();
                    let sat = saturated_constant(&c.data);
                    let q: usize = c.terms.iter().map(|t| t.nranef()).sum();
                    let mut par = shape.theta();
                    let nth = par.len();
                    par.extend_from_slice(&[b0, 0.4]);
                    let u0 = vec![0.0; q];
                    let (v, mode, g) = vq.evaluate(&c.data, &c.terms, &par[..nth], &par[nth..], &u0, sat, true).unwrap();
                    let g = g.unwrap();
                    let v0 = vq.evaluate(&c.data, &c.terms, &par[..nth], &par[nth..], &u0, sat, false).unwrap().0;
                    assert_eq!(v, v0);
                    for r in 0..par.len() {
                        let h = 1e-5;
                        let mut a = par.clone();
                        a[r] += h;
                        let fp = vq.evaluate(&c.data, &c.terms, &a[..nth], &a[nth..], &mode.u, sat, false).unwrap().0;
                        a[r] -= 2.0 * h;
                        let fm = vq.evaluate(&c.data, &c.terms, &a[..nth], &a[nth..], &mode.u, sat, false).unwrap().0;
                        let num = (fp - fm) / (2.0 * h);
                        assert!(
                            (num - g[r]).abs() < 1e-5 * (1.0 + num.abs()),
                            "{dist:?} {link:?} {shape:?} nAGQ {nagq} param {r}: {} vs {num}",
                            g[r]
                        );
                    }
                }
            }
        }
    }

    fn problem(c: &Case, nagq: usize) -> Result<GlmmProblem> {
        GlmmProblem::new(GlmmInput {
            y: c.data.y.clone(),
            x: c.data.x.clone(),
            p: 2,
            weights: c.data.weights.clone(),
            offset: c.data.offset.clone(),
            terms: c.terms.clone(),
            dist: c.data.dist,
            link: c.data.link,
            nagq,
        })
    }

    /// Through the model: nAGQ = 1 keeps the general path, nAGQ > 1 the
    /// quadrature; the fit is at a stationary point of the quadrature
    /// objective, near the Laplace fit.
    #[test]
    fn model_fit_with_vector_quadrature() {
        let c = case(61, Distribution::Bernoulli, Link::Logit, -0.2, Shape::Correlated2, 30, 12);
        let ctl = OptimControl::default();
        let lap = problem(&c, 1).unwrap().fit(&ctl).unwrap();
        let mut pr = problem(&c, 7).unwrap();
        let agq = pr.fit(&ctl).unwrap();
        assert!(agq.check.max_scaled_gradient < 1e-3, "{:?}", agq.check);
        assert!(agq.check.hessian_positive_definite);
        // the reported value is the quadrature's at the estimates
        let (v, _) = pr.objective(&agq.theta, &agq.beta).unwrap();
        assert!((v - agq.objective).abs() < 1e-8);
        eprintln!(
            "Laplace {} beta {:?} theta {:?}\nAGQ(7)  {} beta {:?} theta {:?}",
            lap.objective, lap.beta, lap.theta, agq.objective, agq.beta, agq.theta
        );
        assert!((agq.objective - lap.objective).abs() < 2.0);
        for s in 0..2 {
            assert!((agq.beta[s] - lap.beta[s]).abs() < 0.1);
        }
        // (1 | g) + (0 + x | g), Poisson: a derivative-free check of the
        // optimum (BFGS on central differences of the value, from the fit)
        let c2 = case(62, Distribution::Poisson, Link::Log, 0.3, Shape::Split2, 25, 8);
        let mut pr = problem(&c2, 5).unwrap();
        let fit = pr.fit(&ctl).unwrap();
        assert!(fit.check.max_scaled_gradient < 1e-3, "{:?}", fit.check);
        let mut start = fit.theta.clone();
        start.extend_from_slice(&fit.beta);
        let r = crate::optimizer::minimize(|x: &[f64]| Ok(pr.objective(&x[..2], &x[2..])?.0), &start, &ctl).unwrap();
        assert!(r.value > fit.objective - 1e-6, "{} vs {}", r.value, fit.objective);
        for (a, b) in r.par.iter().zip(&start) {
            assert!((a.abs() - b.abs()).abs() < 1e-3, "{:?} vs {start:?}", r.par);
        }
    }

    /// Sqrt link with zero counts (their modes may cross the branch's
    /// edge): the fit reaches a stationary point near the 7-node fit. The
    /// sample on which modes held on the branch stalled 12 units above the
    /// optimum is in tests/testthat/test-glmm-vector-agq.R.
    #[test]
    fn sqrt_link_fit_with_zero_counts() {
        // counts simulated under the log link (the joint PIRLS start of
        // stage 1, shared with Laplace, fails on some other samples)
        let mut c = case(82, Distribution::Poisson, Link::Log, 0.5, Shape::Correlated3, 30, 8);
        c.data.link = Link::Sqrt;
        let zeros = c.data.y.iter().filter(|&&y| y == 0.0).count();
        assert!(zeros > 10, "{zeros} zero counts");
        let ctl = OptimControl::default();
        let f5 = problem(&c, 5).unwrap().fit(&ctl).unwrap();
        let f7 = problem(&c, 7).unwrap().fit(&ctl).unwrap();
        assert!(f5.check.max_scaled_gradient < 1e-3 && f5.check.hessian_positive_definite, "{:?}", f5.check);
        assert!((f5.objective - f7.objective).abs() < 0.05, "{} vs {}", f5.objective, f7.objective);
    }

    #[test]
    fn crossed_factors_with_quadrature_are_an_error() {
        let mut c = case(71, Distribution::Bernoulli, Link::Logit, -0.2, Shape::Split2, 6, 8);
        // second term on another factor
        let n = c.data.n;
        c.terms[1] = ReTerm::new((0..n).map(|i| (i / 6) % 5).collect(), 5, 1, vec![1.0; n]).unwrap();
        let err = problem(&c, 3).err().expect("an error");
        assert!(format!("{err}").contains("same grouping factor"), "{err}");
        assert!(problem(&c, 1).is_ok());
    }
}
