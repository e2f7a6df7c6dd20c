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
//!
//! When every term is scalar, `scalar_terms_gradient` reads only the
//! diagonal of M^{-1} (or of the (u, beta) block's inverse) instead, about
//! half the work (see there); near a zero variance it defers to the above.

use crate::blocked::{BlockedSystem, Factor};
use crate::dense_chol::lower_inverse;
use crate::error::Result;
use crate::memory::{try_resize, try_zeros};
use crate::reterm::level_lambda_t_times;

/// The gradient of the profiled deviance (ML) or REML criterion in theta
/// at the factor `f` (of the system whose cross-products came from X, the
/// response less the offset `yo` and the weights `w`). `work` is space
/// for the inverse of the dense block's factor, which the caller may keep
/// from one call to the next.
pub fn lmm_gradient(
    sys: &BlockedSystem,
    f: &Factor,
    x: &[f64],
    yo: &[f64],
    w: &[f64],
    reml: bool,
    work: &mut Vec<f64>,
) -> Result<Vec<f64>> {
    if let Some(g) = scalar_terms_gradient(sys, f, x, yo, w, reml, MIN_GAP, work)? {
        return Ok(g);
    }
    general_gradient(sys, f, x, yo, w, reml)
}

/// u, and the residuals r = y - offset - Z Lambda u - X beta at the optimum.
fn residuals(sys: &BlockedSystem, f: &Factor, x: &[f64], yo: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (n, p) = (sys.n, sys.p);
    let (u, beta) = sys.solve_u_beta(f);
    let mut r = vec![0.0; n];
    sys.z_times(&sys.lambda_times(&f.lambdas, &u), &mut r);
    for i in 0..n {
        r[i] = yo[i] - r[i] - (0..p).map(|c| x[i + c * n] * beta[c]).sum::<f64>();
    }
    (u, r)
}

/// The scalar path gives up on a term whose gap q_i - tr_i (below) has
/// cancelled to less than this fraction of q_i. tr_i sums q_i entries, each
/// good to about an ulp, so the gap's relative error is about 1e-16 / (its
/// fraction): measured (`scalar_path_cancellation`), at most 4e-12 of the
/// gradient (relative to 1 + |g|) for fractions in [1e-4, 1e-3], against
/// 1e-14 for the general path. Only theta_i^2 times a level's weight
/// below about 1e-4 meets it: a variance near 0, where the general path
/// takes over.
pub(crate) const MIN_GAP: f64 = 1e-4;

