//! The response and its family: the data of a GLMM (y, X, weights, offset,
//! family, link, dispersion) and what each observation contributes at a
//! linear predictor (deviance residuals and their derivatives, weights),
//! with the family's starting values and dispersion estimates.

use crate::error::{EngineError, Result};
use crate::family::{Distribution, Link};
use crate::threads;

/// The data of a GLMM that PIRLS and the objectives read.
#[derive(Debug, Clone)]
pub struct GlmmData {
    pub n: usize,
    pub p: usize,
    pub y: Vec<f64>,
    /// Column-major n-by-p.
    pub x: Vec<f64>,
    pub weights: Vec<f64>,
    pub offset: Vec<f64>,
    pub dist: Distribution,
    pub link: Link,
    /// Dispersion (1 for families without a scale). The penalized deviance
    /// and the working weights are divided by it.
    pub phi: f64,
}

/// 2 wt (y ln y + (1 - y) ln(1 - y)): what the binomial deviance residual
/// adds to -2 wt [y ln mu + (1 - y) ln(1 - mu)] (0 for 0/1 responses).
#[inline]
fn binomial_entropy(y: f64, wt: f64) -> f64 {
    let t = |a: f64| if a > 0.0 { a * a.ln() } else { 0.0 };
    2.0 * wt * (t(y) + t(1.0 - y))
}

impl GlmmData {
    #[inline]
    pub fn mu(&self, eta: f64) -> f64 {
        self.dist.clamp_mu(self.link.linkinv(eta))
    }

    /// Sum of deviance residuals at linear predictor eta, over phi: the
    /// part of -2 log L that depends on mu.
    /// Infinite off the link's principal branch (see `on_branch`): PIRLS
    /// reads it, so modes are searched where the link is one to one.
    /// Large n: summed in fixed chunks on up to `threads()` threads.
    pub fn deviance(&self, eta: &[f64]) -> f64 {
        if self.is_binomial_logit() {
            return threads::sum(self.n, |i| self.binomial_logit(i, eta[i]).0);
        }
        // off the branch: +inf, which the sum keeps (no -inf or NaN arises)
        threads::sum(self.n, |i| if self.on_branch(eta[i]) { self.scaled_dev(i, eta[i]) } else { f64::INFINITY })
    }

    /// Is eta on the link's principal branch (glm's `valideta`)? Under the
    /// sqrt link mu = eta^2 mirrors every mode to eta < 0: modes are sought
    /// for eta > 0, while integrals still cover the whole line (the model's
    /// mean is eta^2 everywhere, as R's linkinv says).
    #[inline]
    pub fn on_branch(&self, eta: f64) -> bool {
        self.link.valid_eta(eta)
    }

