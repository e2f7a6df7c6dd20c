//! Solves with M = Lambda' Z' W Z Lambda + I and the entries of M^{-1} that
//! the gradient of log |M| needs: the blocks at the level pairs that
//! observations share (a selected inverse). With L = [[L11, 0], [Lr1, Lrr]]
//! (first term, then the rest) and W_j = Lr1_j L11_j^{-1}:
//!   (M^{-1})_rr = Lrr^{-T} Lrr^{-1},
//!   (M^{-1})_r1 = -(M^{-1})_rr Lr1 L11^{-1},
//!   (M^{-1})_jj = L11_j^{-T} L11_j^{-1} + W_j' (M^{-1})_rr W_j,
//! where only pattern rows of W_j are non-zero. Only the random-effects part
//! of the factor is used (the rows of X and y come after it).

use crate::blocked::{BlockedSystem, Factor};
use crate::dense_chol::{inverse_from_factor, solve_lower, solve_lower_transpose};
use crate::error::Result;
use crate::memory::try_zeros;

pub struct SelectedInverse {
    /// (M^{-1})_jj for each level j of the first term, k1-by-k1 column-major.
    pub d11: Vec<f64>,
    /// -(M^{-1})_rr W_j on level j's pattern rows, in the layout of Lr1.
    pub r1: Vec<f64>,
    /// (M^{-1})_rr, q_rest-by-q_rest column-major, both triangles.
    pub rr: Vec<f64>,
}

impl BlockedSystem {
    /// Number of pattern rows of level j that belong to random effects.
    fn re_rows(&self, j: usize) -> usize {
        self.rows_ptr[j + 1] - self.rows_ptr[j] - (self.p + 1)
    }

