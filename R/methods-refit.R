# refit(): the model fitted again to a new response, through the fit's
# prepared model (the design is not converted or built again).

#' Refit a model to a new response
#'
#' A method for lme4's [lme4::refit()] generic: the same model (design,
#' weights, offset, family, REML or ML, `nAGQ`, control settings) fitted to
#' `newresp`, through the prepared model the fit keeps, so that nothing but
#' the response crosses into the engine again. This is what parametric
#' bootstraps ([bootstrap()]) and simulation studies do many times.
#'
#' @param object A fitted `"glmmr"` model.
#' @param newresp The new response, one value per row of the model frame,
#'   in any form [simulate.glmmr()] returns: numeric (for a binomial fit 0/1,
#'   or proportions of the trials in `weights(object)`), a factor or a
#'   logical for a binomial fit, or for a binomial fit a two-column matrix
#'   `cbind(successes, failures)` (as lme4's `refit()`). The matrix's rows
#'   must add up to the fit's trials: either `weights(object)`, the form
#'   `simulate()` gives (the refit is then the fit of that matrix without
#'   prior weights, as in lme4), or, for a fit of `cbind()` with prior
#'   weights, its own numbers of trials (the refit keeps the prior weights).
#'   A weighted `cbind()` fit takes only a matrix. A data frame (the output
#'   of `simulate()`, whose columns may be such matrices) or a matrix of
#'   other than two columns gives one fit per column. Rows outside the
#'   likelihood (zero prior weight) are ignored.
#' @param ... Must be empty.
#' @return A `"glmmr"` fit, or a list of them for several columns.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' m2 <- lme4::refit(m, simulate(m, seed = 1)[[1]])
#' fixef(m2)
#' @exportS3Method lme4::refit
refit.glmmr <- function(object, newresp, ...) {
  check_dots(...)
  if (missing(newresp) || is.null(newresp)) {
    stop("`newresp` is missing: give the new response", call. = FALSE)
  }
  # for a binomial fit two columns are cbind(successes, failures), as in lme4
  is_cbind <- identical(object$family$family, "binomial") &&
    is.matrix(newresp) && ncol(newresp) == 2L
  columns <- if (is.data.frame(newresp)) as.list(newresp)
    else if (is.matrix(newresp) && ncol(newresp) > 1L && !is_cbind)
      lapply(seq_len(ncol(newresp)), function(j) newresp[, j])
  if (!is.null(columns)) {
    prepared <- prepared_model(object)
    return(lapply(columns, function(y) refit_object(object, y, prepared)))
  }
  refit_object(object, newresp)
}

#' The fit of `object`'s model to the response `y` as a "glmmr" object
#' @param prepared The fit's prepared model, fetched once by a caller that
#'   refits many times.
#' @noRd
refit_object <- function(object, y, prepared = prepared_model(object)) {
  resp <- refit_response_values(object, y)
  y <- resp$y
  fit <- refit_response(object, y, prepared)
  structures <- object[c("formula", "X", "reterms", "weights", "offset",
                         "dropped", "fixed_terms")]
  is_lmm <- is.na(object$nAGQ)
  if (is_lmm) fit$vcov_factor <- fit$vcov
  # the binomial coefficients the engine lacks, as glmmr() adds them
  if (!is_lmm) fit$objective <- fit$objective + resp$ll_correction
  family <- object$family
  out <- new_glmmr(fit, object$call, object$frame, structures, y, family,
                   object$REML, object$control, nAGQ = object$nAGQ,
                   dist = object$dist, has_scale = isTRUE(object$use_scale),
                   prepared = prepared)
  if (!is_lmm) out$ll_correction <- resp$ll_correction
  out
}

