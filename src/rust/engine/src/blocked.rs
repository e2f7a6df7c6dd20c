//! The blocked penalized least-squares system and its Cholesky factor.
//!
//! Rows and columns are ordered: the random effects of the first (largest)
//! term, then the random effects of every other term ("rest" terms), then the
//! fixed-effects columns of X, then the response. With W the weights,
//!
//!   A = [Z X y]' W [Z X y],   M(theta) = Lambda' A Lambda + I (on the Z part)
//!
//! and M = L L'. Because every observation belongs to one level of the first
//! term, that term's diagonal block is block diagonal (k1-by-k1 blocks) and
//! stays so in L. Its off-diagonal block column is kept sparse, one dense
//! (pattern rows)-by-k1 block per level (the level's sparsity pattern is
//! shared by its k1 columns). Everything after the first term is one dense
//! symmetric block: crossed terms fill it in anyway, and it is factored by the
//! blocked dense Cholesky. The cost of building L for a new theta is linear
//! in the number of observations' distinct level pairs, and does not grow
//! with n beyond that.

use std::sync::Arc;

use crate::dense_chol::{cholesky_in_place, solve_lower_transpose, subtract_gram_lower};
use crate::error::{EngineError, Result};
use crate::memory::{fmt_count, try_copy_from, try_copy_from_named, try_filled, try_resize, try_with_capacity, try_zeros};
use crate::reterm::{level_lambda_t_times, ReTerm};
use crate::threads::{self, SharedPtr};

/// What the dense block is, for a message about its allocation.
pub(crate) fn dense_block_name(m: usize) -> String {
    format!("the dense {} x {} block of the random-effects terms after the first", fmt_count(m as f64), fmt_count(m as f64))
}

/// The column of the dense block that splits the level-by-level updates
/// of `factor` into two halves of about equal work, or m when there are too
/// few for a second thread to pay (about 200,000).
fn schur_split(rows: &[usize], rows_ptr: &[usize], m: usize) -> usize {
    let mut per_col = vec![0usize; m];
    for w in rows_ptr.windows(2) {
        let lrows = &rows[w[0]..w[1]];
        for (ci, &r) in lrows.iter().enumerate() {
            per_col[r] += lrows.len() - ci;
        }
    }
    let total: usize = per_col.iter().sum();
    if total < 200_000 {
        return m;
    }
    let mut acc = 0;
    for (c, &w) in per_col.iter().enumerate() {
        acc += w;
        if 2 * acc >= total {
            return c + 1;
        }
    }
    m
}

/// A run of `k` consecutive pattern rows belonging to one level of a rest term.
#[derive(Debug, Clone, Copy)]
struct RowBlock {
    term: usize,
}

#[derive(Debug, Clone)]
pub struct BlockedSystem {
    pub n: usize,
    pub p: usize,
    /// Shared: a GLMM's two systems (with and without X) hold one copy of
    /// the terms' codes and Z values, which are per observation.
    pub terms: Arc<Vec<ReTerm>>,
    /// Start of each term's random effects in the full ordering.
    pub term_offset: Vec<usize>,
    /// Start of each rest term (index >= 1) within the dense block.
    pub(crate) rest_offset: Vec<usize>,
    pub q1: usize,
    pub q_rest: usize,
    /// Size of the dense block: q_rest + p + 1.
    pub m: usize,
    pub(crate) k1: usize,
    /// Per level of term 1: its pattern rows (dense-block indices, ascending).
    pub(crate) rows_ptr: Vec<usize>,
    pub(crate) rows: Vec<usize>,
    /// Per level of term 1: row blocks of rest terms in its pattern.
    blocks_ptr: Vec<usize>,
    blocks: Vec<RowBlock>,
    /// Start of each level's values in `ar1` (len_j * k1 values, column-major).
    pub(crate) val_ptr: Vec<usize>,
    /// For observation i and rest term t: the pattern position of its block.
    pub(crate) obs_pos: Vec<usize>,
    /// Cross-products: term-1 diagonal blocks, term-1 off-diagonal blocks,
    /// and the full symmetric dense block.
    a11: Vec<f64>,
    ar1: Vec<f64>,
    arr: Vec<f64>,
    /// Are the rows in the order of the first term's levels (each level's
    /// rows contiguous)? Then `update_crossproducts` may split them by level.
    level_sorted: bool,
    /// Form L_r1 L_r1' as one dense product (a small dense block with long
    /// level patterns) rather than level by level.
    pub(crate) dense_schur: bool,
    /// The level-by-level updates of the dense block are shared between two
    /// threads by columns: those left of `schur_split` and the rest, about
    /// half the updates each. `schur_split == m`: one thread (few updates).
    schur_split: usize,
}

/// The factor L of M(theta), in the same blocked layout.
#[derive(Debug, Clone, Default)]
pub struct Factor {
    pub(crate) lambdas: Vec<Vec<f64>>,
    pub(crate) l11: Vec<f64>,
    pub(crate) lr1: Vec<f64>,
    /// Dense block factor, column-major m-by-m (lower triangle).
    pub(crate) s: Vec<f64>,
    /// Work space: a dense copy of L_r1 (see `dense_schur`).
    pub(crate) dense: Vec<f64>,
}