    /// Solve M x = b for the random-effects part (b has length q).
    pub fn solve_m(&self, f: &Factor, b: &mut [f64]) {
        let k1 = self.k1;
        let m = self.m;
        let qr = self.q_rest;
        let l1 = self.terms[0].nlevels;
        // forward: L11 y1 = b1, then Lrr y_r = b_r - Lr1 y1
        for j in 0..l1 {
            let l = &f.l11[j * k1 * k1..(j + 1) * k1 * k1];
            solve_lower(l, k1, k1, &mut b[j * k1..(j + 1) * k1]);
        }
        let (b1, br) = b.split_at_mut(self.q1);
        for j in 0..l1 {
            let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
            let nr = self.re_rows(j);
            let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j] + nr];
            let blk = &f.lr1[self.val_ptr[j]..self.val_ptr[j] + len * k1];
            for a in 0..k1 {
                let ya = b1[j * k1 + a];
                if ya != 0.0 {
                    for (ri, &r) in rows.iter().enumerate() {
                        br[r] -= blk[a * len + ri] * ya;
                    }
                }
            }
        }
        solve_lower(&f.s, qr, m, br);
        // back: Lrr' x_r = y_r, then L11' x1 = y1 - Lr1' x_r
        solve_lower_transpose(&f.s, qr, m, br);
        for j in 0..l1 {
            let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
            let nr = self.re_rows(j);
            let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j] + nr];
            let blk = &f.lr1[self.val_ptr[j]..self.val_ptr[j] + len * k1];
            for a in 0..k1 {
                let mut s = 0.0;
                for (ri, &r) in rows.iter().enumerate() {
                    s += blk[a * len + ri] * br[r];
                }
                b1[j * k1 + a] -= s;
            }
            let l = &f.l11[j * k1 * k1..(j + 1) * k1 * k1];
            solve_lower_transpose(l, k1, k1, &mut b1[j * k1..(j + 1) * k1]);
        }
    }

    /// Conditional covariance of each term's random effects b = Lambda u at
    /// each level: scale2 * lambda (M^{-1})_block lambda', k-by-k column-major
    /// blocks, term by term, level by level (lme4's "postVar").
    pub fn conditional_covariances(&self, f: &Factor, scale2: f64) -> Result<Vec<f64>> {
        let si = self.selected_inverse(f)?;
        let qr = self.q_rest;
        let len: usize = self.terms.iter().map(|t| t.nlevels * t.k * t.k).sum();
        let mut out = try_zeros(len, "the conditional variances of the random effects")?;
        out.clear();
        for (t, term) in self.terms.iter().enumerate() {
            let k = term.k;
            let lam = &f.lambdas[t];
            for lev in 0..term.nlevels {
                let mut blk = vec![0.0; k * k];
                if t == 0 {
                    blk.copy_from_slice(&si.d11[lev * k * k..(lev + 1) * k * k]);
                } else {
                    let r0 = self.rest_offset[t] + lev * k;
                    for a in 0..k {
                        for b in 0..k {
                            blk[a + b * k] = si.rr[(r0 + a) + (r0 + b) * qr];
                        }
                    }
                }
                // lambda blk lambda'
                for a in 0..k {
                    for b in 0..k {
                        let mut acc = 0.0;
                        for c in 0..=a {
                            for d in 0..=b {
                                acc += lam[a + c * k] * blk[c + d * k] * lam[b + d * k];
                            }
                        }
                        out.push(scale2 * acc);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Offsets of each term's part in one observation's random effects
    /// stacked term by term (k_1 values, then k_2, ...); the last is the
    /// width.
    pub(crate) fn obs_offsets(&self) -> Vec<usize> {
        let mut koff = vec![0usize; self.terms.len() + 1];
        for (t, term) in self.terms.iter().enumerate() {
            koff[t + 1] = koff[t] + term.k;
        }
        koff
    }

    /// v = (M^{-1})_ii a: the blocks of M^{-1} at the levels observation i
    /// belongs to (one per term, stacked as in `obs_offsets`) times a.
    /// These blocks are all in the selected inverse, since the observation
    /// makes its levels' pairs non-zero in M.
    pub(crate) fn obs_inverse_times(&self, si: &SelectedInverse, i: usize, koff: &[usize], a: &[f64], v: &mut [f64]) {
        let nt = self.terms.len();
        let k1 = self.k1;
        let qr = self.q_rest;
        let nrest = nt - 1;
        let j = self.terms[0].group[i];
        let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
        let vs = self.val_ptr[j];
        // term 1 with itself
        let d = &si.d11[j * k1 * k1..(j + 1) * k1 * k1];
        for r in 0..k1 {
            let mut acc = 0.0;
            for c in 0..k1 {
                acc += d[r + c * k1] * a[c];
            }
            v[r] = acc;
        }
        v[k1..koff[nt]].iter_mut().for_each(|x| *x = 0.0);
        for t in 1..nt {
            let kt = self.terms[t].k;
            let rp = self.obs_pos[i * nrest + (t - 1)];
            // (M^{-1})_{(t, l), (1, j)} is the r1 block at pattern rows rp..rp+kt
            for c in 0..k1 {
                for b in 0..kt {
                    let val = si.r1[vs + c * len + rp + b];
                    v[c] += val * a[koff[t] + b];
                    v[koff[t] + b] += val * a[c];
                }
            }
            let rt = self.rest_offset[t] + self.terms[t].group[i] * kt;
            for s in 1..nt {
                let ksz = self.terms[s].k;
                let rs = self.rest_offset[s] + self.terms[s].group[i] * ksz;
                for b in 0..kt {
                    let mut acc = 0.0;
                    for c in 0..ksz {
                        acc += si.rr[(rt + b) + (rs + c) * qr] * a[koff[s] + c];
                    }
                    v[koff[t] + b] += acc;
                }
            }
        }
    }

    /// The selected inverse of M at the factor `f`.
    pub fn selected_inverse(&self, f: &Factor) -> Result<SelectedInverse> {
        let k1 = self.k1;
        let m = self.m;
        let qr = self.q_rest;
        let l1 = self.terms[0].nlevels;
        // (M^{-1})_rr from the inverse of the leading block of the dense factor
        let dense = "the inverse of the dense block of the terms after the first";
        let mut tinv = try_zeros(qr * qr, dense)?;
        let mut rr = try_zeros(qr * qr, dense)?;
        inverse_from_factor(&f.s, qr, m, &mut tinv, &mut rr);
        drop(tinv);
        let first = "the selected inverse of the first random-effects term";
        let mut d11 = try_zeros(l1 * k1 * k1, first)?;
        let mut r1 = try_zeros(f.lr1.len(), first)?;
        // W_j = Lr1_j L11_j^{-1} on each level's pattern rows, and L11_j^{-1}
        let mut w_all = try_zeros(f.lr1.len(), first)?;
        let mut linv_all = try_zeros(l1 * k1 * k1, first)?;
        for j in 0..l1 {
            let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
            let nr = self.re_rows(j);
            let blk = &f.lr1[self.val_ptr[j]..self.val_ptr[j] + len * k1];
            let l = &f.l11[j * k1 * k1..(j + 1) * k1 * k1];
            let linv = &mut linv_all[j * k1 * k1..(j + 1) * k1 * k1];
            for c in 0..k1 {
                linv[c + c * k1] = 1.0;
                solve_lower(l, k1, k1, &mut linv[c * k1..(c + 1) * k1]);
            }
            let wj = &mut w_all[self.val_ptr[j]..self.val_ptr[j] + len * k1];
            for c in 0..k1 {
                for a in c..k1 {
                    let la = linv[a + c * k1];
                    if la != 0.0 {
                        for ri in 0..nr {
                            wj[ri + c * len] += blk[a * len + ri] * la;
                        }
                    }
                }
            }
        }
        // r1_j = -rr[P, P] W_j: one dense product when the dense block is
        // small (see `dense_schur`), else level by level
        if self.dense_schur && qr > 0 {
            let q1 = self.q1;
            let mut wd = try_zeros(qr * q1, first)?;
            for j in 0..l1 {
                let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
                let nr = self.re_rows(j);
                let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j] + nr];
                for c in 0..k1 {
                    let col = &mut wd[(j * k1 + c) * qr..(j * k1 + c + 1) * qr];
                    for (ri, &r) in rows.iter().enumerate() {
                        col[r] = w_all[self.val_ptr[j] + ri + c * len];
                    }
                }
            }
            let mut prod = try_zeros(qr * q1, first)?;
            // SAFETY: rr is qr x qr, wd and prod qr x q1, column-major, disjoint.
            unsafe {
                matrixmultiply::dgemm(
                    qr,
                    qr,
                    q1,
                    -1.0,
                    rr.as_ptr(),
                    1,
                    qr as isize,
                    wd.as_ptr(),
                    1,
                    qr as isize,
                    0.0,
                    prod.as_mut_ptr(),
                    1,
                    qr as isize,
                );
            }
            for j in 0..l1 {
                let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
                let nr = self.re_rows(j);
                let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j] + nr];
                for c in 0..k1 {
                    for (ri, &r) in rows.iter().enumerate() {
                        r1[self.val_ptr[j] + c * len + ri] = prod[r + (j * k1 + c) * qr];
                    }
                }
            }
        } else {
            for j in 0..l1 {
                let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
                let nr = self.re_rows(j);
                let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j] + nr];
                let wj = &w_all[self.val_ptr[j]..self.val_ptr[j] + len * k1];
                let out = &mut r1[self.val_ptr[j]..self.val_ptr[j] + len * k1];
                // rr is symmetric: read row r as column r, in ascending
                // order (the pattern rows are sorted)
                for (ri, &r) in rows.iter().enumerate() {
                    let col = &rr[r * qr..(r + 1) * qr];
                    for c in 0..k1 {
                        let w = &wj[c * len..c * len + nr];
                        let s: f64 = rows.iter().zip(w).map(|(&cc, wv)| col[cc] * wv).sum();
                        out[c * len + ri] = -s;
                    }
                }
            }
        }
        // d11 = L11^{-T} L11^{-1} + W_j' rr[P, P] W_j = linv' linv - W_j' r1_j
        for j in 0..l1 {
            let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
            let nr = self.re_rows(j);
            let linv = &linv_all[j * k1 * k1..(j + 1) * k1 * k1];
            let wj = &w_all[self.val_ptr[j]..self.val_ptr[j] + len * k1];
            let out = &r1[self.val_ptr[j]..self.val_ptr[j] + len * k1];
            let d = &mut d11[j * k1 * k1..(j + 1) * k1 * k1];
            for a in 0..k1 {
                for b in 0..k1 {
                    let mut s = 0.0;
                    for t in 0..k1 {
                        s += linv[t + a * k1] * linv[t + b * k1];
                    }
                    for ri in 0..nr {
                        s -= wj[ri + a * len] * out[b * len + ri];
                    }
                    d[a + b * k1] = s;
                }
            }
        }
        Ok(SelectedInverse { d11, r1, rr })
    }
}

