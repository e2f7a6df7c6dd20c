# Methods for the easystats packages (insight, performance): what they need to
# see a glmmr fit as the mixed model it is, with the answers they give for
# the equivalent lme4 fit. insight dispatches on class and has merMod
# methods that read lme4's S4 slots, so a glmmr fit gets its own methods,
# built from the generic extractors (fixef, ranef, VarCorr, vcov, sigma,
# model.matrix). They are registered lazily (insight and performance are
# only suggested).

#' Methods for the insight and performance packages
#'
#' With these methods the easystats packages see a `"glmmr"` fit as a mixed
#' model and give the numbers they give for the equivalent lme4 fit:
#' `insight::is_mixed_model()`, `insight::model_info()`,
#' `insight::find_formula()` (the conditional and random parts),
#' `insight::find_random()`, `insight::get_parameters()`,
#' `insight::find_parameters()`, `insight::get_statistic()`,
#' `insight::get_df()`, `insight::find_algorithm()`,
#' `insight::get_variance()` (the variance components of Nakagawa et al.,
#' computed as insight computes them for lme4 fits),
#' `performance::r2()` (Nakagawa's marginal and conditional R2),
#' `performance::icc()`, `performance::check_singularity()` and
#' `performance::model_performance()`.
#'
#' @param x,model A fitted `"glmmr"` model.
#' @param verbose Print warnings and messages.
#' @param effects,component,flatten,type,tolerance,ci,estimator,metrics As
#'   for the generics of insight and performance.
#' @param ... Passed on or unused.
#' @return What the generic returns for an lme4 fit.
#' @examples
#' if (requireNamespace("insight", quietly = TRUE)) {
#'   m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#'   insight::is_mixed_model(m)
#'   insight::find_formula(m)
#'   insight::get_variance(m)
#' }
#' @name glmmr-insight
NULL

# insight ---------------------------------------------------------------

#' The random-effects terms of a fit's formula, one `~ lhs | g` per term
#' (`||` and `/` expanded, as lme4's findbars())
#' @noRd
insight_random_formulas <- function(x) {
  f <- stats::formula(x)
  lapply(expand_bars(find_bars(f)), function(b) {
    stats::as.formula(call("~", b), env = environment(f))
  })
}

#' @rdname glmmr-insight
#' @exportS3Method insight::find_formula
find_formula.glmmr <- function(x, verbose = TRUE, ...) {
  f <- stats::formula(x)
  random <- insight_random_formulas(x)
  if (length(random) == 1L) random <- random[[1L]]
  out <- list(conditional = no_bars(f), random = random)
  class(out) <- c("insight_formula", "list")
  out
}

#' @rdname glmmr-insight
#' @exportS3Method insight::get_parameters
get_parameters.glmmr <- function(x, effects = c("fixed", "random"), ...) {
  effects <- match.arg(effects)
  if (effects == "random") return(unclass(ranef(x)))
  beta <- fixef(x)
  data.frame(Parameter = names(beta), Estimate = unname(beta),
             stringsAsFactors = FALSE)
}

#' @rdname glmmr-insight
#' @exportS3Method insight::find_parameters
find_parameters.glmmr <- function(x, effects = c("all", "fixed", "random"),
                                  flatten = FALSE, ...) {
  effects <- match.arg(effects)
  out <- list(conditional = names(fixef(x)),
              random = lapply(unclass(ranef(x)), colnames))
  out <- switch(effects, all = out, fixed = out["conditional"],
                random = out["random"])
  if (flatten) unique(unlist(out, use.names = FALSE)) else out
}

#' The test statistic of the fixed effects, as insight names it for the
#' lme4 fit: t for a linear mixed model (lmerMod) and for a GLMM of a family
#' with a dispersion (gaussian, Gamma, inverse.gaussian: glmerMod with
#' such a family), z otherwise
#' @noRd
insight_statistic_name <- function(x) {
  fam <- stats::family(x)$family
  if (is.na(x$nAGQ) || fam %in% c("gaussian", "Gamma", "inverse.gaussian")) {
    "t-statistic"
  } else {
    "z-statistic"
  }
}