/// The gradient when every term is scalar (Lambda_i = theta_i I), from
/// only the diagonal of M^{-1} (ML) or of the (u, beta) block's inverse
/// H^{-1} (REML). With E_i the projection on term i's random effects,
/// Lambda E_i = theta_i E_i, so
///
///   dM/dtheta_i = E_i A Lambda + Lambda A E_i = (E_i (M - I) + (M - I) E_i) / theta_i,
///   d log |M| / dtheta_i = tr(M^{-1} dM/dtheta_i) = 2 (q_i - tr_i(M^{-1})) / theta_i,
///
/// and the same for H = G'WG + diag(I, 0) (its u block moves the same way,
/// and beta's rows do not move). With the dense block's leading part
/// L_rr = T^{-1} (its random effects, and for REML its fixed effects too),
/// diag(H^{-1}) is T's squared column norms there, and for level j of the
/// first term (l_j its pivot, w_j its sparse column of L_r1)
/// (1 + ||T w_j||^2) / l_j^2. T costs about one Cholesky factor of that
/// block, where the general path's whole inverse T'T costs two, and T w_j
/// is sparse (`first_term_norms`). None when a term is not scalar, or a
/// theta_i is zero or so small that q_i - tr_i cancels (`MIN_GAP`): the
/// general path then has no such cancellation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scalar_terms_gradient(
    sys: &BlockedSystem,
    f: &Factor,
    x: &[f64],
    yo: &[f64],
    w: &[f64],
    reml: bool,
    min_gap: f64,
    work: &mut Vec<f64>,
) -> Result<Option<Vec<f64>>> {
    if sys.terms.iter().any(|t| t.k != 1) {
        return Ok(None);
    }
    let (n, p, q1, qr) = (sys.n, sys.p, sys.q1, sys.q_rest);
    let theta: Vec<f64> = f.lambdas.iter().map(|l| l[0]).collect();
    if theta.contains(&0.0) {
        return Ok(None);
    }
    // A cheap bound first: M_jj = 1 + theta_i^2 a_jj and (M^{-1})_jj >=
    // 1 / M_jj (also for H^{-1}, whose u block is larger), so the gap is at
    // most sum_j theta_i^2 a_jj / M_jj; below MIN_GAP q_i, skip the work.
    let mut adiag = vec![0.0; sys.q()];
    for i in 0..n {
        if w[i] != 0.0 {
            for (s, term) in sys.terms.iter().enumerate() {
                let z = term.zrow(i)[0];
                adiag[sys.term_offset[s] + term.group[i]] += w[i] * z * z;
            }
        }
    }
    for (s, term) in sys.terms.iter().enumerate() {
        let t2 = theta[s] * theta[s];
        let a = &adiag[sys.term_offset[s]..sys.term_offset[s] + term.nlevels];
        let bound: f64 = a.iter().map(|&v| t2 * v / (1.0 + t2 * v)).sum();
        if bound < min_gap * term.nlevels as f64 {
            return Ok(None);
        }
    }
    let nn = qr + if reml { p } else { 0 };
    let t = work;
    try_resize(t, nn * nn, "the inverse of the dense block's factor")?;
    lower_inverse(&f.s, nn, sys.m, t);
    let mut diag = adiag;
    for c in 0..qr {
        diag[q1 + c] = t[c * nn + c..(c + 1) * nn].iter().map(|v| v * v).sum();
    }
    let l1 = sys.terms[0].nlevels;
    let mut ss = vec![0.0; l1];
    // Even and odd panels are summed apart and then added, on two threads
    // where the fit's cap allows it and the block is large (dense_chol's
    // size) and on one otherwise: the same sums in the same order, so the
    // gradient does not depend on the thread count.
    let panels: Vec<usize> = (0..nn).step_by(PANEL).collect();
    let mut other = vec![0.0; l1];
    if nn >= crate::dense_chol::PARALLEL_N && crate::threads::threads() > 1 {
        std::thread::scope(|sc| {
            let h = sc.spawn(|| first_term_norms(sys, f, t, nn, &panels, 1, 2, &mut other));
            first_term_norms(sys, f, t, nn, &panels, 0, 2, &mut ss);
            h.join().expect("the first term's norms");
        });
    } else {
        first_term_norms(sys, f, t, nn, &panels, 0, 2, &mut ss);
        first_term_norms(sys, f, t, nn, &panels, 1, 2, &mut other);
    }
    ss.iter_mut().zip(&other).for_each(|(a, b)| *a += b);
    for (j, ssj) in ss.iter().enumerate() {
        let l = f.l11[j];
        diag[j] = (1.0 + ssj) / (l * l);
    }
    let mut grad = vec![0.0; sys.terms.len()];
    for (s, term) in sys.terms.iter().enumerate() {
        let ql = term.nlevels as f64;
        let tr: f64 = diag[sys.term_offset[s]..sys.term_offset[s] + term.nlevels].iter().sum();
        if ql - tr < min_gap * ql {
            return Ok(None);
        }
        grad[s] = 2.0 * (ql - tr) / theta[s];
    }
    // the residual part (envelope theorem): -(dof / r2) 2 sum_i w_i r_i z_i u_i
    let (u, r) = residuals(sys, f, x, yo);
    let dof = if reml { (n - p) as f64 } else { n as f64 };
    let scale = dof / sys.pwrss(f);
    for i in 0..n {
        if w[i] == 0.0 {
            continue;
        }
        let c = 2.0 * scale * w[i] * r[i];
        for (s, term) in sys.terms.iter().enumerate() {
            grad[s] -= c * term.zrow(i)[0] * u[sys.term_offset[s] + term.group[i]];
        }
    }
    Ok(Some(grad))
}

/// Rows of T per panel in `first_term_norms`.
const PANEL: usize = 32;

/// ss_j += ||(T w_j)[panel rows]||^2 for the panels starting at
/// `panels[tid], panels[tid + nthreads], ...`, w_j level j's column of
/// L_r1 (its pattern rows below nn). Each panel of T is copied
/// row-contiguous (entry (p0 + i, r) at r * PANEL + i) so that it stays in
/// cache while every level reads it; level j's pattern rows ascend and T's
/// column r is zero above row r. With AVX2 and FMA where the processor has
/// them (the default target has neither): the loop is most of the gradient.
#[allow(clippy::too_many_arguments)]
fn first_term_norms(sys: &BlockedSystem, f: &Factor, t: &[f64], nn: usize, panels: &[usize], tid: usize, nthreads: usize, ss: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the features were just detected.
            first_term_norms_body(sys, f, t, nn, panels, tid, nthreads, ss, |buf, rows, col, end| unsafe {
                panel_norm_avx2(buf, rows, col, end)
            });
            return;
        }
    }
    first_term_norms_body(sys, f, t, nn, panels, tid, nthreads, ss, panel_norm);
}

