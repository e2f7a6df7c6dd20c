//! extendr binding: converts R values to engine inputs, calls the engine and
//! hands back a plain named list. It knows nothing about statistics.
//!
//! Errors never unwind into R: engine errors and panics both come back as
//! `list(error = "message")`, and the R side turns that into stop(). A
//! message therefore never passes through R's printf-style error routine.
//! A user interrupt comes back as `list(interrupted = TRUE, error = ...)`,
//! which the R side turns into an interrupt condition (see `engine_call()`).

use extendr_api::prelude::*;
use std::collections::HashMap;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use engine::monitor::Monitor;
use engine::{EngineError, Result as EngineResult};

use engine::convergence::ConvergenceCheck;
use engine::family::{Distribution, Link};
use engine::glmm::{GlmmFit, GlmmInput, GlmmProblem};
use engine::lmm::{LmmFit, LmmInput, LmmProblem};
use engine::optimizer::{Limit, OptimControl};
use engine::profile::Held;
use engine::reterm::ReTerm;

/// Why a binding call failed: a message for an R error, or a user
/// interrupt, which R must see as an interrupt and not as an error.
#[derive(Debug)]
enum BindError {
    Message(String),
    Interrupted,
}

impl From<String> for BindError {
    fn from(m: String) -> Self {
        BindError::Message(m)
    }
}

impl From<&str> for BindError {
    fn from(m: &str) -> Self {
        BindError::Message(m.to_string())
    }
}

impl From<EngineError> for BindError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Interrupted => BindError::Interrupted,
            other => BindError::Message(other.to_string()),
        }
    }
}

type BindResult<T> = std::result::Result<T, BindError>;

// R's own entry points for a safe interrupt check: R_CheckUserInterrupt
// would unwind through Rust frames if called directly, so it runs inside
// R_ToplevelExec, which reports (FALSE) that a jump happened instead.
extern "C" {
    fn R_ToplevelExec(fun: extern "C" fn(*mut c_void), data: *mut c_void) -> c_int;
    fn R_CheckUserInterrupt();
}

extern "C" fn check_interrupt_callback(_: *mut c_void) {
    unsafe { R_CheckUserInterrupt() }
}

fn user_interrupted() -> bool {
    unsafe { R_ToplevelExec(check_interrupt_callback, std::ptr::null_mut()) == 0 }
}

/// Checks for Ctrl-C every 100 ms and, when asked, shows the evaluations,
/// the objective and the time per evaluation once a fit has run a second.
struct RMonitor {
    progress: bool,
    start: Instant,
    last: Instant,
    evals: usize,
    shown: bool,
}

impl RMonitor {
    fn new(progress: bool) -> Self {
        let now = Instant::now();
        RMonitor { progress, start: now, last: now, evals: 0, shown: false }
    }
}

impl Monitor for RMonitor {
    fn tick(&mut self, value: f64) -> EngineResult<()> {
        self.evals += 1;
        let now = Instant::now();
        if now.duration_since(self.last) < Duration::from_millis(100) {
            return Ok(());
        }
        self.last = now;
        if user_interrupted() {
            return Err(EngineError::Interrupted);
        }
        let elapsed = now.duration_since(self.start);
        if self.progress && elapsed > Duration::from_secs(1) {
            let per = elapsed.as_secs_f64() * 1000.0 / self.evals as f64;
            rprint!("\rMinimizing {}  objective {:.4}  time {:.1} s ({:.2} ms/it)   ", self.evals, value, elapsed.as_secs_f64(), per);
            self.shown = true;
        }
        Ok(())
    }

    fn finish(&mut self) {
        if self.shown {
            rprintln!("");
        }
    }
}

fn real_vec(x: &Robj, what: &str) -> BindResult<Vec<f64>> {
    if let Some(s) = x.as_real_slice() {
        return Ok(s.to_vec());
    }
    if let Some(s) = x.as_integer_slice() {
        return Ok(s.iter().map(|&v| v as f64).collect());
    }
    Err(BindError::from(format!("`{what}` must be a numeric vector")))
}

fn field<'a>(m: &'a HashMap<String, Robj>, name: &str, owner: &str) -> BindResult<&'a Robj> {
    m.get(name).ok_or_else(|| BindError::from(format!("`{owner}` has no element `{name}`")))
}

fn scalar_usize(x: &Robj, what: &str) -> BindResult<usize> {
    x.as_integer()
        .map(|v| v as f64)
        .or_else(|| x.as_real())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v as usize)
        .ok_or_else(|| BindError::from(format!("`{what}` must be a non-negative number")))
}

