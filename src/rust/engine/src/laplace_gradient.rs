//! The exact gradient of the (true) Laplace objective in (theta, beta) for
//! a GLMM without a dispersion parameter, any link and any random-effects
//! structure:
//!
//!   F = D(u~) + ||u~||^2 + log |M|,   M = Lambda' Z' W Z Lambda + I,
//!
//! where u~ is the PIRLS mode and W the observed information there (half the
//! second derivative of each deviance residual in eta; Fisher's weights for
//! a canonical link). By the envelope theorem the first two terms need only
//! their partial derivatives; log |M| changes with Lambda directly and with
//! W through eta(u~), whose derivative needs d u~ = -M^{-1} (...) (the
//! Hessian of the penalized deviance is exactly 2 M). The traces use the
//! selected inverse of M.

use crate::blocked::{BlockedSystem, Factor};
use crate::error::Result;
use crate::pirls::PirlsResult;
use crate::response::GlmmData;
use crate::reterm::level_lambda_t_times;
use crate::threads;

/// Gradient of the Laplace objective at the mode, in the order
/// (theta..., beta...). `f` is the factor at the mode (observed information).
pub fn laplace_gradient(data: &GlmmData, sys: &BlockedSystem, f: &Factor, mode: &PirlsResult) -> Result<Vec<f64>> {
    let n = data.n;
    let p = data.p;
    let nt = sys.terms.len();
    // per observation: the deviance residual's first derivative in eta, the
    // observed information (half the second) and its derivative (half the
    // third): the weights of the factor at the mode and how they move
    let mut d1 = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut w1 = vec![0.0; n];
    // the per-observation passes run in chunks (`threads`): each writes its
    // own observations, and the sums below add fixed chunks in order
    let len = threads::chunk_len(n);
    let tasks: Vec<_> = d1.chunks_mut(len).zip(w.chunks_mut(len)).zip(w1.chunks_mut(len)).enumerate().collect();
    threads::run(tasks, |(c, ((d1, w), w1))| {
        for k in 0..d1.len() {
            let i = c * len + k;
            let t = data.obs_terms(i, mode.eta[i]);
            d1[k] = t.d1;
            w[k] = 0.5 * t.d2;
            w1[k] = 0.5 * t.d3;
        }
    });
    let si = sys.selected_inverse(f)?;
    let lambdas = &f.lambdas;
    // per observation: a_i = Lambda' z_i (blocks per term), v_i = M^{-1} a_i
    // restricted to the observation's blocks, h_i = a_i' v_i
    let koff = sys.obs_offsets();
    let width = koff[nt];
    let mut vobs = vec![0.0; n * width];
    let mut h = vec![0.0; n];
    let tasks: Vec<_> = vobs.chunks_mut(len * width).zip(h.chunks_mut(len)).enumerate().collect();
    threads::run(tasks, |(c, (vobs, h))| {
        let mut a = vec![0.0; width];
        for (k, hk) in h.iter_mut().enumerate() {
            let i = c * len + k;
            for t in 0..nt {
                let at = &mut a[koff[t]..koff[t + 1]];
                at.copy_from_slice(sys.terms[t].zrow(i));
                level_lambda_t_times(&lambdas[t], at);
            }
            let v = &mut vobs[k * width..(k + 1) * width];
            sys.obs_inverse_times(&si, i, &koff, &a, v);
            *hk = (0..width).map(|e| a[e] * v[e]).sum();
        }
    });
    let g: Vec<f64> = (0..n).map(|i| w1[i] * h[i]).collect();

    // Every parameter's d eta is a direct part plus Z Lambda du, with
    // du = -M^{-1} rhs; only sum_i g_i d eta_i is needed, so with
    // xi = M^{-1} Lambda' Z' g and zeta = Z Lambda xi (one solve for all),
    // sum_i g_i (Z Lambda du)_i = -xi' rhs.
    let mut xi = sys.zt_times(&g);
    sys.lambda_t_times(lambdas, &mut xi);
    sys.solve_m(f, &mut xi);
    let mut zeta = vec![0.0; n];
    sys.z_times(&sys.lambda_times(lambdas, &xi), &mut zeta);

    let ntheta: usize = sys.terms.iter().map(|t| t.ntheta()).sum();
    let mut grad = vec![0.0; ntheta + p];
    // theta: d eta direct = Z dLambda u; rhs = dLambda' Z' d'/2 + Lambda' Z' W Z dLambda u
    let mut pos = 0;
    for s in 0..nt {
        let k = sys.terms[s].k;
        let term = &sys.terms[s];
        for bcol in 0..k {
            for arow in bcol..k {
                grad[pos] = threads::sum(n, |i| {
                    let zia = term.zrow(i)[arow];
                    let idx = sys.term_offset[s] + term.group[i] * k + bcol;
                    let zdu = zia * mode.u[idx];
                    // partial of the deviance, the trace, and the response
                    d1[i] * zdu + 2.0 * w[i] * zia * vobs[i * width + koff[s] + bcol] + g[i] * zdu
                        - (zia * xi[idx] * d1[i] / 2.0 + zeta[i] * w[i] * zdu)
                });
                pos += 1;
            }
        }
    }
    // beta: d eta direct = x; rhs = Lambda' Z' W x
    for c in 0..p {
        let xc = &data.x[c * n..(c + 1) * n];
        grad[ntheta + c] = threads::sum(n, |i| xc[i] * (d1[i] + g[i] - zeta[i] * w[i]));
    }
    Ok(grad)
}
