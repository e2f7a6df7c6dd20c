//! Memory: what a model will need, what the machine has, and allocations
//! that fail with an error instead of aborting the process.
//!
//! Rust's ordinary allocations (`vec![..]`, `Vec::resize`) abort the whole
//! process when the allocator refuses, and R with it; and on Linux, which
//! overcommits, an allocation larger than the free memory may succeed and
//! the process is killed later when the pages are touched. So a model is
//! first sized (`ModelShape::estimate`) and refused when the estimate
//! exceeds the memory available (`check_fits`), before anything is
//! allocated; and every allocation whose size grows with the number of
//! levels or with the square of the dense block goes through `try_zeros` /
//! `try_resize`, which turn a refusal of the allocator into an error.
//! Vectors with one value per observation are left ordinary: R already holds
//! the data they are copies of.

use crate::error::{EngineError, Result};
use crate::reterm::ReTerm;

/// Bytes in a gigabyte, as the messages count them.
const GB: f64 = 1e9;

/// Where the available memory cannot be read (not Linux), the fit assumes
/// this much: enough for every model of the test suite and lme4's examples,
/// and small enough not to push an ordinary machine into swapping.
pub const FALLBACK_AVAILABLE: f64 = 8.0 * GB;

/// Models estimated to need no more than this are not checked against the
/// available memory: R itself takes several times as much to run.
const SMALL_MODEL: f64 = 16e6;

/// One random-effects term as sized: levels and columns.
#[derive(Debug, Clone, Copy)]
pub struct TermShape {
    pub nlevels: usize,
    pub k: usize,
}

/// The sizes that decide a model's memory. `terms` are in the engine's
/// order (the first is the one stored sparsely).
#[derive(Debug, Clone)]
pub struct ModelShape {
    pub n: usize,
    pub p: usize,
    pub terms: Vec<TermShape>,
    /// A GLMM (two blocked systems and more factor copies than an LMM).
    pub glmm: bool,
}

/// The estimated peak memory of a fit, with the part the dense block takes.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryEstimate {
    /// Random effects of the terms after the first.
    pub q_rest: f64,
    /// Order of the dense block: q_rest + p + 1.
    pub dense_dim: f64,
    /// Bytes of one dense block, dense_dim^2 doubles.
    pub dense_bytes: f64,
    /// How many dense blocks (or matrices of their size) exist at the peak.
    pub dense_copies: f64,
    /// Levels of the first term (stored level by level).
    pub first_levels: f64,
    /// Everything: the dense blocks, the first term's level blocks and
    /// patterns, and the per-observation work vectors.
    pub total_bytes: f64,
}

impl ModelShape {
    /// The peak memory of a fit, from the sizes alone (nothing is
    /// allocated; f64 arithmetic, so absurd sizes cannot overflow).
    ///
    /// The dense block M_rr (order m = q_rest + p + 1) exists as the
    /// cross-products and as the factor; the selected inverse, which the
    /// conditional variances (and a GLMM's gradient) need, adds two
    /// q_rest-by-q_rest matrices. A GLMM holds two systems (with and without
    /// the p fixed-effects columns) and, while PIRLS or the final covariances
    /// run, a second factor: 4 blocks for an LMM, 6 for a GLMM.
    pub fn estimate(&self) -> MemoryEstimate {
        let f = |v: usize| v as f64;
        let n = f(self.n);
        let p = f(self.p);
        let (first, rest) = match self.terms.split_first() {
            Some((a, b)) => (*a, b),
            None => (TermShape { nlevels: 0, k: 1 }, &[][..]),
        };
        let l1 = f(first.nlevels);
        let k1 = f(first.k);
        let q_rest: f64 = rest.iter().map(|t| f(t.nlevels) * f(t.k)).sum();
        let k_rest: f64 = rest.iter().map(|t| f(t.k)).sum();
        let nrest = f(rest.len());
        let m = q_rest + p + 1.0;
        let dense_bytes = 8.0 * m * m;
        let dense_copies = if self.glmm { 6.0 } else { 4.0 };
        // The first term, level by level: three index arrays, and k1-by-k1
        // blocks (cross-products, factor, selected inverse, its work space,
        // conditional covariances); u and b for every random effect.
        let q = l1 * k1 + q_rest;
        let per_level = l1 * (3.0 * 8.0 + 5.0 * 8.0 * k1 * k1) + 4.0 * 8.0 * q;
        // Its off-diagonal blocks: one row per (level, rest-term block) pair
        // an observation has (at most n per rest term, at most every level
        // pair), plus p + 1 rows per level; k1 values a row in four arrays
        // (cross-products, factor, selected inverse and its work space).
        let pattern_rows = (n * k_rest).min(l1 * q_rest) + l1 * (p + 1.0);
        let patterns = pattern_rows * 8.0 * (1.0 + 4.0 * k1);
        // The dense product of the Schur complement and of the selected
        // inverse (used only while m * q1 <= 4e6, see `BlockedSystem::new`).
        let schur = 3.0 * 8.0 * (m * l1 * k1).min(4e6);
        // Per observation: the level pairs while the layout is built
        // (3 words a pair) and their positions, the rows of z per term, and
        // some thirty work vectors (PIRLS, gradients).
        let per_obs = n * 8.0 * (4.0 * nrest + 2.0 * (k1 + k_rest) + 30.0);
        let total_bytes = dense_copies * dense_bytes + per_level + patterns + schur + per_obs;
        MemoryEstimate { q_rest, dense_dim: m, dense_bytes, dense_copies, first_levels: l1, total_bytes }
    }
}

