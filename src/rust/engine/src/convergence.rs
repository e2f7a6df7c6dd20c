//! The convergence check at an optimum: the gradient g and Hessian H of the
//! objective by central differences of its values (steps 1e-4 (1 + |x|)),
//! or H by forward differences of an exact gradient; then max |g|, the
//! scaled gradient max |H^{-1} g| (the Newton step to the optimum of the
//! local quadratic, which R compares with `check_tol`) and whether H is
//! positive definite. Parameters held (on the boundary, or not optimised)
//! are left out.
//!
//! lme4's checkConv (lme4 1.1-31, R/checkConv.R) differs: its derivatives
//! (`deriv12`, central differences with a fixed step of 1e-4) scale the
//! gradient by the Cholesky factor, R^{-1} g with H = R'R, and it warns when
//! some component's min(|R^{-1} g|, |g|) exceeds 0.002; a singular fit skips
//! that test instead of leaving its boundary parameters out; and H is tested
//! by its eigenvalues. The two scaled gradients are not the same number.
//!
//! The check is capped by a budget of objective evaluations: the central
//! differences of the full Hessian cost 2 k^2 evaluations for k free
//! parameters (hours for a model with a thousand variance parameters). Above
//! `MAX_HESSIAN_PARAMS`, or beyond the budget, the Hessian is skipped (the
//! gradient alone, 2 k evaluations, is still computed if the budget allows),
//! and `skipped` says why, so that the caller reports a skipped check rather
//! than a failed one.

use crate::error::Result;
use crate::memory::fmt_count;
use crate::optimizer::fd_step;
use nalgebra::DMatrix;

/// The most free parameters a Hessian is computed for.
pub const MAX_HESSIAN_PARAMS: usize = 100;

/// Evaluations any check may spend, whatever the optimizer spent.
pub const MIN_CHECK_BUDGET: usize = 2_000;

/// The evaluations a check may spend after an optimizer spent
/// `optimizer_evals`: twice as many, and at least `MIN_CHECK_BUDGET` (all
/// models up to 31 free parameters; larger ones when their optimisation was
/// costly anyway).
pub fn check_budget(optimizer_evals: usize) -> usize {
    MIN_CHECK_BUDGET.max(optimizer_evals.saturating_mul(2))
}

#[derive(Debug, Clone, Default)]
pub struct ConvergenceCheck {
    /// Zeros where it was not computed (see `skipped`).
    pub gradient: Vec<f64>,
    /// Column-major Hessian over all parameters (boundary rows/columns 0);
    /// empty when it was skipped.
    pub hessian: Vec<f64>,
    /// max |H^{-1} g| over the free parameters (NaN if H is not invertible).
    pub max_scaled_gradient: f64,
    pub max_abs_gradient: f64,
    pub hessian_positive_definite: bool,
    /// Empty when the Hessian was computed; else why it was not.
    pub skipped: String,
}

/// Why the Hessian of k free parameters, costing `hessian_evals`
/// evaluations, is skipped (beyond the cap or the budget); None if it is not.
fn over_budget(k: usize, hessian_evals: f64, budget: usize) -> Option<String> {
    if k > MAX_HESSIAN_PARAMS {
        return Some(format!("{} free parameters; the Hessian is computed for at most {}", fmt_count(k as f64), MAX_HESSIAN_PARAMS));
    }
    if hessian_evals > budget as f64 {
        return Some(format!(
            "{} free parameters: the Hessian would take {} objective evaluations, beyond the budget of {}",
            fmt_count(k as f64),
            fmt_count(hessian_evals),
            fmt_count(budget as f64)
        ));
    }
    None
}

/// The check when the Hessian is skipped: the gradient (if computed) and
/// the reason.
fn gradient_only(gradient: Vec<f64>, idx: &[usize], reason: String) -> ConvergenceCheck {
    let max_abs_gradient = idx.iter().map(|&i| gradient[i].abs()).fold(0.0, f64::max);
    ConvergenceCheck {
        gradient,
        hessian: Vec::new(),
        max_scaled_gradient: f64::NAN,
        max_abs_gradient,
        hessian_positive_definite: false,
        skipped: reason,
    }
}

