//! How many threads the engine may use, and how it uses them.
//!
//! The cap is set per fit by the caller (the binding, from
//! `glmmr_control(threads = )`) with `with_threads`, which holds it for the
//! calling thread only: fits on other threads (cargo's parallel tests, a
//! host running several fits) keep their own. Outside `with_threads` the
//! engine uses at most two threads (CRAN's limit), fewer on one core.
//!
//! Work is split into chunks that depend on the size of the problem only,
//! never on the number of threads, and each chunk's result lands in its own
//! place (or is combined in chunk order), so a fit gives the same bits with
//! one thread or two. Problems with fewer than `min_parallel_n()`
//! observations are not split at all: there a thread costs more than it
//! saves.

use std::cell::Cell;

/// Observations below which the per-observation passes stay serial.
const MIN_PARALLEL_N: usize = 20_000;

/// Chunks a large per-observation pass is cut into (a fixed number, so that
/// sums come out the same whatever the thread count).
pub const CHUNKS: usize = 16;

thread_local! {
    static THREADS: Cell<Option<usize>> = const { Cell::new(None) };
    static MIN_N: Cell<usize> = const { Cell::new(MIN_PARALLEL_N) };
}

/// The number of threads the engine may use on this thread's current fit.
pub fn threads() -> usize {
    THREADS.with(|t| t.get()).unwrap_or_else(default_threads)
}

/// Two threads at most, fewer if the machine has one core.
fn default_threads() -> usize {
    use std::sync::OnceLock;
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1).min(2))
}

/// Run `f` with the thread cap `n` (at least 1) on this thread; the previous
/// cap comes back afterwards, also when `f` panics.
pub fn with_threads<R>(n: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREADS.with(|t| t.set(self.0));
        }
    }
    let _restore = Restore(THREADS.with(|t| t.replace(Some(n.max(1)))));
    f()
}

/// Observations from which a per-observation pass is cut into chunks.
pub fn min_parallel_n() -> usize {
    MIN_N.with(|m| m.get())
}

/// Test hook: run `f` with chunked passes from `n` observations on, so that
/// small test problems take the path large ones take.
#[cfg(test)]
pub fn with_min_parallel_n<R>(n: usize, f: impl FnOnce() -> R) -> R {
    let old = MIN_N.with(|m| m.replace(n));
    let r = f();
    MIN_N.with(|m| m.set(old));
    r
}

/// The length of the chunks a pass over n observations is cut into: n
/// itself (one chunk, run on the calling thread) below `min_parallel_n()`.
pub fn chunk_len(n: usize) -> usize {
    if n < min_parallel_n() {
        n.max(1)
    } else {
        n.div_ceil(CHUNKS).max(1)
    }
}

/// `CHUNKS` contiguous ranges covering 0..n (the last ones may be empty):
/// the split of a pass over n observations when `n >= min_parallel_n()`.
pub fn chunk_ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    let len = n.div_ceil(CHUNKS).max(1);
    (0..CHUNKS).map(|c| (c * len).min(n)..((c + 1) * len).min(n)).collect()
}

/// A barrier for the two threads of a blocked dense factor, which meet
/// several times per panel: a waiting thread spins (then yields), since the
/// other is usually microseconds away, where `std::sync::Barrier` puts it to
/// sleep and waking it costs tens of microseconds.
pub struct SpinBarrier {
    parties: usize,
    arrived: std::sync::atomic::AtomicUsize,
    generation: std::sync::atomic::AtomicUsize,
}

impl SpinBarrier {
    pub fn new(parties: usize) -> Self {
        SpinBarrier { parties: parties.max(1), arrived: 0.into(), generation: 0.into() }
    }

