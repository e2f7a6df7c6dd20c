# The .Call wrappers of the Rust binding (src/rust/rbind). Each returns a
# named list; on failure list(error = message), which `engine_call()` turns
# into an R error, so nothing from Rust ever unwinds through R.

rust_fit_lmm <- function(y, x, p, terms, weights, offset, reml, control) {
  .Call(wrap__rust_fit_lmm, y, x, p, terms, weights, offset, reml, control)
}

rust_lmm_objective <- function(y, x, p, terms, weights, offset, reml, theta) {
  .Call(wrap__rust_lmm_objective, y, x, p, terms, weights, offset, reml, theta)
}

rust_panic_test <- function(message) {
  .Call(wrap__rust_panic_test, message)
}

rust_interrupt_test <- function() {
  .Call(wrap__rust_interrupt_test)
}

# Run an engine call and turn list(error = msg) into an R error. A user
# interrupt the engine saw (list(interrupted = TRUE)) becomes an interrupt.
engine_call <- function(res) {
  if (isTRUE(res$interrupted)) {
    engine_interrupt()
  }
  if (!is.null(res$error)) {
    stop("glmmr engine: ", res$error, call. = FALSE)
  }
  res
}

# Signal an interrupt as R does for Ctrl-C in R code (onintr() in R's
# errors.c): an "interrupt" condition for the handlers of tryCatch() and
# withCallingHandlers(), then options(interrupt =) if set, then a jump to the
# top level ("abort" restart), so try() does not catch it and a loop stops.
engine_interrupt <- function() {
  cond <- structure(
    list(message = "glmmr engine: the fit was interrupted by the user", call = NULL),
    class = c("interrupt", "condition")
  )
  signalCondition(cond)
  h <- getOption("interrupt")
  if (is.function(h)) h()
  invokeRestart("abort")
}

rust_fit_glmm <- function(y, x, p, terms, weights, offset, family, link, nagq, control) {
  .Call(wrap__rust_fit_glmm, y, x, p, terms, weights, offset, family, link, nagq, control)
}

rust_profile_lmm <- function(y, x, p, terms, weights, offset, reml, start, held, value) {
  .Call(wrap__rust_profile_lmm, y, x, p, terms, weights, offset, reml, start, held, value)
}

rust_profile_glmm <- function(y, x, p, terms, weights, offset, family, link, nagq,
                              start, held, value) {
  .Call(wrap__rust_profile_glmm, y, x, p, terms, weights, offset, family, link,
        nagq, start, held, value)
}
