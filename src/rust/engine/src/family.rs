//! Response distributions and link functions: what PIRLS and the Laplace /
//! quadrature objective need from a GLM family. The log-likelihood keeps its
//! normalising constants, so every nAGQ reports -2 log L on one scale.

use crate::error::{EngineError, Result};
use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    Bernoulli,
    /// Binomial proportions with the number of trials as prior weights.
    Binomial,
    Poisson,
    Gaussian,
    Gamma,
    InverseGaussian,
    /// Negative binomial with variance mu + mu^2 / theta (glmmTMB's
    /// nbinom2); theta is estimated with the other parameters unless fixed.
    NegBinomial {
        theta: f64,
        fixed: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Identity,
    Log,
    Logit,
    Probit,
    Cloglog,
    Cauchit,
    Inverse,
    Sqrt,
    InverseSquare,
}

impl Distribution {
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "bernoulli" => Distribution::Bernoulli,
            "binomial" => Distribution::Binomial,
            "poisson" => Distribution::Poisson,
            "gaussian" => Distribution::Gaussian,
            "Gamma" => Distribution::Gamma,
            "inverse.gaussian" => Distribution::InverseGaussian,
            "nbinom2" => Distribution::NegBinomial { theta: 1.0, fixed: false },
            _ => {
                // "nbinom2:<theta>": theta fixed (MASS::negative.binomial)
                if let Some(t) = name.strip_prefix("nbinom2:").and_then(|v| v.parse::<f64>().ok()) {
                    if t.is_finite() && t > 0.0 {
                        return Ok(Distribution::NegBinomial { theta: t, fixed: true });
                    }
                }
                return Err(EngineError::Input(format!("unknown family `{name}`")));
            }
        })
    }

    /// Is a parameter besides theta and beta estimated: the dispersion phi,
    /// or the negative binomial's theta (unless fixed)?
    pub fn has_extra_parameter(self) -> bool {
        self.has_scale() || matches!(self, Distribution::NegBinomial { fixed: false, .. })
    }

    /// Does the family have a dispersion parameter to estimate?
    pub fn has_scale(self) -> bool {
        matches!(self, Distribution::Gaussian | Distribution::Gamma | Distribution::InverseGaussian)
    }

    /// Variance function V(mu).
    #[inline]
    pub fn variance(self, mu: f64) -> f64 {
        match self {
            Distribution::Bernoulli | Distribution::Binomial => mu * (1.0 - mu),
            Distribution::Poisson => mu,
            Distribution::Gaussian => 1.0,
            Distribution::Gamma => mu * mu,
            Distribution::InverseGaussian => mu * mu * mu,
            Distribution::NegBinomial { theta, .. } => mu + mu * mu / theta,
        }
    }

    /// dV/dmu.
    #[inline]
    pub fn variance_deriv(self, mu: f64) -> f64 {
        match self {
            Distribution::Bernoulli | Distribution::Binomial => 1.0 - 2.0 * mu,
            Distribution::Poisson => 1.0,
            Distribution::Gaussian => 0.0,
            Distribution::Gamma => 2.0 * mu,
            Distribution::InverseGaussian => 3.0 * mu * mu,
            Distribution::NegBinomial { theta, .. } => 1.0 + 2.0 * mu / theta,
        }
    }

    /// d^2 V / d mu^2.
    #[inline]
    pub fn variance_deriv2(self, mu: f64) -> f64 {
        match self {
            Distribution::Bernoulli | Distribution::Binomial => -2.0,
            Distribution::Poisson | Distribution::Gaussian => 0.0,
            Distribution::Gamma => 2.0,
            Distribution::InverseGaussian => 6.0 * mu,
            Distribution::NegBinomial { theta, .. } => 2.0 / theta,
        }
    }

    /// Can the family have this mean (before rounding is clamped away)? A
    /// link such as log, identity or inverse can leave the range: the
    /// deviance is then infinite, as glm's `validmu` refuses it.
    #[inline]
    pub fn valid_mu(self, mu: f64) -> bool {
        match self {
            Distribution::Bernoulli | Distribution::Binomial => (0.0..=1.0).contains(&mu),
            Distribution::Poisson | Distribution::Gamma | Distribution::InverseGaussian | Distribution::NegBinomial { .. } => mu >= 0.0,
            Distribution::Gaussian => mu.is_finite(),
        }
    }

    /// Keep mu inside the family's support where rounding would leave it.
    #[inline]
    pub fn clamp_mu(self, mu: f64) -> f64 {
        const EPS: f64 = 1e-15;
        match self {
            Distribution::Bernoulli | Distribution::Binomial => mu.clamp(EPS, 1.0 - EPS),
            Distribution::Poisson | Distribution::Gamma | Distribution::InverseGaussian | Distribution::NegBinomial { .. } => {
                mu.max(1e-300)
            }
            Distribution::Gaussian => mu,
        }
    }

    /// -2 log p(y | mu) for one observation with prior weight wt (the number
    /// of trials for Binomial) and dispersion phi (ignored without a scale).
    #[inline]
    pub fn neg2_loglik(self, y: f64, mu: f64, wt: f64, phi: f64) -> f64 {
        match self {
            Distribution::Bernoulli => {
                // y is 0 or 1; weights multiply the log-likelihood
                let p = if y > 0.5 { mu } else { 1.0 - mu };
                -2.0 * wt * p.ln()
            }
            Distribution::Binomial => {
                // y a proportion of wt trials. A non-integer number of
                // successes (glm warns) keeps its value in the terms of mu
                // and rounds in the binomial coefficient, as glm's aic()
                // (glmmTMB's value for proportions of one trial)
                let m = wt;
                let s = m * y;
                let f = m - s;
                let (sr, fr) = (s.round(), f.round());
                let mut ll = ln_gamma(m + 1.0) - ln_gamma(sr + 1.0) - ln_gamma(fr + 1.0);
                if s > 0.0 {
                    ll += s * mu.ln();
                }
                if f > 0.0 {
                    ll += f * (1.0 - mu).ln();
                }
                -2.0 * ll
            }
            Distribution::Poisson => {
                let ll = if y > 0.0 { y * mu.ln() } else { 0.0 } - mu - ln_gamma(y + 1.0);
                -2.0 * wt * ll
            }
            Distribution::Gaussian => {
                // phi is the variance sigma^2; wt scales the precision
                let r = y - mu;
                (2.0 * PI * phi / wt).ln() + wt * r * r / phi
            }
            Distribution::Gamma => {
                // shape nu = wt / phi, mean mu
                let nu = wt / phi;
                let ll = nu * (nu * y / mu).ln() - nu * y / mu - y.ln() - ln_gamma(nu);
                -2.0 * ll
            }
            Distribution::InverseGaussian => {
                let lambda = wt / phi;
                let r = y - mu;
                let ll = 0.5 * (lambda / (2.0 * PI * y * y * y)).ln() - lambda * r * r / (2.0 * mu * mu * y);
                -2.0 * ll
            }
            Distribution::NegBinomial { theta, .. } => {
                // written to stay exact as theta grows (the Poisson limit):
                // log p = D - lgamma(y + 1) - (theta + y) ln(1 + mu / theta)
                // + y ln mu, D = lgamma(y + theta) - lgamma(theta) - y ln theta
                let d = if theta > 1e7 * (1.0 + y * y) {
                    y * (y - 1.0) / (2.0 * theta)
                } else {
                    ln_gamma(y + theta) - ln_gamma(theta) - y * theta.ln()
                };
                let mut ll = d - ln_gamma(y + 1.0) - (theta + y) * (mu / theta).ln_1p();
                if y > 0.0 {
                    ll += y * mu.ln();
                }
                -2.0 * wt * ll
            }
        }
    }

    /// Unit deviance residual d(y, mu) times the prior weight (as glm's
    /// dev.resids): twice the log-likelihood ratio against the saturated model.
    #[inline]
    pub fn dev_resid(self, y: f64, mu: f64, wt: f64) -> f64 {
        let ylogy = |a: f64, b: f64| if a > 0.0 { a * (a / b).ln() } else { 0.0 };
        match self {
            Distribution::Bernoulli | Distribution::Binomial => 2.0 * wt * (ylogy(y, mu) + ylogy(1.0 - y, 1.0 - mu)),
            Distribution::Poisson => 2.0 * wt * (ylogy(y, mu) - (y - mu)),
            Distribution::Gaussian => wt * (y - mu) * (y - mu),
            Distribution::Gamma => -2.0 * wt * ((y / mu).ln() - (y - mu) / mu),
            Distribution::InverseGaussian => wt * (y - mu) * (y - mu) / (y * mu * mu),
            Distribution::NegBinomial { theta, .. } => {
                // ln((y + theta) / (mu + theta)) through ln_1p: exact as theta grows
                2.0 * wt * (ylogy(y, mu) - (y + theta) * ((y - mu) / (mu + theta)).ln_1p())
            }
        }
    }
}