    /// How the linear predictor leaves the valid range for this family and
    /// link, for `EngineError::OutOfRange`.
    pub fn range_note(&self) -> &'static str {
        match (self.dist, self.link) {
            (Distribution::Bernoulli | Distribution::Binomial, _) => "mu outside (0, 1)",
            (Distribution::Gaussian, _) => "mu not finite",
            (_, Link::Sqrt | Link::InverseSquare) => "eta <= 0",
            _ => "mu < 0",
        }
    }

    /// The error for a linear predictor out of the valid range.
    pub fn out_of_range(&self) -> EngineError {
        EngineError::OutOfRange(self.range_note().into())
    }

    /// Can the link give a mean the family cannot have (the binomial with
    /// the log link: mu > 1; identity or inverse links of positive
    /// families: mu < 0)?
    pub fn link_can_leave_range(&self) -> bool {
        match self.dist {
            Distribution::Bernoulli | Distribution::Binomial => self.link == Link::Log,
            Distribution::Poisson | Distribution::Gamma | Distribution::InverseGaussian | Distribution::NegBinomial { .. } => {
                matches!(self.link, Link::Identity | Link::Inverse)
            }
            Distribution::Gaussian => false,
        }
    }

    /// Is some mean at the edge of the family's range (within 1e-6, relative
    /// to the mean response for positive families), where such a link can
    /// take it? There the weights of PIRLS vanish or explode.
    pub fn at_range_edge(&self, eta: &[f64]) -> bool {
        if !self.link_can_leave_range() {
            return false;
        }
        let binomial = matches!(self.dist, Distribution::Bernoulli | Distribution::Binomial);
        let scale = if binomial { 1.0 } else { self.y.iter().map(|v| v.abs()).sum::<f64>() / self.n.max(1) as f64 };
        eta.iter().any(|&e| {
            let mu = self.link.linkinv(e);
            if binomial {
                1.0 - mu < 1e-6
            } else {
                mu < 1e-6 * scale
            }
        })
    }

    /// What a failure of PIRLS at the linear predictor eta means: where a
    /// mean sits at the edge of the range (a mode of the penalized deviance
    /// on the boundary: there is no valid one inside), that the linear
    /// predictor left the link's valid range; else the failure itself.
    pub fn explain(&self, e: EngineError, eta: &[f64]) -> EngineError {
        match e {
            EngineError::NotPositiveDefinite(_) | EngineError::Optimizer(_) if self.at_range_edge(eta) => self.out_of_range(),
            other => other,
        }
    }

    /// Can the family have this mean at eta?
    #[inline]
    fn valid(&self, eta: f64, mu_raw: f64) -> bool {
        !eta.is_nan() && self.dist.valid_mu(mu_raw)
    }

    /// One observation's deviance residual over phi (infinite where the
    /// mean is out of the family's range).
    #[inline]
    pub fn scaled_dev(&self, i: usize, eta: f64) -> f64 {
        let mu_raw = self.link.linkinv(eta);
        if !self.valid(eta, mu_raw) {
            return f64::INFINITY;
        }
        self.dist.dev_resid(self.y[i], self.dist.clamp_mu(mu_raw), self.weights[i]) / self.phi
    }

    /// X beta + offset.
    pub fn fixed_eta(&self, beta: &[f64]) -> Vec<f64> {
        let mut eta = self.offset.clone();
        for (c, b) in beta.iter().enumerate() {
            if *b != 0.0 {
                let col = &self.x[c * self.n..(c + 1) * self.n];
                for (e, xv) in eta.iter_mut().zip(col) {
                    *e += b * xv;
                }
            }
        }
        eta
    }

    /// One observation's scaled deviance residual, its first two
    /// derivatives in eta, the Fisher weight and its derivative, from one
    /// evaluation of the inverse link.
    #[inline]
    pub fn obs_terms(&self, i: usize, eta: f64) -> ObsTerms {
        if self.is_binomial_logit() {
            // canonical: d'' = 2 w, w = wt mu (1 - mu), w' = wt mu_eta'
            let (dev, mu, _) = self.binomial_logit(i, eta);
            let wt = self.weights[i];
            let m1 = mu * (1.0 - mu);
            let w1 = wt * m1 * (1.0 - 2.0 * mu);
            return ObsTerms { dev, d1: -2.0 * wt * (self.y[i] - mu), d2: 2.0 * wt * m1, d3: 2.0 * w1, w: wt * m1, w1 };
        }
        let (mu_raw, m1, m2) = self.link.inv_derivs(eta);
        if !self.valid(eta, mu_raw) {
            return ObsTerms { dev: f64::INFINITY, ..Default::default() };
        }
        let m3 = self.link.mu_eta_deriv2(eta);
        let mu = self.dist.clamp_mu(mu_raw);
        let v = self.dist.variance(mu).max(1e-300);
        let v1 = self.dist.variance_deriv(mu);
        let v2 = self.dist.variance_deriv2(mu);
        let wt = self.weights[i] / self.phi;
        let r = self.y[i] - mu;
        // d = -2 wt (y - mu) a(eta) with a = mu' / V(mu); a' and a'' below
        let a = m1 / v;
        let a1 = m2 / v - m1 * m1 * v1 / (v * v);
        let a2 = m3 / v - 3.0 * m1 * m2 * v1 / (v * v) - m1 * m1 * m1 * v2 / (v * v) + 2.0 * m1 * m1 * m1 * v1 * v1 / (v * v * v);
        ObsTerms {
            dev: self.dist.dev_resid(self.y[i], mu, self.weights[i]) / self.phi,
            d1: -2.0 * wt * r * a,
            d2: -2.0 * wt * (-m1 * a + r * a1),
            d3: -2.0 * wt * (-m2 * a - 2.0 * m1 * a1 + r * a2),
            w: wt * m1 * a,
            w1: wt * (2.0 * m1 * m2 / v - m1 * m1 * m1 * v1 / (v * v)),
        }
    }

    /// The scaled deviance residual and its first derivative in eta.
    #[inline]
    pub fn dev_d1(&self, i: usize, eta: f64) -> (f64, f64) {
        if self.is_binomial_logit() {
            let (dev, mu, _) = self.binomial_logit(i, eta);
            return (dev, -2.0 * self.weights[i] * (self.y[i] - mu));
        }
        let (mu_raw, m1, _) = self.link.inv_derivs(eta);
        if !self.valid(eta, mu_raw) {
            return (f64::INFINITY, 0.0);
        }
        let mu = self.dist.clamp_mu(mu_raw);
        let v = self.dist.variance(mu).max(1e-300);
        let wt = self.weights[i] / self.phi;
        (self.dist.dev_resid(self.y[i], mu, self.weights[i]) / self.phi, -2.0 * wt * (self.y[i] - mu) * m1 / v)
    }

    #[inline]
    fn is_binomial_logit(&self) -> bool {
        self.link == Link::Logit && matches!(self.dist, Distribution::Bernoulli | Distribution::Binomial)
    }

    /// Binomial deviance residual with the logit link from one exponential
    /// and one log1p, stable for any eta: -ln mu = ln(1 + e^-|eta|) +
    /// max(-eta, 0) and -ln(1 - mu) = ln(1 + e^-|eta|) + max(eta, 0).
    #[inline]
    fn binomial_logit(&self, i: usize, eta: f64) -> (f64, f64, f64) {
        let e = (-eta.abs()).exp();
        // ln(1 + e) for e in (0, 1]: the series where 1 + e would round
        let l1p = if e < 1e-5 { e * (1.0 - 0.5 * e) } else { (1.0 + e).ln() };
        let mu = if eta >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
        let y = self.y[i];
        let wt = self.weights[i];
        let nl_mu = l1p + (-eta).max(0.0);
        let nl_1mu = l1p + eta.max(0.0);
        let mut dev = 2.0 * wt * (y * nl_mu + (1.0 - y) * nl_1mu);
        if self.dist == Distribution::Binomial {
            dev += binomial_entropy(y, wt);
        }
        (dev.max(0.0), mu, e)
    }

    /// The estimated extra parameter: the negative binomial's theta, else
    /// the dispersion phi.
    pub fn dispersion(&self) -> f64 {
        match self.dist {
            Distribution::NegBinomial { theta, .. } => theta,
            _ => self.phi,
        }
    }

    /// Set what `dispersion` reads.
    pub fn set_dispersion(&mut self, v: f64) {
        match &mut self.dist {
            Distribution::NegBinomial { theta, .. } => *theta = v,
            _ => self.phi = v,
        }
    }

    /// Is the link the family's canonical one (observed and Fisher
    /// information then coincide)?
    pub fn is_canonical(&self) -> bool {
        matches!(
            (self.dist, self.link),
            (Distribution::Bernoulli | Distribution::Binomial, Link::Logit)
                | (Distribution::Poisson, Link::Log)
                | (Distribution::Gaussian, Link::Identity)
        )
    }

    /// Newton weights: w = d2 / 2, the observed information, and half the
    /// negative slope, g = -d1 / 2, so that M u = Lambda' Z' (w Z b + g)
    /// is an exact Newton step on the penalized deviance. A weight may be
    /// negative (links that are not log-concave, e.g. cauchit) or zero (y = 1
    /// under the binomial log link): only M must be positive definite, which
    /// the factorisation checks. Returns false where a value is not finite.
    /// Large n: in chunks on up to `threads()` threads.
    pub fn newton_weights(&self, eta: &[f64], w: &mut [f64], g: &mut [f64]) -> bool {
        threads::all_mut2(&mut w[..self.n], &mut g[..self.n], |i, wi, gi| {
            let t = self.obs_terms(i, eta[i]);
            *wi = 0.5 * t.d2;
            *gi = -0.5 * t.d1;
            t.dev.is_finite() && t.d2.is_finite() && t.d1.is_finite()
        })
    }

    /// The observed information d2 / 2 of each observation: the weights of
    /// the true Laplace approximation's factor at the mode. False where one
    /// is not finite.
    pub fn observed_weights(&self, eta: &[f64], w: &mut [f64]) -> bool {
        for i in 0..self.n {
            w[i] = 0.5 * self.obs_terms(i, eta[i]).d2;
            if !w[i].is_finite() {
                return false;
            }
        }
        true
    }

    /// Working weights (over phi) and working residuals (y - mu) / (d mu / d eta).
    pub fn working(&self, eta: &[f64], w: &mut [f64], resid: &mut [f64]) {
        if self.is_binomial_logit() {
            for i in 0..self.n {
                let (_, mu, _) = self.binomial_logit(i, eta[i]);
                let m1 = (mu * (1.0 - mu)).max(1e-300);
                w[i] = self.weights[i] * m1;
                resid[i] = (self.y[i] - mu) / m1;
            }
            return;
        }
        for i in 0..self.n {
            let mu = self.mu(eta[i]);
            let mut d = self.link.mu_eta(eta[i]);
            if d.abs() < 1e-300 {
                d = 1e-300f64.copysign(if d == 0.0 { 1.0 } else { d });
            }
            let v = self.dist.variance(mu).max(1e-300);
            w[i] = self.weights[i] * d * d / (v * self.phi);
            resid[i] = (self.y[i] - mu) / d;
        }
    }
}