impl BlockedSystem {
    /// Lay out the system for the given terms (the first is the largest) and
    /// p fixed-effects columns. Values are filled by `update_crossproducts`.
    pub fn new(terms: impl Into<Arc<Vec<ReTerm>>>, n: usize, p: usize) -> Result<Self> {
        let terms: Arc<Vec<ReTerm>> = terms.into();
        if terms.is_empty() {
            return Err(EngineError::Input("no random-effects terms".into()));
        }
        if terms.iter().any(|t| t.group.len() != n) {
            return Err(EngineError::Input("term lengths differ from the number of observations".into()));
        }
        let mut term_offset = Vec::with_capacity(terms.len());
        let mut acc = 0;
        for t in terms.iter() {
            term_offset.push(acc);
            acc += t.nranef();
        }
        let q1 = terms[0].nranef();
        let k1 = terms[0].k;
        let l1 = terms[0].nlevels;
        let mut rest_offset = vec![0; terms.len()];
        let mut r = 0;
        for (t, term) in terms.iter().enumerate().skip(1) {
            rest_offset[t] = r;
            r += term.nranef();
        }
        let q_rest = r;
        let m = q_rest + p + 1;
        let nrest = terms.len() - 1;

        // Distinct (term-1 level, rest-term block row) pairs, sorted.
        let mut pairs: Vec<(usize, usize, usize)> = try_with_capacity(n * nrest, "the level pairs of the terms")?;
        for i in 0..n {
            let j = terms[0].group[i];
            for t in 1..terms.len() {
                let row = rest_offset[t] + terms[t].group[i] * terms[t].k;
                pairs.push((j, row, t));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();

        let per_level = "the blocks of the first random-effects term";
        let mut rows_ptr = try_filled(l1 + 1, 0usize, per_level)?;
        let nrows = pairs.iter().map(|&(_, _, t)| terms[t].k).sum::<usize>() + l1 * (p + 1);
        let mut rows = try_with_capacity(nrows, per_level)?;
        let mut blocks_ptr = try_filled(l1 + 1, 0usize, per_level)?;
        let mut blocks = try_with_capacity(pairs.len(), per_level)?;
        let mut val_ptr = try_filled(l1 + 1, 0usize, per_level)?;
        let mut idx = 0;
        for j in 0..l1 {
            while idx < pairs.len() && pairs[idx].0 == j {
                let (_, row, t) = pairs[idx];
                blocks.push(RowBlock { term: t });
                for b in 0..terms[t].k {
                    rows.push(row + b);
                }
                idx += 1;
            }
            for c in q_rest..m {
                rows.push(c);
            }
            rows_ptr[j + 1] = rows.len();
            blocks_ptr[j + 1] = blocks.len();
            val_ptr[j + 1] = val_ptr[j] + (rows_ptr[j + 1] - rows_ptr[j]) * k1;
        }
        drop(pairs);

        // Pattern position of each observation's block in its level's rows.
        let mut obs_pos = try_filled(n * nrest, 0usize, "the level pairs of the terms")?;
        for i in 0..n {
            let j = terms[0].group[i];
            let lrows = &rows[rows_ptr[j]..rows_ptr[j + 1]];
            for t in 1..terms.len() {
                let row = rest_offset[t] + terms[t].group[i] * terms[t].k;
                let pos = lrows.binary_search(&row).expect("pattern row present");
                obs_pos[i * nrest + (t - 1)] = pos;
            }
        }

        // Dense m-by-q1 product costs m^2 q1; the level-by-level scattered
        // updates sum len_j^2 k1 / 2 but run several times slower per flop.
        let sum_len2: f64 = (0..l1).map(|j| ((rows_ptr[j + 1] - rows_ptr[j]) as f64).powi(2)).sum();
        let dense_schur = (m as f64).powi(2) * (q1 as f64) <= 8.0 * sum_len2 * k1 as f64 && m * q1 <= 4_000_000;
        let schur_split = schur_split(&rows, &rows_ptr, m);
        let a11 = try_zeros(l1 * k1 * k1, per_level)?;
        let ar1 = try_zeros(val_ptr[l1], per_level)?;
        let arr = try_zeros(m * m, &dense_block_name(m))?;
        let level_sorted = terms[0].group.windows(2).all(|g| g[0] <= g[1]);
        Ok(BlockedSystem {
            level_sorted,
            dense_schur,
            schur_split,
            n,
            p,
            terms,
            term_offset,
            rest_offset,
            q1,
            q_rest,
            m,
            k1,
            rows_ptr,
            rows,
            blocks_ptr,
            blocks,
            a11,
            ar1,
            val_ptr,
            obs_pos,
            arr,
        })
    }

    pub fn ntheta(&self) -> usize {
        self.terms.iter().map(|t| t.ntheta()).sum()
    }

    pub fn q(&self) -> usize {
        self.q1 + self.q_rest
    }

    /// Fill A = [Z X y]' W [Z X y] for column-major X (n-by-p), response y and
    /// weights w. Called once for an LMM, once per PIRLS step for a GLMM.
    ///
    /// Large problems whose rows are sorted by the first term's level (a
    /// GLMM's are) are cut into `threads::CHUNKS` runs of whole levels, which
    /// write disjoint parts of the first term's blocks; each run sums its
    /// part of the dense block on its own, and those sums are added in run
    /// order, so the result is the same for any number of threads.
    pub fn update_crossproducts(&mut self, x: &[f64], y: &[f64], w: &[f64]) {
        let (n, m, k1) = (self.n, self.m, self.k1);
        let mut a11 = std::mem::take(&mut self.a11);
        let mut ar1 = std::mem::take(&mut self.ar1);
        let mut arr = std::mem::take(&mut self.arr);
        a11.iter_mut().for_each(|v| *v = 0.0);
        ar1.iter_mut().for_each(|v| *v = 0.0);
        arr.iter_mut().for_each(|v| *v = 0.0);
        // one more dense block per run: only where it is small beside the data
        let chunked = self.level_sorted && n >= threads::min_parallel_n() && m * m <= n && (threads::CHUNKS - 1) * m * m <= 4_000_000;
        if chunked {
            let group = &self.terms[0].group;
            let nl = self.terms[0].nlevels;
            // runs end where a level ends
            let mut starts: Vec<usize> = threads::chunk_ranges(n).iter().map(|r| r.start).collect();
            for b in starts.iter_mut().skip(1) {
                while *b > 0 && *b < n && group[*b] == group[*b - 1] {
                    *b += 1;
                }
            }
            for c in 1..starts.len() {
                starts[c] = starts[c].max(starts[c - 1]);
            }
            let first_level = |c: usize| {
                if c == 0 {
                    0
                } else if starts[c] < n {
                    group[starts[c]]
                } else {
                    nl
                }
            };
            let mut partial: Vec<Vec<f64>> = (1..starts.len()).map(|_| vec![0.0; m * m]).collect();
            let mut tasks = Vec::with_capacity(starts.len());
            let (mut a11_rest, mut ar1_rest) = (&mut a11[..], &mut ar1[..]);
            let mut arr_parts = std::iter::once(&mut arr[..]).chain(partial.iter_mut().map(|v| &mut v[..]));
            for c in 0..starts.len() {
                let (l0, l1) = (first_level(c), if c + 1 < starts.len() { first_level(c + 1) } else { nl });
                let (a, rest) = std::mem::take(&mut a11_rest).split_at_mut((l1 - l0) * k1 * k1);
                a11_rest = rest;
                let (r, rest) = std::mem::take(&mut ar1_rest).split_at_mut(self.val_ptr[l1] - self.val_ptr[l0]);
                ar1_rest = rest;
                let end = if c + 1 < starts.len() { starts[c + 1] } else { n };
                tasks.push((starts[c]..end, l0, a, r, arr_parts.next().expect("one dense block per run")));
            }
            let this = &*self;
            threads::run(tasks, |(range, l0, a, r, d)| this.accumulate(x, y, w, range, l0, a, r, d));
            for part in &partial {
                for (v, pv) in arr.iter_mut().zip(part) {
                    *v += pv;
                }
            }
        } else {
            self.accumulate(x, y, w, 0..n, 0, &mut a11, &mut ar1, &mut arr);
        }
        for c in 0..m {
            for r in c + 1..m {
                arr[c + r * m] = arr[r + c * m];
            }
        }
        self.a11 = a11;
        self.ar1 = ar1;
        self.arr = arr;
    }

    /// Add the cross-products of the observations in `obs` into `a11` and
    /// `ar1` (the parts of the first term's blocks from level `level0` on)
    /// and into the lower triangle of the dense block `arr`.
    #[allow(clippy::too_many_arguments)]
    fn accumulate(
        &self,
        x: &[f64],
        y: &[f64],
        w: &[f64],
        obs: std::ops::Range<usize>,
        level0: usize,
        a11: &mut [f64],
        ar1: &mut [f64],
        arr: &mut [f64],
    ) {
        let (n, p, m, k1) = (self.n, self.p, self.m, self.k1);
        let nrest = self.terms.len() - 1;
        let BlockedSystem { terms, rest_offset, rows_ptr, val_ptr, obs_pos, q_rest, .. } = self;
        let (a11_base, val_base) = (level0 * k1 * k1, val_ptr[level0]);
        // Positions and values of one observation's row within the dense
        // block; the positions ascend (terms, then X, then y), so every
        // pair (ri >= ci) lands in the lower triangle.
        let width: usize = terms[1..].iter().map(|t| t.k).sum::<usize>() + p + 1;
        let mut pos = vec![0usize; width];
        let mut val = vec![0.0f64; width];
        let t1 = &terms[0];
        // The response and fixed-effects rows of a level's block column are
        // summed in `tail_acc` while consecutive rows share the level (rows
        // sorted by level make them contiguous) and written once: adding
        // into memory row after row would wait on each previous store.
        let tail_len = k1 * (p + 1);
        let mut tail_acc = vec![0.0f64; tail_len];
        let mut tail_level = usize::MAX;
        let flush = |ar1: &mut [f64], level: usize, acc: &mut [f64]| {
            if level == usize::MAX {
                return;
            }
            let len = rows_ptr[level + 1] - rows_ptr[level];
            let vstart = val_ptr[level] - val_base;
            let tail = len - (p + 1);
            for a in 0..k1 {
                for c in 0..=p {
                    ar1[vstart + a * len + tail + c] += acc[a * (p + 1) + c];
                }
            }
            acc.iter_mut().for_each(|v| *v = 0.0);
        };
        for i in obs {
            let wi = w[i];
            if wi == 0.0 {
                continue;
            }
            let j = t1.group[i];
            let z1 = t1.zrow(i);
            // term-1 diagonal block
            let jb = j * k1 * k1 - a11_base;
            let blk = &mut a11[jb..jb + k1 * k1];
            for a in 0..k1 {
                let wza = wi * z1[a];
                for b in 0..k1 {
                    blk[b + a * k1] += wza * z1[b];
                }
            }
            let mut e = 0;
            for t in 1..terms.len() {
                let term = &terms[t];
                let row = rest_offset[t] + term.group[i] * term.k;
                for (b, zb) in term.zrow(i).iter().enumerate() {
                    pos[e] = row + b;
                    val[e] = *zb;
                    e += 1;
                }
            }
            for c in 0..p {
                pos[e] = *q_rest + c;
                val[e] = x[i + c * n];
                e += 1;
            }
            pos[e] = m - 1;
            val[e] = y[i];
            // term-1 off-diagonal block column
            if j != tail_level {
                flush(ar1, tail_level, &mut tail_acc);
                tail_level = j;
            }
            let len = rows_ptr[j + 1] - rows_ptr[j];
            let vstart = val_ptr[j] - val_base;
            let rest_width = width - (p + 1);
            for a in 0..k1 {
                let col = &mut ar1[vstart + a * len..vstart + (a + 1) * len];
                let wz = wi * z1[a];
                let mut e = 0;
                for t in 1..terms.len() {
                    let kt = terms[t].k;
                    let rp = obs_pos[i * nrest + (t - 1)];
                    for b in 0..kt {
                        col[rp + b] += wz * val[e + b];
                    }
                    e += kt;
                }
                let acc = &mut tail_acc[a * (p + 1)..(a + 1) * (p + 1)];
                for (c, v) in val[rest_width..].iter().enumerate() {
                    acc[c] += wz * v;
                }
            }
            // dense block, lower triangle
            for ci in 0..width {
                let wv = wi * val[ci];
                let colbase = pos[ci] * m;
                for ri in ci..width {
                    arr[pos[ri] + colbase] += wv * val[ri];
                }
            }
        }
        flush(ar1, tail_level, &mut tail_acc);
    }

    /// Factor M(theta) = Lambda' A Lambda + I into `f`.
    pub fn factor(&self, theta: &[f64], f: &mut Factor) -> Result<()> {
        if theta.len() != self.ntheta() {
            return Err(EngineError::Input(format!("theta has length {}, expected {}", theta.len(), self.ntheta())));
        }
        if theta.iter().any(|v| !v.is_finite()) {
            return Err(EngineError::Input("non-finite theta".into()));
        }
        f.lambdas = self.lambdas(theta);
        let k1 = self.k1;
        let l1 = self.terms[0].nlevels;
        let lam1 = &f.lambdas[0];
        let m = self.m;

        // Term-1 diagonal blocks: chol(lam1' A_j lam1 + I).
        try_resize(&mut f.l11, self.a11.len(), "the blocks of the first random-effects term")?;
        let mut tmp = vec![0.0; k1 * k1];
        for j in 0..l1 {
            let a = &self.a11[j * k1 * k1..(j + 1) * k1 * k1];
            let out = &mut f.l11[j * k1 * k1..(j + 1) * k1 * k1];
            small_congruence(a, lam1, k1, &mut tmp, out);
            for d in 0..k1 {
                out[d + d * k1] += 1.0;
            }
            cholesky_in_place(out, k1, k1)?;
        }

        // Term-1 off-diagonal blocks: (Lambda_R' A_r1 lam1) L11^{-T}.
        try_copy_from(&mut f.lr1, &self.ar1, "the blocks of the first random-effects term")?;
        let mut rowbuf = vec![0.0; k1.max(1)];
        for j in 0..l1 {
            let len = self.rows_ptr[j + 1] - self.rows_ptr[j];
            let vs = self.val_ptr[j];
            let blk = &mut f.lr1[vs..vs + len * k1];
            // left: each rest-term row block times lambda_t'
            let mut rp = 0;
            for b in &self.blocks[self.blocks_ptr[j]..self.blocks_ptr[j + 1]] {
                let kt = self.terms[b.term].k;
                let lam = &f.lambdas[b.term];
                for a in 0..k1 {
                    level_lambda_t_times(lam, &mut blk[a * len + rp..a * len + rp + kt]);
                }
                rp += kt;
            }
            // right: times lam1, then solve against L11_j'
            let l = &f.l11[j * k1 * k1..(j + 1) * k1 * k1];
            for r in 0..len {
                for a in 0..k1 {
                    let mut s = 0.0;
                    for c in a..k1 {
                        s += blk[c * len + r] * lam1[c + a * k1];
                    }
                    rowbuf[a] = s;
                }
                // x L' = rowbuf  <=>  L x' = rowbuf'
                for a in 0..k1 {
                    let mut s = rowbuf[a];
                    for c in 0..a {
                        s -= l[a + c * k1] * rowbuf[c];
                    }
                    rowbuf[a] = s / l[a + a * k1];
                    blk[a * len + r] = rowbuf[a];
                }
            }
        }

        // Dense block: Lambda_R' A_rr Lambda_R + I - L_r1 L_r1', then factor.
        // Only the lower triangle is formed; it is all the Cholesky reads.
        if self.terms[1..].iter().all(|t| t.k == 1) {
            // one pass: S[r, c] = A_rr[r, c] d_r d_c
            try_resize(&mut f.s, m * m, &dense_block_name(m))?;
            let d = self.scalar_lambda_diagonal(&f.lambdas);
            for c in 0..m {
                let dc = d[c];
                let (src, dst) = (&self.arr[c * m + c..(c + 1) * m], &mut f.s[c * m + c..(c + 1) * m]);
                for ((o, a), dr) in dst.iter_mut().zip(src).zip(&d[c..]) {
                    *o = a * dr * dc;
                }
            }
        } else {
            try_copy_from_named(&mut f.s, &self.arr, || dense_block_name(m))?;
            self.scale_dense_block(&f.lambdas, &mut f.s);
        }
        for r in 0..self.q_rest {
            f.s[r + r * m] += 1.0;
        }
        if self.dense_schur {
            self.subtract_dense_schur(f)?;
            return cholesky_in_place(&mut f.s, m, m);
        }
        let sp = SharedPtr(f.s.as_mut_ptr());
        let lr1 = &f.lr1;
        let split = if threads::threads() > 1 { self.schur_split } else { m };
        let columns = [(0, split), (split, m)];
        // SAFETY: the two calls (one when split == m) write the disjoint
        // column ranges of S in `columns`.
        threads::run_pair(split < m, &|tid| unsafe { self.subtract_schur_columns(lr1, sp, columns[tid].0, columns[tid].1) });
        cholesky_in_place(&mut f.s, m, m)
    }

    /// S <- S - L_r1 L_r1' on the lower triangle's columns c_lo..c_hi, level
    /// by level (each target's updates in the order of the levels, whichever
    /// columns a call covers).
    ///
    /// # Safety
    /// `s` points to the m-by-m dense block, whose columns c_lo..c_hi no one
    /// else accesses meanwhile.
    unsafe fn subtract_schur_columns(&self, lr1: &[f64], s: SharedPtr, c_lo: usize, c_hi: usize) {
        let m = self.m;
        for j in 0..self.terms[0].nlevels {
            let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j + 1]];
            let len = rows.len();
            let vs = self.val_ptr[j];
            let blk = &lr1[vs..vs + len * self.k1];
            let first = rows.partition_point(|&r| r < c_lo);
            for a in 0..self.k1 {
                let col = &blk[a * len..(a + 1) * len];
                for ci in first..len {
                    if rows[ci] >= c_hi {
                        break;
                    }
                    let vc = col[ci];
                    if vc == 0.0 {
                        continue;
                    }
                    let cbase = s.0.add(rows[ci] * m);
                    for ri in ci..len {
                        *cbase.add(rows[ri]) -= col[ri] * vc;
                    }
                }
            }
        }
    }

