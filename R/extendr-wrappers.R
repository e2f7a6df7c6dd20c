# The .Call wrappers of the Rust binding (src/rust/rbind). A model crosses
# the boundary once, as one named list (`rust_prepare()`, see
# `engine_model()`); the engine keeps it prepared behind an external pointer,
# which fits, refits and profile steps take. Each call returns a named list;
# on failure list(error = message), which `engine_call()` turns into an R
# error, so nothing from Rust ever unwinds through R.

rust_prepare <- function(model) {
  .Call(wrap__rust_prepare, model)
}

rust_is_prepared <- function(x) {
  .Call(wrap__rust_is_prepared, x)
}

rust_parameter_names <- function(prepared_model) {
  .Call(wrap__rust_parameter_names, prepared_model)
}

rust_fit <- function(prepared_model, y, control) {
  .Call(wrap__rust_fit, prepared_model, y, control)
}

rust_profile <- function(prepared_model, name, value, start, control) {
  .Call(wrap__rust_profile, prepared_model, name, value, start, control)
}

rust_with_reml <- function(prepared_model, reml) {
  .Call(wrap__rust_with_reml, prepared_model, reml)
}

rust_lmm_at <- function(prepared_model, theta, sigma) {
  .Call(wrap__rust_lmm_at, prepared_model, theta, sigma)
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
