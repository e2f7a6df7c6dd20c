//! One random-effects term `(z | g)`: the grouping codes, the dense n-by-k
//! model matrix of its columns, the map from theta to its factor lambda, and
//! the observations of each level.

use crate::error::{EngineError, Result};

#[derive(Debug, Clone)]
pub struct ReTerm {
    /// 0-based level of the grouping factor for each observation.
    pub group: Vec<usize>,
    /// Number of levels L of the grouping factor.
    pub nlevels: usize,
    /// Number of columns k of the term (1 for a scalar term).
    pub k: usize,
    /// Row-major n-by-k values of the term's columns.
    pub z: Vec<f64>,
}

impl ReTerm {
    pub fn new(group: Vec<usize>, nlevels: usize, k: usize, z: Vec<f64>) -> Result<Self> {
        let n = group.len();
        if k == 0 {
            return Err(EngineError::Input("a random-effects term has no columns".into()));
        }
        if z.len() != n * k {
            return Err(EngineError::Input(format!("term matrix has {} values, expected {} x {}", z.len(), n, k)));
        }
        if nlevels == 0 || group.iter().any(|&g| g >= nlevels) {
            return Err(EngineError::Input("grouping codes out of range".into()));
        }
        if z.iter().any(|v| !v.is_finite()) {
            return Err(EngineError::Input("non-finite value in a random-effects term".into()));
        }
        Ok(ReTerm { group, nlevels, k, z })
    }

    /// Number of random effects of the term, L * k.
    pub fn nranef(&self) -> usize {
        self.nlevels * self.k
    }

    /// Length of this term's part of theta: the lower triangle of lambda.
    pub fn ntheta(&self) -> usize {
        self.k * (self.k + 1) / 2
    }

    /// Row i of the term's model matrix (k values).
    #[inline]
    pub fn zrow(&self, i: usize) -> &[f64] {
        &self.z[i * self.k..(i + 1) * self.k]
    }

    /// The term's lambda (column-major k-by-k) from its part of theta.
    pub fn lambda(&self, theta: &[f64]) -> Vec<f64> {
        lambda_from_theta(theta, self.k)
    }

    /// out += Z b: b holds the term's random effects (k per level, level by
    /// level), out one value per observation.
    pub fn add_z_times(&self, b: &[f64], out: &mut [f64]) {
        let k = self.k;
        for (i, o) in out.iter_mut().enumerate() {
            let base = self.group[i] * k;
            let mut s = 0.0;
            for (z, bv) in self.zrow(i).iter().zip(&b[base..base + k]) {
                s += z * bv;
            }
            *o += s;
        }
    }

    /// out += Z' v: v one value per observation, out the term's random
    /// effects.
    pub fn add_zt_times(&self, v: &[f64], out: &mut [f64]) {
        let k = self.k;
        for (i, vi) in v.iter().enumerate() {
            let base = self.group[i] * k;
            for (o, z) in out[base..base + k].iter_mut().zip(self.zrow(i)) {
                *o += z * vi;
            }
        }
    }

    /// x <- Lambda x for the term's random effects x (lam from `lambda`).
    pub fn lambda_times(&self, lam: &[f64], x: &mut [f64]) {
        for blk in x.chunks_exact_mut(self.k) {
            level_lambda_times(lam, blk);
        }
    }

    /// x <- Lambda' x for the term's random effects x.
    pub fn lambda_t_times(&self, lam: &[f64], x: &mut [f64]) {
        for blk in x.chunks_exact_mut(self.k) {
            level_lambda_t_times(lam, blk);
        }
    }
}

/// x <- lam x for one level's k values (lam column-major k-by-k, lower
/// triangular). In place: row r reads only rows up to r, so rows go down
/// from the last.
#[inline]
pub fn level_lambda_times(lam: &[f64], x: &mut [f64]) {
    let k = x.len();
    for r in (0..k).rev() {
        let mut acc = 0.0;
        for c in 0..=r {
            acc += lam[r + c * k] * x[c];
        }
        x[r] = acc;
    }
}

/// x <- lam' x for one level's k values. In place: row r reads only rows
/// from r on, so rows go up from the first.
#[inline]
pub fn level_lambda_t_times(lam: &[f64], x: &mut [f64]) {
    let k = x.len();
    for r in 0..k {
        let mut acc = 0.0;
        for q in r..k {
            acc += lam[q + r * k] * x[q];
        }
        x[r] = acc;
    }
}

/// The observations of each level of a term, compressed: level j has
/// `obs[ptr[j]..ptr[j + 1]]`, in ascending order.
#[derive(Debug, Clone)]
pub struct LevelIndex {
    pub ptr: Vec<usize>,
    pub obs: Vec<usize>,
}

impl LevelIndex {
    pub fn new(group: &[usize], nlevels: usize) -> Self {
        let mut ptr = vec![0usize; nlevels + 1];
        for &g in group {
            ptr[g + 1] += 1;
        }
        for j in 0..nlevels {
            ptr[j + 1] += ptr[j];
        }
        let mut fill = ptr.clone();
        let mut obs = vec![0usize; group.len()];
        for (i, &g) in group.iter().enumerate() {
            obs[fill[g]] = i;
            fill[g] += 1;
        }
        LevelIndex { ptr, obs }
    }
}

