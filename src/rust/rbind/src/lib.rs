//! extendr binding: converts R's model (one named list) to the engine's
//! prepared model, held behind an external pointer on the fit, calls it and
//! hands back plain named lists. It knows nothing about statistics.
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
use engine::finish::Record;
use engine::glmm::GlmmInput;
use engine::lmm::LmmInput;
use engine::optimizer::{Limit, OptimControl};
use engine::prepared::{Fit, ModelInput, Names, PreparedModel, TermNames};
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

fn strings(x: &Robj, what: &str) -> BindResult<Vec<String>> {
    x.as_str_vector()
        .map(|v| v.iter().map(|s| s.to_string()).collect())
        .ok_or_else(|| BindError::from(format!("`{what}` must be a character vector")))
}

fn scalar_usize(x: &Robj, what: &str) -> BindResult<usize> {
    x.as_integer()
        .map(|v| v as f64)
        .or_else(|| x.as_real())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v as usize)
        .ok_or_else(|| BindError::from(format!("`{what}` must be a non-negative number")))
}

/// The elements of a named list, refusing any name not in `known`.
fn fields(x: Robj, owner: &str, known: &[&str]) -> BindResult<HashMap<String, Robj>> {
    let list: List = x.try_into().map_err(|_| format!("`{owner}` must be a list"))?;
    let mut m = HashMap::new();
    for (k, v) in list.iter() {
        if !known.contains(&k) {
            return Err(format!("`{owner}` has an unknown element `{k}`").into());
        }
        m.insert(k.to_string(), v);
    }
    Ok(m)
}

fn field<'a>(m: &'a HashMap<String, Robj>, name: &str, owner: &str) -> BindResult<&'a Robj> {
    m.get(name).ok_or_else(|| BindError::from(format!("`{owner}` has no element `{name}`")))
}

/// One term from R: list(group = 1-based integer codes, nlevels, z = n x k
/// matrix, label, columns), as its engine term and its names.
fn re_term(x: Robj, n: usize) -> BindResult<(ReTerm, TermNames)> {
    let m = fields(x, "term", &["group", "nlevels", "z", "label", "columns"])?;
    let group = field(&m, "group", "term")?.as_integer_slice().ok_or("term `group` must be an integer vector")?;
    if group.len() != n {
        return Err("term `group` has the wrong length".into());
    }
    let nlevels = scalar_usize(field(&m, "nlevels", "term")?, "nlevels")?;
    let zc = real_vec(field(&m, "z", "term")?, "z")?;
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
    let label = field(&m, "label", "term")?.as_str().ok_or("term `label` must be a string")?.to_string();
    let columns = strings(field(&m, "columns", "term")?, "columns")?;
    Ok((ReTerm::new(group0, nlevels, k, z)?, TermNames { label, columns }))
}

/// The model from R (see `engine_model()` there): list(y, x (n x p
/// matrix), weights, offset, terms, beta_names, lmm, then `reml` for a
/// linear mixed model, or `family` (the engine's distribution name), `link`
/// and `nAGQ` for a GLMM).
fn model_input(x: Robj) -> BindResult<(ModelInput, Names)> {
    let known = ["y", "x", "weights", "offset", "terms", "beta_names", "lmm", "family", "link", "reml", "nAGQ"];
    let m = fields(x, "model", &known)?;
    let y = real_vec(field(&m, "y", "model")?, "y")?;
    let n = y.len();
    let xr = field(&m, "x", "model")?;
    let x = real_vec(xr, "x")?;
    let beta = strings(field(&m, "beta_names", "model")?, "beta_names")?;
    let p = beta.len();
    if x.len() != n * p {
        return Err("`x` must have one row per observation and one column per name in `beta_names`".into());
    }
    let weights = real_vec(field(&m, "weights", "model")?, "weights")?;
    let offset = real_vec(field(&m, "offset", "model")?, "offset")?;
    let terms_list: List = field(&m, "terms", "model")?.clone().try_into().map_err(|_| "`terms` must be a list".to_string())?;
    let mut terms = Vec::with_capacity(terms_list.len());
    let mut term_names = Vec::with_capacity(terms_list.len());
    for (_, t) in terms_list.iter() {
        let (term, names) = re_term(t, n)?;
        terms.push(term);
        term_names.push(names);
    }
    let lmm = field(&m, "lmm", "model")?.as_bool().ok_or("`lmm` must be TRUE or FALSE")?;
    let names = Names { beta, terms: term_names };
    let input = if lmm {
        let reml = field(&m, "reml", "model")?.as_bool().ok_or("`reml` must be TRUE or FALSE")?;
        ModelInput::Lmm(LmmInput { y, x, p, weights, offset, terms, reml })
    } else {
        let family = field(&m, "family", "model")?.as_str().ok_or("`family` must be a string")?;
        let link = field(&m, "link", "model")?.as_str().ok_or("`link` must be a string")?;
        ModelInput::Glmm(GlmmInput {
            y,
            x,
            p,
            weights,
            offset,
            terms,
            dist: Distribution::from_name(family)?,
            link: Link::from_name(link)?,
            nagq: scalar_usize(field(&m, "nAGQ", "model")?, "nAGQ")?,
        })
    };
    Ok((input, names))
}

