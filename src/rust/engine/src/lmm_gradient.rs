//! The exact gradient in theta of the profiled LMM deviance (ML) or REML
//! criterion, for any random-effects structure, prior weights and offsets.
//!
//! With y less the offset, M = Lambda' Z' W Z Lambda + I = L L' and
//!
//!   r2 = min over (u, beta) of ||W^{1/2} (y - Z Lambda u - X beta)||^2 + ||u||^2,
//!   d  = log |M| (+ log |C| for REML) + dof log r2 + terms free of theta,
//!
//! where dof is n (ML) or n - p (REML) and C = R_X R_X' = X'WX - B' M^{-1} B,
//! B = Lambda' Z' W X. Let theta_j be the element (a, b) of one term's
//! lambda, so that dLambda is that element's indicator at every level.
//!
//! - r2 is a minimum over (u, beta), so by the envelope theorem its
//!   derivative is the partial one, with u and beta held at the optimum:
//!   dr2 = -2 rw' Z dLambda u, rw = W (y - Z Lambda u - X beta). No
//!   derivative of u or beta is needed.
//! - d log |M| = tr(M^{-1} dM) = 2 tr(M^{-1} Lambda' Z' W Z dLambda)
//!   = 2 sum_i w_i (z_i' dLambda) M^{-1} a_i with a_i = Lambda' z_i. Only the
//!   blocks of M^{-1} at the levels that observation i joins are read, and
//!   the selected inverse holds exactly those (as for the GLMM gradient).
//! - REML: log |M| + log |C| = log |G'WG + diag(I, 0)| with G = [Z Lambda, X]
//!   (the determinant of the whole (u, beta) block of the factor). Only
//!   G's u columns move with theta, so its derivative is
//!   2 sum_i w_i (z_i' dLambda) P_u g_i, g_i = (a_i, x_i), P_u the u rows of
//!   the inverse of that block. By the block inverse,
//!   P_u g_i = M^{-1} a_i + F C^{-1} (F' a_i - x_i) with F = M^{-1} B: p more
//!   solves with M.
//!
//! Altogether, with v_i the vector that the trace reads (M^{-1} a_i or
//! P_u g_i) and u_i the random effects at observation i's levels,
//!
//!   dd/dtheta_j = 2 sum_i w_i (z_i' dLambda) (v_i - (dof / r2) r_i u_i),
//!
//! one pass over the observations for all of theta at once.

use crate::blocked::{BlockedSystem, Factor};
use crate::error::Result;
use crate::memory::try_zeros;
use crate::reterm::level_lambda_t_times;

/// The gradient of the profiled deviance (ML) or REML criterion in theta
/// at the factor `f` (of the system whose cross-products came from X, the
/// response less the offset `yo` and the weights `w`).
pub fn lmm_gradient(sys: &BlockedSystem, f: &Factor, x: &[f64], yo: &[f64], w: &[f64], reml: bool) -> Result<Vec<f64>> {
    let (n, p, q) = (sys.n, sys.p, sys.q());
    let nt = sys.terms.len();
    let lambdas = &f.lambdas;
    let (u, beta) = sys.solve_u_beta(f);
    let mut zb = vec![0.0; n];
    sys.z_times(&sys.lambda_times(lambdas, &u), &mut zb);
    let dof = if reml { (n - p) as f64 } else { n as f64 };
    let scale = dof / sys.pwrss(f);
    // REML: F = M^{-1} B and G = F C^{-1}, q-by-p column-major
    let (fm, gm) = if reml && p > 0 {
        let mut fm = try_zeros(q * p, "the REML gradient's solves")?;
        let mut wx = vec![0.0; n];
        for c in 0..p {
            for i in 0..n {
                wx[i] = w[i] * x[i + c * n];
            }
            let mut b = sys.zt_times(&wx);
            sys.lambda_t_times(lambdas, &mut b);
            sys.solve_m(f, &mut b);
            fm[c * q..(c + 1) * q].copy_from_slice(&b);
        }
        let cinv = sys.unscaled_vcov(f);
        let mut gm = try_zeros(q * p, "the REML gradient's solves")?;
        for c in 0..p {
            for d in 0..p {
                let cv = cinv[d + c * p];
                for r in 0..q {
                    gm[r + c * q] += fm[r + d * q] * cv;
                }
            }
        }
        (fm, gm)
    } else {
        (Vec::new(), Vec::new())
    };
    let si = sys.selected_inverse(f)?;
    let koff = sys.obs_offsets();
    let width = koff[nt];
    let mut a = vec![0.0; width];
    let mut v = vec![0.0; width];
    // each stacked entry's index in the full random-effects order
    let mut rows = vec![0usize; width];
    let mut t = vec![0.0; p];
    let mut grad = vec![0.0; sys.ntheta()];
    for i in 0..n {
        let wi = w[i];
        if wi == 0.0 {
            continue;
        }
        for (s, term) in sys.terms.iter().enumerate() {
            let k = term.k;
            let at = &mut a[koff[s]..koff[s + 1]];
            at.copy_from_slice(term.zrow(i));
            level_lambda_t_times(&lambdas[s], at);
            let base = sys.term_offset[s] + term.group[i] * k;
            for (e, r) in rows[koff[s]..koff[s + 1]].iter_mut().enumerate() {
                *r = base + e;
            }
        }
        sys.obs_inverse_times(&si, i, &koff, &a, &mut v);
        if !gm.is_empty() {
            for (c, tc) in t.iter_mut().enumerate() {
                *tc = (0..width).map(|e| fm[rows[e] + c * q] * a[e]).sum::<f64>() - x[i + c * n];
            }
            for e in 0..width {
                v[e] += (0..p).map(|c| gm[rows[e] + c * q] * t[c]).sum::<f64>();
            }
        }
        let ri = yo[i] - zb[i] - (0..p).map(|c| x[i + c * n] * beta[c]).sum::<f64>();
        let sr = scale * ri;
        let mut pos = 0;
        for (s, term) in sys.terms.iter().enumerate() {
            let k = term.k;
            let z = term.zrow(i);
            for bcol in 0..k {
                let e = koff[s] + bcol;
                let vb = 2.0 * wi * (v[e] - sr * u[rows[e]]);
                for &za in &z[bcol..k] {
                    grad[pos] += za * vb;
                    pos += 1;
                }
            }
        }
    }
    Ok(grad)
}

