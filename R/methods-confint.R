# confint(): Wald intervals for the fixed effects and parametric-bootstrap
# intervals for every parameter (the fast engine makes refits cheap).

#' Confidence intervals
#'
#' `method = "Wald"`: estimate +- a normal quantile times the standard
#' error, for the fixed effects (the variance components get `NA`, as in
#' lme4). `method = "boot"`: a parametric bootstrap: `nsim` responses
#' simulated from the fit (new random effects each time), the model refitted
#' to each, and percentile intervals for the fixed effects, the standard
#' deviations and correlations of the random effects and `sigma`.
#'
#' @param object A fitted `"glmmr"` model.
#' @param parm Optional names (or indices) of the parameters wanted.
#' @param level The confidence level.
#' @param method `"Wald"` or `"boot"`.
#' @param nsim Number of bootstrap samples.
#' @param seed Optional seed for the bootstrap simulations.
#' @param ... Unused.
#' @return A matrix with a row per parameter and the lower and upper limits.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' confint(m)
#' confint(m, method = "boot", nsim = 50, seed = 1)
#' @export
confint.glmmr <- function(object, parm, level = 0.95, method = c("Wald", "boot"),
                          nsim = 500, seed = NULL, ...) {
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
#' oldNames = FALSE
#' @noRd
parameter_vector <- function(theta, beta, sigma, object) {
  out <- numeric(0)
  pos <- 0L
  sc <- if (is.na(object$nAGQ)) sigma else 1
  for (t in object$reterms) {
    k <- length(t$cnms)
    nt <- k * (k + 1L) / 2L
    lam <- matrix(0, k, k)
    lam[lower.tri(lam, diag = TRUE)] <- theta[pos + seq_len(nt)]
    pos <- pos + nt
    cv <- sc^2 * lam %*% t(lam)
    sd <- sqrt(diag(cv))
    out <- c(out, stats::setNames(sd, paste0("sd_", t$cnms, "|", t$group_name)))
    if (k > 1L) {
      cr <- cv / outer(sd, sd)
      idx <- which(lower.tri(cr), arr.ind = TRUE)
      out <- c(out, stats::setNames(cr[idx],
        paste0("cor_", t$cnms[idx[, "row"]], ".", t$cnms[idx[, "col"]], "|", t$group_name)))
    }
  }
  if (isTRUE(object$use_scale)) out <- c(out, sigma = sigma)
  c(out, beta)
}

#' Refit the model to a new response (same design), returning the engine's
#' estimates with sigma
#' @noRd
refit_response <- function(object, y) {
  structures <- list(X = object$X, reterms = object$reterms,
                     weights = object$weights, offset = object$offset)
  control <- object$control
  control$progress <- FALSE
  if (is.na(object$nAGQ)) {
    fit <- lmm_engine_fit(as.numeric(y), structures, object$REML, control)
    fit$sigma_out <- fit$sigma
  } else {
    dist <- if (object$dist == "bernoulli" && !all(y %in% c(0, 1))) "binomial" else object$dist
    resp <- list(y = as.numeric(y), weights = object$weights, dist = dist)
    fit <- glmm_engine_fit(resp, structures, object$family, object$nAGQ, control)
    fit$sigma <- if (isTRUE(object$use_scale)) sqrt(fit$phi) else 1
  }
  fit
}

#' @importFrom stats confint
NULL
