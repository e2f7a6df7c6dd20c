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
#' @param newresp The new response, one value per row of the model frame:
#'   numeric (for a binomial fit 0/1, or proportions of the trials in
#'   `weights(object)`, as [simulate.glmmr()] gives them), a factor or a
#'   logical for a binomial fit. A data frame or a matrix of such columns
#'   (the output of `simulate()`) gives one fit per column. Rows outside
#'   the likelihood (zero prior weight) are ignored.
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
  columns <- if (is.data.frame(newresp)) as.list(newresp)
    else if (is.matrix(newresp) && ncol(newresp) > 1L)
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
  y <- refit_response_values(object, y)
  fit <- refit_response(object, y, prepared)
  structures <- object[c("formula", "X", "reterms", "weights", "offset",
                         "dropped", "fixed_terms")]
  is_lmm <- is.na(object$nAGQ)
  if (is_lmm) fit$vcov_factor <- fit$vcov
  family <- object$family
  out <- new_glmmr(fit, object$call, object$frame, structures, y, family,
                   object$REML, object$control, nAGQ = object$nAGQ,
                   dist = object$dist, has_scale = isTRUE(object$use_scale),
                   prepared = prepared)
  if (!is_lmm) out$ll_correction <- 0
  out
}

#' The new response as the engine fits it, checked against the fit's rows
#' @noRd
refit_response_values <- function(object, y) {
  n <- length(object$y)
  if (is.matrix(y) && ncol(y) == 1L) y <- drop(y)
  if (!is.null(dim(y)) || length(y) != n) {
    stop("`newresp` must have one value per row of the model frame (", n, ")",
         call. = FALSE)
  }
  if (!is.na(object$nAGQ) && !identical(object$ll_correction, 0) &&
      !is.null(object$ll_correction)) {
    stop("refit() of a weighted cbind() binomial response is not supported: ",
         "fit the new response with glmmr()", call. = FALSE)
  }
  if (is.factor(y) || is.logical(y)) {
    if (!identical(object$family$family, "binomial")) {
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
  y
}