/// One term record from R: list(group = 1-based integer codes, nlevels, z = n x k matrix).
fn re_term(x: Robj, n: usize) -> BindResult<ReTerm> {
    let list: List = x.try_into().map_err(|_| "each term must be a list".to_string())?;
    let m: HashMap<String, Robj> = list.iter().map(|(k, v)| (k.to_string(), v)).collect();
    let group = field(&m, "group", "term")?.as_integer_slice().ok_or("term `group` must be an integer vector")?;
    if group.len() != n {
        return Err("term `group` has the wrong length".into());
    }
    let nlevels = scalar_usize(field(&m, "nlevels", "term")?, "nlevels")?;
    let zr = field(&m, "z", "term")?;
    let zc = real_vec(zr, "z")?;
    if n == 0 || zc.len() % n != 0 {
        return Err("term `z` must have one row per observation".into());
    }
    let k = zc.len() / n;
    let mut group0 = Vec::with_capacity(n);
    for &g in group {
        if g < 1 || g as usize > nlevels {
            return Err("grouping codes out of range".into());
        }
        group0.push(g as usize - 1);
    }
    // R matrices are column-major; the engine wants rows of z together.
    let mut z = vec![0.0; n * k];
    for i in 0..n {
        for a in 0..k {
            z[i * k + a] = zc[i + a * n];
        }
    }
    Ok(ReTerm::new(group0, nlevels, k, z)?)
}

fn control(x: Robj) -> BindResult<(OptimControl, bool)> {
    let mut c = OptimControl::default();
    let mut progress = false;
    if x.is_null() {
        return Ok((c, progress));
    }
    let list: List = x.try_into().map_err(|_| "`control` must be a list".to_string())?;
    for (name, v) in list.iter() {
        match name {
            "max_evals" => c.max_evals = scalar_usize(&v, "max_evals")?,
            "rel_tol" => c.rel_tol = v.as_real().ok_or("`rel_tol` must be a number")?,
            "cost_tol" => c.cost_tol = v.as_real().ok_or("`cost_tol` must be a number")?,
            "max_iter" => c.max_iter = scalar_usize(&v, "max_iter")? as u64,
            "progress" => progress = v.as_bool().ok_or("`progress` must be TRUE or FALSE")?,
            _ => {}
        }
    }
    Ok((c, progress))
}

/// The optimizer's record of a fit.
struct OptimRecord {
    evals: usize,
    iterations: u64,
    message: String,
    converged: bool,
    limit: Option<Limit>,
}

/// The fields every fit returns: the optimizer's record and the check.
/// `converged` is FALSE when the optimizer stopped at `limit` ("max_evals"
/// or "max_iter", the glmmr_control() setting); `check_skipped` says why
/// the Hessian of the check was not computed ("" when it was).
fn fit_record(opt: OptimRecord, boundary: Vec<bool>, check: ConvergenceCheck) -> Vec<(&'static str, Robj)> {
    let limit = match opt.limit {
        Some(Limit::Evaluations) => "max_evals",
        Some(Limit::Iterations) => "max_iter",
        None => "",
    };
    vec![
        ("evals", (opt.evals as i32).into()),
        ("iterations", (opt.iterations as i32).into()),
        ("message", opt.message.into()),
        ("converged", opt.converged.into()),
        ("limit", limit.into()),
        ("check_skipped", check.skipped.into()),
        ("boundary", boundary.into()),
        ("gradient", check.gradient.into()),
        ("hessian", check.hessian.into()),
        ("max_scaled_gradient", check.max_scaled_gradient.into()),
        ("max_abs_gradient", check.max_abs_gradient.into()),
        ("hessian_positive_definite", check.hessian_positive_definite.into()),
    ]
}

fn lmm_result(fit: LmmFit) -> List {
    let mut fields: Vec<(&'static str, Robj)> = vec![
        ("theta", fit.theta.into()),
        ("beta", fit.beta.into()),
        ("vcov", fit.vcov.into()),
        ("sigma", fit.sigma.into()),
        ("u", fit.u.into()),
        ("b", fit.b.into()),
        ("objective", fit.objective.into()),
        ("cond_var", fit.cond_var.into()),
    ];
    let opt =
        OptimRecord { evals: fit.evals, iterations: fit.iterations, message: fit.message, converged: fit.converged, limit: fit.limit };
    fields.extend(fit_record(opt, fit.boundary, fit.check));
    List::from_pairs(fields)
}

/// The inputs of a linear mixed model from their R values.
#[allow(clippy::too_many_arguments)]
fn lmm_input(y: Robj, x: Robj, p: Robj, terms: Robj, weights: Robj, offset: Robj, reml: Robj) -> BindResult<LmmInput> {
    let y = real_vec(&y, "y")?;
    let n = y.len();
    Ok(LmmInput {
        y,
        x: real_vec(&x, "X")?,
        p: scalar_usize(&p, "p")?,
        weights: real_vec(&weights, "weights")?,
        offset: real_vec(&offset, "offset")?,
        terms: terms_from(terms, n)?,
        reml: reml.as_bool().ok_or("`REML` must be TRUE or FALSE")?,
    })
}

