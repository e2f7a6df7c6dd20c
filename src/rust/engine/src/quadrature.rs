//! Gauss-Hermite rules for the standard normal density: nodes z_k and
//! weights w_k with sum_k w_k f(z_k) ~ E f(Z), Z ~ N(0, 1). Built by the
//! Golub-Welsch method: the nodes are the eigenvalues of the Jacobi matrix
//! of the (probabilists') Hermite polynomials, the weights the squared first
//! components of its eigenvectors.

use nalgebra::{DMatrix, SymmetricEigen};

#[derive(Debug, Clone)]
pub struct GaussHermite {
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

impl GaussHermite {
    pub fn new(n: usize) -> Self {
        assert!(n >= 1);
        if n == 1 {
            return GaussHermite { nodes: vec![0.0], weights: vec![1.0] };
        }
        let mut j = DMatrix::<f64>::zeros(n, n);
        for k in 1..n {
            let b = (k as f64).sqrt();
            j[(k, k - 1)] = b;
            j[(k - 1, k)] = b;
        }
        let eig = SymmetricEigen::new(j);
        let mut pairs: Vec<(f64, f64)> = (0..n).map(|i| (eig.eigenvalues[i], eig.eigenvectors[(0, i)].powi(2))).collect();
        pairs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        // Exact symmetry: average mirrored pairs, centre node exactly 0.
        let mut nodes: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let mut weights: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        for i in 0..n / 2 {
            let z = 0.5 * (nodes[n - 1 - i] - nodes[i]);
            let w = 0.5 * (weights[i] + weights[n - 1 - i]);
            nodes[i] = -z;
            nodes[n - 1 - i] = z;
            weights[i] = w;
            weights[n - 1 - i] = w;
        }
        if n % 2 == 1 {
            nodes[n / 2] = 0.0;
        }
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        GaussHermite { nodes, weights }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_integrates_normal_moments_exactly() {
        // E Z^(2m) = (2m - 1)!!, exact for 2m <= 2n - 1
        for n in [2usize, 3, 5, 9, 25] {
            let r = GaussHermite::new(n);
            let mut dfact = 1.0;
            for m in 0..n {
                if m > 0 {
                    dfact *= (2 * m - 1) as f64;
                }
                let got: f64 = r.nodes.iter().zip(&r.weights).map(|(z, w)| w * z.powi(2 * m as i32)).sum();
                // high moments amplify the eigen-solver rounding
                assert!((got - dfact).abs() < 1e-7 * dfact, "n={n} m={m}: {got} vs {dfact}");
            }
        }
    }

    #[test]
    fn three_node_rule_is_known() {
        let r = GaussHermite::new(3);
        assert!((r.nodes[2] - 3f64.sqrt()).abs() < 1e-14);
        assert!((r.weights[1] - 2.0 / 3.0).abs() < 1e-14);
        assert!((r.weights[0] - 1.0 / 6.0).abs() < 1e-14);
    }
}