    /// Lambda_R's diagonal (then ones for X and y) when every term after
    /// the first is scalar.
    fn scalar_lambda_diagonal(&self, lambdas: &[Vec<f64>]) -> Vec<f64> {
        let mut d = vec![1.0; self.m];
        for t in 1..self.terms.len() {
            let r0 = self.rest_offset[t];
            d[r0..r0 + self.terms[t].nlevels].iter_mut().for_each(|v| *v = lambdas[t][0]);
        }
        d
    }

    /// S <- Lambda_R' S Lambda_R on the lower triangle, column by column so
    /// that memory is read in order, for terms after the first that are not
    /// all scalar (`factor` scales the scalar case as it copies): row blocks
    /// within each column, then column blocks.
    fn scale_dense_block(&self, lambdas: &[Vec<f64>], s: &mut [f64]) {
        let m = self.m;
        let rest = || self.terms.iter().zip(lambdas).zip(&self.rest_offset).skip(1);
        for c in 0..m {
            let col = &mut s[c * m..(c + 1) * m];
            for ((term, lam), &r0) in rest() {
                term.lambda_t_times(lam, &mut col[r0..r0 + term.nranef()]);
            }
        }
        for ((term, lam), &r0) in rest() {
            let k = term.k;
            for lev in 0..term.nlevels {
                let c0 = r0 + lev * k;
                for a in 0..k {
                    // column c0 + a <- sum_{b >= a} column (c0 + b) * lam[b, a]
                    for r in 0..m {
                        let mut acc = 0.0;
                        for b in a..k {
                            acc += s[r + (c0 + b) * m] * lam[b + a * k];
                        }
                        s[r + (c0 + a) * m] = acc;
                    }
                }
            }
        }
    }

