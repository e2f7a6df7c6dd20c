//! Dense lower Cholesky factor of a symmetric matrix stored column-major,
//! blocked so that almost all the work is one matrix product per panel
//! (matrixmultiply's gemm, which nalgebra also uses). The dense part of the
//! blocked system (crossed terms, fixed effects, response) goes through here.

use crate::error::{EngineError, Result};
use crate::threads::{run_pair, threads, SharedConst, SharedPtr, SpinBarrier};

const PANEL: usize = 64;

/// Rows of a panel solved by one product (a fixed split, so that the
/// products, and their bits, do not depend on the number of threads).
const ROW_CHUNK: usize = 256;

/// Blocks from this size on are factored by two threads (when allowed).
pub(crate) const PARALLEL_N: usize = 384;

/// Overwrite the lower triangle of the column-major `n`-by-`n` matrix `a`
/// (leading dimension `lda`) with its Cholesky factor L (A = L L').
/// Only the lower triangle is read; of the strict upper triangle, only the
/// parts inside the 64-by-64 diagonal blocks are written (work values).
///
/// Right-looking, by panels of 64 columns: the diagonal block is factored
/// unblocked; the rows below it are solved against it as one product with
/// its (small) triangular inverse, in chunks of 256 rows; the trailing
/// lower triangle is updated in 64-column tiles, the first of which is the
/// next panel, whose diagonal block is factored as soon as that tile is
/// done. Chunks and tiles are dealt to two threads when the block is large,
/// which meet at a barrier after the solve and after the update; each
/// chunk and tile is the same product whichever thread runs it, so the
/// factor has the same bits for one thread or two.
pub fn cholesky_in_place(a: &mut [f64], n: usize, lda: usize) -> Result<()> {
    assert!(lda >= n && a.len() >= lda * n.saturating_sub(1) + n);
    if n <= PANEL {
        // one diagonal block (the first term's level blocks are factored
        // here one by one): no work space, no threads
        return factor_unblocked(a, lda, n, 0);
    }
    let nthreads = if n >= PARALLEL_N && threads() > 1 { 2 } else { 1 };
    let base = SharedPtr(a.as_mut_ptr());
    let mut winv = vec![0.0; PANEL * PANEL];
    let wp = SharedPtr(winv.as_mut_ptr());
    let failure: std::sync::Mutex<Option<EngineError>> = std::sync::Mutex::new(None);
    let failed = || failure.lock().map(|f| f.is_some()).unwrap_or(true);
    let barrier = SpinBarrier::new(nthreads);
    // The diagonal block at (k0, k0), once fully updated: factored, and W
    // = its inverse. Run by thread 0 only.
    let factor_diagonal = |k0: usize| {
        let (a, wi) = (base, wp);
        let kb = PANEL.min(n - k0);
        // SAFETY: the block's columns k0..k0+kb (all their rows) are touched
        // by no other thread meanwhile: the other waits at a barrier or
        // updates tiles right of these columns and reads the panel left of
        // them; W is read only after the next barrier.
        let (blk, w) = unsafe {
            (
                std::slice::from_raw_parts_mut(a.0.add(k0 + k0 * lda), (kb - 1) * lda + kb),
                std::slice::from_raw_parts_mut(wi.0, PANEL * PANEL),
            )
        };
        match factor_unblocked(blk, lda, kb, k0) {
            Ok(()) => lower_block_inverse(blk, lda, kb, w),
            Err(e) => *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e),
        }
    };
    let work = |tid: usize| {
        let (a, w) = (base, wp);
        let mut buf = vec![0.0; ROW_CHUNK.min(n) * PANEL];
        if tid == 0 {
            factor_diagonal(0);
        }
        barrier.wait();
        let mut k0 = 0;
        while k0 < n {
            let kb = PANEL.min(n - k0);
            let r0 = k0 + kb;
            if r0 >= n || failed() {
                return;
            }
            for (c, i0) in (r0..n).step_by(ROW_CHUNK).enumerate() {
                if c % nthreads == tid {
                    // SAFETY: rows i0..i1 of the panel's columns belong to this
                    // chunk alone; W is only read until the next barrier.
                    unsafe { panel_chunk_solve(a.0, lda, k0, kb, i0..(i0 + ROW_CHUNK).min(n), w.0, &mut buf) };
                }
            }
            barrier.wait();
            for (t, j0) in (r0..n).step_by(PANEL).enumerate() {
                if t % nthreads == tid {
                    // SAFETY: A operand = P rows j0..n, B operand = P rows
                    // j0..j0+jb (columns k0..k0+kb, read only); C = rows j0..n
                    // of columns j0..j0+jb, which no other tile touches.
                    unsafe { trailing_tile(a.0, lda, k0, kb, j0, PANEL.min(n - j0), n) };
                    if t == 0 {
                        // Tile 0 is thread 0's and is the next panel: its
                        // diagonal block is final, so it is factored now,
                        // while the other thread still updates its tiles.
                        factor_diagonal(r0);
                    }
                }
            }
            barrier.wait();
            k0 = r0;
        }
    };
    run_pair(nthreads > 1, &work);
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Unblocked left-looking Cholesky of the kb-by-kb diagonal block that
/// starts at `a[0]` (leading dimension `lda`); `first` is its position in
/// the whole matrix, for the message about a failed pivot.
fn factor_unblocked(a: &mut [f64], lda: usize, kb: usize, first: usize) -> Result<()> {
    for j in 0..kb {
        let mut d = a[j + j * lda];
        for p in 0..j {
            let v = a[j + p * lda];
            d -= v * v;
        }
        if d <= 0.0 || !d.is_finite() {
            return Err(EngineError::NotPositiveDefinite(format!("non-positive pivot at position {}", first + j + 1)));
        }
        let d = d.sqrt();
        a[j + j * lda] = d;
        for i in j + 1..kb {
            let mut s = a[i + j * lda];
            for p in 0..j {
                s -= a[i + p * lda] * a[j + p * lda];
            }
            a[i + j * lda] = s / d;
        }
    }
    Ok(())
}