#[allow(clippy::too_many_arguments)]
fn fit_lmm_impl(y: Robj, x: Robj, p: Robj, terms: Robj, weights: Robj, offset: Robj, reml: Robj, ctl: Robj) -> BindResult<List> {
    let input = lmm_input(y, x, p, terms, weights, offset, reml)?;
    let (ctl, progress) = control(ctl)?;
    let mut problem = LmmProblem::new(input)?;
    problem.set_monitor(Box::new(RMonitor::new(progress)));
    let fit = problem.fit(&ctl)?;
    Ok(lmm_result(fit))
}

fn glmm_result(fit: GlmmFit) -> List {
    let mut fields: Vec<(&'static str, Robj)> = vec![
        ("theta", fit.theta.into()),
        ("beta", fit.beta.into()),
        ("vcov_factor", fit.vcov_factor.into()),
        ("vcov_hessian", fit.vcov_hessian.into()),
        ("u", fit.u.into()),
        ("b", fit.b.into()),
        ("eta", fit.eta.into()),
        ("objective", fit.objective.into()),
        ("deviance", fit.deviance.into()),
        ("phi", fit.phi.into()),
        ("cond_var", fit.cond_var.into()),
    ];
    let opt =
        OptimRecord { evals: fit.evals, iterations: fit.iterations, message: fit.message, converged: fit.converged, limit: fit.limit };
    fields.extend(fit_record(opt, fit.boundary, fit.check));
    List::from_pairs(fields)
}

fn terms_from(terms: Robj, n: usize) -> BindResult<Vec<ReTerm>> {
    let terms_list: List = terms.try_into().map_err(|_| "`terms` must be a list".to_string())?;
    let mut re = Vec::with_capacity(terms_list.len());
    for (_, t) in terms_list.iter() {
        re.push(re_term(t, n)?);
    }
    Ok(re)
}

/// The inputs of a generalized linear mixed model from their R values.
#[allow(clippy::too_many_arguments)]
fn glmm_input(
    y: Robj,
    x: Robj,
    p: Robj,
    terms: Robj,
    weights: Robj,
    offset: Robj,
    family: Robj,
    link: Robj,
    nagq: Robj,
) -> BindResult<GlmmInput> {
    let y = real_vec(&y, "y")?;
    let n = y.len();
    let fam = family.as_str().ok_or("`family` must be a string")?;
    let lnk = link.as_str().ok_or("`link` must be a string")?;
    Ok(GlmmInput {
        y,
        x: real_vec(&x, "X")?,
        p: scalar_usize(&p, "p")?,
        weights: real_vec(&weights, "weights")?,
        offset: real_vec(&offset, "offset")?,
        terms: terms_from(terms, n)?,
        dist: Distribution::from_name(fam)?,
        link: Link::from_name(lnk)?,
        nagq: scalar_usize(&nagq, "nAGQ")?,
    })
}

#[allow(clippy::too_many_arguments)]
fn fit_glmm_impl(
    y: Robj,
    x: Robj,
    p: Robj,
    terms: Robj,
    weights: Robj,
    offset: Robj,
    family: Robj,
    link: Robj,
    nagq: Robj,
    ctl: Robj,
) -> BindResult<List> {
    let input = glmm_input(y, x, p, terms, weights, offset, family, link, nagq)?;
    let (ctl, progress) = control(ctl)?;
    let mut problem = GlmmProblem::new(input)?;
    problem.set_monitor(Box::new(RMonitor::new(progress)));
    let fit = problem.fit(&ctl)?;
    Ok(glmm_result(fit))
}

fn guarded<F: FnOnce() -> BindResult<List>>(f: F) -> List {
    // A panic becomes an R error with its message; the default hook would
    // also print a backtrace on the console, which helps nobody in R.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    match outcome {
        Ok(Ok(l)) => l,
        Ok(Err(BindError::Message(msg))) => list!(error = msg),
        Ok(Err(BindError::Interrupted)) => {
            list!(interrupted = true, error = EngineError::Interrupted.to_string())
        }
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            list!(error = format!("internal error in the glmmr engine: {detail}"))
        }
    }
}

/// Fit a linear mixed model. Returns list(error = msg) on failure.
/// @noRd
#[extendr]
fn rust_fit_lmm(y: Robj, x: Robj, p: Robj, terms: Robj, weights: Robj, offset: Robj, reml: Robj, control: Robj) -> List {
    guarded(|| fit_lmm_impl(y, x, p, terms, weights, offset, reml, control))
}

