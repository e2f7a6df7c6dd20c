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
#' standard deviations and correlations of the random effects, and `sigma`
#' (the square root of the dispersion) of a GLMM with a dispersion. The
#' fixed effects of a REML fit are profiled on -2 log L of the model
#' refitted by maximum likelihood, as lme4 does (with a message): REML
#' criteria of models with different fixed effects are not comparable. (lme4
#' profiles a REML fit's variance parameters on the ML refit too; glmmr
#' profiles them on the REML criterion, which is comparable across their
#' values.)
#' `method = "boot"`: a parametric bootstrap: `nsim` responses
#' simulated from the fit (new random effects each time), the model refitted
#' to each, and percentile intervals for the fixed effects, the standard
#' deviations and correlations of the random effects and `sigma`.
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
    sims <- simulate(object, nsim = nsim, seed = seed)
    draws <- vapply(sims, function(y) {
      fit <- refit_response(object, y)
      parameter_vector(fit$theta, fit$beta, fit$sigma, object)
    }, est)
    ci <- t(apply(draws, 1L, stats::quantile, probs = c(a, 1 - a), names = FALSE))
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
  pos <- 0L
  sc <- if (is.na(object$nAGQ)) sigma else 1
  labels <- term_labels(object$reterms)
  for (i in seq_along(object$reterms)) {
    t <- object$reterms[[i]]
    k <- length(t$cnms)
    nt <- k * (k + 1L) / 2L
    lam <- matrix(0, k, k)
    lam[lower.tri(lam, diag = TRUE)] <- theta[pos + seq_len(nt)]
    pos <- pos + nt
    cv <- sc^2 * lam %*% t(lam)
    sd <- sqrt(diag(cv))
    out <- c(out, stats::setNames(sd, paste0("sd_", t$cnms, "|", labels[i])))
    if (k > 1L) {
      cr <- cv / outer(sd, sd)
      idx <- which(lower.tri(cr), arr.ind = TRUE)
      out <- c(out, stats::setNames(cr[idx],
        paste0("cor_", t$cnms[idx[, "row"]], ".", t$cnms[idx[, "col"]], "|", labels[i])))
    }
  }
  if (isTRUE(object$use_scale)) out <- c(out, sigma = sigma)
  if (identical(object$dist, "nbinom2")) out <- c(out, theta = sigma)
  c(out, beta)
}

#' The ML refit of a REML linear mixed model, as far as confint() and
#' anova() use it: -2 log L and log L, the fixed effects and their
#' covariance, theta, sigma, and REML = FALSE (the random effects and the
#' linear predictor are left as they were)
#' @noRd
ml_fit <- function(object) {
  fit <- refit_response(object, object$y, REML = FALSE)
  p <- length(object$beta)
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

#' The profile interval of one fixed effect: where the refitted objective
#' with that coefficient held fixed rises by `crit` above the optimum
#' (for an ML fit or a GLMM; confint() gives a REML fit's ML refit)
#' @noRd
profile_beta <- function(object, name, crit) {
  j <- match(name, names(object$beta))
  xj <- object$X[, j]
  Xm <- object$X[, -j, drop = FALSE]
  attr(Xm, "assign") <- attr(object$X, "assign")[-j]
  rise <- function(b) {
    fit <- refit_response(object, object$y, X = Xm, offset = object$offset + b * xj)
    fit$objective - engine_objective(object) - crit
  }
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

#' The variance parameters a profile can hold, as the engine describes
#' them: held = c(kind, pos, k, a, b), kind 0 the residual sd (LMM), 1 the
#' sd of column a of the term whose theta starts at pos, 2 the correlation
#' of its columns a < b
#' @noRd
profiled_params <- function(object) {
  is_lmm <- is.na(object$nAGQ)
  vc <- VarCorr(object)
  out <- list()
  pos <- 0L
  labels <- term_labels(object$reterms)
  for (i in seq_along(object$reterms)) {
    t <- object$reterms[[i]]
    k <- length(t$cnms)
    sd <- attr(vc[[i]], "stddev")
    cr <- attr(vc[[i]], "correlation")
    for (a in seq_len(k)) {
      out[[length(out) + 1L]] <- list(
        name = paste0("sd_", t$cnms[a], "|", labels[i]),
        held = c(1, pos, k, a - 1L, 0), estimate = sd[[a]], range = c(0, Inf))
    }
    for (a in seq_len(k)) for (b in seq_len(k)) if (a < b) {
      out[[length(out) + 1L]] <- list(
        name = paste0("cor_", t$cnms[b], ".", t$cnms[a], "|", labels[i]),
        held = c(2, pos, k, a - 1L, b - 1L), estimate = cr[b, a], range = c(-1, 1))
    }
    pos <- pos + k * (k + 1L) / 2L
  }
  if (has_extra_parameter(object)) {
    # sigma (sqrt of the dispersion) or the negative binomial's theta
    out[[length(out) + 1L]] <- list(
      name = if (isTRUE(object$use_scale)) "sigma" else "theta",
      held = c(0, 0, 0, 0, 0), estimate = object$sigma, range = c(0, Inf))
  }
  out
}

#' Profile interval of one variance parameter (see `profiled_params()`)
#' @noRd
profile_param <- function(object, sp, crit) {
  is_lmm <- is.na(object$nAGQ)
  d <- engine_rows(object$y, object$X, object$reterms, object$weights, object$offset)
  rise <- function(v) {
    res <- if (is_lmm) {
      rust_profile_lmm(d$y, d$x, d$p, d$terms, d$weights, d$offset, object$REML,
                       unname(object$theta), sp$held, v)
    } else {
      rust_profile_glmm(d$y, d$x, d$p, d$terms, d$weights, d$offset, object$dist,
                        object$family$link, object$nAGQ,
                        c(unname(object$theta), unname(object$beta),
                          log_extra_parameter(object)),
                        sp$held, v)
    }
    engine_call(res)$value - engine_objective(object) - crit
  }
  est <- sp$estimate
  if (sp$held[1] == 2) {
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

#' Refit the model to a new response (same design unless X and offset are
#' given), returning the engine's estimates with sigma
#' @noRd
refit_response <- function(object, y, X = object$X, offset = object$offset,
                           REML = object$REML) {
  structures <- list(X = X, reterms = object$reterms,
                     weights = object$weights, offset = offset)
  control <- object$control
  control$progress <- FALSE
  if (is.na(object$nAGQ)) {
    fit <- lmm_engine_fit(as.numeric(y), structures, REML, control)
    fit$sigma_out <- fit$sigma
  } else {
    # (zero-weight rows are NA in simulations and outside the fit)
    fitted_y <- y[object$weights > 0]
    dist <- if (object$dist == "bernoulli" && !all(fitted_y %in% c(0, 1))) "binomial" else object$dist
    resp <- list(y = as.numeric(y), weights = object$weights, dist = dist)
    fit <- glmm_engine_fit(resp, structures, object$family, object$nAGQ, control)
    fit$sigma <- sigma_of_dispersion(object$dist, isTRUE(object$use_scale), fit$phi)
  }
  fit
}

#' @importFrom stats confint
NULL