/// W = L_kk^{-1} for the factored kb-by-kb diagonal block that starts at
/// `a[0]` (leading dimension `lda`), into `w` (column-major, leading
/// dimension kb, zero above the diagonal).
fn lower_block_inverse(a: &[f64], lda: usize, kb: usize, w: &mut [f64]) {
    w[..kb * kb].iter_mut().for_each(|v| *v = 0.0);
    for c in 0..kb {
        let x = &mut w[c * kb..(c + 1) * kb];
        x[c] = 1.0;
        for j in c..kb {
            let xj = x[j] / a[j * (lda + 1)];
            x[j] = xj;
            for i in j + 1..kb {
                x[i] -= a[i + j * lda] * xj;
            }
        }
    }
}

/// Rows `rows` of the panel below the diagonal block: P <- P L_kk^{-T}
/// = P W', as one product from a copy of the rows.
///
/// # Safety
/// `a` must hold the column-major matrix (leading dimension `lda`) with the
/// panel's `rows` in columns k0..k0+kb, accessed by no one else; `w`
/// must hold W (kb-by-kb, leading dimension kb).
unsafe fn panel_chunk_solve(a: *mut f64, lda: usize, k0: usize, kb: usize, rows: std::ops::Range<usize>, w: *const f64, buf: &mut [f64]) {
    let (i0, len) = (rows.start, rows.len());
    for c in 0..kb {
        let src = std::slice::from_raw_parts(a.add(i0 + (k0 + c) * lda), len);
        buf[c * len..(c + 1) * len].copy_from_slice(src);
    }
    let c = a.add(i0 + k0 * lda);
    matrixmultiply::dgemm(len, kb, kb, 1.0, buf.as_ptr(), 1, len as isize, w, kb as isize, 1, 0.0, c, 1, lda as isize);
}

