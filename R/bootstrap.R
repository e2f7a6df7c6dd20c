# bootstrap(): glmmr's parametric bootstrap, its counterpart of lme4's
# bootMer() (a plain function of lme4's, so glmmr uses another name).

#' Parametric bootstrap of a fitted model
#'
#' Simulates `nsim` responses from the fit ([simulate.glmmr()]), refits the
#' model to each through its prepared model ([refit.glmmr()]) and applies
#' `FUN` to every refit, as lme4's `bootMer()` does. The result is an object
#' of class `"boot"`, so `boot::boot.ci()` gives intervals from it, and
#' `confint(m, method = "boot")` is built on it.
#'
#' The responses are all simulated first, in this R session, from `seed`;
#' the refits then run through `future.apply::future_lapply()` on whatever
#' [future::plan()] is set (sequential by default; multisession, cluster or
#' a batchtools scheduler alike: glmmr does not choose), with random-number
#' streams of their own for any randomness in `FUN`. So the same `seed`
#' gives the same replicates on every plan. Without the future.apply
#' package the refits run sequentially. Progress is reported through
#' progressr, which shows it only where the user asks for it
#' (`progressr::with_progress()` or `progressr::handlers(global = TRUE)`).
#'
#' @param object A fitted `"glmmr"` model.
#' @param FUN A function of a fitted model returning a numeric vector (the
#'   statistics), e.g. `fixef`; it is applied to `object` too.
#' @param nsim The number of bootstrap replicates.
#' @param seed Optional seed for the simulations; the generator's state is
#'   restored afterwards.
#' @param use.u `FALSE` (the default, as in lme4): new random effects for
#'   each simulated response; `TRUE`: the fitted random effects (conditional
#'   modes) are kept and only the residual variation is simulated.
#' @param type `"parametric"`, the only type.
#' @param ... Must be empty.
#' @return An object of class `c("glmmr_boot", "boot")`: `t0` (`FUN(object)`),
#'   `t` (an `nsim`-row matrix of the replicates; a row of `NA` where a
#'   refit failed, with the messages in attribute `"boot.fail.msgs"`), `R`,
#'   `data`, `seed`, `statistic`, `sim = "parametric"`, `call`, as
#'   `lme4::bootMer()` returns.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' b <- bootstrap(m, fixef, nsim = 20, seed = 1)
#' apply(b$t, 2, sd)
#' if (requireNamespace("boot", quietly = TRUE)) {
#'   boot::boot.ci(b, type = "perc", index = 2)
#' }
#' @export
bootstrap <- function(object, FUN, nsim = 1, seed = NULL, use.u = FALSE,
                      type = "parametric", ...) {
  check_dots(...)
  mc <- match.call()
  if (!inherits(object, "glmmr")) stop("`object` must be a glmmr fit", call. = FALSE)
  FUN <- match.fun(FUN)
  if (!is.numeric(nsim) || length(nsim) != 1L || nsim < 1 || nsim != round(nsim)) {
    stop("`nsim` must be a positive whole number", call. = FALSE)
  }
  if (!identical(type, "parametric")) {
    stop("`type` must be \"parametric\" (the only bootstrap glmmr has)", call. = FALSE)
  }
  if (!is.logical(use.u) || length(use.u) != 1L || is.na(use.u)) {
    stop("`use.u` must be TRUE or FALSE", call. = FALSE)
  }
  t0 <- FUN(object)
  if (!is.numeric(t0)) stop("`FUN` must return a numeric vector", call. = FALSE)

  sims <- simulate(object, nsim = nsim, seed = seed, re.form = if (use.u) NULL else NA)
  rng_seed <- attr(sims, "seed")
  # the refits' own random-number streams (for FUN), from the same seed
  future_seed <- if (is.null(seed)) TRUE else as.integer(seed)

  # A worker gets the fit without its prepared model (an external pointer
  # does not travel between processes): it prepares it once per chunk of
  # replicates, in this environment, which travels with the function.
  cache <- new.env(parent = emptyenv())
  prepared_here <- prepared_model(object)
  cache$prepared <- prepared_here
  progress <- if (requireNamespace("progressr", quietly = TRUE)) {
    progressr::progressor(steps = nsim)
  } else function(...) NULL
  replicate_one <- function(y) {
    if (!rust_is_prepared(cache$prepared)) cache$prepared <- prepared_model(object)
    out <- tryCatch(
      withCallingHandlers(
        FUN(refit_object(object, y, cache$prepared)),
        # a replicate's convergence warnings are the bootstrap's business:
        # they would repeat nsim times
        warning = function(w) invokeRestart("muffleWarning"),
        message = function(m) invokeRestart("muffleMessage")),
      error = function(e) structure(conditionMessage(e), class = "glmmr_boot_failure"))
    progress()
    out
  }
  ys <- as.list(sims)
  results <- if (requireNamespace("future.apply", quietly = TRUE)) {
    future.apply::future_lapply(ys, replicate_one, future.seed = future_seed,
                                future.packages = "glmmr")
  } else {
    lapply(ys, replicate_one)
  }
  failed <- vapply(results, inherits, TRUE, "glmmr_boot_failure")
  t <- matrix(NA_real_, nsim, length(t0), dimnames = list(NULL, names(t0)))
  for (i in which(!failed)) {
    if (length(results[[i]]) != length(t0)) {
      stop("`FUN` returned ", length(results[[i]]), " values for a replicate and ",
           length(t0), " for the fit", call. = FALSE)
    }
    t[i, ] <- results[[i]]
  }
  out <- structure(list(
    t0 = t0, t = t, R = as.integer(nsim), data = model.frame(object),
    seed = rng_seed, statistic = FUN, sim = "parametric", call = mc,
    ran.gen = "simulate(<glmmr>, 1, *)", mle = list(beta = object$beta, theta = object$theta, sigma = object$sigma)
  ), class = c("glmmr_boot", "boot"))
  if (any(failed)) {
    attr(out, "boot.fail.msgs") <- table(unlist(lapply(results[failed], unclass)))
    warning(sum(failed), " of ", nsim, " bootstrap refits failed; their rows of ",
            "`t` are NA (messages in attr(, \"boot.fail.msgs\"))", call. = FALSE)
  }
  out
}

#' @export
print.glmmr_boot <- function(x, ...) {
  check_dots(...)
  ok <- stats::complete.cases(x$t)
  cat("Parametric bootstrap of a glmmr fit: ", x$R, " replicates",
      if (any(!ok)) paste0(" (", sum(!ok), " failed)"), "\n\n", sep = "")
  tab <- cbind(original = x$t0,
               bias = colMeans(x$t[ok, , drop = FALSE]) - x$t0,
               "std. error" = apply(x$t[ok, , drop = FALSE], 2L, stats::sd))
  print(tab, digits = 5L)
  invisible(x)
}
