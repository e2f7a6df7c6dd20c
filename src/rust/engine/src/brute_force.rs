//! Dense reference computations for the unit tests: the same quantities as
//! the blocked system, computed the obvious (slow) way with nalgebra.

use crate::reterm::{lambda_from_theta, ReTerm};
use crate::testutil::Rng;
use nalgebra::{DMatrix, DVector};

/// A random problem: n observations, p fixed effects, the given terms.
pub struct Problem {
    pub n: usize,
    pub p: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub w: Vec<f64>,
    pub terms: Vec<ReTerm>,
}

/// Terms described by (levels, k, nesting parent index or None). A nested
/// term's levels are refined from its parent's (each parent level split).
pub fn random_problem(rng: &mut Rng, n: usize, p: usize, spec: &[(usize, usize, Option<usize>)]) -> Problem {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &(levels, _, parent) in spec {
        let g: Vec<usize> = match parent {
            None => {
                // every level used at least once
                (0..n).map(|i| if i < levels { i } else { rng.below(levels) }).collect()
            }
            Some(par) => {
                let pl = spec[par].0;
                let per = levels / pl;
                (0..n).map(|i| groups[par][i] * per + rng.below(per)).collect()
            }
        };
        groups.push(g);
    }
    let mut terms = Vec::new();
    for (t, &(levels, k, _)) in spec.iter().enumerate() {
        // relabel to keep only used levels
        let mut map = vec![usize::MAX; levels];
        let mut next = 0;
        let g: Vec<usize> = groups[t]
            .iter()
            .map(|&l| {
                if map[l] == usize::MAX {
                    map[l] = next;
                    next += 1;
                }
                map[l]
            })
            .collect();
        let z: Vec<f64> = (0..n * k).map(|e| if e % k == 0 { 1.0 } else { rng.normal() }).collect();
        terms.push(ReTerm::new(g, next, k, z).unwrap());
    }
    // the blocked system wants the largest term first
    terms.sort_by_key(|t| std::cmp::Reverse(t.nranef()));
    let x: Vec<f64> = (0..n * p).map(|e| if e < n { 1.0 } else { rng.normal() }).collect();
    let y: Vec<f64> = (0..n).map(|_| rng.normal() * 2.0 + 1.0).collect();
    let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
    Problem { n, p, x, y, w, terms }
}

pub fn dense_z(terms: &[ReTerm], n: usize) -> DMatrix<f64> {
    let q: usize = terms.iter().map(|t| t.nranef()).sum();
    let mut z = DMatrix::zeros(n, q);
    let mut off = 0;
    for t in terms {
        for i in 0..n {
            for a in 0..t.k {
                z[(i, off + t.group[i] * t.k + a)] = t.zrow(i)[a];
            }
        }
        off += t.nranef();
    }
    z
}

pub fn dense_lambda(terms: &[ReTerm], theta: &[f64]) -> DMatrix<f64> {
    let q: usize = terms.iter().map(|t| t.nranef()).sum();
    let mut lam = DMatrix::zeros(q, q);
    let (mut off, mut pos) = (0, 0);
    for t in terms {
        let l = lambda_from_theta(&theta[pos..pos + t.ntheta()], t.k);
        for lev in 0..t.nlevels {
            for r in 0..t.k {
                for c in 0..t.k {
                    lam[(off + lev * t.k + r, off + lev * t.k + c)] = l[r + c * t.k];
                }
            }
        }
        off += t.nranef();
        pos += t.ntheta();
    }
    lam
}

/// The full matrix [Lambda'Z' ; X' ; y'] W [Z Lambda, X, y] + I on the Z part.
pub fn dense_system(pr: &Problem, theta: &[f64]) -> DMatrix<f64> {
    let z = dense_z(&pr.terms, pr.n) * dense_lambda(&pr.terms, theta);
    let q = z.ncols();
    let x = DMatrix::from_column_slice(pr.n, pr.p, &pr.x);
    let mut full = DMatrix::zeros(pr.n, q + pr.p + 1);
    full.view_mut((0, 0), (pr.n, q)).copy_from(&z);
    full.view_mut((0, q), (pr.n, pr.p)).copy_from(&x);
    full.view_mut((0, q + pr.p), (pr.n, 1)).copy_from(&DMatrix::from_column_slice(pr.n, 1, &pr.y));
    let w = DMatrix::from_diagonal(&DVector::from_column_slice(&pr.w));
    let mut m = full.transpose() * w * &full;
    for i in 0..q {
        m[(i, i)] += 1.0;
    }
    m
}

/// -2 log-likelihood (ML) or REML criterion from the marginal distribution
/// y ~ N(X beta, sigma^2 (W^-1 + Z Lambda Lambda' Z')), profiled directly.
pub fn marginal_deviance(pr: &Problem, theta: &[f64], reml: bool) -> f64 {
    let zl = dense_z(&pr.terms, pr.n) * dense_lambda(&pr.terms, theta);
    let mut v = &zl * zl.transpose();
    for i in 0..pr.n {
        v[(i, i)] += 1.0 / pr.w[i];
    }
    let ch = v.clone().cholesky().unwrap();
    let logdet_v: f64 = 2.0 * ch.l().diagonal().iter().map(|d| d.ln()).sum::<f64>();
    let x = DMatrix::from_column_slice(pr.n, pr.p, &pr.x);
    let y = DVector::from_column_slice(&pr.y);
    let vix = ch.solve(&x);
    let viy = ch.solve(&y);
    let xtvx = x.transpose() * &vix;
    let beta = xtvx.clone().cholesky().unwrap().solve(&(x.transpose() * &viy));
    let r = &y - &x * &beta;
    let rvr = r.dot(&ch.solve(&r));
    let n = pr.n as f64;
    let p = pr.p as f64;
    let two_pi = 2.0 * std::f64::consts::PI;
    if reml {
        let ldx = 2.0 * xtvx.cholesky().unwrap().l().diagonal().iter().map(|d| d.ln()).sum::<f64>();
        let s2 = rvr / (n - p);
        (n - p) * (two_pi * s2).ln() + logdet_v + ldx + (n - p)
    } else {
        let s2 = rvr / n;
        n * (two_pi * s2).ln() + logdet_v + n
    }
}