/// One tile of the trailing update: rows j0..n of columns j0..j0+jb of A
/// less P P' (P = columns k0..k0+kb).
///
/// # Safety
/// As for `panel_chunk_solve`: the tile is accessed by no one else, and P's
/// rows j0..n are not written meanwhile.
unsafe fn trailing_tile(a: *mut f64, lda: usize, k0: usize, kb: usize, j0: usize, jb: usize, n: usize) {
    let p = a.add(j0 + k0 * lda) as *const f64;
    let c = a.add(j0 + j0 * lda);
    matrixmultiply::dgemm(n - j0, kb, jb, -1.0, p, 1, lda as isize, p, lda as isize, 1, 1.0, c, 1, lda as isize);
}

/// The inverse of A = L L' from its factor (the leading `n` rows and
/// columns of `l`, leading dimension `lda`): `t` receives T = L^{-1} and
/// `inv` = T'T = A^{-1}, both `n`-by-`n` column-major with both triangles.
/// Blocked as LAPACK's potri (a triangular inverse, then the product), with
/// the work in tile products: n^3 / 3 multiply-adds, twice a Cholesky
/// factor's, shared between two threads when large.
pub fn inverse_from_factor(l: &[f64], n: usize, lda: usize, t: &mut [f64], inv: &mut [f64]) {
    assert!(inv.len() >= n * n);
    lower_inverse(l, n, lda, t);
    let blocks: Vec<usize> = (0..n).step_by(PANEL).collect();
    let nthreads = if n >= PARALLEL_N { threads().min(2) } else { 1 };
    // inv = T'T, lower tiles: inv[I, J] = T[i0.., I]' T[i0.., J] (T is zero
    // above its diagonal), tile columns independent; then mirrored.
    let ip = SharedPtr(inv.as_mut_ptr());
    let tc = SharedConst(t.as_ptr());
    let gram = |tid: usize| {
        let (ib, tb) = (ip, tc);
        for (b, &j0) in blocks.iter().enumerate() {
            if b % nthreads != tid {
                continue;
            }
            let jb = PANEL.min(n - j0);
            for &i0 in blocks.iter().filter(|&&i0| i0 >= j0) {
                let ibk = PANEL.min(n - i0);
                // SAFETY: reads T; writes the tile (i0.., j0..j0+jb) of inv,
                // in this thread's tile column.
                unsafe {
                    let a = tb.0.add(i0 + i0 * n);
                    let bm = tb.0.add(i0 + j0 * n);
                    let c = ib.0.add(i0 + j0 * n);
                    matrixmultiply::dgemm(ibk, n - i0, jb, 1.0, a, n as isize, 1, bm, 1, n as isize, 0.0, c, 1, n as isize);
                }
            }
        }
    };
    run_pair(nthreads > 1, &gram);
    for c in 0..n {
        for r in c + 1..n {
            inv[c + r * n] = inv[r + c * n];
        }
    }
}