    pub fn wait(&self) {
        use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
        if self.parties == 1 {
            return;
        }
        let gen = self.generation.load(Acquire);
        if self.arrived.fetch_add(1, AcqRel) + 1 == self.parties {
            self.arrived.store(0, Release);
            self.generation.fetch_add(1, Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Acquire) == gen {
            if spins < 20_000 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Run `work(0)` on the calling thread and, when `two`, `work(1)` at the
/// same time on a second (scoped) one; a panic there is raised again here.
/// For the dense routines, which split their work in two by index.
pub fn run_pair(two: bool, work: &(dyn Fn(usize) + Sync)) {
    if !two {
        work(0);
        return;
    }
    std::thread::scope(|sc| {
        let h = sc.spawn(|| work(1));
        work(0);
        if let Err(e) = h.join() {
            std::panic::resume_unwind(e);
        }
    });
}

/// A pointer to an array that two threads write in disjoint parts (each
/// use says why they are disjoint).
#[derive(Clone, Copy)]
pub struct SharedPtr(pub *mut f64);
unsafe impl Send for SharedPtr {}
unsafe impl Sync for SharedPtr {}

/// A pointer to an array that threads only read.
#[derive(Clone, Copy)]
pub struct SharedConst(pub *const f64);
unsafe impl Send for SharedConst {}
unsafe impl Sync for SharedConst {}

/// Run `f` on every task, the tasks dealt alternately to up to `threads()`
/// threads (the calling thread is one of them). Each task owns what it
/// writes, so which thread runs it does not change the result.
pub fn run<T: Send>(tasks: Vec<T>, f: impl Fn(T) + Sync) {
    let nt = threads().min(tasks.len());
    if nt <= 1 {
        tasks.into_iter().for_each(f);
        return;
    }
    let mut per_thread: Vec<Vec<T>> = (0..nt).map(|_| Vec::new()).collect();
    for (c, t) in tasks.into_iter().enumerate() {
        per_thread[c % nt].push(t);
    }
    let f = &f;
    std::thread::scope(|sc| {
        let mut mine = per_thread.remove(0);
        let handles: Vec<_> = per_thread.into_iter().map(|ts| sc.spawn(move || ts.into_iter().for_each(f))).collect();
        mine.drain(..).for_each(f);
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

/// Sum `f(i)` over 0..n: serially below `min_parallel_n()`, else as the sum
/// in chunk order of each chunk's serial sum (the same bits for any number
/// of threads).
pub fn sum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    if n < min_parallel_n() {
        return (0..n).map(f).sum();
    }
    let ranges = chunk_ranges(n);
    let mut partial = vec![0.0; ranges.len()];
    let tasks: Vec<_> = ranges.into_iter().zip(partial.iter_mut()).collect();
    run(tasks, |(r, out)| *out = r.map(&f).sum());
    partial.iter().sum()
}

/// Apply `f(i, &mut out[i])` for every i (an elementwise pass: the same bits
/// whatever the split), in chunks from `min_parallel_n()` elements on.
pub fn for_each_mut<T: Send>(out: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
    let n = out.len();
    if n < min_parallel_n() {
        out.iter_mut().enumerate().for_each(|(i, v)| f(i, v));
        return;
    }
    let len = n.div_ceil(CHUNKS).max(1);
    let tasks: Vec<_> = out.chunks_mut(len).enumerate().collect();
    run(tasks, |(c, part)| part.iter_mut().enumerate().for_each(|(k, v)| f(c * len + k, v)));
}

/// Apply `f(i, &mut a[i], &mut b[i])` for every i, like `for_each_mut` on
/// two slices of the same length; true where every call returned true.
pub fn all_mut2(a: &mut [f64], b: &mut [f64], f: impl Fn(usize, &mut f64, &mut f64) -> bool + Sync) -> bool {
    let n = a.len();
    assert_eq!(b.len(), n);
    if n < min_parallel_n() {
        return a.iter_mut().zip(b.iter_mut()).enumerate().fold(true, |ok, (i, (x, y))| f(i, x, y) && ok);
    }
    let len = n.div_ceil(CHUNKS).max(1);
    let mut ok = vec![true; n.div_ceil(len)];
    let tasks: Vec<_> = a.chunks_mut(len).zip(b.chunks_mut(len)).zip(ok.iter_mut()).enumerate().collect();
    run(tasks, |(c, ((pa, pb), okc))| {
        *okc = pa.iter_mut().zip(pb.iter_mut()).enumerate().fold(true, |ok, (k, (x, y))| f(c * len + k, x, y) && ok);
    });
    ok.iter().all(|&v| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_scoped_to_the_call() {
        let outside = threads();
        with_threads(1, || {
            assert_eq!(threads(), 1);
            with_threads(3, || assert_eq!(threads(), 3));
            assert_eq!(threads(), 1);
        });
        assert_eq!(threads(), outside);
        assert_eq!(with_threads(0, threads), 1);
    }

    #[test]
    fn chunked_sums_do_not_depend_on_the_thread_count() {
        let f = |i: usize| ((i as f64) * 0.37).sin() * 1e3 + 1e-7 * i as f64;
        for n in [0usize, 1, 5, 17, 1000, 50_001] {
            let one = with_min_parallel_n(1, || with_threads(1, || sum(n, f)));
            let two = with_min_parallel_n(1, || with_threads(2, || sum(n, f)));
            assert_eq!(one.to_bits(), two.to_bits(), "n={n}");
            let mut a = vec![0.0; n];
            let mut b = vec![0.0; n];
            with_min_parallel_n(1, || with_threads(1, || for_each_mut(&mut a, |i, v| *v = f(i))));
            with_min_parallel_n(1, || with_threads(2, || for_each_mut(&mut b, |i, v| *v = f(i))));
            assert_eq!(a, b);
            assert!(a.iter().enumerate().all(|(i, v)| *v == f(i)));
        }
    }

    #[test]
    fn chunk_ranges_cover_the_observations_in_order() {
        for n in [0usize, 1, 15, 16, 17, 1000] {
            let r = chunk_ranges(n);
            assert_eq!(r.len(), CHUNKS);
            assert_eq!(r[0].start, 0);
            assert_eq!(r[CHUNKS - 1].end, n);
            assert!(r.windows(2).all(|w| w[0].end == w[1].start));
        }
    }

    /// A GLMM with (1 + x | g1) + (1 | g2), rows in no particular order,
    /// whose passes take the chunked path once `with_min_parallel_n` lowers
    /// the threshold.
    fn crossed_problem(seed: u64, dist: crate::family::Distribution) -> crate::glmm::GlmmProblem {
        sized_crossed_problem(seed, dist, 4000, 400, 25)
    }

    fn sized_crossed_problem(seed: u64, dist: crate::family::Distribution, n: usize, l1: usize, l2: usize) -> crate::glmm::GlmmProblem {
        use crate::family::{Distribution, Link};
        use crate::glmm::{GlmmInput, GlmmProblem};
        use crate::reterm::ReTerm;
        let mut rng = crate::testutil::Rng::new(seed);
        let g1: Vec<usize> = (0..n).map(|_| rng.below(l1)).collect();
        let g2: Vec<usize> = (0..n).map(|i| if i < l2 { i } else { rng.below(l2) }).collect();
        let xv: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let b1: Vec<f64> = (0..l1).map(|_| 0.6 * rng.normal()).collect();
        let s1: Vec<f64> = (0..l1).map(|_| 0.3 * rng.normal()).collect();
        let b2: Vec<f64> = (0..l2).map(|_| 0.4 * rng.normal()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let eta = -0.2 + 0.5 * xv[i] + b1[g1[i]] + s1[g1[i]] * xv[i] + b2[g2[i]];
                match dist {
                    Distribution::Poisson => rng.poisson(eta.exp()),
                    _ => (rng.uniform() < Link::Logit.linkinv(eta)) as i32 as f64,
                }
            })
            .collect();
        let z: Vec<f64> = (0..n).flat_map(|i| [1.0, xv[i]]).collect();
        let terms = vec![ReTerm::new(g1, l1, 2, z).unwrap(), ReTerm::new(g2, l2, 1, vec![1.0; n]).unwrap()];
        let mut x = vec![1.0; n];
        x.extend_from_slice(&xv);
        let link = if dist == Distribution::Poisson { Link::Log } else { Link::Logit };
        GlmmProblem::new(GlmmInput { y, x, p: 2, weights: vec![1.0; n], offset: vec![0.0; n], terms, dist, link, nagq: 1 }).unwrap()
    }

    #[test]
    fn glmm_fits_with_one_and_two_threads_are_bit_identical() {
        use crate::family::Distribution;
        use crate::optimizer::OptimControl;
        for (seed, dist) in [(11u64, Distribution::Bernoulli), (12, Distribution::Poisson)] {
            let fit = |nt: usize| {
                with_min_parallel_n(100, || with_threads(nt, || crossed_problem(seed, dist).fit(&OptimControl::default()).unwrap()))
            };
            let (one, two) = (fit(1), fit(2));
            assert_eq!(one.objective.to_bits(), two.objective.to_bits(), "{dist:?}");
            assert_eq!(one.theta, two.theta, "{dist:?}");
            assert_eq!(one.beta, two.beta, "{dist:?}");
            assert_eq!(one.u, two.u, "{dist:?}");
            assert_eq!(one.evals, two.evals, "{dist:?}");
        }
    }

    #[test]
    fn chunked_objective_and_gradient_match_the_serial_ones() {
        use crate::family::Distribution;
        let (theta, beta) = ([0.7, 0.1, 0.3, 0.5], [-0.2, 0.5]);
        for (seed, dist) in [(21u64, Distribution::Bernoulli), (22, Distribution::Poisson)] {
            let at = |min_n: usize, nt: usize| {
                with_min_parallel_n(min_n, || with_threads(nt, || crossed_problem(seed, dist).value_gradient(&theta, &beta).unwrap()))
            };
            let serial = at(usize::MAX, 1);
            let (one, two) = (at(100, 1), at(100, 2));
            // the same chunks whatever the thread count: the same bits
            assert_eq!(one.0.to_bits(), two.0.to_bits());
            assert_eq!(one.1, two.1);
            // chunked sums differ from one running sum by rounding only
            assert!((one.0 - serial.0).abs() <= 1e-10 * serial.0.abs(), "{} {}", one.0, serial.0);
            for (a, b) in one.1.iter().zip(&serial.1) {
                assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()), "{a} {b}");
            }
        }
    }

    /// Time the objective and gradient of a 200,000-row GLMM with one and
    /// two threads (`cargo test --release -p engine -- --ignored --nocapture
    /// two_threads_time`): what the threaded passes gain on an idle machine.
    #[test]
    #[ignore]
    fn two_threads_time() {
        use crate::family::Distribution;
        let (theta, beta) = ([0.7, 0.1, 0.3, 0.5], [-0.2, 0.5]);
        for dist in [Distribution::Bernoulli, Distribution::Poisson] {
            let mut pr = sized_crossed_problem(5, dist, 200_000, 2000, 200);
            for nt in [1, 2, 1, 2] {
                let t0 = std::time::Instant::now();
                with_threads(nt, || {
                    for _ in 0..5 {
                        pr.value_gradient(&theta, &beta).unwrap();
                    }
                });
                eprintln!("{dist:?} threads {nt}: {:?} per objective and gradient", t0.elapsed() / 5);
            }
        }
    }
}