/// Refuse a model whose estimated peak exceeds `available` bytes (None: the
/// available memory is unknown, and `FALLBACK_AVAILABLE` is assumed).
/// `note`, if not empty, is added to the reason before the advice.
pub fn check_fits(est: &MemoryEstimate, available: Option<f64>, note: &str) -> Result<()> {
    let (avail, how) = match available {
        Some(a) => (a, "available"),
        None => (FALLBACK_AVAILABLE, "assumed available (the free memory of this system could not be read)"),
    };
    if est.total_bytes <= avail {
        return Ok(());
    }
    let mut msg = format!("the model needs about {} of memory, more than the {} {how}", fmt_bytes(est.total_bytes), fmt_bytes(avail));
    let advice = if est.dense_copies * est.dense_bytes >= 0.5 * est.total_bytes {
        msg.push_str(&format!(
            ": the {} random effects of the terms after the first form one dense {} x {} matrix \
             ({} each; the fit holds {} of them)",
            fmt_count(est.q_rest),
            fmt_count(est.dense_dim),
            fmt_count(est.dense_dim),
            fmt_bytes(est.dense_bytes),
            est.dense_copies
        ));
        "The first term (the one with the most random effects) is stored level by level and \
         costs little; every other term is stored densely. Use grouping factors with fewer \
         levels in the terms after the first (for example drop or coarsen a crossed factor), or \
         fewer crossed terms"
    } else {
        msg.push_str(&format!(": the first random-effects term has {} levels", fmt_count(est.first_levels)));
        "Use a grouping factor with fewer levels"
    };
    msg.push_str(note);
    msg.push_str(". ");
    msg.push_str(advice);
    Err(EngineError::TooLarge(msg))
}

/// Refuse, before anything is allocated, a model with these terms, n
/// observations and p fixed effects that would not fit in the memory
/// available. A term declared with many more levels than its codes use
/// (a damaged fit object, say) is named in the message.
pub fn check_model(terms: &[ReTerm], n: usize, p: usize, glmm: bool) -> Result<()> {
    let shape = ModelShape { n, p, terms: terms.iter().map(|t| TermShape { nlevels: t.nlevels, k: t.k }).collect(), glmm };
    let est = shape.estimate();
    if est.total_bytes <= SMALL_MODEL {
        // reading /proc (system calls) would be a large part of a small fit
        return Ok(());
    }
    let available = available_bytes();
    if check_fits(&est, available, "").is_ok() {
        return Ok(());
    }
    let mut note = String::new();
    for (i, t) in terms.iter().enumerate() {
        let used = t.group.iter().max().map_or(0, |g| g + 1);
        if t.nlevels > 2 * used.max(n) {
            note.push_str(&format!(
                " (random-effects term {} is declared with {} levels, but its grouping codes reach only {})",
                i + 1,
                fmt_count(t.nlevels as f64),
                fmt_count(used as f64)
            ));
        }
    }
    check_fits(&est, available, &note)
}

