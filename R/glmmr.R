#' Fit a linear or generalized linear mixed model
#'
#' `glmmr()` fits mixed-effects models written in 'lme4' formula syntax. The
#' pipeline reads like lme4's modular path: the formula and data become a
#' model frame (`build_frame()`), the frame becomes model structures (the
#' fixed-effects matrix X and one record per random-effects term), and one
#' call into the Rust engine optimises the objective (the profiled deviance
#' or REML criterion of a linear mixed model, the Laplace or quadrature
#' approximation of -2 log L of a generalized one) and returns the
#' estimates, which are wrapped into an object of class `"glmmr"`.
#'
#' Random-effects terms are written `(lhs | g)`: `(1 | g)` a random intercept,
#' `(1 + x | g)` correlated intercept and slope, `(0 + x | g)` a slope alone,
#' `(x || g)` uncorrelated terms, `(1 | a:b)` grouping by an interaction and
#' `(1 | a/b)` nested grouping (`(1 | a) + (1 | a:b)`).
#'
#' With `family = gaussian` (identity link) the model is a linear mixed
#' model, fitted by maximum likelihood or REML. Other families (binomial,
#' Poisson, negative binomial, Gamma, inverse Gaussian, gaussian with a
#' non-identity link) give a generalized linear mixed model,
#' fitted by maximum likelihood with the Laplace approximation (`nAGQ = 1`,
#' the default; the true Laplace approximation, with the observed
#' information at the mode, for every link, as glmmTMB, where lme4 uses the
#' expected information) or adaptive Gauss-Hermite quadrature (`nAGQ > 1`, for
#' random effects of one grouping factor, of any dimension); `nAGQ = 0`
#' estimates the fixed effects inside the penalized iteratively reweighted
#' least squares, a fast approximation. The log-likelihood is always reported on one absolute
#' scale, normalising constants included, whatever `nAGQ` is.
#'
#' Before anything is fitted, the model is checked as lme4 checks it, with
#' lme4's messages: each grouping factor needs more than one level and
#' fewer levels than observations, and each random-effects term fewer
#' random effects (levels times columns) than observations (a GLMM may have
#' as many as there are observations); a constant response is an error.
#' When some fixed effects have infinite maximum-likelihood estimates
#' (separation: fitted probabilities of 0 or 1, or Poisson means of 0), a
#' warning names them.
#'
#' @section Coming from lme4:
#' glmmr differs from lme4 on purpose in these places (each item: lme4,
#' then glmmr, then how to get lme4's behaviour):
#' * **Fitting function**: `lmer()`, `glmer()`, `glmer.nb()`; here
#'   `glmmr()` for all, with `family`, and `family = nbinom2` (glmmTMB's
#'   parameterisation; `sigma()` is its \eqn{\theta}) for negative binomial
#'   counts.
#' * **REML**: `lmer()` defaults to `REML = TRUE`; glmmr fits by maximum
#'   likelihood (`REML = FALSE`). lme4's: `REML = TRUE`.
#' * **`deviance()` of a GLMM**: lme4 returns the sum of squared deviance
#'   residuals at the conditional modes; glmmr returns -2 log L, as
#'   `-2 * logLik()` (of a REML fit: the REML criterion, without lme4's
#'   warning). lme4's: `sum(residuals(m, type = "deviance")^2)`.
#' * **`confint()`**: lme4 defaults to `method = "profile"`; glmmr to
#'   `method = "Wald"` (fixed effects only, `NA` for the variance
#'   parameters, as lme4's Wald intervals). lme4's: `confint(m, method =
#'   "profile")`; the parameters are named as lme4's `oldNames = FALSE`.
#' * **`simulate()`**: as lme4, the response in the form it was given (a
#'   factor stays a factor, `cbind()` a two-column matrix).
#' * **`ranef()`**: lme4 defaults to `condVar = TRUE`, glmmr to `condVar =
#'   FALSE`. lme4's: `ranef(m, condVar = TRUE)`.
#' * **`summary()` of a linear mixed model**: lme4 gives t values without
#'   degrees of freedom or p-values; glmmr gives t-tests with Satterthwaite's
#'   degrees of freedom, as lmerTest (or Kenward-Roger's, for a REML fit).
#'   lme4's statistics: `summary(m, ddf = "none")` (as z tests).
#' * **`anova()` of one linear mixed model**: lme4 gives sequential (type I)
#'   F values without degrees of freedom; glmmr gives type III F tests with
#'   Satterthwaite's degrees of freedom, as lmerTest. lme4's F values:
#'   `anova(m, type = "I")`.
#' * **`anova()` of several fits**: lme4 refits every REML fit by maximum
#'   likelihood; glmmr only when the fixed effects differ (REML fits with the
#'   same fixed effects are compared on the REML criterion, as lme4's
#'   `refit = FALSE`), and its column is `-2 log L` where lme4's is
#'   `deviance`. lme4's: fit with `REML = FALSE`.
#' * **`nAGQ > 1`**: lme4 allows it for one scalar random-effects term only;
#'   glmmr for random effects of one grouping factor in any dimension.
#' * **Laplace approximation for non-canonical links and dispersion
#'   families**: lme4 uses the expected information at the mode; glmmr the
#'   observed information (the true Laplace approximation), so its optimum
#'   is glmmTMB's, not lme4's. There is no switch to lme4's.
#' * **`logLik()` across `nAGQ`**: lme4 reports a binomial response given as
#'   counts relative to the saturated model when `nAGQ > 1`; glmmr uses one
#'   absolute scale, normalising constants included, for every `nAGQ`.
#' * **Parametric bootstrap**: lme4's `bootMer()` is glmmr's [bootstrap()],
#'   with the same `FUN`, `nsim`, `seed`, `use.u` and `"boot"` result,
#'   parallel on any `future` plan.
#' * **Singular fits**: lme4 says "boundary (singular) fit"; glmmr says
#'   nothing. `lme4::isSingular(m)` works on a glmmr fit, as do lme4's
#'   `ngrps()`, `getME()` and `refit()`.
#' * **Printing**: lme4's `print()` shows the standard deviations and the
#'   fixed-effects estimates only; glmmr's shows variances and standard
#'   deviations and the estimates with standard errors and t statistics (an
#'   LMM) or z tests (a GLMM), and its tables say `-2 log L` where lme4's say
#'   `deviance`. `summary(m)` has lme4's layout.
#' * **Control**: `lmerControl()` and `glmerControl()` choose among
#'   optimizers and switch checks off; [glmmr_control()] sets the one
#'   quasi-Newton optimizer's limits and tolerances, and lme4's checks of the
#'   model always apply, as lme4's defaults. lme4's control objects are
#'   refused.
#' * **emmeans for a linear mixed model**: Kenward-Roger degrees of
#'   freedom by default for lme4's fits, asymptotic ones for glmmr's.
#'
#' The vignette (`vignette("glmmr", package = "glmmr")`) has the same list as
#' a table.
#'
#' @param formula A two-sided formula with at least one random-effects term.
#'   `.` stands for the columns of `data` that are not in the response, as
#'   in [stats::lm()] and lme4 (grouping variables included).
#' @param data A data frame holding the variables of the model.
#' @param family A family: `gaussian` (the default), `binomial` (links logit,
#'   probit, cloglog, cauchit, log), `poisson` (links log, sqrt, identity),
#'   `Gamma` (links inverse, log, identity), `inverse.gaussian` (links
#'   1/mu^2, inverse, log, identity), `gaussian` with the log or inverse
#'   link, or
#'   [nbinom2()] (negative binomial counts, variance \eqn{\mu + \mu^2/\theta},
#'   \eqn{\theta} estimated; also glmmTMB's `nbinom2()` and
#'   `MASS::negative.binomial(theta)` with \eqn{\theta} fixed), given as a
#'   function, a call, a family object or a string. A binomial
#'   response is 0/1, logical, a factor (first level failure),
#'   `cbind(successes, failures)`, or a proportion with `weights` the number
#'   of trials.
#' @param REML Logical: fit by restricted maximum likelihood instead of
#'   maximum likelihood. The default is `FALSE` (the seed's and MixedModels'
#'   choice; note that `lme4::lmer()` defaults to `TRUE`).
#' @param weights Optional prior weights (a column of `data` or a vector).
#'   A row with weight 0 is left out of the likelihood, as in [stats::glm()]:
#'   the estimates and `nobs()` are those of the fit without it, while
#'   `fitted()`, `residuals()` and `predict()` still cover it.
#' @param offset Optional offset, added to any `offset()` terms of the formula.
#' @param subset Optional expression selecting the rows to use.
#' @param na.action How to treat missing values; the default drops every row
#'   with a missing value in any variable of the model, once. With
#'   `na.exclude`, `fitted()`, `residuals()` and `predict()` (without
#'   `newdata`) are padded with `NA` to the rows of the data, as in glm and
#'   lme4.
#' @param contrasts Optional list of contrasts for factors of the fixed part,
#'   as in [stats::glm()].
#' @param nAGQ For generalized models: 1 (Laplace, the default), 0 (fixed
#'   effects estimated inside PIRLS, a fast approximation) or an integer from
#'   2 to 25: adaptive Gauss-Hermite quadrature with `nAGQ` nodes per
#'   dimension. Quadrature needs every random-effects term to have the same
#'   grouping factor, in any dimension: `(1 | g)`, `(1 + x | g)`,
#'   `(1 | g) + (0 + x | g)` or `(x || g)`. Each level's integral over its q
#'   random effects (all the terms' columns together) is then taken
#'   separately, on nodes centred at the level's conditional mode and scaled
#'   by the Cholesky factor of the observed information there, so that
#'   `nAGQ = 1` is the Laplace approximation. A single scalar term uses a
#'   one-dimensional rule; q = 2 the full `nAGQ`^2 product rule; q >= 3 the
#'   product rule without the nodes whose weight is below 1e-12 times the
#'   centre's (the cost still grows as about `nAGQ`^q per level, so keep
#'   `nAGQ` small, 5 to 9, when q is 3 or more). Unlike lme4, which allows
#'   `nAGQ > 1` only for one scalar term, vector-valued random effects are
#'   integrated; crossed or nested grouping factors are an error, since their
#'   integral does not split by level.
#' @param control Settings from [glmmr_control()].
#' @return An object of class `"glmmr"`.
#' @seealso [VarCorr.glmmr()], [fixef.glmmr()], [ranef.glmmr()].
#' @examples
#' m <- glmmr(Reaction ~ 1 + Days + (1 + Days | Subject), sleepstudy)
#' m
#' fixef(m)
#' VarCorr(m)
#' gm1 <- glmmr(use ~ 1 + age + I(age^2) + urban + livch + (1 | dist), contra,
#'              family = binomial, nAGQ = 9,
#'              contrasts = list(urban = "contr.helmert"))
#' gm1
#' @export
glmmr <- function(formula, data = NULL, family = gaussian, REML = FALSE,
                  weights = NULL, offset = NULL, subset, na.action,
                  contrasts = NULL, nAGQ = 1L, control = glmmr_control()) {
  mc <- match.call()
  family <- as_family(family)
  is_lmm <- is_lmm_family(family)
  if (!is.logical(REML) || length(REML) != 1L || is.na(REML)) {
    stop("`REML` must be TRUE or FALSE", call. = FALSE)
  }
  if (!is_lmm && REML) {
    stop("`REML` applies to linear mixed models (family = gaussian) only",
         call. = FALSE)
  }
  check_nagq_value(nAGQ)
  if (!inherits(control, "glmmr_control")) {
    stop("`control` must be made by glmmr_control()", call. = FALSE)
  }
  if (!is.null(contrasts) && !is.list(contrasts)) {
    stop("`contrasts` must be a named list", call. = FALSE)
  }

  frame <- build_frame(mc, parent.frame())
  structures <- build_structures(frame, contrasts = contrasts,
                                 lmm = is_lmm)
  if (is_lmm) {
    y <- gaussian_response(structures$response)
    check_response_varies(y, structures$weights)
    prepared <- prepare_model(engine_model(y, structures, lmm = TRUE, REML = REML))
    fit <- engine_fit(prepared, control)
    fit$vcov_factor <- fit$vcov
    return(new_glmmr(fit, mc, frame, structures, y, family, REML, control,
                     nAGQ = NA_integer_, prepared = prepared))
  }
  check_glmm_family(family)
  check_nagq_terms(nAGQ, structures$reterms)
  resp <- glmm_response(structures$response, family, structures$weights)
  structures$weights <- resp$weights
  check_response_varies(resp$y, resp$weights)
  prepared <- prepare_model(engine_model(resp$y, structures, lmm = FALSE,
                                         dist = resp$dist, link = family$link,
                                         nAGQ = nAGQ))
  fit <- engine_fit(prepared, control)
  separated <- separated_columns(structures$X, resp$y, resp$weights,
                                 structures$offset, family, fit$eta)
  if (length(separated)) separation_warning(separated, family)
  fit$objective <- fit$objective + resp$ll_correction
  object <- withCallingHandlers(
    new_glmmr(fit, mc, frame, structures, resp$y, family, FALSE,
              control, nAGQ = as.integer(nAGQ), dist = resp$dist,
              has_scale = resp$has_scale, prepared = prepared),
    warning = function(w) {
      # with infinite estimates the optimum is not a point: the checks of
      # the gradient and Hessian there (a gradient that does not vanish,
      # "rescale the predictors") only repeat the separation warning
      if (length(separated)) invokeRestart("muffleWarning")
    })
  object$ll_correction <- resp$ll_correction
  object
}