/// T = L^{-1} alone (the first half of `inverse_from_factor`): n^3 / 6
/// multiply-adds, as many as a Cholesky factor's, for callers that need
/// only quadratic forms or diagonals of A^{-1} = T'T. `t` receives T,
/// `n`-by-`n` column-major, zero above the diagonal. One block column at a
/// time: L T_J = E_J by blocked forward substitution (a small triangular
/// solve per diagonal block, then one product updating the rows below);
/// block columns are independent, shared between two threads when large.
pub fn lower_inverse(l: &[f64], n: usize, lda: usize, t: &mut [f64]) {
    assert!(t.len() >= n * n && (n == 0 || l.len() >= lda * (n - 1) + n));
    t[..n * n].iter_mut().for_each(|v| *v = 0.0);
    let blocks: Vec<usize> = (0..n).step_by(PANEL).collect();
    // The diagonal blocks' inverses first (each PANEL x PANEL, leading
    // dimension its own size): T_KK = L_KK^{-1}, and every other block of T
    // is T_KK times its accumulated right-hand side, one product.
    let mut winv = vec![0.0; blocks.len() * PANEL * PANEL];
    for (b, &k0) in blocks.iter().enumerate() {
        lower_block_inverse(&l[k0 + k0 * lda..], lda, PANEL.min(n - k0), &mut winv[b * PANEL * PANEL..]);
    }
    let nthreads = if n >= PARALLEL_N { threads().min(2) } else { 1 };
    let owner = balanced_owners(&blocks, n, nthreads);
    let tp = SharedPtr(t.as_mut_ptr());
    let invert = |tid: usize| {
        let base = tp;
        let mut buf = vec![0.0; PANEL * PANEL];
        for (b, &j0) in blocks.iter().enumerate() {
            if owner[b] != tid {
                continue;
            }
            let jb = PANEL.min(n - j0);
            for (kbi, &k0) in blocks.iter().enumerate().skip(b) {
                let kb = PANEL.min(n - k0);
                let w = &winv[kbi * PANEL * PANEL..];
                // SAFETY: this closure writes only columns j0..j0+jb of T,
                // which no other thread touches, and reads L and W.
                unsafe {
                    let tkj = base.0.add(k0 + j0 * n);
                    if kbi == b {
                        for c in 0..jb {
                            std::ptr::copy_nonoverlapping(w.as_ptr().add(c * kb), tkj.add(c * n), kb);
                        }
                    } else {
                        // T_KJ = W_K R, R the rows accumulated so far
                        for c in 0..jb {
                            std::ptr::copy_nonoverlapping(tkj.add(c * n), buf.as_mut_ptr().add(c * kb), kb);
                        }
                        matrixmultiply::dgemm(
                            kb,
                            kb,
                            jb,
                            1.0,
                            w.as_ptr(),
                            1,
                            kb as isize,
                            buf.as_ptr(),
                            1,
                            kb as isize,
                            0.0,
                            tkj,
                            1,
                            n as isize,
                        );
                    }
                    let r0 = k0 + kb;
                    if r0 < n {
                        // rows below: R <- R - L[r0.., K] T_KJ
                        let a = l.as_ptr().add(r0 + k0 * lda);
                        let c = base.0.add(r0 + j0 * n);
                        matrixmultiply::dgemm(n - r0, kb, jb, -1.0, a, 1, lda as isize, tkj, 1, n as isize, 1.0, c, 1, n as isize);
                    }
                }
            }
        }
    };
    run_pair(nthreads > 1, &invert);
}

/// Which of `nthreads` threads (1 or 2) computes each block column of T:
/// the work of block column J is about (n - j0)^2, and each goes, in turn,
/// to the thread with less work so far.
fn balanced_owners(blocks: &[usize], n: usize, nthreads: usize) -> Vec<usize> {
    let mut load = [0.0f64; 2];
    blocks
        .iter()
        .map(|&j0| {
            let tid = if nthreads > 1 && load[1] < load[0] { 1 } else { 0 };
            load[tid] += ((n - j0) as f64).powi(2);
            tid
        })
        .collect()
}

/// The lower triangle of the column-major `m`-by-`m` matrix `c` (leading
/// dimension `ldc`) less A A', A column-major `m`-by-`k` (leading dimension
/// `lda`): the Schur complement of a dense first-term block. In tiles of 64
/// columns, each one product of the rows from the tile's diagonal down, so
/// about half the flops of the whole product (the strict upper triangle of
/// the diagonal tiles is written too; nothing above them); tiles are shared between two threads when
/// the product is large (the same products whichever thread runs them).
pub fn subtract_gram_lower(c: &mut [f64], m: usize, ldc: usize, a: &[f64], k: usize, lda: usize) {
    assert!(ldc >= m && lda >= m && c.len() >= ldc * m.saturating_sub(1) + m && a.len() >= lda * k.saturating_sub(1) + m);
    let tiles: Vec<usize> = (0..m).step_by(PANEL).collect();
    let big = (m * m) as f64 * k as f64 >= 4e6;
    let nthreads = if big { threads().min(2) } else { 1 };
    let owner = balanced_owners(&tiles, m, nthreads);
    let cp = SharedPtr(c.as_mut_ptr());
    let work = |tid: usize| {
        let base = cp;
        for (t, &j0) in tiles.iter().enumerate() {
            if owner[t] != tid {
                continue;
            }
            let jb = PANEL.min(m - j0);
            // SAFETY: each tile writes rows j0..m of its own columns
            // j0..j0+jb of C and reads A, which does not overlap C.
            unsafe {
                let ap = a.as_ptr().add(j0);
                let cc = base.0.add(j0 + j0 * ldc);
                matrixmultiply::dgemm(m - j0, k, jb, -1.0, ap, 1, lda as isize, ap, lda as isize, 1, 1.0, cc, 1, ldc as isize);
            }
        }
    };
    run_pair(nthreads > 1, &work);
}