#[cfg(test)]
mod tests {
    use crate::brute_force::random_problem;
    use crate::lmm::{LmmInput, LmmProblem};
    use crate::testutil::Rng;

    type Spec = [(usize, usize, Option<usize>)];

    /// A problem with the given terms, random offsets and, if `weighted`,
    /// random prior weights (else all 1).
    fn problem(seed: u64, n: usize, p: usize, spec: &Spec, reml: bool, weighted: bool) -> LmmProblem {
        let mut rng = Rng::new(seed);
        let mut pr = random_problem(&mut rng, n, p, spec);
        if !weighted {
            pr.w = vec![1.0; n];
        }
        let offset: Vec<f64> = (0..n).map(|_| 0.5 * rng.normal()).collect();
        LmmProblem::new(LmmInput { y: pr.y, x: pr.x, p, weights: pr.w, offset, terms: pr.terms, reml }).unwrap()
    }

    /// theta with each lambda's diagonal in [0.3, 1.3] and its
    /// off-diagonal elements normal with sd 0.5.
    fn random_theta(rng: &mut Rng, ks: &[usize]) -> Vec<f64> {
        let mut th = Vec::new();
        for &k in ks {
            for b in 0..k {
                for a in b..k {
                    th.push(if a == b { 0.3 + rng.uniform() } else { 0.5 * rng.normal() });
                }
            }
        }
        th
    }

    /// Central differences of the objective, extrapolated (Richardson) so
    /// that the truncation error (h^4) is far below the tolerance.
    fn fd_gradient(prob: &mut LmmProblem, theta: &[f64]) -> Vec<f64> {
        let mut d = |i: usize, h: f64| {
            let mut t = theta.to_vec();
            t[i] = theta[i] + h;
            let fp = prob.objective(&t).unwrap();
            t[i] = theta[i] - h;
            let fm = prob.objective(&t).unwrap();
            (fp - fm) / (2.0 * h)
        };
        (0..theta.len())
            .map(|i| {
                let h = 1e-4;
                (4.0 * d(i, h / 2.0) - d(i, h)) / 3.0
            })
            .collect()
    }

