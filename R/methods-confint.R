# confint(): Wald intervals for the fixed effects and parametric-bootstrap
# intervals for every parameter (the fast engine makes refits cheap).

#' Confidence intervals
#'
#' `method = "Wald"`: estimate +- a normal quantile times the standard
#' error, for the fixed effects (the variance components get `NA`, as in
#' lme4). `method = "profile"`: likelihood-profile intervals: each
#' parameter is held at trial values while everything else is refitted, and
#' the interval is where -2 log L (the REML criterion for a REML fit) rises
#' by the chi-square quantile. This covers the fixed effects (held as an
#' offset), the residual standard deviation of a linear mixed model, and the
#' standard deviations and correlations of the random effects, `sigma`
#' (the square root of the dispersion) of a GLMM with a dispersion, and the
#' estimated `theta` of a negative binomial GLMM. The
#' fixed effects of a REML fit are profiled on -2 log L of the model
#' refitted by maximum likelihood, as lme4 does (with a message): REML
#' criteria of models with different fixed effects are not comparable. (lme4
#' profiles a REML fit's variance parameters on the ML refit too; glmmr
#' profiles them on the REML criterion, which is comparable across their
#' values.)
#' `method = "boot"`: a parametric bootstrap: `nsim` responses
#' simulated from the fit (new random effects each time), the model refitted
#' to each, and percentile intervals for the fixed effects, the standard
#' deviations and correlations of the random effects, and `sigma` or the
#' negative binomial's `theta`.
#'
#' @param object A fitted `"glmmr"` model.
#' @param parm Optional names (or indices) of the parameters wanted.
#' @param level The confidence level.
#' @param method `"Wald"`, `"profile"` or `"boot"`.
#' @param nsim Number of bootstrap samples.
#' @param seed Optional seed for the bootstrap simulations.
#' @param ... Unused; an error if given.
#' @return A matrix with a row per parameter and the lower and upper limits.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' confint(m)
#' confint(m, method = "boot", nsim = 50, seed = 1)
#' @export
confint.glmmr <- function(object, parm, level = 0.95, method = c("Wald", "profile", "boot"),
                          nsim = 500, seed = NULL, ...) {
  check_dots(...)
  method <- match.arg(method)
  if (!is.numeric(level) || length(level) != 1L || level <= 0 || level >= 1) {
    stop("`level` must be a number between 0 and 1", call. = FALSE)
  }
  a <- (1 - level) / 2
  pct <- paste(format(100 * c(a, 1 - a), trim = TRUE, scientific = FALSE, digits = 3), "%")
  est <- parameter_vector(object$theta, object$beta, object$sigma, object)
  if (method == "Wald") {
    se <- sqrt(diag(vcov(object)))
    ci <- matrix(NA_real_, length(est), 2L, dimnames = list(names(est), pct))
    q <- stats::qnorm(1 - a)
    ci[names(object$beta), ] <- cbind(object$beta - q * se, object$beta + q * se)
  } else if (method == "profile") {
    ci <- matrix(NA_real_, length(est), 2L, dimnames = list(names(est), pct))
    wanted <- names(est)
    if (!missing(parm)) wanted <- intersect(wanted, if (is.numeric(parm)) names(est)[parm] else parm)
    crit <- stats::qchisq(level, 1)
    fixed <- intersect(wanted, names(object$beta))
    if (length(fixed)) {
      # The profile of a fixed effect refits the model without its column
      # (the coefficient held as an offset): REML criteria of fits with
      # different X are not comparable, so a REML fit's fixed effects are
      # profiled on the ML criterion of the model refitted by ML, as lme4 does.
      ml <- if (isTRUE(object$REML)) {
        message("profiling the fixed effects of a REML fit on the ML criterion ",
                "(the model refitted by ML), as lme4 does")
        ml_fit(object)
      } else object
      for (nm in fixed) ci[nm, ] <- profile_beta(ml, nm, crit)
    }
    for (sp in profiled_params(object)) {
      if (sp$name %in% wanted) ci[sp$name, ] <- profile_param(object, sp, crit)
    }
  } else {
    b <- bootstrap(object, function(fit) {
      parameter_vector(fit$theta, fit$beta, fit$sigma, object)
    }, nsim = nsim, seed = seed)
    ci <- t(apply(b$t, 2L, stats::quantile, probs = c(a, 1 - a), names = FALSE,
                  na.rm = TRUE))
    dimnames(ci) <- list(names(est), pct)
  }
  if (!missing(parm)) ci <- ci[parm, , drop = FALSE]
  ci
}