/// Per-observation quantities at one eta (see `GlmmData::obs_terms`): the
/// scaled deviance residual `dev`, its derivatives in eta `d1`, `d2`, `d3`
/// (d2 / 2 is the observed information, the weight of the true Laplace
/// approximation), and the Fisher weight `w` with its derivative `w1`
/// (PIRLS's scoring weight). For canonical links d2 = 2 w and d3 = 2 w1.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObsTerms {
    pub dev: f64,
    pub d1: f64,
    pub d2: f64,
    pub d3: f64,
    pub w: f64,
    pub w1: f64,
}

/// -2 log p(y | mu = y) summed at the data's dispersion: the gap between
/// the scaled deviance residuals and the absolute -2 log-likelihood (0 for
/// Bernoulli responses).
pub fn saturated_constant(data: &GlmmData) -> f64 {
    (0..data.n).map(|i| data.dist.neg2_loglik(data.y[i], data.y[i], data.weights[i], data.phi)).filter(|v| v.is_finite()).sum()
}

/// glm's starting values: mu from y (pulled off the boundary), eta = g(mu).
pub fn eta_start(data: &GlmmData) -> Vec<f64> {
    (0..data.n)
        .map(|i| {
            let y = data.y[i];
            let w = data.weights[i];
            let mu = match data.dist {
                Distribution::Bernoulli | Distribution::Binomial => (w * y + 0.5) / (w + 1.0),
                Distribution::Poisson => y + 0.1,
                _ => y,
            };
            data.link.linkfun(mu)
        })
        .collect()
}