#' @rdname glmmr-insight
#' @exportS3Method insight::get_statistic
get_statistic.glmmr <- function(x, ...) {
  beta <- fixef(x)
  out <- data.frame(Parameter = names(beta),
                    Statistic = unname(beta / sqrt(diag(vcov(x)))),
                    stringsAsFactors = FALSE)
  attr(out, "statistic") <- insight_statistic_name(x)
  out
}

#' @rdname glmmr-insight
#' @exportS3Method insight::get_df
get_df.glmmr <- function(x, type = "residual", ...) {
  type <- match.arg(tolower(type), c("residual", "model", "analytical",
                                     "wald", "normal"))
  switch(type,
         normal = Inf,
         wald = if (insight_statistic_name(x) == "z-statistic") Inf
                else stats::df.residual(x),
         model = attr(stats::logLik(x), "df"),
         stats::df.residual(x))
}

#' @rdname glmmr-insight
#' @exportS3Method insight::find_algorithm
find_algorithm.glmmr <- function(x, ...) {
  list(algorithm = if (isTRUE(x$REML)) "REML" else "ML", optimizer = "glmmr")
}

#' @rdname glmmr-insight
#' @param REML,check_response For `get_loglikelihood()`: the restricted
#'   (REML) log-likelihood of a linear mixed model instead of the
#'   log-likelihood, evaluated at the fit's estimates whichever criterion
#'   the fit optimised (as lme4's `logLik(fit, REML = )`); `check_response`
#'   is unused.
#' @exportS3Method insight::get_loglikelihood
get_loglikelihood.glmmr <- function(x, estimator = NULL, REML = FALSE,
                                    check_response = FALSE, verbose = TRUE, ...) {
  if ((missing(estimator) || is.null(estimator)) && missing(REML)) {
    return(stats::logLik(x))
  }
  if (identical(estimator, "REML")) REML <- TRUE
  loglik_at_fit(x, REML)
}

#' The log-likelihood or REML log-likelihood of a fit at its estimates
#'
#' For a linear mixed model, lme4's `logLik(fit, REML = )`: the criterion
#' the fit did not optimise evaluated at the fit's theta (the fixed effects
#' and sigma profiled out). From the profiled deviance's pieces: with
#' \eqn{r^2} the penalized residual sum of squares, \eqn{\log|L|^2} and
#' \eqn{\log|R_X|^2}, -2 log L = \eqn{\log|L|^2 + n(1 + \log(2\pi r^2/n))}
#' and the REML criterion \eqn{\log|L|^2 + \log|R_X|^2 + (n-p)(1 +
#' \log(2\pi r^2/(n-p)))}; \eqn{r^2} is \eqn{n\sigma^2} (ML) or
#' \eqn{(n-p)\sigma^2} (REML), and \eqn{\log|R_X|^2} comes from the
#' conditional covariance of the fixed effects, \eqn{\sigma^2 (R_X'R_X)^{-1}}.
#' A GLMM has only its log-likelihood (as in lme4, where performance asks for
#' the REML one and gets it).
#' @noRd
loglik_at_fit <- function(x, REML) {
  ll <- stats::logLik(x)
  if (!is.na(x$nAGQ) || isTRUE(x$REML) == isTRUE(REML)) return(ll)
  n <- stats::nobs(x)
  p <- length(x$beta)
  s2 <- stats::sigma(x)^2
  ld_rx2 <- p * log(s2) - as.numeric(determinant(x$vcov_factor)$modulus)
  if (isTRUE(x$REML)) {
    r2 <- (n - p) * s2
    ld_l2 <- x$objective - ld_rx2 - (n - p) * (1 + log(2 * pi * r2 / (n - p)))
    dev <- ld_l2 + n * (1 + log(2 * pi * r2 / n))
  } else {
    r2 <- n * s2
    ld_l2 <- x$objective - n * (1 + log(2 * pi * r2 / n))
    dev <- ld_l2 + ld_rx2 + (n - p) * (1 + log(2 * pi * r2 / (n - p)))
  }
  ll[1] <- -dev / 2
  attr(ll, "REML") <- REML
  ll
}

