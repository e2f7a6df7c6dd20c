//! Dense lower Cholesky factor of a symmetric matrix stored column-major,
//! blocked so that almost all the work is one matrix product per panel
//! (matrixmultiply's gemm, which nalgebra also uses). The dense part of the
//! blocked system (crossed terms, fixed effects, response) goes through here.

use crate::error::{EngineError, Result};
use crate::threads::threads;

const PANEL: usize = 64;

/// Overwrite the lower triangle of the column-major `n`-by-`n` matrix `a`
/// (leading dimension `lda`) with its Cholesky factor L (A = L L').
/// The strict upper triangle is neither read nor written.
pub fn cholesky_in_place(a: &mut [f64], n: usize, lda: usize) -> Result<()> {
    assert!(lda >= n && a.len() >= lda * n.saturating_sub(1) + n);
    let mut k0 = 0;
    while k0 < n {
        let kb = PANEL.min(n - k0);
        factor_unblocked(a, lda, k0, kb)?;
        let r0 = k0 + kb;
        if r0 < n {
            panel_solve(a, lda, k0, kb, n);
            trailing_update(a, lda, k0, kb, n);
        }
        k0 += kb;
    }
    Ok(())
}

/// Unblocked left-looking Cholesky of the kb-by-kb diagonal block at (k0, k0).
fn factor_unblocked(a: &mut [f64], lda: usize, k0: usize, kb: usize) -> Result<()> {
    for j in k0..k0 + kb {
        let mut d = a[j + j * lda];
        for p in k0..j {
            let v = a[j + p * lda];
            d -= v * v;
        }
        if d <= 0.0 || !d.is_finite() {
            return Err(EngineError::NotPositiveDefinite(format!("non-positive pivot at position {}", j + 1)));
        }
        let d = d.sqrt();
        a[j + j * lda] = d;
        for i in j + 1..k0 + kb {
            let mut s = a[i + j * lda];
            for p in k0..j {
                s -= a[i + p * lda] * a[j + p * lda];
            }
            a[i + j * lda] = s / d;
        }
    }
    Ok(())
}

/// Rows below the diagonal block: P <- P L_kk^{-T}, column by column.
fn panel_solve(a: &mut [f64], lda: usize, k0: usize, kb: usize, n: usize) {
    let r0 = k0 + kb;
    for j in k0..k0 + kb {
        for p in k0..j {
            let ljp = a[j + p * lda];
            if ljp != 0.0 {
                let (left, right) = a.split_at_mut(j * lda);
                let src = &left[p * lda + r0..p * lda + n];
                let dst = &mut right[r0..n];
                for (d, s) in dst.iter_mut().zip(src) {
                    *d -= ljp * s;
                }
            }
        }
        let inv = 1.0 / a[j + j * lda];
        for v in &mut a[j * lda + r0..j * lda + n] {
            *v *= inv;
        }
    }
}

/// Trailing lower triangle: A22 <- A22 - P P', one column tile at a time so
/// that only the tiles on or below the diagonal are computed. Large updates
/// are shared between two threads (tiles dealt alternately); the tiles write
/// disjoint parts of A and only read P.
fn trailing_update(a: &mut [f64], lda: usize, k0: usize, kb: usize, n: usize) {
    let r0 = k0 + kb;
    let tiles: Vec<usize> = (r0..n).step_by(PANEL).collect();
    let ptr = SharedPtr(a.as_mut_ptr());
    let work = |tid: usize, nthreads: usize| {
        let base = ptr;
        for (t, &j0) in tiles.iter().enumerate() {
            if t % nthreads != tid {
                continue;
            }
            let jb = PANEL.min(n - j0);
            let m = n - j0;
            // SAFETY: A operand = P rows j0..n, B operand = P rows j0..j0+jb
            // (columns k0..k0+kb, read only); C = rows j0..n of columns
            // j0..j0+jb, which no other tile touches and which lies right of P.
            unsafe {
                let p = base.0.add(j0 + k0 * lda) as *const f64;
                let c = base.0.add(j0 + j0 * lda);
                matrixmultiply::dgemm(m, kb, jb, -1.0, p, 1, lda as isize, p, lda as isize, 1, 1.0, c, 1, lda as isize);
            }
        }
    };
    let remaining = n - r0;
    if remaining >= 384 && threads() > 1 {
        std::thread::scope(|sc| {
            let h = sc.spawn(|| work(1, 2));
            work(0, 2);
            let _ = h.join();
        });
    } else {
        work(0, 1);
    }
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
    let nthreads = if n >= 384 { threads() } else { 1 };
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
    run_threads(nthreads, &gram);
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
    let nthreads = if n >= 384 { threads() } else { 1 };
    let tp = SharedPtr(t.as_mut_ptr());
    let invert = |tid: usize| {
        let base = tp;
        for (b, &j0) in blocks.iter().enumerate() {
            if b % nthreads != tid {
                continue;
            }
            let jb = PANEL.min(n - j0);
            // SAFETY: this closure writes only columns j0..j0+jb of T, which
            // no other thread touches, and reads L.
            let col = |c: usize| unsafe { std::slice::from_raw_parts_mut(base.0.add((j0 + c) * n), n) };
            for c in 0..jb {
                col(c)[j0 + c] = 1.0;
            }
            let mut k0 = j0;
            while k0 < n {
                let kb = PANEL.min(n - k0);
                for c in 0..jb {
                    let x = col(c);
                    for j in k0..k0 + kb {
                        let xj = x[j] / l[j + j * lda];
                        x[j] = xj;
                        if xj != 0.0 {
                            for i in j + 1..k0 + kb {
                                x[i] -= l[i + j * lda] * xj;
                            }
                        }
                    }
                }
                let r0 = k0 + kb;
                if r0 < n {
                    // SAFETY: C = rows r0..n of T's columns j0..j0+jb, B =
                    // rows k0..r0 of the same columns (disjoint rows), A = L.
                    unsafe {
                        let a = l.as_ptr().add(r0 + k0 * lda);
                        let bm = base.0.add(k0 + j0 * n) as *const f64;
                        let c = base.0.add(r0 + j0 * n);
                        matrixmultiply::dgemm(n - r0, kb, jb, -1.0, a, 1, lda as isize, bm, 1, n as isize, 1.0, c, 1, n as isize);
                    }
                }
                k0 = r0;
            }
        }
    };
    run_threads(nthreads, &invert);
}

/// Run `work(tid)` for tid in 0..nthreads (1 or 2), the second on a
/// scoped thread.
fn run_threads(nthreads: usize, work: &(dyn Fn(usize) + Sync)) {
    if nthreads > 1 {
        std::thread::scope(|sc| {
            let h = sc.spawn(|| work(1));
            work(0);
            let _ = h.join();
        });
    } else {
        work(0);
    }
}

#[derive(Clone, Copy)]
struct SharedConst(*const f64);
unsafe impl Send for SharedConst {}
unsafe impl Sync for SharedConst {}

#[derive(Clone, Copy)]
struct SharedPtr(*mut f64);
unsafe impl Send for SharedPtr {}
unsafe impl Sync for SharedPtr {}

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

    #[test]
    fn indefinite_matrix_is_an_error_not_a_panic() {
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert!(cholesky_in_place(&mut a, 2, 2).is_err());
    }
}