/// The linear predictor of the intercept-only GLM: g(mean of y).
pub fn eta_start_mean(data: &GlmmData) -> Vec<f64> {
    let wsum: f64 = data.weights.iter().sum();
    let mean = data.y.iter().zip(&data.weights).map(|(y, w)| y * w).sum::<f64>() / wsum.max(1e-300);
    vec![data.link.linkfun(mean.max(1e-8)); data.n]
}

/// Pearson estimate of the dispersion at the linear predictor eta, on the
/// residual degrees of freedom.
pub fn pearson_at(data: &GlmmData, eta: &[f64]) -> f64 {
    let mut x2 = 0.0;
    let mut nobs = 0usize;
    for ((&y, &w), &e) in data.y.iter().zip(&data.weights).zip(eta) {
        let mu = data.mu(e);
        if w > 0.0 {
            x2 += w * (y - mu).powi(2) / data.dist.variance(mu).max(1e-300);
            nobs += 1;
        }
    }
    let df = nobs.saturating_sub(data.p).max(1) as f64;
    let phi = x2 / df;
    if phi.is_finite() && phi > 0.0 {
        phi
    } else {
        data.phi
    }
}

/// The negative binomial's theta by moments at eta: sum mu^2 over
/// sum((y - mu)^2 - mu), kept in [1e-3, 1e6] (a large theta: no
/// overdispersion, the Poisson limit).
pub fn moment_theta(data: &GlmmData, eta: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for ((&y, &w), &e) in data.y.iter().zip(&data.weights).zip(eta) {
        let mu = data.mu(e);
        num += w * mu * mu;
        den += w * ((y - mu).powi(2) - mu);
    }
    if den > 0.0 && num > 0.0 {
        (num / den).clamp(1e-3, 1e6)
    } else {
        1e6
    }
}

