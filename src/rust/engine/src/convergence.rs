//! The convergence check at an optimum: central finite-difference gradient
//! and Hessian of the objective, the gradient scaled by the Hessian (the
//! Newton step, as lme4's check uses) and whether the Hessian is positive
//! definite. Parameters held at a boundary are left out of the check.

use crate::error::Result;
use crate::optimizer::fd_step;
use nalgebra::DMatrix;

#[derive(Debug, Clone, Default)]
pub struct ConvergenceCheck {
    pub gradient: Vec<f64>,
    /// Column-major Hessian over all parameters (boundary rows/columns 0).
    pub hessian: Vec<f64>,
    /// max |H^{-1} g| over the free parameters (NaN if H is not invertible).
    pub max_scaled_gradient: f64,
    pub max_abs_gradient: f64,
    pub hessian_positive_definite: bool,
}

pub fn check_optimum<F>(mut f: F, par: &[f64], free: &[bool]) -> Result<ConvergenceCheck>
where
    F: FnMut(&[f64]) -> Result<f64>,
{
    let n = par.len();
    let f0 = f(par)?;
    let idx: Vec<usize> = (0..n).filter(|&i| free[i]).collect();
    let mut gradient = vec![0.0; n];
    let mut hessian = vec![0.0; n * n];
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
        hessian[i + i * n] = (fplus[i] - 2.0 * f0 + fminus[i]) / (h * h);
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
/// of the gradient (n gradient evaluations), symmetrised.
pub fn check_optimum_with_gradient<F>(mut fg: F, par: &[f64], free: &[bool]) -> Result<ConvergenceCheck>
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
    ConvergenceCheck { gradient, hessian, max_scaled_gradient: scaled, max_abs_gradient, hessian_positive_definite: pd }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_has_zero_gradient_and_exact_hessian() {
        let f = |x: &[f64]| -> Result<f64> { Ok(2.0 * x[0] * x[0] + x[0] * x[1] + 3.0 * x[1] * x[1]) };
        let c = check_optimum(f, &[0.0, 0.0], &[true, true]).unwrap();
        assert!(c.max_abs_gradient < 1e-8);
        assert!(c.hessian_positive_definite);
        assert!((c.hessian[0] - 4.0).abs() < 1e-5);
        assert!((c.hessian[1] - 1.0).abs() < 1e-5);
        assert!((c.hessian[3] - 6.0).abs() < 1e-5);
    }

    #[test]
    fn gradient_based_check_agrees_with_the_value_based_one() {
        let f = |x: &[f64]| -> Result<f64> { Ok(2.0 * x[0] * x[0] + x[0] * x[1] + 3.0 * x[1] * x[1] + x[1].powi(4)) };
        let fg = |x: &[f64]| -> Result<(f64, Vec<f64>)> {
            Ok((f(x)?, vec![4.0 * x[0] + x[1], x[0] + 6.0 * x[1] + 4.0 * x[1].powi(3)]))
        };
        let p = [0.3, -0.2];
        let a = check_optimum(f, &p, &[true, true]).unwrap();
        let b = check_optimum_with_gradient(fg, &p, &[true, true]).unwrap();
        for i in 0..4 {
            assert!((a.hessian[i] - b.hessian[i]).abs() < 1e-3, "{:?} vs {:?}", a.hessian, b.hessian);
        }
        assert!((a.gradient[0] - b.gradient[0]).abs() < 1e-6);
    }

    #[test]
    fn saddle_is_not_positive_definite() {
        let f = |x: &[f64]| -> Result<f64> { Ok(x[0] * x[0] - x[1] * x[1]) };
        let c = check_optimum(f, &[0.0, 0.0], &[true, true]).unwrap();
        assert!(!c.hessian_positive_definite);
    }
}