    /// S <- S - L_r1 L_r1' through a dense m-by-q1 copy of L_r1 and the
    /// products of `subtract_gram_lower` (the lower triangle only, on two
    /// threads when large).
    fn subtract_dense_schur(&self, f: &mut Factor) -> Result<()> {
        let (m, q1, k1) = (self.m, self.q1, self.k1);
        f.dense.clear();
        try_resize(&mut f.dense, m * q1, "the Schur complement's work space")?;
        for j in 0..self.terms[0].nlevels {
            let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j + 1]];
            let len = rows.len();
            let blk = &f.lr1[self.val_ptr[j]..self.val_ptr[j] + len * k1];
            for a in 0..k1 {
                let col = &mut f.dense[(j * k1 + a) * m..(j * k1 + a + 1) * m];
                for (ri, &r) in rows.iter().enumerate() {
                    col[r] = blk[a * len + ri];
                }
            }
        }
        subtract_gram_lower(&mut f.s, m, m, &f.dense, q1, m);
        Ok(())
    }

    /// Add `v` to the response's sum of squares: lets a system whose
    /// response column is irrelevant (only R_X is wanted) still factor.
    pub fn add_to_response_ss(&mut self, v: f64) {
        let m = self.m;
        self.arr[(m - 1) + (m - 1) * m] += v;
    }

    /// log det of the random-effects part of L, squared: log |L_theta|^2.
    pub fn logdet_theta(&self, f: &Factor) -> f64 {
        let k1 = self.k1;
        let mut s = 0.0;
        for j in 0..self.terms[0].nlevels {
            for d in 0..k1 {
                s += f.l11[j * k1 * k1 + d + d * k1].ln();
            }
        }
        for r in 0..self.q_rest {
            s += f.s[r + r * self.m].ln();
        }
        2.0 * s
    }

    /// log |R_X|^2, the fixed-effects part of the factor (used by REML).
    pub fn logdet_x(&self, f: &Factor) -> f64 {
        let mut s = 0.0;
        for r in self.q_rest..self.q_rest + self.p {
            s += f.s[r + r * self.m].ln();
        }
        2.0 * s
    }

    /// Penalized weighted residual sum of squares at the conditional optimum.
    pub fn pwrss(&self, f: &Factor) -> f64 {
        let d = f.s[(self.m - 1) + (self.m - 1) * self.m];
        d * d
    }

    /// Solve for (u, beta) from the response row of L: returns (u in the full
    /// random-effects order, beta).
    pub fn solve_u_beta(&self, f: &Factor) -> (Vec<f64>, Vec<f64>) {
        let m = self.m;
        let k1 = self.k1;
        // The response row of L gives the right-hand side c.
        let mut xr: Vec<f64> = (0..m - 1).map(|c| f.s[(m - 1) + c * m]).collect();
        solve_lower_transpose(&f.s, m - 1, m, &mut xr);
        let l1 = self.terms[0].nlevels;
        let mut u = vec![0.0; self.q()];
        for j in 0..l1 {
            let rows = &self.rows[self.rows_ptr[j]..self.rows_ptr[j + 1]];
            let len = rows.len();
            let vs = self.val_ptr[j];
            let blk = &f.lr1[vs..vs + len * k1];
            let mut c = vec![0.0; k1];
            for a in 0..k1 {
                let col = &blk[a * len..(a + 1) * len];
                // the last pattern row is the response row
                let mut s = col[len - 1];
                for ri in 0..len - 1 {
                    s -= col[ri] * xr[rows[ri]];
                }
                c[a] = s;
            }
            let l = &f.l11[j * k1 * k1..(j + 1) * k1 * k1];
            solve_lower_transpose(l, k1, k1, &mut c);
            u[j * k1..(j + 1) * k1].copy_from_slice(&c);
        }
        u[self.q1..].copy_from_slice(&xr[..self.q_rest]);
        let beta = xr[self.q_rest..self.q_rest + self.p].to_vec();
        (u, beta)
    }

    /// R_X R_X' (L_XX L_XX' in the lower factor): the information about
    /// beta with the random effects profiled out.
    pub fn fixed_information(&self, f: &Factor) -> Vec<f64> {
        let (p, m, off) = (self.p, self.m, self.q_rest);
        let mut v = vec![0.0; p * p];
        for a in 0..p {
            for b in 0..p {
                let mut s = 0.0;
                for k in 0..=a.min(b) {
                    s += f.s[(off + a) + (off + k) * m] * f.s[(off + b) + (off + k) * m];
                }
                v[a + b * p] = s;
            }
        }
        v
    }

    /// (R_X' R_X)^{-1}: the unscaled covariance of beta.
    pub fn unscaled_vcov(&self, f: &Factor) -> Vec<f64> {
        let p = self.p;
        let m = self.m;
        let off = self.q_rest;
        // Inverse of the p-by-p lower block R_X (column-major).
        let mut inv = vec![0.0; p * p];
        for c in 0..p {
            let mut e = vec![0.0; p];
            e[c] = 1.0;
            for j in 0..p {
                let mut s = e[j];
                for (k, ek) in e[..j].iter().enumerate() {
                    s -= f.s[(off + j) + (off + k) * m] * ek;
                }
                e[j] = s / f.s[(off + j) + (off + j) * m];
            }
            inv[c * p..(c + 1) * p].copy_from_slice(&e);
        }
        // (L L')^{-1} = L^{-T} L^{-1}
        let mut v = vec![0.0; p * p];
        for a in 0..p {
            for b in 0..p {
                let mut s = 0.0;
                for k in 0..p {
                    s += inv[k + a * p] * inv[k + b * p];
                }
                v[a + b * p] = s;
            }
        }
        v
    }

    /// Each term's lambda for theta (column-major k-by-k).
    pub fn lambdas(&self, theta: &[f64]) -> Vec<Vec<f64>> {
        let mut pos = 0;
        self.terms
            .iter()
            .map(|t| {
                let l = t.lambda(&theta[pos..pos + t.ntheta()]);
                pos += t.ntheta();
                l
            })
            .collect()
    }

    /// Each term's part of a vector in the full random-effects order.
    fn term_parts_mut<'a>(&'a self, x: &'a mut [f64]) -> impl Iterator<Item = (&'a ReTerm, &'a mut [f64])> + 'a {
        let mut rest = x;
        self.terms.iter().map(move |t| {
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(t.nranef());
            rest = tail;
            (t, part)
        })
    }

    /// b = Lambda u (full random-effects order) for the per-term lambdas.
    pub fn lambda_times(&self, lambdas: &[Vec<f64>], u: &[f64]) -> Vec<f64> {
        let mut b = u.to_vec();
        for ((t, part), lam) in self.term_parts_mut(&mut b).zip(lambdas) {
            t.lambda_times(lam, part);
        }
        b
    }

    /// x <- Lambda' x (full random-effects order).
    pub fn lambda_t_times(&self, lambdas: &[Vec<f64>], x: &mut [f64]) {
        for ((t, part), lam) in self.term_parts_mut(x).zip(lambdas) {
            t.lambda_t_times(lam, part);
        }
    }

    /// out = Z b for b in the full random-effects order.
    /// Large n: in chunks of observations on up to `threads()` threads (each
    /// value is summed term by term from zero, whatever the split).
    pub fn z_times(&self, b: &[f64], out: &mut [f64]) {
        threads::for_each_mut(out, |i, o| {
            let mut s = 0.0;
            for (t, term) in self.terms.iter().enumerate() {
                let k = term.k;
                let base = self.term_offset[t] + term.group[i] * k;
                let mut si = 0.0;
                for (z, bv) in term.zrow(i).iter().zip(&b[base..base + k]) {
                    si += z * bv;
                }
                s += si;
            }
            *o = s;
        });
    }

    /// Z' v for v of length n (full random-effects order).
    pub fn zt_times(&self, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.q()];
        for (t, part) in self.term_parts_mut(&mut out) {
            t.add_zt_times(v, part);
        }
        out
    }
}