/// Column-major k-by-k lower-triangular lambda from the term's theta, which
/// holds the lower triangle column by column (lme4's order).
pub fn lambda_from_theta(theta: &[f64], k: usize) -> Vec<f64> {
    let mut lam = vec![0.0; k * k];
    let mut pos = 0;
    for j in 0..k {
        for i in j..k {
            lam[i + j * k] = theta[pos];
            pos += 1;
        }
    }
    lam
}

/// Starting theta of a term: lambda = identity, as lme4 starts.
pub fn theta_start(k: usize) -> Vec<f64> {
    let mut t = Vec::with_capacity(k * (k + 1) / 2);
    for j in 0..k {
        for i in j..k {
            t.push(if i == j { 1.0 } else { 0.0 });
        }
    }
    t
}

/// Indices (within the term's theta) of the diagonal elements of lambda.
pub fn theta_diagonal_positions(k: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(k);
    let mut pos = 0;
    for j in 0..k {
        out.push(pos);
        pos += k - j;
    }
    out
}

/// The deviance depends on lambda only through lambda lambda', so a column may
/// change sign freely. Make every diagonal element non-negative, as lme4 reports.
pub fn normalize_theta_signs(theta: &mut [f64], k: usize) {
    let mut pos = 0;
    for j in 0..k {
        let len = k - j;
        if theta[pos] < 0.0 {
            for v in &mut theta[pos..pos + len] {
                *v = -*v;
            }
        }
        pos += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brute_force::{dense_lambda, dense_z};
    use crate::testutil::Rng;
    use nalgebra::DVector;

    #[test]
    fn lambda_layout_follows_lme4_order() {
        let lam = lambda_from_theta(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3);
        // column 0: 1,2,3; column 1: 4,5 below the diagonal; column 2: 6
        assert_eq!(lam, vec![1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 0.0, 0.0, 6.0]);
        assert_eq!(theta_diagonal_positions(3), vec![0, 3, 5]);
        assert_eq!(theta_start(2), vec![1.0, 0.0, 1.0]);
    }

    #[test]
    fn sign_normalization_flips_whole_columns() {
        let mut t = vec![-1.0, 0.5, -2.0];
        normalize_theta_signs(&mut t, 2);
        assert_eq!(t, vec![1.0, -0.5, 2.0]);
    }

    #[test]
    fn products_with_z_and_lambda_equal_the_dense_ones() {
        let mut rng = Rng::new(3);
        let (n, levels, k) = (40, 6, 3);
        let group: Vec<usize> = (0..n).map(|_| rng.below(levels)).collect();
        let z: Vec<f64> = (0..n * k).map(|_| rng.normal()).collect();
        let t = ReTerm::new(group, levels, k, z).unwrap();
        let theta: Vec<f64> = (0..t.ntheta()).map(|_| rng.normal()).collect();
        let zd = dense_z(std::slice::from_ref(&t), n);
        let ld = dense_lambda(std::slice::from_ref(&t), &theta);
        let lam = t.lambda(&theta);
        let b: Vec<f64> = (0..t.nranef()).map(|_| rng.normal()).collect();
        let v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let bd = DVector::from_column_slice(&b);
        let vd = DVector::from_column_slice(&v);
        let close = |got: &[f64], want: &DVector<f64>| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() < 1e-12 * (1.0 + w.abs()), "{g} vs {w}");
            }
        };
        // the products add to what `out` holds
        let mut out = vec![1.0; n];
        t.add_z_times(&b, &mut out);
        close(&out, &(&zd * &bd).add_scalar(1.0));
        let mut out = vec![1.0; t.nranef()];
        t.add_zt_times(&v, &mut out);
        close(&out, &(zd.transpose() * &vd).add_scalar(1.0));
        let mut x = b.clone();
        t.lambda_times(&lam, &mut x);
        close(&x, &(&ld * &bd));
        let mut x = b.clone();
        t.lambda_t_times(&lam, &mut x);
        close(&x, &(ld.transpose() * &bd));
    }

    #[test]
    fn level_index_lists_each_levels_observations() {
        let idx = LevelIndex::new(&[2, 0, 2, 1, 0], 4);
        assert_eq!(idx.ptr, vec![0, 2, 3, 5, 5]);
        assert_eq!(idx.obs, vec![1, 4, 3, 0, 2]);
    }

    #[test]
    fn bad_codes_are_errors() {
        assert!(ReTerm::new(vec![0, 3], 2, 1, vec![1.0, 1.0]).is_err());
        assert!(ReTerm::new(vec![0, 1], 2, 1, vec![1.0]).is_err());
        assert!(ReTerm::new(vec![0, 1], 2, 1, vec![1.0, f64::NAN]).is_err());
    }
}