/// Deviance (ML) or REML criterion at given theta values, for tests and
/// profiling. Returns list(value = ...) or list(error = msg).
/// @noRd
#[extendr]
fn rust_lmm_objective(y: Robj, x: Robj, p: Robj, terms: Robj, weights: Robj, offset: Robj, reml: Robj, theta: Robj) -> List {
    guarded(|| {
        let th = real_vec(&theta, "theta")?;
        let input = lmm_input(y, x, p, terms, weights, offset, reml)?;
        let mut problem = LmmProblem::new(input)?;
        let v = problem.objective(&th)?;
        Ok(list!(value = v))
    })
}

/// Fit a generalized linear mixed model. Returns list(error = msg) on failure.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rust_fit_glmm(
    y: Robj,
    x: Robj,
    p: Robj,
    terms: Robj,
    weights: Robj,
    offset: Robj,
    family: Robj,
    link: Robj,
    nagq: Robj,
    control: Robj,
) -> List {
    guarded(|| fit_glmm_impl(y, x, p, terms, weights, offset, family, link, nagq, control))
}

/// What a profile holds, from R: c(kind, pos, k, a, b) with kind 0 the
/// residual sd, 1 the sd of column a of the term whose theta starts at pos
/// (dimension k), 2 the correlation of its columns a < b.
fn held_from(x: &Robj) -> BindResult<Held> {
    let v = real_vec(x, "held")?;
    if v.len() != 5 || v.iter().any(|a| !(a.is_finite() && *a >= 0.0)) {
        return Err("`held` must be c(kind, pos, k, a, b)".into());
    }
    let u: Vec<usize> = v.iter().map(|a| *a as usize).collect();
    match u[0] {
        0 => Ok(Held::Sigma),
        1 if u[3] < u[2] => Ok(Held::Sd { pos: u[1], k: u[2], row: u[3] }),
        2 if u[3] < u[4] && u[4] < u[2] => Ok(Held::Cor { pos: u[1], k: u[2], a: u[3], b: u[4] }),
        _ => Err("`held` does not describe a parameter".into()),
    }
}

/// Profile objective of an LMM: minimised over theta with the held
/// quantity (see `held_from`) fixed at `value`. Returns list(value = ...)
/// or list(error = msg).
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rust_profile_lmm(
    y: Robj,
    x: Robj,
    p: Robj,
    terms: Robj,
    weights: Robj,
    offset: Robj,
    reml: Robj,
    start: Robj,
    held: Robj,
    value: Robj,
) -> List {
    guarded(|| {
        let input = lmm_input(y, x, p, terms, weights, offset, reml)?;
        let start = real_vec(&start, "start")?;
        let held = held_from(&held)?;
        let value = value.as_real().ok_or("`value` must be a number")?;
        let mut problem = LmmProblem::new(input)?;
        problem.set_monitor(Box::new(RMonitor::new(false)));
        let v = problem.profile(&start, held, value, &OptimControl::default())?;
        Ok(list!(value = v))
    })
}

/// Profile objective of a GLMM: minimised over (theta, beta) with the held
/// quantity (see `held_from`) at `value`. Returns list(value) or list(error).
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rust_profile_glmm(
    y: Robj,
    x: Robj,
    p: Robj,
    terms: Robj,
    weights: Robj,
    offset: Robj,
    family: Robj,
    link: Robj,
    nagq: Robj,
    start: Robj,
    held: Robj,
    value: Robj,
) -> List {
    guarded(|| {
        let input = glmm_input(y, x, p, terms, weights, offset, family, link, nagq)?;
        let start = real_vec(&start, "start")?;
        let held = held_from(&held)?;
        let value = value.as_real().ok_or("`value` must be a number")?;
        let mut problem = GlmmProblem::new(input)?;
        if start.len() != problem.npar() {
            return Err("`start` must hold theta, beta and (with a dispersion) log phi".into());
        }
        problem.set_monitor(Box::new(RMonitor::new(false)));
        let v = problem.profile(&start, held, value, &OptimControl::default())?;
        Ok(list!(value = v))
    })
}

/// Comes back as an engine interrupt does, to test what R makes of it.
/// @noRd
#[extendr]
fn rust_interrupt_test() -> List {
    guarded(|| -> BindResult<List> { Err(EngineError::Interrupted.into()) })
}

/// Deliberately panics inside Rust, to test that R survives it.
/// @noRd
#[extendr]
fn rust_panic_test(message: &str) -> List {
    let m = message.to_string();
    guarded(move || -> BindResult<List> { panic!("{}", m) })
}

extendr_module! {
    mod glmmr;
    fn rust_fit_lmm;
    fn rust_fit_glmm;
    fn rust_profile_lmm;
    fn rust_profile_glmm;
    fn rust_lmm_objective;
    fn rust_panic_test;
    fn rust_interrupt_test;
}