#' The new response as the engine fits it, checked against the fit's rows
#' @return list(y, ll_correction): the response (proportions for binomial)
#'   and what the engine's -2 log L lacks for it (see glmm_response()).
#' @noRd
refit_response_values <- function(object, y) {
  n <- length(object$y)
  binomial <- identical(object$family$family, "binomial")
  if (is.matrix(y) && ncol(y) == 1L) y <- drop(y)
  if (is.matrix(y) && ncol(y) == 2L && nrow(y) == n) {
    if (!binomial) {
      stop("a two-column `newresp`, cbind(successes, failures), needs a ",
           "binomial fit", call. = FALSE)
    }
    return(refit_cbind_values(object, y))
  }
  if (!is.null(dim(y)) || length(y) != n) {
    stop("`newresp` must have one value per row of the model frame (", n, ")",
         call. = FALSE)
  }
  if (binomial && is.matrix(stats::model.response(object$frame)) &&
      any(prior_weights(object)[object$weights > 0] != 1)) {
    # the engine's trials are prior weights times trials: a proportion does
    # not say which part of them is the prior weight, which the likelihood's
    # binomial coefficients need
    stop("`newresp` for a cbind() binomial fit with prior weights must be ",
         "cbind(successes, failures), as simulate() gives it", call. = FALSE)
  }
  if (is.factor(y) || is.logical(y)) {
    if (!binomial) {
      stop("a factor or logical `newresp` needs a binomial fit", call. = FALSE)
    }
    y <- if (is.factor(y)) as.numeric(y != levels(y)[1L]) else as.numeric(y)
  }
  if (!is.numeric(y)) stop("`newresp` must be numeric", call. = FALSE)
  y <- as.numeric(y)
  fitted_rows <- object$weights > 0
  if (anyNA(y[fitted_rows])) {
    stop("`newresp` has missing values in rows the model fits", call. = FALSE)
  }
  list(y = y, ll_correction = 0)
}

#' A cbind(successes, failures) `newresp` as proportions, with the
#' likelihood's correction for it; its rows must add up to the fit's trials
#' @noRd
refit_cbind_values <- function(object, y) {
  if (!is.numeric(y)) {
    stop("`newresp` as cbind(successes, failures) must be numeric", call. = FALSE)
  }
  rows <- object$weights > 0
  yf <- y[rows, , drop = FALSE]
  if (anyNA(yf)) {
    stop("`newresp` has missing values in rows the model fits", call. = FALSE)
  }
  bad <- which(yf < 0 | yf != round(yf), arr.ind = TRUE)
  if (length(bad)) {
    i <- which(rows)[bad[1L, 1L]]
    stop("`newresp` as cbind(successes, failures) needs non-negative whole ",
         "numbers (row ", i, ": ", y[i, 1L], ", ", y[i, 2L], ")", call. = FALSE)
  }
  totals <- yf[, 1L] + yf[, 2L]
  trials <- object$weights[rows]
  prior <- prior_weights(object)[rows]
  same <- function(a, b) all(abs(a - b) <= sqrt(.Machine$double.eps) * pmax(1, b))
  # The engine's trials stay those of the fit. Totals equal to them are the
  # response of a fit without prior weights (simulate()'s and lme4's form);
  # for a cbind() fit with prior weights, totals equal to its own trials
  # keep the prior weights. Either way, the fit from scratch of that
  # response is the refit, down to the log-likelihood.
  fit_cbind <- is.matrix(stats::model.response(object$frame))
  w <- if (same(totals, trials)) {
    rep(1, length(trials))
  } else if (fit_cbind && same(totals * prior, trials)) {
    prior
  } else {
    i <- which(abs(totals - trials) > sqrt(.Machine$double.eps) * pmax(1, trials))[1L]
    stop("`newresp` as cbind(successes, failures) must have the fit's numbers ",
         "of trials, successes + failures = weights(object) (or for a weighted ",
         "cbind() fit, its own trials; row ",
         which(rows)[i], ": ", totals[i], ", not ", trials[i], ")",
         if (!fit_cbind) paste0("; two columns for a binomial fit are ",
                                "cbind(successes, failures): give two responses ",
                                "as a data frame"),
         call. = FALSE)
  }
  resp <- glmm_response(yf, object$family, w)
  s <- y[, 1L]
  total <- y[, 1L] + y[, 2L]
  list(y = ifelse(total > 0, s / total, 0), ll_correction = resp$ll_correction)
}

#' The fit's prior weights (ones if it has none), one per row of its frame
#' @noRd
prior_weights <- function(object) {
  w <- stats::model.weights(object$frame)
  if (is.null(w)) rep(1, length(object$y)) else as.numeric(w)
}