#' @rdname glmmr-insight
#' @exportS3Method insight::get_variance
get_variance.glmmr <- function(x, component = c("all", "fixed", "random",
                                                "residual", "distribution",
                                                "dispersion", "intercept",
                                                "slope", "rho01", "rho00"),
                               verbose = TRUE, tolerance = 1e-5, ...) {
  component <- match.arg(component)
  tryCatch(variance_components(x, component, tolerance, verbose, ...),
           error = function(e) {
             if (verbose) warning(conditionMessage(e), call. = FALSE)
             NULL
           })
}

#' The variance components of Nakagawa, Johnson and Schielzeth (2017), as
#' insight's get_variance() computes them for a merMod fit (insight 0.19,
#' `.compute_variances()`; the code follows insight's, GPL-3): the variance
#' of the fixed-effects predictions, the random-effects variance (each
#' term's covariance matrix applied to the columns of X it names, averaged
#' over the rows), the distribution-specific variance (sigma^2 of an LMM,
#' pi^2/3, 1 or pi^2/6 for the binomial logit, probit and cloglog links,
#' log(1 + 1/mu) for the Poisson log link with mu from the null model), the
#' variance of observation-level terms (dispersion), and the intercept and
#' slope variances and correlations.
#' @noRd
variance_components <- function(x, component, tolerance, verbose,
                                name_full = "random effect variances", ...) {
  fam <- stats::family(x)
  vc <- unclass(VarCorr(x))
  # lme4's names: a grouping factor's further terms get .1, .2, ...
  names(vc) <- make.unique(names(vc))
  re <- unclass(ranef(x))
  X <- stats::model.matrix(x)
  n <- stats::nobs(x)
  vals <- list(beta = fixef(x), X = X, vc = vc, re = re)

  singular <- any(abs(x$theta[theta_lower(x) == 0]) < tolerance)
  no_random <- singular && !component %in% c("slope", "intercept")
  if (no_random && verbose) {
    warning("Can't compute ", name_full, ". Some variance components equal ",
            "zero. Your model may suffer from singularity.", call. = FALSE)
  }
  random_variance <- function(terms) {
    if (!length(terms)) return(NULL)
    sum(vapply(vc[terms], function(Sigma) {
      Xi <- X
      if (!any(startsWith(colnames(Xi), "(Intercept)"))) {
        Xi <- cbind(`(Intercept)` = 1, Xi)
      }
      keep <- rownames(Sigma) %in% colnames(Xi)
      Sigma <- Sigma[keep, keep, drop = FALSE]
      Z <- Xi[, rownames(Sigma), drop = FALSE]
      sum(diag(crossprod(Z %*% Sigma, Z))) / n
    }, 0))
  }
  nr <- vapply(re, nrow, 0)
  obs_terms <- names(nr)[nr == n]
  not_obs_terms <- names(nr)[nr != n]

  out <- list()
  if (component %in% c("fixed", "all")) {
    out$var.fixed <- stats::var(drop(X %*% vals$beta))
  }
  if (component %in% c("random", "all") && !no_random) {
    out$var.random <- random_variance(not_obs_terms)
  }
  is_linear <- is.na(x$nAGQ)
  dist <- NULL
  if (component %in% c("residual", "distribution", "all")) {
    dist <- distribution_variance(x, fam, is_linear)
  }
  disp <- NULL
  if (component %in% c("residual", "dispersion", "all")) {
    disp <- if (is_linear || !length(obs_terms)) 0 else random_variance(obs_terms)
  }
  if (component %in% c("residual", "all")) out$var.residual <- dist + disp
  if (component != "residual") {
    out$var.distribution <- dist
    out$var.dispersion <- disp
  }
  first_is_intercept <- vapply(vc, function(s) startsWith(rownames(s)[1L], "(Intercept)"), NA)
  if (component %in% c("intercept", "all")) {
    out$var.intercept <- vapply(vc[first_is_intercept], function(s) s[1L], 0)
  }
  if (component %in% c("slope", "all")) {
    out$var.slope <- slope_variances(vc, first_is_intercept)
  }
  if (component %in% c("rho01", "all")) {
    rho01 <- unlist(lapply(vc, function(s) {
      cr <- attr(s, "correlation")
      if (colnames(cr)[1L] == "(Intercept)") cr[-1L, 1L]
    }))
    if (length(rho01)) out$cor.slope_intercept <- rho01
  }
  if (component %in% c("rho00", "all")) {
    out$cor.slopes <- slopes_correlations(x, vc)
  }
  # insight drops empty components (compact_list())
  out[vapply(out, length, 0L) > 0L]
}