#' Fixed effects, random-effect standard deviations and correlations, and
#' sigma, from theta, beta and sigma, named as lme4 does with
#' oldNames = FALSE; a repeated term's parameters carry its term_labels()
#' label (`sd_(Intercept)|g.1`), where lme4 repeats the name
#' @noRd
parameter_vector <- function(theta, beta, sigma, object) {
  out <- numeric(0)
  sc <- if (is.na(object$nAGQ)) sigma else 1
  covs <- term_covariances(theta, object$reterms, sc)
  labels <- term_labels(object$reterms)
  for (i in seq_along(object$reterms)) {
    cnms <- object$reterms[[i]]$cnms
    out <- c(out, stats::setNames(covs[[i]]$sd, paste0("sd_", cnms, "|", labels[i])))
    if (length(cnms) > 1L) {
      cr <- covs[[i]]$cor
      idx <- which(lower.tri(cr), arr.ind = TRUE)
      out <- c(out, stats::setNames(cr[idx],
        paste0("cor_", cnms[idx[, "row"]], ".", cnms[idx[, "col"]], "|", labels[i])))
    }
  }
  if (isTRUE(object$use_scale)) out <- c(out, sigma = sigma)
  if (identical(object$dist, "nbinom2")) out <- c(out, theta = sigma)
  c(out, beta)
}

#' The ML refit of a REML linear mixed model, as far as confint() and
#' anova() use it: -2 log L and log L, the fixed effects and their
#' covariance, theta, sigma, REML = FALSE and the prepared ML model (the
#' random effects and the linear predictor are left as they were)
#' @noRd
ml_fit <- function(object) {
  prepared <- engine_call(rust_with_reml(prepared_model(object), FALSE))$prepared
  control <- object$control
  control$progress <- FALSE
  fit <- engine_fit(prepared, control)
  p <- length(object$beta)
  object$prepared <- prepared
  object$REML <- FALSE
  object$objective <- fit$objective
  object$loglik <- -fit$objective / 2
  object$beta <- stats::setNames(fit$beta, names(object$beta))
  object$vcov <- matrix(fit$vcov, p, p, dimnames = dimnames(object$vcov))
  object$vcov_factor <- object$vcov
  object$theta <- stats::setNames(fit$theta, names(object$theta))
  object$sigma <- fit$sigma
  object$re_scale <- fit$sigma
  object
}

#' The profile objective of the parameter `name` (as the engine names it,
#' see `engine_model()`) at `value`, less the optimum: a function of value
#' for uniroot(). A fixed effect's profile refits the model without its
#' column, the coefficient held as an offset (for an ML fit or a GLMM;
#' confint() gives a REML fit's ML refit); a variance parameter's
#' minimises over the others from the estimates.
#' @noRd
profile_rise <- function(object, name, crit) {
  prepared <- prepared_model(object)
  control <- object$control
  control$progress <- FALSE
  control <- engine_control(control)
  start <- if (is.na(object$nAGQ)) unname(object$theta) else
    c(unname(object$theta), unname(object$beta), log_extra_parameter(object))
  optimum <- engine_objective(object)
  function(value) {
    engine_call(rust_profile(prepared, name, value, start, control))$value -
      optimum - crit
  }
}