    /// The analytic gradient against finite differences of the objective,
    /// relative 1e-6 (the differences themselves are good to about 1e-9);
    /// and its value equals the objective's.
    fn check(seed: u64, n: usize, p: usize, spec: &Spec, theta: Option<&[f64]>) {
        for reml in [false, true] {
            for weighted in [false, true] {
                let mut prob = problem(seed, n, p, spec, reml, weighted);
                let ks: Vec<usize> = prob.system.terms.iter().map(|t| t.k).collect();
                let mut rng = Rng::new(seed + 1000);
                let th = theta.map(|t| t.to_vec()).unwrap_or_else(|| random_theta(&mut rng, &ks));
                let (v, g) = prob.value_gradient(&th).unwrap();
                let want = prob.objective(&th).unwrap();
                assert!((v - want).abs() <= 1e-12 * want.abs(), "value {v} vs {want}");
                let fd = fd_gradient(&mut prob, &th);
                for (i, (a, b)) in g.iter().zip(&fd).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                        "{spec:?} reml={reml} weighted={weighted} theta={th:?}: component {i}: {a} vs {b}\n{g:?}\n{fd:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn one_scalar_term() {
        check(1, 100, 2, &[(15, 1, None)], None);
        // no fixed effects
        check(2, 80, 0, &[(12, 1, None)], None);
    }

    #[test]
    fn crossed_scalar_terms() {
        check(3, 150, 2, &[(25, 1, None), (9, 1, None)], None);
        check(4, 180, 3, &[(30, 1, None), (12, 1, None), (4, 1, None)], None);
    }

    #[test]
    fn nested_scalar_terms() {
        // a (8 levels) and a:b (32 levels) within it, and a crossed term
        check(5, 160, 2, &[(8, 1, None), (32, 1, Some(0))], None);
        check(6, 200, 2, &[(8, 1, None), (32, 1, Some(0)), (5, 1, None)], None);
    }

    #[test]
    fn correlated_slopes() {
        // a 2-by-2 block first, then after a larger scalar term (the dense
        // block), and a 3-by-3 block alone and with a crossed term
        check(7, 150, 2, &[(15, 2, None)], None);
        check(8, 200, 2, &[(15, 2, None), (5, 1, None)], None);
        check(9, 180, 2, &[(40, 1, None), (6, 2, None)], None);
        check(10, 200, 3, &[(12, 3, None)], None);
        check(11, 240, 2, &[(12, 3, None), (6, 1, None)], None);
    }

    #[test]
    fn near_the_boundary() {
        // one variance almost zero, and a 2-by-2 lambda almost singular;
        // a negative diagonal (the optimizer's signs are free) too
        check(12, 150, 2, &[(25, 1, None), (9, 1, None)], Some(&[0.7, 1e-4]));
        check(13, 200, 2, &[(15, 2, None), (5, 1, None)], Some(&[0.8, 0.3, 1e-4, -0.5]));
        check(14, 200, 2, &[(15, 2, None), (5, 1, None)], Some(&[1e-4, 0.0, 0.6, 0.9]));
    }
}

#[cfg(test)]
mod timing {
    use crate::lmm::{LmmInput, LmmProblem};
    use crate::reterm::ReTerm;
    use crate::testutil::Rng;

    /// The objective alone against the objective with its gradient on an
    /// InstEval-shaped problem (73,421 rows; 2,972 x 1,128 x 14 crossed).
    /// Run with: cargo test --release lmm_gradient::timing -- --ignored --nocapture
    #[test]
    #[ignore]
    fn insteval_shaped_gradient_time() {
        let mut rng = Rng::new(1);
        let n = 73421;
        let g1: Vec<usize> = (0..n).map(|i| if i < 2972 { i } else { rng.below(2972) }).collect();
        let g2: Vec<usize> = (0..n).map(|i| if i < 1128 { i } else { rng.below(1128) }).collect();
        let g3: Vec<usize> = g2.iter().map(|&d| d % 14).collect();
        let t = |g: Vec<usize>, l| ReTerm::new(g, l, 1, vec![1.0; n]).unwrap();
        let terms = vec![t(g1, 2972), t(g2, 1128), t(g3, 14)];
        let x: Vec<f64> = (0..2 * n).map(|e| if e < n { 1.0 } else { (e % 2) as f64 }).collect();
        let y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let input = LmmInput { y, x, p: 2, weights: vec![1.0; n], offset: vec![0.0; n], terms, reml: false };
        let mut prob = LmmProblem::new(input).unwrap();
        let theta = [0.3, 0.5, 0.1];
        let reps = 5;
        let t0 = std::time::Instant::now();
        for _ in 0..reps {
            prob.objective(&theta).unwrap();
        }
        eprintln!("objective {:?}", t0.elapsed() / reps);
        let t0 = std::time::Instant::now();
        for _ in 0..reps {
            prob.value_gradient(&[0.3, 0.5, 0.1 + 1e-9]).unwrap();
            prob.objective(&theta).unwrap();
        }
        eprintln!("objective and gradient {:?}", t0.elapsed() / reps);
    }
}