/// The memory this process may still use, in bytes: Linux's MemAvailable,
/// lowered to what a cgroup memory limit leaves; None where unknown.
pub fn available_bytes() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let mut avail = meminfo_field(&meminfo, "MemAvailable:")?;
    if let Some(room) = cgroup_room() {
        avail = avail.min(room);
    }
    Some(avail)
}

/// A "Key:   123 kB" line of /proc/meminfo, in bytes.
fn meminfo_field(text: &str, key: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let mut parts = line[key.len()..].split_whitespace();
    let value: f64 = parts.next()?.parse().ok()?;
    let unit = match parts.next() {
        Some("kB") => 1024.0,
        None => 1.0,
        Some(_) => return None,
    };
    Some(value * unit)
}

/// Limit minus usage of the memory cgroup (v2, else v1) when it sets a
/// limit; None without one.
fn cgroup_room() -> Option<f64> {
    let read = |path: &str| -> Option<f64> { std::fs::read_to_string(path).ok()?.trim().parse::<f64>().ok() };
    let pairs = [
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ];
    for (limit, usage) in pairs {
        // "max" (v2) does not parse: no limit; v1 writes a huge number
        if let Some(l) = read(limit) {
            if l < 1e18 {
                return Some((l - read(usage).unwrap_or(0.0)).max(0.0));
            }
        }
    }
    None
}

/// A vector of `len` zeros, or an error naming `what` if the allocator
/// refuses (never an abort).
pub fn try_zeros(len: usize, what: &str) -> Result<Vec<f64>> {
    let mut v = Vec::new();
    try_resize(&mut v, len, what)?;
    Ok(v)
}

/// Resize `v` to `len` (new values zero), fallibly (see `try_zeros`).
pub fn try_resize(v: &mut Vec<f64>, len: usize, what: &str) -> Result<()> {
    if len > v.len() {
        reserve(v, len - v.len(), what)?;
    }
    v.resize(len, 0.0);
    Ok(())
}

/// Make `v` a copy of `src`, fallibly (see `try_zeros`).
pub fn try_copy_from(v: &mut Vec<f64>, src: &[f64], what: &str) -> Result<()> {
    try_copy_from_named(v, src, || what.to_string())
}

/// `try_copy_from` with the name made only if the allocation fails: for
/// copies made at every evaluation, where formatting a name each time
/// would cost more than the copy of a small block.
pub fn try_copy_from_named(v: &mut Vec<f64>, src: &[f64], what: impl FnOnce() -> String) -> Result<()> {
    v.clear();
    if v.try_reserve_exact(src.len()).is_err() {
        reserve(v, src.len(), &what())?;
    }
    v.extend_from_slice(src);
    Ok(())
}

/// An empty vector with room for `len` values, fallibly (see `try_zeros`).
pub fn try_with_capacity<T>(len: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, len, what)?;
    Ok(v)
}

/// `len` copies of `value`, fallibly (see `try_zeros`).
pub fn try_filled<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut v = try_with_capacity(len, what)?;
    v.resize(len, value);
    Ok(v)
}

fn reserve<T>(v: &mut Vec<T>, additional: usize, what: &str) -> Result<()> {
    v.try_reserve_exact(additional).map_err(|_| {
        let bytes = (v.len() as f64 + additional as f64) * std::mem::size_of::<T>() as f64;
        EngineError::TooLarge(format!(
            "could not allocate {} for {what}: the model is too large for the memory of this \
             process. Use grouping factors with fewer levels, in particular in the \
             random-effects terms after the first (which are stored densely), or fewer \
             crossed terms",
            fmt_bytes(bytes)
        ))
    })
}

/// Bytes as "88.2 GB" (or MB below a gigabyte).
pub fn fmt_bytes(b: f64) -> String {
    if b >= GB {
        format!("{:.1} GB", b / GB)
    } else {
        format!("{:.0} MB", (b / 1e6).max(1.0))
    }
}