#' The distribution-specific variance (insight's
#' `.compute_variance_distribution()` for the families glmmr fits)
#' @noRd
distribution_variance <- function(x, fam, is_linear) {
  if (is_linear) return(stats::sigma(x)^2)
  link <- fam$link
  if (fam$family == "binomial") {
    return(switch(link, logit = pi^2 / 3, probit = 1, cloglog = pi^2 / 6,
                  stop("the distribution-specific variance is not available ",
                       "for the binomial family with the ", link, " link")))
  }
  if (fam$family == "poisson" && link == "sqrt") return(0.25)
  if (fam$family == "poisson" && link == "log") {
    # the lognormal approximation, log(1 + var(mu) / mu^2), at the mean of
    # the null model (the random effects alone)
    mu <- exp(unname(fixef(null_model_fit(x))[1L]))
    return(log1p(fam$variance(mu) / mu^2))
  }
  if (fam$family == "Gamma" && link %in% c("inverse", "identity", "log")) {
    return(fam$variance(stats::sigma(x)))
  }
  stop("the distribution-specific variance is not available for the ",
       fam$family, " family with the ", link, " link")
}

#' The fit refitted with an intercept and the random effects only (the
#' offset kept), as insight's null_model() refits a merMod
#' @noRd
null_model_fit <- function(x) {
  f <- stats::formula(x)
  rhs <- vapply(find_bars(f), function(b) paste0("(", deparse1(b), ")"), "")
  nullform <- stats::reformulate(rhs, response = f[[2L]],
                                 env = environment(f))
  stats::update(x, nullform)
}

#' Random-slope variances, named as insight names them (insight's
#' `.random_slope_variance()` for merMod)
#' @noRd
slope_variances <- function(vc, first_is_intercept) {
  out <- unlist(lapply(vc, function(s) diag(s)[-1L]))
  non_int <- which(!first_is_intercept)
  if (length(non_int) == length(vc)) return(unlist(lapply(vc, diag)))
  if (!length(non_int)) return(out)
  dn <- unlist(lapply(vc, function(i) dimnames(i)[1L])[non_int])
  slopes <- unlist(lapply(vc, function(i) as.vector(diag(i)))[non_int])
  names(slopes) <- gsub("(.*)\\.\\d+$", "\\1", names(slopes))
  slopes <- stats::setNames(slopes, paste0(names(slopes), ".", dn))
  if (length(setdiff(names(out), names(slopes)))) {
    drop <- NULL
    for (j in seq_along(out)) {
      same <- which(abs(outer(out[j], slopes, `-`)) < 1e-4)
      if (length(same) && grepl(dn[same], names(out[j]), fixed = TRUE)) {
        drop <- c(drop, j)
      }
    }
    if (length(drop)) out <- out[-drop]
    c(out, slopes)
  } else {
    slopes
  }
}