impl Link {
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "identity" => Link::Identity,
            "log" => Link::Log,
            "logit" => Link::Logit,
            "probit" => Link::Probit,
            "cloglog" => Link::Cloglog,
            "cauchit" => Link::Cauchit,
            "inverse" => Link::Inverse,
            "sqrt" => Link::Sqrt,
            "1/mu^2" => Link::InverseSquare,
            _ => return Err(EngineError::Input(format!("unknown link `{name}`"))),
        })
    }

    #[inline]
    pub fn linkfun(self, mu: f64) -> f64 {
        match self {
            Link::Identity => mu,
            Link::Log => mu.ln(),
            Link::Logit => (mu / (1.0 - mu)).ln(),
            Link::Probit => normal_quantile(mu),
            Link::Cloglog => (-(1.0 - mu).ln()).ln(),
            Link::Cauchit => (PI * (mu - 0.5)).tan(),
            Link::Inverse => 1.0 / mu,
            Link::Sqrt => mu.sqrt(),
            Link::InverseSquare => 1.0 / (mu * mu),
        }
    }

    /// Is eta on the link's principal branch (glm's `valideta`)? The sqrt
    /// and 1/mu^2 links are one to one only for eta > 0: mu = eta^2 gives
    /// every level a second, mirrored mode.
    #[inline]
    pub fn valid_eta(self, eta: f64) -> bool {
        match self {
            Link::Sqrt | Link::InverseSquare => eta > 0.0,
            Link::Inverse => eta != 0.0,
            _ => !eta.is_nan(),
        }
    }

    #[inline]
    pub fn linkinv(self, eta: f64) -> f64 {
        match self {
            Link::Identity => eta,
            Link::Log => eta.exp(),
            Link::Logit => 1.0 / (1.0 + (-eta).exp()),
            Link::Probit => normal_cdf(eta),
            Link::Cloglog => -(-(eta.exp())).exp_m1(),
            Link::Cauchit => 0.5 + eta.atan() / PI,
            Link::Inverse => 1.0 / eta,
            Link::Sqrt => eta * eta,
            Link::InverseSquare => 1.0 / eta.sqrt(),
        }
    }

    /// d mu / d eta.
    #[inline]
    pub fn mu_eta(self, eta: f64) -> f64 {
        match self {
            Link::Identity => 1.0,
            Link::Log => eta.exp(),
            Link::Logit => {
                let e = (-eta.abs()).exp();
                e / ((1.0 + e) * (1.0 + e))
            }
            Link::Probit => (-0.5 * eta * eta).exp() / (2.0 * PI).sqrt(),
            Link::Cloglog => {
                let e = eta.min(700.0).exp();
                e * (-e).exp()
            }
            Link::Cauchit => 1.0 / (PI * (1.0 + eta * eta)),
            Link::Inverse => -1.0 / (eta * eta),
            Link::Sqrt => 2.0 * eta,
            Link::InverseSquare => -0.5 / eta.powf(1.5),
        }
    }
}

