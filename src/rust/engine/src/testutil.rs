//! Small deterministic random numbers for the unit tests (no extra crate).

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// A Poisson draw with mean lam, by inversion.
    pub fn poisson(&mut self, lam: f64) -> f64 {
        let (mut k, mut p, u) = (0.0, (-lam).exp(), self.uniform());
        let mut c = p;
        while u > c {
            k += 1.0;
            p *= lam / k;
            c += p;
        }
        k
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The shape of lme4's InstEval for the timing tests: 73,421 rows, three
/// scalar terms of 2,972, 1,128 and 14 levels (the last nested in the
/// second), X = [1, 0/1] and a random response. Returns (terms, x, y).
pub fn insteval_shaped(rng: &mut Rng) -> (Vec<crate::reterm::ReTerm>, Vec<f64>, Vec<f64>) {
    let n = 73421;
    let g1: Vec<usize> = (0..n).map(|i| if i < 2972 { i } else { rng.below(2972) }).collect();
    let g2: Vec<usize> = (0..n).map(|i| if i < 1128 { i } else { rng.below(1128) }).collect();
    let g3: Vec<usize> = g2.iter().map(|&d| d % 14).collect();
    let t = |g: Vec<usize>, l| crate::reterm::ReTerm::new(g, l, 1, vec![1.0; n]).unwrap();
    let terms = vec![t(g1, 2972), t(g2, 1128), t(g3, 14)];
    let x: Vec<f64> = (0..2 * n).map(|e| if e < n { 1.0 } else { (e % 2) as f64 }).collect();
    let y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    (terms, x, y)
}