#' Correlations between random slopes (insight's `.random_slopes_corr()`)
#' @noRd
slopes_correlations <- function(x, vc) {
  slopes <- unique(unlist(lapply(insight_random_formulas(x), function(f) {
    all.vars(f[[2L]][[2L]])
  })))
  d <- stats::model.frame(x)
  categorical <- any(vapply(d[intersect(slopes, names(d))], is.factor, NA))
  cnames <- unique(unlist(lapply(vc, colnames)))
  poly <- any(grepl(paste0("(I|poly)(.*)(", paste0(slopes, collapse = "|"), ")"),
                    cnames))
  if (length(slopes) < 2L && !categorical && !poly) return(NULL)
  out <- lapply(vc, function(s) {
    cr <- attr(s, "correlation")
    idx <- which(lower.tri(cr), arr.ind = TRUE)
    p1 <- colnames(cr)[idx[, "col"]]
    p2 <- rownames(cr)[idx[, "row"]]
    keep <- !p1 %in% c("Intercept", "(Intercept)")
    if (!any(keep)) return(NULL)
    stats::setNames(cr[idx][keep], paste0(p1[keep], "-", p2[keep]))
  })
  unlist(out)
}

# performance -------------------------------------------------------------

#' @rdname glmmr-insight
#' @exportS3Method performance::r2
r2.glmmr <- function(model, ci = NULL, tolerance = 1e-5, ...) {
  performance::r2_nakagawa(model, ci = ci, tolerance = tolerance, ...)
}

#' @rdname glmmr-insight
#' @exportS3Method performance::performance_aic
performance_aic.glmmr <- function(x, estimator = "REML", verbose = TRUE, ...) {
  # performance's default for lme4 fits is the REML criterion (for a linear
  # mixed model; a GLMM has only its log-likelihood)
  stats::AIC(loglik_at_fit(x, identical(estimator, "REML")))
}

#' @rdname glmmr-insight
#' @exportS3Method performance::model_performance
model_performance.glmmr <- function(model, metrics = "all", estimator = "REML",
                                    verbose = TRUE, ...) {
  # performance's method for merMod, with the log-likelihood from
  # loglik_at_fit() (performance reads lme4's)
  all_metrics <- c("AIC", "AICc", "BIC", "R2", "ICC", "RMSE", "SIGMA",
                   "LOGLOSS", "SCORE")
  metrics[tolower(metrics) == "log_loss"] <- "LOGLOSS"
  if (all(metrics == "all")) {
    metrics <- all_metrics
  } else if (all(metrics == "common")) {
    metrics <- c("AIC", "BIC", "R2", "ICC", "RMSE")
  }
  metrics <- toupper(metrics)
  unknown <- setdiff(metrics, toupper(all_metrics))
  if (length(unknown)) {
    stop("unknown metrics: ", paste(unknown, collapse = ", "), call. = FALSE)
  }
  binomial <- stats::family(model)$family == "binomial"
  count <- stats::family(model)$family %in% c("poisson", "nbinom2") ||
    startsWith(stats::family(model)$family, "Negative Binomial")
  ll <- loglik_at_fit(model, identical(estimator, "REML"))
  k <- attr(ll, "df")
  n <- stats::nobs(model)
  out <- list()
  if ("AIC" %in% metrics) out$AIC <- stats::AIC(ll)
  if ("AICC" %in% metrics) out$AICc <- -2 * as.numeric(ll) + 2 * k * n / (n - k - 1)
  if ("BIC" %in% metrics) out$BIC <- stats::BIC(ll)
  if ("R2" %in% metrics) {
    rsq <- suppressWarnings(r2.glmmr(model))
    if (!all(is.na(rsq))) out <- c(out, rsq)
  }
  if ("ICC" %in% metrics) {
    icc <- suppressWarnings(performance::icc(model))
    if (!all(is.na(icc))) out$ICC <- icc$ICC_adjusted
  }
  if ("RMSE" %in% metrics) {
    out$RMSE <- performance::performance_rmse(model, verbose = verbose)
  }
  if ("SIGMA" %in% metrics) out$Sigma <- stats::sigma(model)
  if ("LOGLOSS" %in% metrics && binomial) {
    out$Log_loss <- performance::performance_logloss(model, verbose = verbose)
  }
  if ("SCORE" %in% metrics && (binomial || count)) {
    sc <- performance::performance_score(model, verbose = verbose)
    if (!is.na(sc$logarithmic)) out$Score_log <- sc$logarithmic
    if (!is.na(sc$spherical)) out$Score_spherical <- sc$spherical
  }
  out <- as.data.frame(out)
  row.names(out) <- NULL
  class(out) <- c("performance_model", class(out))
  out
}