impl Link {
    /// (mu, d mu / d eta, d^2 mu / d eta^2) together, sharing one
    /// exponential for the logit and log links (the hot path of PIRLS and
    /// the quadrature).
    #[inline]
    pub fn inv_derivs(self, eta: f64) -> (f64, f64, f64) {
        match self {
            Link::Logit => {
                let mu = 1.0 / (1.0 + (-eta).exp());
                let m1 = mu * (1.0 - mu);
                (mu, m1, m1 * (1.0 - 2.0 * mu))
            }
            Link::Log => {
                let e = eta.exp();
                (e, e, e)
            }
            Link::Identity => (eta, 1.0, 0.0),
            _ => (self.linkinv(eta), self.mu_eta(eta), self.mu_eta_deriv(eta)),
        }
    }

    /// d^2 mu / d eta^2.
    #[inline]
    pub fn mu_eta_deriv(self, eta: f64) -> f64 {
        match self {
            Link::Identity => 0.0,
            Link::Log => eta.exp(),
            Link::Logit => {
                let mu = self.linkinv(eta);
                mu * (1.0 - mu) * (1.0 - 2.0 * mu)
            }
            Link::Probit => -eta * (-0.5 * eta * eta).exp() / (2.0 * PI).sqrt(),
            Link::Cloglog => {
                let e = eta.min(700.0).exp();
                e * (-e).exp() * (1.0 - e)
            }
            Link::Cauchit => -2.0 * eta / (PI * (1.0 + eta * eta).powi(2)),
            Link::Inverse => 2.0 / (eta * eta * eta),
            Link::Sqrt => 2.0,
            Link::InverseSquare => 0.75 / eta.powf(2.5),
        }
    }
}