/// The control settings (NULL: the defaults).
struct Control {
    optim: OptimControl,
    progress: bool,
    /// The thread cap (`glmmr_control(threads = )`); None: the engine's default.
    threads: Option<usize>,
}

impl Control {
    /// Run `f` under this control's thread cap.
    fn with_threads<R>(&self, f: impl FnOnce() -> R) -> R {
        match self.threads {
            Some(n) => engine::threads::with_threads(n, f),
            None => f(),
        }
    }
}

fn control(x: Robj) -> BindResult<Control> {
    let mut c = Control { optim: OptimControl::default(), progress: false, threads: None };
    if x.is_null() {
        return Ok(c);
    }
    let m = fields(x, "control", &["max_evals", "rel_tol", "cost_tol", "max_iter", "progress", "threads"])?;
    for (name, v) in m {
        match name.as_str() {
            "max_evals" => c.optim.max_evals = scalar_usize(&v, "max_evals")?,
            "rel_tol" => c.optim.rel_tol = v.as_real().ok_or("`rel_tol` must be a number")?,
            "cost_tol" => c.optim.cost_tol = v.as_real().ok_or("`cost_tol` must be a number")?,
            "max_iter" => c.optim.max_iter = scalar_usize(&v, "max_iter")? as u64,
            "threads" => {
                let n = scalar_usize(&v, "threads")?;
                if n == 0 {
                    return Err("`threads` must be a positive whole number".into());
                }
                c.threads = Some(n);
            }
            _ => c.progress = v.as_bool().ok_or("`progress` must be TRUE or FALSE")?,
        }
    }
    Ok(c)
}