#' The response of a linear mixed model: a finite numeric vector
#' @noRd
gaussian_response <- function(response) {
  if (is.null(response)) stop("the formula has no response", call. = FALSE)
  if (is.matrix(response) || !is.numeric(response) || is.factor(response)) {
    stop("the response must be a numeric vector for family = gaussian",
         call. = FALSE)
  }
  response <- as.numeric(response)
  if (any(!is.finite(response))) {
    stop("the response contains non-finite values (Inf or NaN)", call. = FALSE)
  }
  response
}

#' Stop if the response is constant
#'
#' lme4's `check.response.not.const` (an error for glmer, in its words),
#' applied to every family: with one value there is no variation to
#' model, and the fit would be degenerate (a zero residual variance for an
#' LMM, fixed effects running off to infinity for all-0 or all-1 binomial
#' and all-0 Poisson responses).
#' @param y The response as the engine takes it (proportions for binomial).
#' @param weights Its weights; rows with weight 0 are not fitted and do not
#'   count.
#' @noRd
check_response_varies <- function(y, weights) {
  y <- y[weights > 0]
  if (length(y) && all(y == y[1L])) {
    stop("Response is constant (every observation is ", format(y[1L]),
         "): there is no variation for a model to describe", call. = FALSE)
  }
  invisible(y)
}