#[cfg(test)]
mod tests {
    use crate::blocked::{BlockedSystem, Factor};
    use crate::brute_force::{dense_system, random_problem};
    use crate::testutil::Rng;

    #[test]
    fn solve_and_selected_inverse_match_a_dense_inverse() {
        for (seed, spec) in [
            (1u64, vec![(20usize, 1usize, None), (6, 1, None)]),
            (2, vec![(15, 2, None), (5, 1, None), (4, 1, None)]),
            (3, vec![(8, 1, None), (24, 1, Some(0))]),
            (4, vec![(12, 2, None)]),
        ] {
            let mut rng = Rng::new(seed);
            let pr = random_problem(&mut rng, 120, 0, &spec);
            let mut sys = BlockedSystem::new(pr.terms.clone(), pr.n, 0).unwrap();
            sys.update_crossproducts(&[], &pr.y, &pr.w);
            let theta: Vec<f64> = (0..sys.ntheta()).map(|_| rng.normal()).collect();
            let mut f = Factor::default();
            sys.factor(&theta, &mut f).unwrap();
            let q = sys.q();
            let dense = dense_system(&pr, &theta);
            let minv = dense.view((0, 0), (q, q)).into_owned().try_inverse().unwrap();
            // solve
            let b: Vec<f64> = (0..q).map(|_| rng.normal()).collect();
            let mut x = b.clone();
            sys.solve_m(&f, &mut x);
            for i in 0..q {
                let want: f64 = (0..q).map(|c| minv[(i, c)] * b[c]).sum();
                assert!((x[i] - want).abs() < 1e-8 * (1.0 + want.abs()), "solve {i}");
            }
            // selected inverse
            let si = sys.selected_inverse(&f).unwrap();
            sys.dense_schur = !sys.dense_schur;
            let si2 = sys.selected_inverse(&f).unwrap();
            for (a, b) in si.r1.iter().zip(&si2.r1) {
                assert!((a - b).abs() < 1e-10, "dense and level-by-level r1 differ");
            }
            let (k1, q1, qr) = (sys.terms[0].k, sys.q1, sys.q_rest);
            for j in 0..sys.terms[0].nlevels {
                for a in 0..k1 {
                    for b2 in 0..k1 {
                        let want = minv[(j * k1 + a, j * k1 + b2)];
                        assert!((si.d11[j * k1 * k1 + a + b2 * k1] - want).abs() < 1e-8, "d11");
                    }
                }
                let len = sys.rows_ptr[j + 1] - sys.rows_ptr[j];
                let nr = len - 1;
                for ri in 0..nr {
                    let r = sys.rows[sys.rows_ptr[j] + ri];
                    for a in 0..k1 {
                        let want = minv[(q1 + r, j * k1 + a)];
                        assert!((si.r1[sys.val_ptr[j] + a * len + ri] - want).abs() < 1e-8, "r1");
                    }
                }
            }
            for r in 0..qr {
                for c in 0..qr {
                    assert!((si.rr[r + c * qr] - minv[(q1 + r, q1 + c)]).abs() < 1e-8, "rr");
                }
            }
            // conditional covariances: 2.5 * Lambda M^{-1} Lambda' blocks
            let lam = crate::brute_force::dense_lambda(&pr.terms, &theta);
            let cov = &lam * &minv * lam.transpose() * 2.5;
            let cv = sys.conditional_covariances(&f, 2.5).unwrap();
            let mut e = 0;
            let mut off = 0;
            for t in sys.terms.iter() {
                for lev in 0..t.nlevels {
                    for b2 in 0..t.k {
                        for a in 0..t.k {
                            let want = cov[(off + lev * t.k + a, off + lev * t.k + b2)];
                            assert!((cv[e] - want).abs() < 1e-8 * (1.0 + want.abs()), "cond var");
                            e += 1;
                        }
                    }
                }
                off += t.nranef();
            }
        }
    }
}