/// The fields every fit returns: the optimizer's record and the check.
/// `converged` is FALSE when the optimizer stopped at `limit` ("max_evals"
/// or "max_iter", the glmmr_control() setting); `check_skipped` says why
/// the Hessian of the check was not computed ("" when it was).
fn fit_record(opt: Record, boundary: Vec<bool>, check: ConvergenceCheck) -> Vec<(&'static str, Robj)> {
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

/// A fit as R reads it: the estimates of its kind, then the common record.
fn fit_result(fit: Fit) -> List {
    // the optimizer's record, the boundary and the check: every fit has them
    macro_rules! common {
        ($f:ident) => {
            (
                Record { evals: $f.evals, iterations: $f.iterations, message: $f.message, converged: $f.converged, limit: $f.limit },
                $f.boundary,
                $f.check,
            )
        };
    }
    let (mut fields, (opt, boundary, check)): (Vec<(&'static str, Robj)>, _) = match fit {
        Fit::Lmm(f) => (
            vec![
                ("theta", f.theta.into()),
                ("beta", f.beta.into()),
                ("vcov", f.vcov.into()),
                ("sigma", f.sigma.into()),
                ("u", f.u.into()),
                ("b", f.b.into()),
                ("objective", f.objective.into()),
                ("cond_var", f.cond_var.into()),
            ],
            common!(f),
        ),
        Fit::Glmm(f) => (
            vec![
                ("theta", f.theta.into()),
                ("beta", f.beta.into()),
                ("vcov_factor", f.vcov_factor.into()),
                ("vcov_hessian", f.vcov_hessian.into()),
                ("u", f.u.into()),
                ("b", f.b.into()),
                ("eta", f.eta.into()),
                ("objective", f.objective.into()),
                ("deviance", f.deviance.into()),
                ("phi", f.phi.into()),
                ("cond_var", f.cond_var.into()),
            ],
            common!(f),
        ),
    };
    fields.extend(fit_record(opt, boundary, check));
    List::from_pairs(fields)
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

/// The prepared model behind an external pointer from R. One read back
/// from a file (its address cleared) is refused here; R rebuilds it first.
fn prepared(x: Robj) -> BindResult<ExternalPtr<PreparedModel>> {
    ExternalPtr::<PreparedModel>::try_from(x).map_err(|_| BindError::from("`prepared` is not a live prepared model"))
}

/// Prepare a model once: list(prepared = <external pointer>) or list(error).
/// @noRd
#[extendr]
fn rust_prepare(model: Robj) -> List {
    guarded(|| {
        let (input, names) = model_input(model)?;
        let m = PreparedModel::new(input, names)?;
        Ok(list!(prepared = ExternalPtr::new(m)))
    })
}

/// Is `x` a live prepared model (FALSE for one read back from a file)?
/// @noRd
#[extendr]
fn rust_is_prepared(x: Robj) -> bool {
    <&ExternalPtr<PreparedModel>>::try_from(&x).is_ok()
}

/// The names of the parameters a profile can hold: list(names) or list(error).
/// @noRd
#[extendr]
fn rust_parameter_names(prepared_model: Robj) -> List {
    guarded(|| {
        let m = prepared(prepared_model)?;
        Ok(list!(names = m.parameter_names()))
    })
}

/// Fit the prepared model to its own response (`y` NULL) or to `y` (the
/// rows it was prepared with). Returns the fit's fields or list(error).
/// @noRd
#[extendr]
fn rust_fit(prepared_model: Robj, y: Robj, control: Robj) -> List {
    guarded(|| {
        let mut m = prepared(prepared_model)?;
        let y = if y.is_null() { None } else { Some(real_vec(&y, "y")?) };
        let ctl = self::control(control)?;
        let m = m.try_addr_mut().map_err(|e| e.to_string())?;
        let fit = ctl.with_threads(|| m.fit(y.as_deref(), &ctl.optim, Box::new(RMonitor::new(ctl.progress))))?;
        Ok(fit_result(fit))
    })
}

/// The profile objective with the parameter called `name` held at `value`,
/// from `start` (see `PreparedModel::profile`): list(value) or list(error).
/// @noRd
#[extendr]
fn rust_profile(prepared_model: Robj, name: Robj, value: Robj, start: Robj, control: Robj) -> List {
    guarded(|| {
        let mut m = prepared(prepared_model)?;
        let name = name.as_str().ok_or("`name` must be a string")?;
        let value = value.as_real().ok_or("`value` must be a number")?;
        let start = real_vec(&start, "start")?;
        let ctl = self::control(control)?;
        let m = m.try_addr_mut().map_err(|e| e.to_string())?;
        let v = ctl.with_threads(|| m.profile(name, value, &start, &ctl.optim, Box::new(RMonitor::new(false))))?;
        Ok(list!(value = v))
    })
}

/// The linear mixed model fitted by ML (`reml` FALSE) or REML, prepared from
/// this one's data: list(prepared) or list(error).
/// @noRd
#[extendr]
fn rust_with_reml(prepared_model: Robj, reml: Robj) -> List {
    guarded(|| {
        let m = prepared(prepared_model)?;
        let reml = reml.as_bool().ok_or("`reml` must be TRUE or FALSE")?;
        let twin = m.with_reml(reml)?;
        Ok(list!(prepared = ExternalPtr::new(twin)))
    })
}

/// A linear mixed model's deviance (ML) or REML criterion at `theta` and
/// `sigma` and the unscaled covariance of beta at `theta` (column-major p x
/// p): list(deviance, unscaled_vcov) or list(error).
/// @noRd
#[extendr]
fn rust_lmm_at(prepared_model: Robj, theta: Robj, sigma: Robj) -> List {
    guarded(|| {
        let mut m = prepared(prepared_model)?;
        let theta = real_vec(&theta, "theta")?;
        let sigma = sigma.as_real().ok_or("`sigma` must be a number")?;
        let at = m.try_addr_mut().map_err(|e| e.to_string())?.lmm_at(&theta, sigma)?;
        Ok(list!(deviance = at.deviance, unscaled_vcov = at.unscaled_vcov))
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
    fn rust_prepare;
    fn rust_is_prepared;
    fn rust_parameter_names;
    fn rust_fit;
    fn rust_profile;
    fn rust_with_reml;
    fn rust_lmm_at;
    fn rust_panic_test;
    fn rust_interrupt_test;
}