impl Link {
    /// d^3 mu / d eta^3: the observed information's derivative along eta
    /// (the exact gradient of the true Laplace approximation needs it).
    #[inline]
    pub fn mu_eta_deriv2(self, eta: f64) -> f64 {
        match self {
            Link::Identity | Link::Sqrt => 0.0,
            Link::Log => eta.exp(),
            Link::Logit => {
                let mu = self.linkinv(eta);
                let m1 = mu * (1.0 - mu);
                m1 * (1.0 - 2.0 * mu) * (1.0 - 2.0 * mu) - 2.0 * m1 * m1
            }
            Link::Probit => (eta * eta - 1.0) * (-0.5 * eta * eta).exp() / (2.0 * PI).sqrt(),
            Link::Cloglog => {
                let e = eta.min(700.0).exp();
                e * (-e).exp() * ((1.0 - e) * (1.0 - e) - e)
            }
            Link::Cauchit => (6.0 * eta * eta - 2.0) / (PI * (1.0 + eta * eta).powi(3)),
            Link::Inverse => -6.0 / (eta * eta * eta * eta),
            Link::InverseSquare => -1.875 / eta.powf(3.5),
        }
    }
}

/// Standard normal distribution function (erfc-based, ~1e-15 relative).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile (Acklam's rational approximation refined by one
/// Newton step on the cdf).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
    let b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    let c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    let d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let pl = 0.02425;
    let x = if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    };
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINKS: [Link; 9] = [
        Link::Identity,
        Link::Log,
        Link::Logit,
        Link::Probit,
        Link::Cloglog,
        Link::Cauchit,
        Link::Inverse,
        Link::Sqrt,
        Link::InverseSquare,
    ];

    #[test]
    fn linkinv_inverts_linkfun_and_mu_eta_is_its_derivative() {
        for &link in &LINKS {
            for &mu in &[0.05, 0.3, 0.5, 0.8, 0.95] {
                let eta = link.linkfun(mu);
                assert!((link.linkinv(eta) - mu).abs() < 1e-12, "{link:?} at {mu}");
                let h = 1e-6;
                let num = (link.linkinv(eta + h) - link.linkinv(eta - h)) / (2.0 * h);
                assert!((num - link.mu_eta(eta)).abs() < 1e-6 * (1.0 + num.abs()), "{link:?} d/deta at {mu}");
            }
        }
    }

    #[test]
    fn second_derivatives_match_finite_differences() {
        for &link in &LINKS {
            for &mu in &[0.1, 0.4, 0.7] {
                let eta = link.linkfun(mu);
                let h = 1e-6;
                let num = (link.mu_eta(eta + h) - link.mu_eta(eta - h)) / (2.0 * h);
                assert!((num - link.mu_eta_deriv(eta)).abs() < 1e-5 * (1.0 + num.abs()), "{link:?} at {mu}");
            }
        }
        for &link in &LINKS {
            for &mu in &[0.1, 0.4, 0.7] {
                let eta = link.linkfun(mu);
                let h = 1e-5;
                let num = (link.mu_eta_deriv(eta + h) - link.mu_eta_deriv(eta - h)) / (2.0 * h);
                assert!((num - link.mu_eta_deriv2(eta)).abs() < 1e-5 * (1.0 + num.abs()), "{link:?} third at {mu}");
            }
        }
        for &d in &[
            Distribution::Binomial,
            Distribution::Poisson,
            Distribution::Gaussian,
            Distribution::Gamma,
            Distribution::InverseGaussian,
            Distribution::NegBinomial { theta: 2.5, fixed: false },
        ] {
            let h = 1e-6;
            let num = (d.variance(0.3 + h) - d.variance(0.3 - h)) / (2.0 * h);
            assert!((num - d.variance_deriv(0.3)).abs() < 1e-6, "{d:?}");
            let num2 = (d.variance_deriv(0.3 + h) - d.variance_deriv(0.3 - h)) / (2.0 * h);
            assert!((num2 - d.variance_deriv2(0.3)).abs() < 1e-6, "{d:?} second");
        }
    }

    #[test]
    fn joint_derivatives_equal_the_separate_ones() {
        for &link in &LINKS {
            for &mu in &[0.1, 0.4, 0.7] {
                let eta = link.linkfun(mu);
                let (a, b, c) = link.inv_derivs(eta);
                assert!((a - link.linkinv(eta)).abs() < 1e-12);
                assert!((b - link.mu_eta(eta)).abs() < 1e-12 * (1.0 + b.abs()));
                assert!((c - link.mu_eta_deriv(eta)).abs() < 1e-10 * (1.0 + c.abs()), "{link:?}");
            }
        }
    }

    #[test]
    fn log_likelihoods_match_closed_forms() {
        // Bernoulli / binomial against choose() by hand
        let b = Distribution::Binomial.neg2_loglik(0.3, 0.4, 10.0, 1.0);
        let want = -2.0 * ((120.0f64).ln() + 3.0 * 0.4f64.ln() + 7.0 * 0.6f64.ln());
        assert!((b - want).abs() < 1e-10);
        let p = Distribution::Poisson.neg2_loglik(3.0, 2.0, 1.0, 1.0);
        let want = -2.0 * (3.0 * 2.0f64.ln() - 2.0 - 6.0f64.ln());
        assert!((p - want).abs() < 1e-10);
        // negative binomial against its probability mass, sum to one and mean
        let nb = Distribution::NegBinomial { theta: 1.7, fixed: false };
        let (mu, theta) = (2.3f64, 1.7f64);
        let pmf = |k: f64| (-0.5 * nb.neg2_loglik(k, mu, 1.0, 1.0)).exp();
        let want = (ln_gamma(3.0 + theta) - ln_gamma(theta) - ln_gamma(4.0)).exp()
            * (theta / (theta + mu)).powf(theta)
            * (mu / (theta + mu)).powi(3);
        assert!((pmf(3.0) - want).abs() < 1e-12);
        let (mut total, mut mean, mut second) = (0.0, 0.0, 0.0);
        for k in 0..400 {
            let p = pmf(k as f64);
            total += p;
            mean += k as f64 * p;
            second += (k * k) as f64 * p;
        }
        assert!((total - 1.0).abs() < 1e-10 && (mean - mu).abs() < 1e-8);
        assert!((second - mean * mean - nb.variance(mu)).abs() < 1e-7);
        // the Poisson limit, without loss of precision
        let big = Distribution::NegBinomial { theta: 1e12, fixed: true };
        let pois = Distribution::Poisson;
        assert!((big.neg2_loglik(3.0, 2.0, 1.0, 1.0) - pois.neg2_loglik(3.0, 2.0, 1.0, 1.0)).abs() < 1e-9);
        assert!((big.dev_resid(3.0, 2.0, 1.0) - pois.dev_resid(3.0, 2.0, 1.0)).abs() < 1e-9);
        let g = Distribution::Gaussian.neg2_loglik(1.0, 0.5, 1.0, 2.0);
        let want = (2.0 * PI * 2.0).ln() + 0.25 / 2.0;
        assert!((g - want).abs() < 1e-12);
    }

    #[test]
    fn deviance_residual_is_the_loglik_ratio_to_the_saturated_model() {
        for &(fam, y, mu, wt) in &[
            (Distribution::Binomial, 0.3, 0.4, 10.0),
            (Distribution::Poisson, 3.0, 2.0, 1.0),
            (Distribution::Bernoulli, 1.0, 0.7, 1.0),
            (Distribution::NegBinomial { theta: 1.7, fixed: false }, 3.0, 2.0, 1.0),
            (Distribution::NegBinomial { theta: 0.4, fixed: false }, 0.0, 1.3, 2.0),
        ] {
            let sat = if fam == Distribution::Bernoulli { 0.0 } else { fam.neg2_loglik(y, y, wt, 1.0) };
            let d = fam.neg2_loglik(y, mu, wt, 1.0) - sat;
            assert!((d - fam.dev_resid(y, mu, wt)).abs() < 1e-10, "{fam:?}");
        }
    }

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        for &p in &[1e-10, 0.001, 0.02, 0.3, 0.5, 0.9, 0.999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-12 * p.max(1e-3));
        }
        let v = normal_cdf(1.959963984540054);
        // statrs erfc is good to about 1e-12 relative
        assert!((v - 0.975).abs() < 1e-11, "{v}");
    }
}