/// A whole number with thousands separators: 1,234,567.
pub fn fmt_count(x: f64) -> String {
    let s = format!("{:.0}", x);
    let (sign, digits) = if let Some(d) = s.strip_prefix('-') { ("-", d) } else { ("", s.as_str()) };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(levels: &[(usize, usize)], n: usize, p: usize, glmm: bool) -> ModelShape {
        ModelShape { n, p, terms: levels.iter().map(|&(nlevels, k)| TermShape { nlevels, k }).collect(), glmm }
    }

    #[test]
    fn the_dense_block_dominates_a_large_crossed_design() {
        // (1 | g) + (1 | h) with 60,000 levels each, one fixed effect
        let e = shape(&[(60_000, 1), (60_000, 1)], 250_000, 1, false).estimate();
        assert_eq!(e.dense_dim, 60_002.0);
        assert_eq!(e.dense_bytes, 8.0 * 60_002.0f64.powi(2));
        assert!(e.total_bytes >= 4.0 * e.dense_bytes && e.total_bytes < 4.2 * e.dense_bytes);
        let err = check_fits(&e, Some(16.0 * GB), "").unwrap_err().to_string();
        assert!(err.contains("needs about 115."), "{err}");
        assert!(err.contains("60,000 random effects"), "{err}");
        assert!(err.contains("60,002 x 60,002"), "{err}");
        assert!(err.contains("fewer levels"), "{err}");
        assert!(check_fits(&e, Some(200.0 * GB), "").is_ok());
        // a GLMM holds more copies
        let g = shape(&[(60_000, 1), (60_000, 1)], 250_000, 1, true).estimate();
        assert!(g.total_bytes > 1.4 * e.total_bytes);
    }

    #[test]
    fn absurd_level_counts_are_sized_without_overflow_and_refused() {
        let e = shape(&[(i32::MAX as usize, 1)], 180, 2, false).estimate();
        assert!(e.total_bytes > 1e11 && e.total_bytes.is_finite());
        let err = check_fits(&e, Some(64.0 * GB), " (a note)").unwrap_err().to_string();
        assert!(err.contains("the first random-effects term has 2,147,483,647 levels (a note). Use"), "{err}");
        let e = shape(&[(1000, 1), (i32::MAX as usize, 3)], 180, 2, true).estimate();
        assert!(e.total_bytes.is_finite());
        assert!(check_fits(&e, None, "").is_err());
    }

    #[test]
    fn ordinary_models_fit_in_the_fallback() {
        // InstEval's shape: 73,421 rows, 2,972 x 1,128 x 14, p = 2
        let e = shape(&[(2972, 1), (1128, 1), (14, 1)], 73_421, 2, false).estimate();
        assert!(e.total_bytes < 0.2 * GB, "{}", e.total_bytes);
        assert!(check_fits(&e, None, "").is_ok());
    }

    #[test]
    fn refused_allocations_are_errors() {
        let err = try_zeros(usize::MAX / 4, "the test").unwrap_err();
        assert!(matches!(err, EngineError::TooLarge(_)));
        assert!(err.to_string().contains("could not allocate"), "{err}");
        let mut v = vec![1.0; 3];
        assert!(try_resize(&mut v, usize::MAX / 2, "the test").is_err());
        assert_eq!(v, vec![1.0; 3]);
        assert_eq!(try_zeros(4, "x").unwrap(), vec![0.0; 4]);
    }

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:       24684092 kB\nMemFree:        22013308 kB\nMemAvailable:   24231272 kB\n";
        assert_eq!(meminfo_field(text, "MemAvailable:"), Some(24_231_272.0 * 1024.0));
        assert_eq!(meminfo_field(text, "Nope:"), None);
        if cfg!(target_os = "linux") {
            assert!(available_bytes().unwrap() > 0.0);
        }
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_count(2147483647.0), "2,147,483,647");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(fmt_count(1000.0), "1,000");
        assert_eq!(fmt_bytes(88_196_640_032.0), "88.2 GB");
        assert_eq!(fmt_bytes(2.5e6), "2 MB");
    }
}