#[allow(clippy::too_many_arguments)]
fn first_term_norms_body(
    sys: &BlockedSystem,
    f: &Factor,
    t: &[f64],
    nn: usize,
    panels: &[usize],
    tid: usize,
    nthreads: usize,
    ss: &mut [f64],
    norm: impl Fn(&[f64], &[usize], &[f64], usize) -> f64,
) {
    let mut buf = vec![0.0; nn * PANEL];
    for &p0 in panels.iter().skip(tid).step_by(nthreads) {
        let pb = PANEL.min(nn - p0);
        for r in 0..p0 + pb {
            buf[r * PANEL..r * PANEL + pb].copy_from_slice(&t[r * nn + p0..r * nn + p0 + pb]);
            // a short last panel: no rows of the previous one
            buf[r * PANEL + pb..(r + 1) * PANEL].iter_mut().for_each(|v| *v = 0.0);
        }
        for (j, ssj) in ss.iter_mut().enumerate() {
            let (r0, r1) = (sys.rows_ptr[j], sys.rows_ptr[j + 1]);
            let rows = &sys.rows[r0..r1];
            let col = &f.lr1[sys.val_ptr[j]..sys.val_ptr[j] + (r1 - r0)];
            *ssj += norm(&buf, rows, col, p0 + pb);
        }
    }
}

/// ||sum_r v_r buf[r]||^2 over a level's pattern rows r below `end` (its
/// values v_r in `col`; buf[r] the r-th row of PANEL values): one panel's
/// part of ||T w_j||^2. Whole panel rows: T's entries above its diagonal
/// are zeros.
fn panel_norm(buf: &[f64], rows: &[usize], col: &[f64], end: usize) -> f64 {
    let mut y = [0.0; PANEL];
    for (&r, &v) in rows.iter().zip(col) {
        if r >= end {
            break;
        }
        let b: &[f64; PANEL] = buf[r * PANEL..(r + 1) * PANEL].try_into().expect("a panel row");
        for (yv, tv) in y.iter_mut().zip(b) {
            *yv += v * tv;
        }
    }
    y.iter().map(|v| v * v).sum()
}