#' The profile interval of one fixed effect: where the refitted objective
#' with that coefficient held fixed rises by `crit` above the optimum
#' @noRd
profile_beta <- function(object, name, crit) {
  j <- match(name, names(object$beta))
  rise <- profile_rise(object, paste0("beta_", name), crit)
  est <- object$beta[[j]]
  se <- sqrt(object$vcov[j, j])
  bound <- function(dir) {
    step <- 1
    while (rise(est + dir * step * se) < 0) {
      step <- step * 2
      if (step > 64) return(NA_real_)
    }
    stats::uniroot(function(k) rise(est + dir * k * se), c(0, step), tol = 1e-6)$root
  }
  c(est - bound(-1) * se, est + bound(1) * se)
}

#' The variance parameters a profile can hold, named as the engine names
#' them: each term's standard deviations and correlations, then sigma (the
#' residual sd, or the square root of a GLMM's dispersion) or the negative
#' binomial's theta, with their estimates and ranges
#' @noRd
profiled_params <- function(object) {
  vc <- VarCorr(object)
  out <- list()
  labels <- term_labels(object$reterms)
  for (i in seq_along(object$reterms)) {
    t <- object$reterms[[i]]
    k <- length(t$cnms)
    sd <- attr(vc[[i]], "stddev")
    cr <- attr(vc[[i]], "correlation")
    for (a in seq_len(k)) {
      out[[length(out) + 1L]] <- list(
        name = paste0("sd_", t$cnms[a], "|", labels[i]), correlation = FALSE,
        estimate = sd[[a]])
    }
    for (a in seq_len(k)) for (b in seq_len(k)) if (a < b) {
      out[[length(out) + 1L]] <- list(
        name = paste0("cor_", t$cnms[b], ".", t$cnms[a], "|", labels[i]),
        correlation = TRUE, estimate = cr[b, a])
    }
  }
  if (has_extra_parameter(object)) {
    out[[length(out) + 1L]] <- list(
      name = if (isTRUE(object$use_scale)) "sigma" else "theta",
      correlation = FALSE, estimate = object$sigma)
  }
  out
}

#' Profile interval of one variance parameter (see `profiled_params()`)
#' @noRd
profile_param <- function(object, sp, crit) {
  is_lmm <- is.na(object$nAGQ)
  rise <- profile_rise(object, sp$name, crit)
  est <- sp$estimate
  if (sp$correlation) {
    # a correlation: walk toward -1 and +1; an end never reached is the bound
    side <- function(dir) {
      edge <- dir * 0.9999
      if (rise(edge) < 0) return(dir)
      stats::uniroot(rise, sort(c(est, edge)), tol = 1e-6)$root
    }
    return(c(side(-1), side(1)))
  }
  scale <- max(est, 0.05 * (if (is_lmm) object$sigma else 1))
  hi <- est + scale
  while (rise(hi) < 0) {
    hi <- est + 2 * (hi - est)
    if (hi > est + 1e4 * scale) return(c(NA_real_, NA_real_))
  }
  upper <- stats::uniroot(rise, c(max(est, 1e-8 * scale), hi), tol = 1e-6 * scale)$root
  # lower: 0 when the profile never reaches the critical value above 0
  lower <- if (est <= 0 || rise(1e-4 * est) < 0) 0 else
    stats::uniroot(rise, c(1e-4 * est, est), tol = 1e-6 * scale)$root
  c(lower, upper)
}

#' Refit the model to a new response through its prepared model, returning
#' the engine's estimates with sigma
#' @param prepared The fit's prepared model (`prepared_model(object)`),
#'   fetched once by a caller that refits many times.
#' @noRd
refit_response <- function(object, y, prepared = prepared_model(object)) {
  control <- object$control
  control$progress <- FALSE
  # (zero-weight rows are NA in simulations and outside the fit)
  fit <- engine_fit(prepared, control, y = y[object$weights > 0])
  if (!is.na(object$nAGQ)) {
    fit$sigma <- sigma_of_dispersion(object$dist, isTRUE(object$use_scale), fit$phi)
  }
  fit
}

#' @importFrom stats confint
NULL
