# summary(): the printed model plus scaled residuals and the correlation of
# the fixed-effects estimates, as lme4's summary shows them.

#' Summary of a fitted model
#'
#' For a linear mixed model the fixed effects get t-tests, as lmerTest's
#' summary gives them: with Satterthwaite's denominator degrees of freedom
#' (the default), or Kenward and Roger's (for a REML fit: the adjusted
#' standard errors of pbkrtest's `vcovAdj()` and its degrees of freedom).
#' `ddf = "none"` gives z tests, as for a generalized model.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ddf For a linear mixed model, the denominator degrees of freedom
#'   of the t-tests: `"Satterthwaite"`, `"Kenward-Roger"` or `"none"` (z
#'   tests). A generalized model has z tests only.
#' @param ... Unused; an error if given.
#' @return An object of class `"summary.glmmr"` holding the coefficient
#'   table (`coefficients`: Estimate, Std. Error, df, t value, Pr(>|t|) for
#'   t-tests, or Estimate, Std. Error, z value, Pr(>|z|)), the method of the
#'   degrees of freedom (`ddf`), which standard errors it uses (`vcov_type`),
#'   the correlation of the fixed effects (`correlation`), the variance
#'   components (`varcor`), the log-likelihood statistics and the quantiles
#'   of the scaled residuals.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' summary(m)
#' summary(update(m, REML = TRUE), ddf = "Kenward-Roger")
#' @export
summary.glmmr <- function(object, ddf = c("Satterthwaite", "Kenward-Roger", "none"), ...) {
  check_dots(...)
  ddf <- ddf_method(object, ddf, !missing(ddf))
  v <- vcov(object)
  coefs <- if (ddf == "none") fixef_table(object, v, lme4_names = TRUE)
           else ddf_coef_table(object, ddf)
  se <- coefs[, "Std. Error"]
  corr <- v / outer(se, se)
  scaled <- model_residuals(object, type = "pearson")
  if (is.na(object$nAGQ)) scaled <- scaled / object$sigma
  # rows with a zero prior weight are outside the fit (their Pearson
  # residuals are 0 by construction)
  scaled <- scaled[object$weights > 0]
  structure(list(object = object, coefficients = coefs, ddf = ddf,
                 vcov_type = attr(v, "type"),
                 correlation = corr, varcor = VarCorr(object),
                 logLik = logLik(object),
                 residual_quantiles = stats::quantile(scaled, names = FALSE)),
            class = "summary.glmmr")
}

#' @rdname summary.glmmr
#' @param x A `"summary.glmmr"` object.
#' @param digits Number of significant digits.
#' @param correlation Print the correlation of the fixed effects (by
#'   default when there are at most 12 of them).
#' @export
print.summary.glmmr <- function(x, digits = max(3L, getOption("digits") - 3L),
                                correlation = NULL, ...) {
  check_dots(...)
  obj <- x$object
  print_header(obj)
  cat("\n")
  # lme4's summary order: the information criteria first
  print(round(fit_statistics(obj)[c(3L, 4L, 1L, 2L, 5L)], 4))
  cat("\nScaled residuals:\n")
  q <- stats::setNames(x$residual_quantiles, c("Min", "1Q", "Median", "3Q", "Max"))
  print(round(q, 4))
  cat("\nRandom effects:\n")
  print(x$varcor, digits = digits + 2L)
  nl <- group_sizes(obj)
  cat("Number of obs: ", obj$nobs, ", groups: ",
      paste(names(nl), nl, sep = ", ", collapse = "; "), "\n", sep = "")
  ddf <- if (is.null(x$ddf)) "none" else x$ddf
  cat("\nFixed effects (", switch(ddf,
    none = paste("standard errors from", se_source(x$vcov_type)),
    Satterthwaite = "t-tests with Satterthwaite's degrees of freedom",
    "t-tests with Kenward-Roger's standard errors and degrees of freedom"), "):\n", sep = "")
  stats::printCoefmat(x$coefficients, digits = digits, signif.stars = FALSE)
  p <- nrow(x$coefficients)
  if (is.null(correlation)) correlation <- p > 1L && p <= 12L
  if (correlation && p > 1L) {
    cat("\nCorrelation of Fixed Effects:\n")
    cr <- format(round(x$correlation, 3), nsmall = 3)
    cr[upper.tri(cr, diag = TRUE)] <- ""
    nm <- abbreviate(rownames(x$correlation), minlength = 6)
    dimnames(cr) <- list(nm, nm)
    print(cr[-1L, -p, drop = FALSE], quote = FALSE, right = TRUE)
  }
  invisible(x)
}