#' Build the "glmmr" object from the engine's result
#' @noRd
new_glmmr <- function(fit, call, frame, structures, y, family, REML, control,
                      nAGQ, dist = "gaussian", has_scale = TRUE, prepared = NULL) {
  X <- structures$X
  p <- ncol(X)
  reterms <- structures$reterms
  beta <- fit$beta
  names(beta) <- colnames(X)
  as_vcov <- function(v) {
    if (length(v) != p * p) return(NULL)
    matrix(v, p, p, dimnames = list(colnames(X), colnames(X)))
  }
  vcov_factor <- as_vcov(fit$vcov_factor)
  vcov_hessian <- as_vcov(fit$vcov_hessian)
  # lme4's default: the Hessian in (theta, beta) where there is one.
  vcov <- if (!is.null(vcov_hessian)) vcov_hessian else vcov_factor
  vcov_type <- if (!is.null(vcov_hessian)) "hessian" else "factor"

  # Split theta and b by term; name theta as lme4 does (group.var1.var2),
  # with term_labels() keeping the names of repeated terms apart.
  theta_names <- character(0)
  ranef <- vector("list", length(reterms))
  labels <- term_labels(reterms)
  pos <- 0L
  for (i in seq_along(reterms)) {
    t <- reterms[[i]]
    k <- length(t$cnms)
    bt <- fit$b[pos + seq_len(t$nlevels * k)]
    ranef[[i]] <- matrix(bt, nrow = t$nlevels, ncol = k, byrow = TRUE,
                         dimnames = list(t$levels, t$cnms))
    pos <- pos + t$nlevels * k
    for (j in seq_len(k)) for (r in j:k) {
      theta_names <- c(theta_names,
                       if (r == j) paste(labels[i], t$cnms[r], sep = ".")
                       else paste(labels[i], t$cnms[r], t$cnms[j], sep = "."))
    }
  }
  names(ranef) <- vapply(reterms, `[[`, "", "group_name")
  # conditional covariances of each term's b, k x k x L as lme4's postVar
  cond_var <- vector("list", length(reterms))
  pos <- 0L
  for (i in seq_along(reterms)) {
    k <- length(reterms[[i]]$cnms)
    L <- reterms[[i]]$nlevels
    cond_var[[i]] <- array(fit$cond_var[pos + seq_len(k * k * L)], c(k, k, L))
    pos <- pos + k * k * L
  }
  theta <- fit$theta
  names(theta) <- theta_names
  ntheta <- length(theta)

  objective <- fit$objective
  loglik <- -objective / 2
  is_lmm <- is.na(nAGQ)
  # the linear predictor X beta + offset + Z b, in the frame's row order;
  # the engine's on the rows it fitted (those with a positive weight, see
  # engine_rows()), and at the estimates for the zero-weight rows
  fitted_rows <- structures$weights > 0
  eta <- drop(X %*% beta) + structures$offset + z_times_b(reterms, ranef)
  if (!is.null(fit$eta)) eta[fitted_rows] <- fit$eta
  # sigma: the residual standard deviation of an LMM, sqrt(dispersion) of a
  # GLMM with a scale, 1 otherwise. Random effects are sigma * lambda * u in
  # an LMM (lme4's parameterisation) and lambda * u in a GLMM.
  sigma <- if (is_lmm) fit$sigma else sigma_of_dispersion(dist, has_scale, fit$phi)
  if (identical(family$family, "nbinom2")) family <- nbinom2(family$link, theta = sigma)
  optinfo <- list(
    evals = fit$evals, iterations = fit$iterations, message = fit$message,
    converged = fit$converged, limit = fit$limit,
    check_skipped = fit$check_skipped,
    boundary = fit$boundary,
    gradient = fit$gradient,
    hessian = matrix(fit$hessian, sqrt(length(fit$hessian))),
    max_scaled_gradient = fit$max_scaled_gradient,
    max_abs_gradient = fit$max_abs_gradient,
    hessian_positive_definite = fit$hessian_positive_definite
  )
  object <- list(
    call = call,
    formula = structures$formula,
    family = family,
    REML = REML,
    frame = frame,
    X = X,
    y = y,
    weights = structures$weights,
    offset = structures$offset,
    reterms = reterms,
    contrasts = attr(X, "contrasts"),
    dropped = structures$dropped,
    fixed_terms = structures$fixed_terms,
    beta = beta,
    vcov = vcov,
    vcov_factor = vcov_factor,
    vcov_hessian = vcov_hessian,
    vcov_type = vcov_type,
    theta = theta,
    sigma = sigma,
    use_scale = has_scale,
    re_scale = if (is_lmm) sigma else 1,
    nAGQ = nAGQ,
    dist = dist,
    eta = eta,
    deviance = fit$deviance,
    u = fit$u,
    ranef = ranef,
    cond_var = cond_var,
    objective = objective,
    loglik = loglik,
    nobs = sum(fitted_rows),
    optinfo = optinfo,
    control = control,
    prepared = prepared
  )
  class(object) <- "glmmr"
  check_convergence(object)
  object
}