/// The check by central differences of objective values, within `budget`
/// evaluations (see `check_budget`).
pub fn check_optimum<F>(mut f: F, par: &[f64], free: &[bool], budget: usize) -> Result<ConvergenceCheck>
where
    F: FnMut(&[f64]) -> Result<f64>,
{
    let n = par.len();
    let idx: Vec<usize> = (0..n).filter(|&i| free[i]).collect();
    let k = idx.len() as f64;
    let skip = over_budget(idx.len(), 1.0 + 2.0 * k * k, budget);
    if let Some(reason) = &skip {
        if 1.0 + 2.0 * k > budget as f64 {
            return Ok(gradient_only(vec![0.0; n], &idx, format!("{reason}; the gradient was not computed either")));
        }
    }
    let f0 = f(par)?;
    let mut gradient = vec![0.0; n];
    let mut hessian = if skip.is_some() { Vec::new() } else { vec![0.0; n * n] };
    let mut x = par.to_vec();
    let mut fplus = vec![0.0; n];
    let mut fminus = vec![0.0; n];
    for &i in &idx {
        let h = fd_step(par[i]) * 10.0;
        x[i] = par[i] + h;
        fplus[i] = f(&x)?;
        x[i] = par[i] - h;
        fminus[i] = f(&x)?;
        x[i] = par[i];
        gradient[i] = (fplus[i] - fminus[i]) / (2.0 * h);
        if skip.is_none() {
            hessian[i + i * n] = (fplus[i] - 2.0 * f0 + fminus[i]) / (h * h);
        }
    }
    if let Some(reason) = skip {
        return Ok(gradient_only(gradient, &idx, reason));
    }
    for (a, &i) in idx.iter().enumerate() {
        for &j in &idx[a + 1..] {
            let hi = fd_step(par[i]) * 10.0;
            let hj = fd_step(par[j]) * 10.0;
            let mut e = |si: f64, sj: f64| -> Result<f64> {
                x[i] = par[i] + si * hi;
                x[j] = par[j] + sj * hj;
                let v = f(&x);
                x[i] = par[i];
                x[j] = par[j];
                v
            };
            let v = (e(1.0, 1.0)? - e(1.0, -1.0)? - e(-1.0, 1.0)? + e(-1.0, -1.0)?) / (4.0 * hi * hj);
            hessian[i + j * n] = v;
            hessian[j + i * n] = v;
        }
    }
    Ok(summarise(gradient, hessian, &idx, n))
}

/// The same check from exact gradients: the Hessian by forward differences
/// of the gradient (k gradient evaluations for k free parameters, each
/// counted as one evaluation of the budget), symmetrised.
pub fn check_optimum_with_gradient<F>(mut fg: F, par: &[f64], free: &[bool], budget: usize) -> Result<ConvergenceCheck>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    let n = par.len();
    let (_, g0) = fg(par)?;
    let idx: Vec<usize> = (0..n).filter(|&i| free[i]).collect();
    let mut gradient = vec![0.0; n];
    for &i in &idx {
        gradient[i] = g0[i];
    }
    if let Some(reason) = over_budget(idx.len(), 1.0 + idx.len() as f64, budget) {
        return Ok(gradient_only(gradient, &idx, reason));
    }
    let mut hessian = vec![0.0; n * n];
    let mut x = par.to_vec();
    for &i in &idx {
        // exact gradients allow a small step: the O(h) error stays ~1e-5
        let h = fd_step(par[i]);
        x[i] = par[i] + h;
        let (_, gp) = fg(&x)?;
        x[i] = par[i];
        for &j in &idx {
            hessian[j + i * n] = (gp[j] - g0[j]) / h;
        }
    }
    for (a, &i) in idx.iter().enumerate() {
        for &j in &idx[a + 1..] {
            let v = 0.5 * (hessian[i + j * n] + hessian[j + i * n]);
            hessian[i + j * n] = v;
            hessian[j + i * n] = v;
        }
    }
    Ok(summarise(gradient, hessian, &idx, n))
}