/// out = lam' a lam for k-by-k column-major matrices (lam lower triangular).
fn small_congruence(a: &[f64], lam: &[f64], k: usize, tmp: &mut [f64], out: &mut [f64]) {
    // tmp = a lam
    for c in 0..k {
        for r in 0..k {
            let mut s = 0.0;
            for q in c..k {
                s += a[r + q * k] * lam[q + c * k];
            }
            tmp[r + c * k] = s;
        }
    }
    // out = lam' tmp
    for c in 0..k {
        for r in 0..k {
            let mut s = 0.0;
            for q in r..k {
                s += lam[q + r * k] * tmp[q + c * k];
            }
            out[r + c * k] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brute_force::{dense_lambda, dense_system, dense_z, random_problem};
    use crate::testutil::Rng;
    use nalgebra::DVector;

    /// (levels, k, nested-in) for each term; the first term must be largest.
    fn check_against_dense(seed: u64, n: usize, p: usize, spec: &[(usize, usize, Option<usize>)]) {
        // both ways of forming the Schur complement
        check_against_dense_with(seed, n, p, spec, true);
        check_against_dense_with(seed, n, p, spec, false);
    }

    fn check_against_dense_with(seed: u64, n: usize, p: usize, spec: &[(usize, usize, Option<usize>)], dense_schur: bool) {
        let mut rng = Rng::new(seed);
        let pr = random_problem(&mut rng, n, p, spec);
        let mut sys = BlockedSystem::new(pr.terms.clone(), n, p).unwrap();
        sys.dense_schur = dense_schur;
        sys.update_crossproducts(&pr.x, &pr.y, &pr.w);
        let theta: Vec<f64> = (0..sys.ntheta()).map(|_| rng.normal()).collect();
        let mut f = Factor::default();
        sys.factor(&theta, &mut f).unwrap();

        let dense = dense_system(&pr, &theta);
        let l = dense.clone().cholesky().unwrap().l();
        let q = sys.q();
        let ld_t: f64 = 2.0 * (0..q).map(|i| l[(i, i)].ln()).sum::<f64>();
        let ld_x: f64 = 2.0 * (q..q + p).map(|i| l[(i, i)].ln()).sum::<f64>();
        let r2 = l[(q + p, q + p)].powi(2);
        let tol = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
        assert!(tol(sys.logdet_theta(&f), ld_t), "logdet theta {} vs {}", sys.logdet_theta(&f), ld_t);
        assert!(tol(sys.logdet_x(&f), ld_x), "logdet X {} vs {}", sys.logdet_x(&f), ld_x);
        assert!(tol(sys.pwrss(&f), r2), "pwrss {} vs {}", sys.pwrss(&f), r2);

        // Solutions of the penalized normal equations.
        let a = dense.view((0, 0), (q + p, q + p)).into_owned();
        let rhs = dense.view((0, q + p), (q + p, 1)).into_owned();
        let sol = a.cholesky().unwrap().solve(&rhs);
        let (u, beta) = sys.solve_u_beta(&f);
        for i in 0..q {
            assert!(tol(u[i], sol[i]), "u[{i}] {} vs {}", u[i], sol[i]);
        }
        for j in 0..p {
            assert!(tol(beta[j], sol[q + j]), "beta[{j}] {} vs {}", beta[j], sol[q + j]);
        }
        // (R_X' R_X)^{-1} is the fixed-effects block of the inverse.
        let inv = dense.view((0, 0), (q + p, q + p)).into_owned().try_inverse().unwrap();
        let v = sys.unscaled_vcov(&f);
        for a in 0..p {
            for b in 0..p {
                assert!(tol(v[a + b * p], inv[(q + a, q + b)]), "vcov");
            }
        }
    }

    /// The dense block's level-by-level update split by columns between two
    /// threads gives the factor the same bits as one thread doing it all, for
    /// scalar and vector terms (the split is forced here: these problems are
    /// below the size where `new` splits).
    #[test]
    fn the_split_dense_block_update_gives_the_same_bits() {
        use crate::threads::with_threads;
        for (seed, n, p, spec) in [
            (31u64, 400usize, 2usize, vec![(40usize, 1usize, None), (25, 1, None), (6, 1, None)]),
            (32, 500, 3, vec![(50, 2, None), (30, 1, None), (12, 2, None)]),
        ] {
            let mut rng = Rng::new(seed);
            let pr = random_problem(&mut rng, n, p, &spec);
            let mut sys = BlockedSystem::new(pr.terms.clone(), n, p).unwrap();
            sys.dense_schur = false;
            sys.update_crossproducts(&pr.x, &pr.y, &pr.w);
            let theta: Vec<f64> = (0..sys.ntheta()).map(|_| rng.normal()).collect();
            let factor = |sys: &BlockedSystem, nt: usize| {
                let mut f = Factor::default();
                with_threads(nt, || sys.factor(&theta, &mut f)).unwrap();
                f.s
            };
            assert_eq!(sys.schur_split, sys.m, "a small problem is not split");
            let whole = factor(&sys, 1);
            for split in [1, sys.m / 3, sys.m / 2, sys.m - 1] {
                sys.schur_split = split;
                assert!(factor(&sys, 2) == whole, "seed {seed}: split at {split} differs");
            }
        }
    }

    #[test]
    fn the_split_halves_the_work() {
        // one level per row block: level j's pattern is rows {j, j + 1, ..., m - 1}
        let m = 700;
        let mut rows = Vec::new();
        let mut rows_ptr = vec![0];
        for j in 0..m {
            rows.extend(j..m);
            rows_ptr.push(rows.len());
        }
        let split = schur_split(&rows, &rows_ptr, m);
        let work = |c_lo: usize, c_hi: usize| -> usize {
            rows_ptr.windows(2).map(|w| (w[0]..w[1]).filter(|&i| (c_lo..c_hi).contains(&rows[i])).map(|i| w[1] - i).sum::<usize>()).sum()
        };
        let (left, right) = (work(0, split), work(split, m));
        assert!(left.abs_diff(right) as f64 <= 0.01 * (left + right) as f64, "{left} vs {right}");
        assert_eq!(schur_split(&[0, 1, 2], &[0, 3], m), m, "too little work: no split");
    }

    #[test]
    fn single_scalar_term() {
        check_against_dense(1, 60, 2, &[(12, 1, None)]);
    }

    #[test]
    fn single_vector_term() {
        check_against_dense(2, 80, 3, &[(10, 2, None)]);
        check_against_dense(3, 90, 2, &[(8, 3, None)]);
    }

    #[test]
    fn crossed_scalar_terms() {
        check_against_dense(4, 120, 2, &[(30, 1, None), (9, 1, None)]);
        check_against_dense(5, 150, 1, &[(25, 1, None), (12, 1, None), (4, 1, None)]);
    }

    #[test]
    fn crossed_vector_terms() {
        check_against_dense(6, 200, 3, &[(20, 2, None), (7, 2, None), (5, 1, None)]);
    }

    #[test]
    fn nested_terms() {
        // a (10 levels) and a:b (40 levels) nested in it; plus a crossed term
        check_against_dense(7, 160, 2, &[(10, 1, None), (40, 1, Some(0))]);
        check_against_dense(8, 200, 2, &[(8, 2, None), (32, 1, Some(0)), (5, 1, None)]);
    }

    #[test]
    fn no_fixed_effects() {
        check_against_dense(9, 70, 0, &[(15, 1, None), (6, 1, None)]);
    }

    #[test]
    fn products_with_z_and_lambda_equal_the_dense_ones() {
        let mut rng = Rng::new(10);
        let pr = random_problem(&mut rng, 90, 1, &[(12, 2, None), (5, 1, None), (4, 3, None)]);
        let sys = BlockedSystem::new(pr.terms.clone(), pr.n, pr.p).unwrap();
        let theta: Vec<f64> = (0..sys.ntheta()).map(|_| rng.normal()).collect();
        let (z, lam) = (dense_z(&pr.terms, pr.n), dense_lambda(&pr.terms, &theta));
        let lambdas = sys.lambdas(&theta);
        let u: Vec<f64> = (0..sys.q()).map(|_| rng.normal()).collect();
        let v: Vec<f64> = (0..pr.n).map(|_| rng.normal()).collect();
        let (ud, vd) = (DVector::from_column_slice(&u), DVector::from_column_slice(&v));
        let close = |got: &[f64], want: DVector<f64>| {
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() < 1e-12 * (1.0 + w.abs()), "{g} vs {w}");
            }
        };
        close(&sys.lambda_times(&lambdas, &u), &lam * &ud);
        let mut x = u.clone();
        sys.lambda_t_times(&lambdas, &mut x);
        close(&x, lam.transpose() * &ud);
        let mut out = vec![f64::NAN; pr.n];
        sys.z_times(&u, &mut out);
        close(&out, &z * &ud);
        close(&sys.zt_times(&v), z.transpose() * &vd);
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::reterm::ReTerm;
    use crate::testutil::Rng;

    /// The 200,000-row Bernoulli shape of bench/scale.R (2,000 x 200
    /// levels, (1 + x | subj) + (1 | item)), rows sorted by subject: the
    /// cross-products and the factor without X, as a PIRLS round has them.
    /// Run with: cargo test --release bernoulli_shaped -- --ignored --nocapture
    #[test]
    #[ignore]
    fn bernoulli_shaped_round_time() {
        let mut rng = Rng::new(2);
        let n = 200_000;
        let mut g1: Vec<usize> = (0..n).map(|_| rng.below(2000)).collect();
        g1.sort_unstable();
        let g2: Vec<usize> = (0..n).map(|_| rng.below(200)).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let z1: Vec<f64> = xv.iter().flat_map(|&x| [1.0, x]).collect();
        let terms = vec![ReTerm::new(g1, 2000, 2, z1).unwrap(), ReTerm::new(g2, 200, 1, vec![1.0; n]).unwrap()];
        let y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let w: Vec<f64> = (0..n).map(|_| 0.1 + rng.normal().abs()).collect();
        let mut sys = BlockedSystem::new(terms, n, 0).unwrap();
        let mut f = Factor::default();
        let theta = [0.7, 0.1, 0.4, 0.5];
        let (mut cross, mut fac) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..10 {
            let t0 = std::time::Instant::now();
            sys.update_crossproducts(&[], &y, &w);
            let t1 = t0.elapsed().as_secs_f64();
            sys.factor(&theta, &mut f).unwrap();
            cross = cross.min(t1);
            fac = fac.min(t0.elapsed().as_secs_f64() - t1);
        }
        eprintln!(
            "fastest of 10: cross-products {:.2} ms, factor {:.2} ms (m = {}, dense Schur {})",
            1e3 * cross,
            1e3 * fac,
            sys.m,
            sys.dense_schur
        );
        let mut serial = f64::INFINITY;
        for _ in 0..10 {
            let t0 = std::time::Instant::now();
            crate::threads::with_min_parallel_n(usize::MAX, || sys.update_crossproducts(&[], &y, &w));
            serial = serial.min(t0.elapsed().as_secs_f64());
        }
        eprintln!("cross-products in one run on one thread: {:.2} ms", 1e3 * serial);
    }

    /// InstEval-shaped problem (73,421 rows; 2,972 x 1,128 x 14 crossed).
    /// Run with: cargo test --release timing -- --ignored --nocapture
    #[test]
    #[ignore]
    fn insteval_shaped_factor_time() {
        let mut rng = Rng::new(1);
        let (terms, x, y) = crate::testutil::insteval_shaped(&mut rng);
        let n = y.len();
        let w = vec![1.0; n];
        let t0 = std::time::Instant::now();
        let mut sys = BlockedSystem::new(terms, n, 2).unwrap();
        sys.update_crossproducts(&x, &y, &w);
        eprintln!("setup {:?}", t0.elapsed());
        let mut f = Factor::default();
        let theta = [0.3, 0.5, 0.1];
        sys.factor(&theta, &mut f).unwrap();
        let reps = 10;
        let t0 = std::time::Instant::now();
        for _ in 0..reps {
            sys.factor(&theta, &mut f).unwrap();
        }
        eprintln!("factor {:?} per evaluation (m = {})", t0.elapsed() / reps, sys.m);
        let mut s = sys.arr.clone();
        let t0 = std::time::Instant::now();
        for r in 0..sys.m {
            s[r + r * sys.m] += 1e4;
        }
        crate::dense_chol::cholesky_in_place(&mut s, sys.m, sys.m).unwrap();
        eprintln!("dense cholesky alone {:?}", t0.elapsed());
    }
}