#' A label per random-effects term for naming its parameters
#'
#' The name of the term's grouping factor; but where the term's parameters
#' would take the names of an earlier term's (the same column of the same
#' factor, as in `(1 | g) + (1 | g)`), lme4's VarCorr label for the term:
#' the factor's name with `.k` for its k-th further term (`g.1`), so that
#' every parameter of the fit (theta, and the rows of confint()) has its own
#' name. `(x || g)` keeps `g` for both terms, as lme4 names their intervals.
#' @param reterms The fit's random-effects term records.
#' @return A character vector, one label per term.
#' @noRd
term_labels <- function(reterms) {
  groups <- vapply(reterms, `[[`, "", "group_name")
  if (length(groups) < 2L) return(groups)
  labels <- groups
  taken <- character(0)
  for (i in seq_along(reterms)) {
    cnms <- reterms[[i]]$cnms
    k <- sum(groups[seq_len(i - 1L)] == groups[i])
    if (k > 0L && any(paste(groups[i], cnms, sep = "|") %in% taken)) {
      labels[i] <- paste0(groups[i], ".", k)
    }
    taken <- c(taken, paste(labels[i], cnms, sep = "|"))
  }
  labels
}

#' Z b: each term's columns times its random effects at each row's level
#'
#' The one place Z b is formed (the fit's linear predictor, predict() and
#' simulate()), without building the sparse Z.
#' @param reterms Term records, or any list of `list(z, group)`: `z` the
#'   rows' model-matrix columns of the term (n x k), `group` each row's
#'   level (an index into the rows of the term's effects).
#' @param ranef One matrix of random effects per term, a row per level and
#'   a column per column of `z`.
#' @return A vector with one value per row (0 when there are no terms).
#' @noRd
z_times_b <- function(reterms, ranef) {
  out <- 0
  for (i in seq_along(reterms)) {
    t <- reterms[[i]]
    out <- out + rowSums(t$z * ranef[[i]][t$group, , drop = FALSE])
  }
  out
}