# predictions (insight::get_predicted, which ggeffects' ggpredict() uses) ---

#' @rdname glmmr-insight
#' @param data For `get_predicted()`: new data (by default the model frame).
#' @param predict For `get_predicted()`: `"expectation"` or `"response"`
#'   (the mean on the response scale) or `"link"`.
#' @param include_random For `get_predicted()`: `TRUE` (the random effects
#'   of the levels in `data`), `FALSE` (population level: random effects at
#'   0) or `"default"`: `TRUE` if `data` has every grouping factor without
#'   missing values, as insight decides for lme4 fits (where a missing level
#'   gives the population value), unless `data` holds a grouping factor at
#'   one typical level (ggeffects' data grids, which list such columns in
#'   their attribute `"constant.values"`): so `ggeffects::ggpredict()` gets
#'   the population-level predictions of its default type `"fixed"`, with
#'   their intervals, as for an lme4 fit.
#' @details `get_predicted()` returns confidence intervals at level `ci`
#'   (0.95 by default, where insight's methods default to none: they are
#'   cheap here and ggeffects reads them) for population-level predictions:
#'   from `vcov()`, on the link scale with the critical value of
#'   `insight::get_df(type = "wald")` (t for a linear mixed model, z for a
#'   GLMM, as insight does for lme4 fits), then transformed.
#' @exportS3Method insight::get_predicted
get_predicted.glmmr <- function(x, data = NULL, predict = "expectation",
                                ci = 0.95, include_random = "default", ...) {
  predict <- match.arg(predict, c("expectation", "response", "link"))
  if (is.null(data)) data <- stats::model.frame(x)
  data <- as.data.frame(data)
  groups <- unique(unlist(lapply(insight_random_formulas(x), function(f) {
    all.vars(f[[2L]][[3L]])
  })))
  if (identical(include_random, "default")) {
    # a grouping factor held at one "typical" level (ggeffects' data grids
    # name such columns in attribute "constant.values") is no level to
    # predict for: ggpredict()'s default type "fixed" asks lme4 fits for
    # re.form = NA, and glmmr's fits are asked through this method
    held <- names(attr(data, "constant.values"))
    include_random <- all(groups %in% names(data)) &&
      !anyNA(data[intersect(groups, names(data))]) &&
      !any(groups %in% held)
  }
  re_form <- if (isTRUE(include_random)) NULL else NA
  eta <- stats::predict(x, newdata = data, re.form = re_form,
                        allow.new.levels = TRUE)
  link <- predict == "link"
  fam <- stats::family(x)
  pred <- if (link) eta else fam$linkinv(eta)
  ci_data <- NULL
  if (!is.null(ci) && !isTRUE(include_random)) {
    se <- stats::predict(x, newdata = data, re.form = NA, se.fit = TRUE)$se.fit
    crit <- stats::qt((1 + ci) / 2, get_df.glmmr(x, type = "wald"))
    lo <- eta - crit * se
    hi <- eta + crit * se
    if (!link) {
      se <- se * abs(fam$mu.eta(eta))  # the delta method, as insight
      lo <- fam$linkinv(lo)
      hi <- fam$linkinv(hi)
    }
    ci_data <- data.frame(SE = unname(se), CI_low = unname(lo),
                          CI_high = unname(hi))
  }
  structure(unname(pred), ci_data = ci_data, data = data, ci = ci,
            predict = predict, class = c("get_predicted", "numeric"))
}
