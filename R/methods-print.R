# Printing a fitted model: the header, fit statistics, variance components,
# group sizes and the fixed-effects table (Est., SE, z, p as in the seed for a
# GLMM; Est., SE, t for a linear mixed model);
# the pieces summary()'s print shares with it (header, statistics, table).

#' Print a fitted glmmr model
#'
#' Shows the method and family, the formula, the log-likelihood, -2 log L,
#' AIC and BIC, the variance components, the number of observations and of
#' levels per grouping factor, and the fixed-effects table with estimates,
#' standard errors (those of [vcov.glmmr()]: the Hessian in (theta, beta)
#' for a generalized model where it exists, else the Cholesky factor at the
#' optimum; the printout says which) and, for a generalized model, z
#' statistics and two-sided normal p-values; for a linear mixed model t
#' statistics without p-values, as lme4 prints them ([summary.glmmr()] gives
#' the t-tests with Satterthwaite's or Kenward-Roger's degrees of freedom).
#' For a REML fit the first two statistics are the REML log-likelihood and
#' criterion.
#'
#' @param x A fitted `"glmmr"` model.
#' @param digits Number of significant digits.
#' @param ... Unused; an error if given.
#' @return `x`, invisibly.
#' @examples
#' glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' @export
print.glmmr <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  check_dots(...)
  print_header(x, data = TRUE)
  print(round(fit_statistics(x), 4))
  cat("\nVariance components:\n")
  print(VarCorr(x), digits = digits + 2L)
  nl <- group_sizes(x)
  cat(" Number of obs: ", x$nobs, "; levels of grouping factors: ",
      paste(names(nl), nl, sep = " ", collapse = ", "), "\n", sep = "")
  cat("\nFixed effects (standard errors from ", se_source(attr(vcov(x), "type")),
      "):\n", sep = "")
  if (is.na(x$nAGQ)) {
    # A linear mixed model's t statistics have no normal reference
    # distribution: print() shows them without p-values, as lme4 does, and
    # summary() gives the tests with Satterthwaite's degrees of freedom.
    tab <- fixef_table(x)[, 1:3, drop = FALSE]
    colnames(tab)[3L] <- "t"
    stats::printCoefmat(tab, digits = digits, has.Pvalue = FALSE, signif.stars = FALSE)
    cat("(p-values with Satterthwaite's degrees of freedom: summary())\n")
  } else {
    stats::printCoefmat(fixef_table(x), digits = digits, has.Pvalue = TRUE,
                        P.values = TRUE, signif.stars = FALSE)
  }
  if (length(x$dropped)) {
    cat("(", length(x$dropped), " aliased column(s) dropped: ",
        paste(x$dropped, collapse = ", "), ")\n", sep = "")
  }
  if (any(x$optinfo$boundary)) {
    cat("\nboundary (singular) fit: a variance component is estimated as zero\n")
  }
  invisible(x)
}

#' Number of levels per grouping factor (a factor used by several terms
#' once)
#' @noRd
group_sizes <- function(x) {
  nl <- vapply(x$reterms, `[[`, 0L, "nlevels")
  names(nl) <- vapply(x$reterms, `[[`, "", "group_name")
  nl[!duplicated(names(nl))]
}

#' Where the printed standard errors come from, in words
#' @noRd
se_source <- function(type) {
  if (type == "hessian") "the Hessian in (theta, beta)" else "the Cholesky factor at the optimum"
}

#' The opening lines of print() and of summary()'s print: the kind of fit,
#' the family, the formula and, with `data = TRUE`, the data's name
#' @noRd
print_header <- function(x, data = FALSE) {
  cat(model_header(x), "\n", sep = "")
  cat(" Formula: ", paste(deparse(x$formula, width.cutoff = 500L), collapse = " "),
      "\n", sep = "")
  if (data && !is.null(x$call$data)) {
    cat("    Data: ", paste(deparse(x$call$data), collapse = " "), "\n", sep = "")
  }
  invisible(x)
}

#' The fit statistics print() and summary() show: log L, -2 log L (the REML
#' criterion for a REML fit, named so), AIC, BIC and the residual degrees of
#' freedom
#' @noRd
fit_statistics <- function(x) {
  ll <- logLik(x)
  stats <- c(logLik = as.numeric(ll), "-2 log L" = -2 * as.numeric(ll),
             AIC = stats::AIC(x), BIC = stats::BIC(x),
             df.resid = x$nobs - attr(ll, "df"))
  if (x$REML) names(stats)[1:2] <- c("REML logLik", "REML crit.")
  stats
}

#' First lines of the printed model: the kind of fit and the family
#' @noRd
model_header <- function(x) {
  if (is.na(x$nAGQ)) {
    return(paste0("Linear mixed model fit by ",
                  if (x$REML) "REML" else "maximum likelihood", " ['glmmr']"))
  }
  method <- switch(as.character(min(x$nAGQ, 2L)),
    "0" = "PIRLS with fixed effects in the iterations (nAGQ = 0)",
    "1" = "Laplace approximation",
    "2" = paste0("adaptive Gauss-Hermite quadrature, nAGQ = ", x$nAGQ))
  paste0("Generalized linear mixed model fit by maximum likelihood (", method,
         ") ['glmmr']\n Family: ", x$family$family, " (", x$family$link, ")")
}

#' The fixed-effects table: estimates, standard errors (from `v`), z and
#' two-sided normal p-values, with print()'s column names or, with
#' `lme4_names = TRUE`, summary()'s (those of lme4)
#' @noRd
fixef_table <- function(x, v = vcov(x), lme4_names = FALSE) {
  est <- x$beta
  se <- sqrt(diag(v))
  z <- est / se
  tab <- cbind(est, se, z, 2 * stats::pnorm(-abs(z)))
  colnames(tab) <- if (lme4_names) {
    c("Estimate", "Std. Error", "z value", "Pr(>|z|)")
  } else c("Est.", "SE", "z", "Pr(>|z|)")
  tab
}