#' Warn only when the check at the optimum finds a real problem
#' @noRd
check_convergence <- function(object) {
  oi <- object$optinfo
  if (isFALSE(oi$converged)) {
    # stopped by glmmr_control(max_evals = ) or (max_iter = ): not an
    # optimum, whatever the check there says
    what <- if (identical(oi$limit, "max_iter")) "iteration" else "evaluation"
    setting <- if (identical(oi$limit, "max_iter")) "max_iter" else "max_evals"
    warning(sprintf(paste0(
      "the optimizer reached its %s limit (%s = %d) before converging: the ",
      "estimates are not an optimum; increase glmmr_control(%s = )"),
      what, setting, as.integer(object$control[[setting]]), setting),
      call. = FALSE)
    return(invisible(FALSE))
  }
  free <- !oi$boundary
  if (!any(free)) return(invisible(TRUE))
  if (length(oi$check_skipped) && nzchar(oi$check_skipped)) {
    message("glmmr: the Hessian at the optimum was not computed (",
            oi$check_skipped, "), so convergence is not checked by it and ",
            "the standard errors come from the factor at the optimum")
    return(invisible(TRUE))
  }
  tol <- object$control$check_tol
  bad_grad <- is.finite(oi$max_scaled_gradient) && oi$max_scaled_gradient > tol
  if (!oi$hessian_positive_definite) {
    warning("the Hessian of the objective at the optimum is not positive ",
            "definite: the variance components may be poorly determined; ",
            "consider a simpler random-effects structure", call. = FALSE)
  } else if (bad_grad) {
    warning(sprintf(paste0(
      "the optimizer may not have converged: the scaled gradient at the ",
      "optimum is %.2g (tolerance %.2g); try a smaller ",
      "glmmr_control(rel_tol = ) or rescale the predictors"), oi$max_scaled_gradient, tol),
      call. = FALSE)
  }
  invisible(TRUE)
}

#' The objective at the optimum on the engine's own scale, which refits and
#' profile steps report (without the constant of a weighted cbind() binomial
#' response, see glmm_response())
#' @noRd
engine_objective <- function(object) {
  object$objective - if (is.null(object$ll_correction)) 0 else object$ll_correction
}

#' sigma() of a GLMM from the engine's dispersion value: sqrt(phi) for a
#' family with a scale, the negative binomial's theta (as glmmTMB), else 1
#' @noRd
sigma_of_dispersion <- function(dist, has_scale, phi) {
  if (has_scale) sqrt(phi) else if (startsWith(dist, "nbinom2")) phi else 1
}

#' Is a parameter besides theta and beta estimated (the dispersion, or the
#' negative binomial's theta)? It counts in logLik's df and is profiled.
#' @noRd
has_extra_parameter <- function(object) {
  isTRUE(object$use_scale) || identical(object$dist, "nbinom2")
}

#' That parameter on the engine's scale: log phi = 2 log sigma, or log theta
#' @noRd
log_extra_parameter <- function(object) {
  if (isTRUE(object$use_scale)) 2 * log(object$sigma)
  else if (identical(object$dist, "nbinom2")) log(object$sigma)
}