/// Solve L x = b in place (forward substitution) for the leading `n` rows.
pub fn solve_lower(l: &[f64], n: usize, lda: usize, b: &mut [f64]) {
    for j in 0..n {
        let xj = b[j] / l[j + j * lda];
        b[j] = xj;
        if xj != 0.0 {
            let col = &l[j * lda + j + 1..j * lda + n];
            for (bi, lij) in b[j + 1..n].iter_mut().zip(col) {
                *bi -= lij * xj;
            }
        }
    }
}

/// Solve L' x = b in place (back substitution) for the leading `n` rows.
pub fn solve_lower_transpose(l: &[f64], n: usize, lda: usize, b: &mut [f64]) {
    for j in (0..n).rev() {
        let col = &l[j * lda + j + 1..j * lda + n];
        let s: f64 = col.iter().zip(&b[j + 1..n]).map(|(a, c)| a * c).sum();
        b[j] = (b[j] - s) / l[j + j * lda];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;
    use nalgebra::DMatrix;

    fn random_spd(n: usize, rng: &mut Rng) -> DMatrix<f64> {
        let b = DMatrix::from_fn(n, n + 3, |_, _| rng.normal());
        &b * b.transpose() + DMatrix::identity(n, n) * 0.1
    }

    #[test]
    fn blocked_factor_matches_nalgebra_across_panel_sizes() {
        let mut rng = Rng::new(7);
        for &n in &[1usize, 5, 63, 64, 65, 130, 200, 520] {
            let a = random_spd(n, &mut rng);
            let want = a.clone().cholesky().unwrap().l();
            let mut got: Vec<f64> = a.as_slice().to_vec();
            cholesky_in_place(&mut got, n, n).unwrap();
            for j in 0..n {
                for i in j..n {
                    let d = (got[i + j * n] - want[(i, j)]).abs();
                    assert!(d < 1e-9 * (1.0 + want[(i, j)].abs()), "n={n} ({i},{j}) diff {d}");
                }
            }
        }
    }

    #[test]
    fn triangular_solves_invert_the_factor() {
        let mut rng = Rng::new(3);
        let n = 90;
        let a = random_spd(n, &mut rng);
        let mut l: Vec<f64> = a.as_slice().to_vec();
        cholesky_in_place(&mut l, n, n).unwrap();
        let b: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mut x = b.clone();
        solve_lower(&l, n, n, &mut x);
        solve_lower_transpose(&l, n, n, &mut x);
        let ax = &a * DMatrix::from_column_slice(n, 1, &x);
        for i in 0..n {
            assert!((ax[i] - b[i]).abs() < 1e-8 * (1.0 + b[i].abs()));
        }
    }

    #[test]
    fn the_inverse_from_the_factor_matches_nalgebra_across_panel_sizes() {
        // (T = L^{-1} here is lower_inverse's, which inverse_from_factor calls)
        let mut rng = Rng::new(9);
        for &n in &[0usize, 1, 7, 64, 65, 150, 400] {
            let a = random_spd(n, &mut rng);
            // the factor inside a larger array, as the dense block's is
            let lda = n + 3;
            let mut l = vec![0.0; lda * n];
            for j in 0..n {
                for i in 0..n {
                    l[i + j * lda] = a[(i, j)];
                }
            }
            cholesky_in_place(&mut l, n, lda).unwrap();
            let (mut t, mut inv) = (vec![f64::NAN; n * n], vec![f64::NAN; n * n]);
            inverse_from_factor(&l, n, lda, &mut t, &mut inv);
            let want = a.clone().try_inverse().unwrap();
            let lm = DMatrix::from_fn(n, n, |i, j| if i >= j { l[i + j * lda] } else { 0.0 });
            let lt = &lm * DMatrix::from_column_slice(n, n, &t);
            for j in 0..n {
                for i in 0..n {
                    let d = (inv[i + j * n] - want[(i, j)]).abs();
                    assert!(d < 1e-8 * (1.0 + want[(i, j)].abs()), "n={n} ({i},{j}) diff {d}");
                    let e = if i == j { 1.0 } else { 0.0 };
                    assert!((lt[(i, j)] - e).abs() < 1e-9, "n={n}: L T at ({i},{j})");
                }
            }
        }
    }

    /// The factor, T = L^{-1} and A^{-1} have the same bits for one thread,
    /// two, or a cap above two (the blocked routines use two at most), on
    /// blocks large enough to be shared and with a short last panel.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        use crate::threads::with_threads;
        let mut rng = Rng::new(11);
        for &n in &[PARALLEL_N, 700] {
            let a = random_spd(n, &mut rng);
            let run = |nt: usize| {
                with_threads(nt, || {
                    let mut l: Vec<f64> = a.as_slice().to_vec();
                    cholesky_in_place(&mut l, n, n).unwrap();
                    let (mut t, mut inv) = (vec![0.0; n * n], vec![0.0; n * n]);
                    inverse_from_factor(&l, n, n, &mut t, &mut inv);
                    (l, t, inv)
                })
            };
            let one = run(1);
            for nt in [2, 3, 4] {
                assert!(run(nt) == one, "n = {n}: {nt} threads differ from one");
            }
            // and they are right: L L' = A, L T = I
            let lm = DMatrix::from_fn(n, n, |i, j| if i >= j { one.0[i + j * n] } else { 0.0 });
            let tm = DMatrix::from_column_slice(n, n, &one.1);
            assert!((&lm * lm.transpose() - &a).amax() < 1e-9 * a.amax());
            assert!((&lm * tm - DMatrix::<f64>::identity(n, n)).amax() < 1e-9);
        }
    }

    #[test]
    fn the_gram_update_matches_nalgebra_on_the_lower_triangle() {
        use crate::threads::with_threads;
        let mut rng = Rng::new(5);
        for &(m, k) in &[(1usize, 3usize), (63, 10), (130, 40), (201, 400)] {
            let a = DMatrix::from_fn(m, k, |_, _| rng.normal());
            let c0 = random_spd(m, &mut rng);
            let want = &c0 - &a * a.transpose();
            let run = |nt: usize| {
                let mut c: Vec<f64> = c0.as_slice().to_vec();
                with_threads(nt, || subtract_gram_lower(&mut c, m, m, a.as_slice(), k, m));
                c
            };
            let one = run(1);
            assert!(run(2) == one, "m = {m}: two threads differ from one");
            for j in 0..m {
                for i in 0..m {
                    let got = one[i + j * m];
                    if i >= j {
                        assert!((got - want[(i, j)]).abs() < 1e-10 * (1.0 + want[(i, j)].abs()), "m = {m} ({i},{j})");
                    } else if i < (j / PANEL) * PANEL {
                        assert_eq!(got, c0[(i, j)], "above the diagonal tiles nothing is written");
                    }
                }
            }
        }
    }

    #[test]
    fn indefinite_matrix_is_an_error_not_a_panic() {
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert!(cholesky_in_place(&mut a, 2, 2).is_err());
    }
}