fn summarise(gradient: Vec<f64>, hessian: Vec<f64>, idx: &[usize], n: usize) -> ConvergenceCheck {
    let k = idx.len();
    let hf = DMatrix::from_fn(k, k, |a, b| hessian[idx[a] + idx[b] * n]);
    let gf = DMatrix::from_fn(k, 1, |a, _| gradient[idx[a]]);
    let max_abs_gradient = idx.iter().map(|&i| gradient[i].abs()).fold(0.0, f64::max);
    let (pd, scaled) = match hf.cholesky() {
        Some(ch) => {
            let s = ch.solve(&gf);
            (true, s.iter().map(|v| v.abs()).fold(0.0, f64::max))
        }
        None => (k == 0, if k == 0 { 0.0 } else { f64::NAN }),
    };
    ConvergenceCheck {
        gradient,
        hessian,
        max_scaled_gradient: scaled,
        max_abs_gradient,
        hessian_positive_definite: pd,
        skipped: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_has_zero_gradient_and_exact_hessian() {
        let f = |x: &[f64]| -> Result<f64> { Ok(2.0 * x[0] * x[0] + x[0] * x[1] + 3.0 * x[1] * x[1]) };
        let c = check_optimum(f, &[0.0, 0.0], &[true, true], MIN_CHECK_BUDGET).unwrap();
        assert!(c.max_abs_gradient < 1e-8);
        assert!(c.hessian_positive_definite);
        assert!((c.hessian[0] - 4.0).abs() < 1e-5);
        assert!((c.hessian[1] - 1.0).abs() < 1e-5);
        assert!((c.hessian[3] - 6.0).abs() < 1e-5);
    }

    #[test]
    fn gradient_based_check_agrees_with_the_value_based_one() {
        let f = |x: &[f64]| -> Result<f64> { Ok(2.0 * x[0] * x[0] + x[0] * x[1] + 3.0 * x[1] * x[1] + x[1].powi(4)) };
        let fg = |x: &[f64]| -> Result<(f64, Vec<f64>)> { Ok((f(x)?, vec![4.0 * x[0] + x[1], x[0] + 6.0 * x[1] + 4.0 * x[1].powi(3)])) };
        let p = [0.3, -0.2];
        let a = check_optimum(f, &p, &[true, true], MIN_CHECK_BUDGET).unwrap();
        let b = check_optimum_with_gradient(fg, &p, &[true, true], MIN_CHECK_BUDGET).unwrap();
        for i in 0..4 {
            assert!((a.hessian[i] - b.hessian[i]).abs() < 1e-3, "{:?} vs {:?}", a.hessian, b.hessian);
        }
        assert!((a.gradient[0] - b.gradient[0]).abs() < 1e-6);
    }

    #[test]
    fn saddle_is_not_positive_definite() {
        let f = |x: &[f64]| -> Result<f64> { Ok(x[0] * x[0] - x[1] * x[1]) };
        let c = check_optimum(f, &[0.0, 0.0], &[true, true], MIN_CHECK_BUDGET).unwrap();
        assert!(!c.hessian_positive_definite);
    }

    /// A quadratic whose evaluations are counted.
    fn counted_quadratic() -> (impl FnMut(&[f64]) -> Result<f64>, std::rc::Rc<std::cell::Cell<usize>>) {
        let count = std::rc::Rc::new(std::cell::Cell::new(0));
        let c = count.clone();
        let f = move |x: &[f64]| -> Result<f64> {
            c.set(c.get() + 1);
            Ok(x.iter().enumerate().map(|(i, v)| (1.0 + i as f64) * v * v).sum())
        };
        (f, count)
    }

    #[test]
    fn the_hessian_is_skipped_beyond_the_parameter_cap() {
        let k = MAX_HESSIAN_PARAMS + 1;
        let (f, count) = counted_quadratic();
        let c = check_optimum(f, &vec![0.1; k], &vec![true; k], 1_000_000).unwrap();
        // the gradient only: 1 + 2k evaluations, not 2k^2
        assert_eq!(count.get(), 1 + 2 * k);
        assert!(c.hessian.is_empty() && !c.hessian_positive_definite && c.max_scaled_gradient.is_nan());
        assert!(c.skipped.contains("101 free parameters"), "{}", c.skipped);
        // d/dx_i of (1 + i) x_i^2 at 0.1
        for i in 0..k {
            assert!((c.gradient[i] - 0.2 * (1.0 + i as f64)).abs() < 1e-6);
        }
        assert!((c.max_abs_gradient - 0.2 * k as f64).abs() < 1e-6);
    }

    #[test]
    fn the_hessian_is_skipped_beyond_the_evaluation_budget() {
        // 40 parameters: 2 * 40^2 + 1 = 3,201 evaluations for the Hessian
        let (f, count) = counted_quadratic();
        let c = check_optimum(f, &[0.0; 40], &[true; 40], 3_000).unwrap();
        assert_eq!(count.get(), 81);
        assert!(c.skipped.contains("3,201 objective evaluations"), "{}", c.skipped);
        let (f, count) = counted_quadratic();
        let c = check_optimum(f, &[0.0; 40], &[true; 40], 3_201).unwrap();
        assert_eq!(count.get(), 3_201);
        assert!(c.skipped.is_empty() && c.hessian_positive_definite);
        // a budget below even the gradient: nothing is evaluated
        let (f, count) = counted_quadratic();
        let c = check_optimum(f, &[0.0; 40], &[true; 40], 50).unwrap();
        assert_eq!(count.get(), 0);
        assert!(c.skipped.contains("not computed either"));
        assert_eq!(check_budget(10), MIN_CHECK_BUDGET);
        assert_eq!(check_budget(5_000), 10_000);
    }

    #[test]
    fn the_gradient_based_check_is_capped_too() {
        let k = MAX_HESSIAN_PARAMS + 5;
        let mut calls = 0;
        let fg = |x: &[f64]| -> Result<(f64, Vec<f64>)> {
            calls += 1;
            Ok((x.iter().map(|v| v * v).sum(), x.iter().map(|v| 2.0 * v).collect()))
        };
        let c = check_optimum_with_gradient(fg, &vec![0.5; k], &vec![true; k], 1_000_000).unwrap();
        assert_eq!(calls, 1);
        assert!(c.hessian.is_empty() && !c.skipped.is_empty());
        assert_eq!(c.gradient, vec![1.0; k]);
    }
}