/// `panel_norm` with the 32 sums in eight AVX2 registers (the compiler
/// spills them to memory when left to itself) and fused multiply-adds.
///
/// # Safety
/// The processor must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn panel_norm_avx2(buf: &[f64], rows: &[usize], col: &[f64], end: usize) -> f64 {
    use std::arch::x86_64::*;
    const _: () = assert!(PANEL == 32);
    assert!(end * PANEL <= buf.len());
    let (mut y0, mut y1, mut y2, mut y3) = (_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd());
    let (mut y4, mut y5, mut y6, mut y7) = (_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd());
    for (&r, &v) in rows.iter().zip(col) {
        if r >= end {
            break;
        }
        // in bounds: r < end and end * PANEL <= buf.len()
        let b = buf.as_ptr().add(r * PANEL);
        let vv = _mm256_set1_pd(v);
        y0 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b), y0);
        y1 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b.add(4)), y1);
        y2 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b.add(8)), y2);
        y3 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b.add(12)), y3);
        y4 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b.add(16)), y4);
        y5 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b.add(20)), y5);
        y6 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b.add(24)), y6);
        y7 = _mm256_fmadd_pd(vv, _mm256_loadu_pd(b.add(28)), y7);
    }
    let mut acc = _mm256_mul_pd(y0, y0);
    for y in [y1, y2, y3, y4, y5, y6, y7] {
        acc = _mm256_fmadd_pd(y, y, acc);
    }
    let mut lanes = [0.0; 4];
    _mm256_storeu_pd(lanes.as_mut_ptr(), acc);
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// Any terms: the traces against the selected inverse (see the module's
/// comment).
pub(crate) fn general_gradient(sys: &BlockedSystem, f: &Factor, x: &[f64], yo: &[f64], w: &[f64], reml: bool) -> Result<Vec<f64>> {
    let (n, p, q) = (sys.n, sys.p, sys.q());
    let nt = sys.terms.len();
    let lambdas = &f.lambdas;
    let (u, r) = residuals(sys, f, x, yo);
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
        let sr = scale * r[i];
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
                // the scalar-terms path (taken by value_gradient where it
                // applies) against the general one
                let (fast, general) = prob.gradient_paths(&th, super::MIN_GAP);
                if ks.iter().any(|&k| k > 1) {
                    assert!(fast.is_none(), "vector terms take the general path");
                } else if theta.is_none() {
                    assert!(fast.is_some(), "{spec:?}: scalar terms away from 0 take the scalar path");
                }
                if let Some(fast) = &fast {
                    assert_eq!(fast, &g);
                    for (a, b) in fast.iter().zip(&general) {
                        assert!(
                            (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                            "{spec:?} reml={reml} weighted={weighted}: {fast:?} vs {general:?}"
                        );
                    }
                } else {
                    assert_eq!(general, g);
                }
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

    /// The AVX2 kernel against the portable one: rows ascending with some
    /// past `end`, sums of both signs.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_panel_norm_matches_the_portable_one() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let mut rng = crate::testutil::Rng::new(4);
        let nn = 70;
        let buf: Vec<f64> = (0..nn * super::PANEL).map(|_| rng.normal()).collect();
        for end in [0, 1, 33, 69, 70] {
            let rows: Vec<usize> = (0..nn).filter(|_| rng.uniform() < 0.4).collect();
            let col: Vec<f64> = rows.iter().map(|_| rng.normal()).collect();
            let want = super::panel_norm(&buf, &rows, &col, end);
            // SAFETY: the features were just detected.
            let got = unsafe { super::panel_norm_avx2(&buf, &rows, &col, end) };
            assert!((got - want).abs() <= 1e-12 * (1.0 + want), "end {end}: {got} vs {want}");
            if end > 1 {
                assert!(want > 0.0);
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
        // a dense block of several panels of `first_term_norms`, the last short
        check(15, 600, 2, &[(70, 1, None), (45, 1, None), (30, 1, None)], None);
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

    /// How far the scalar path's cancellation goes: theta_2 from 1e-1 down
    /// to 1e-7 with no threshold, its relative difference from the general
    /// path. Run with --ignored --nocapture.
    #[test]
    #[ignore]
    fn scalar_path_cancellation() {
        for (seed, n, spec) in [
            (3u64, 150usize, vec![(25usize, 1usize, None), (9, 1, None)]),
            (5, 160, vec![(8, 1, None), (32, 1, Some(0))]),
            (21, 3000, vec![(300, 1, None), (60, 1, None), (5, 1, None)]),
        ] {
            for reml in [false, true] {
                let mut prob = problem(seed, n, 2, &spec, reml, true);
                for e in 1..=14 {
                    let small = 10f64.powf(-(e as f64) / 2.0);
                    for which in 0..spec.len() {
                        let mut th = vec![0.8; spec.len()];
                        th[which] = small;
                        let (fast, general) = prob.gradient_paths(&th, 0.0);
                        let fast = fast.unwrap();
                        let err = fast.iter().zip(&general).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0.0, f64::max);
                        let taken = prob.gradient_paths(&th, super::MIN_GAP).0.is_some();
                        eprintln!("n={n} reml={reml} term {which} theta {small:.1e}: rel err {err:.1e}, taken {taken}");
                    }
                }
            }
        }
    }

    #[test]
    fn around_the_scalar_paths_threshold() {
        // one theta stepped down through the gap fraction MIN_GAP (about
        // 2e-3 for the crossed terms, 5e-3 for the nested ones): both paths
        // are taken, and each matches finite differences (and the scalar
        // path the general one, in `check`)
        for (seed, n, spec) in
            [(16u64, 150usize, vec![(25usize, 1usize, None), (9, 1, None)]), (17, 160, vec![(8, 1, None), (32, 1, Some(0))])]
        {
            for which in 0..2 {
                let mut taken = Vec::new();
                for small in [2e-2, 8e-3, 5e-3, 3e-3, 2e-3, 1.2e-3, 5e-4] {
                    let mut th = vec![0.7; 2];
                    th[which] = small;
                    for reml in [false, true] {
                        let mut prob = problem(seed, n, 2, &spec, reml, true);
                        taken.push(prob.gradient_paths(&th, super::MIN_GAP).0.is_some());
                    }
                    check(seed, n, 2, &spec, Some(&th));
                }
                assert!(taken.iter().any(|&t| t) && taken.iter().any(|&t| !t), "{spec:?} term {which}: {taken:?}");
            }
        }
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
    use crate::testutil::{insteval_shaped, Rng};

    /// The objective alone against the objective with its gradient on an
    /// InstEval-shaped problem (73,421 rows; 2,972 x 1,128 x 14 crossed).
    /// Run with: cargo test --release lmm_gradient::timing -- --ignored --nocapture
    #[test]
    #[ignore]
    fn insteval_shaped_gradient_time() {
        let (terms, x, y) = insteval_shaped(&mut Rng::new(1));
        let n = y.len();
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
        let (mut fast, mut general) = (0.0, 0.0);
        for _ in 0..reps {
            let (a, b) = prob.time_gradient_paths(&theta);
            fast += a / reps as f64;
            general += b / reps as f64;
        }
        eprintln!("gradient alone: scalar path {:.1} ms, general path {:.1} ms", 1e3 * fast, 1e3 * general);
    }
}