/// Pearson estimate of the dispersion around the overall mean: a start.
pub fn pearson_dispersion(data: &GlmmData) -> f64 {
    let wsum: f64 = data.weights.iter().sum();
    let mean = data.y.iter().zip(&data.weights).map(|(y, w)| y * w).sum::<f64>() / wsum;
    let v = data.dist.variance(mean).max(1e-12);
    let x2: f64 = data.y.iter().zip(&data.weights).map(|(y, w)| w * (y - mean).powi(2) / v).sum();
    (x2 / data.n as f64).max(1e-8)
}

/// Values a family's response may take.
pub fn check_response(dist: Distribution, y: &[f64], _weights: &[f64]) -> Result<()> {
    let bad = match dist {
        Distribution::Bernoulli => y.iter().position(|&v| v != 0.0 && v != 1.0),
        Distribution::Binomial => y.iter().position(|&v| !(0.0..=1.0).contains(&v)),
        Distribution::Poisson | Distribution::NegBinomial { .. } => y.iter().position(|&v| v < 0.0),
        Distribution::Gamma | Distribution::InverseGaussian => y.iter().position(|&v| v <= 0.0),
        Distribution::Gaussian => None,
    };
    if let Some(i) = bad {
        return Err(EngineError::Input(format!("response value {} (observation {}) is not valid for the family", y[i], i + 1)));
    }
    // Non-integer binomial successes are allowed (glm warns and fits; the
    // log-likelihood then uses the continuous binomial coefficient).
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_logit_fast_path_equals_the_general_formulas() {
        for &(dist, y, wt) in &[
            (Distribution::Bernoulli, 1.0, 1.0),
            (Distribution::Bernoulli, 0.0, 2.5),
            (Distribution::Binomial, 0.3, 10.0),
            (Distribution::Binomial, 0.0, 4.0),
            (Distribution::Binomial, 1.0, 3.0),
        ] {
            let data =
                GlmmData { n: 1, p: 0, y: vec![y], x: vec![], weights: vec![wt], offset: vec![0.0], dist, link: Link::Logit, phi: 1.0 };
            for &eta in &[-30.0, -2.0, -0.1, 0.0, 0.7, 3.0, 25.0] {
                let fast = data.obs_terms(0, eta);
                let mu = dist.clamp_mu(Link::Logit.linkinv(eta));
                let dev = dist.dev_resid(y, mu, wt);
                let m1 = Link::Logit.mu_eta(eta);
                let tol = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
                // (the general formulas lose precision in 1 - mu for large |eta|)
                if eta.abs() < 20.0 {
                    assert!(tol(fast.dev, dev), "{dist:?} y={y} eta={eta}: {} vs {dev}", fast.dev);
                    assert!(tol(fast.d1, -2.0 * wt * (y - mu) * m1 / dist.variance(mu)), "d1");
                    assert!(tol(fast.w, wt * m1 * m1 / dist.variance(mu)), "w");
                }
                let h = 1e-6;
                let w_num = (data.obs_terms(0, eta + h).w - data.obs_terms(0, eta - h).w) / (2.0 * h);
                assert!((fast.w1 - w_num).abs() < 1e-6, "w1");
                let d1_num = (data.obs_terms(0, eta + h).d1 - data.obs_terms(0, eta - h).d1) / (2.0 * h);
                assert!((fast.d2 - d1_num).abs() < 1e-5 * (1.0 + d1_num.abs()), "d2");
                let dev_num = (data.obs_terms(0, eta + h).dev - data.obs_terms(0, eta - h).dev) / (2.0 * h);
                if eta.abs() < 20.0 {
                    assert!((fast.d1 - dev_num).abs() < 1e-5 * (1.0 + dev_num.abs()), "d1 vs dev");
                }
            }
        }
    }
}
