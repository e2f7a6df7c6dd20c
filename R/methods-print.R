# Printing a fitted model: the header, fit statistics, variance components,
# group sizes and the fixed-effects table (Est., SE, z, p) as in the seed.

#' Print a fitted glmmr model
#'
#' Shows the method and family, the formula, the log-likelihood, -2 log L,
#' AIC and BIC, the variance components, the number of observations and of
#' levels per grouping factor, and the fixed-effects table with estimates,
#' standard errors (from the Cholesky factor at the optimum), z statistics
#' and two-sided normal p-values.
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
  cat(model_header(x), "\n", sep = "")
  cat(" Formula: ", paste(deparse(x$formula, width.cutoff = 500L), collapse = " "),
      "\n", sep = "")
  if (!is.null(x$call$data)) {
    cat("    Data: ", paste(deparse(x$call$data), collapse = " "), "\n", sep = "")
  }
  ll <- logLik(x)
  stats <- c(logLik = as.numeric(ll), "-2 log L" = -2 * as.numeric(ll),
             AIC = stats::AIC(x), BIC = stats::BIC(x),
             df.resid = x$nobs - attr(ll, "df"))
  if (x$REML) names(stats)[1:2] <- c("REML logLik", "REML crit.")
  print(round(stats, 4))
  cat("\nVariance components:\n")
  print(VarCorr(x), digits = digits + 2L)
  nl <- group_sizes(x)
  cat(" Number of obs: ", x$nobs, "; levels of grouping factors: ",
      paste(names(nl), nl, sep = " ", collapse = ", "), "\n", sep = "")
  cat("\nFixed effects (standard errors from ", se_source(attr(vcov(x), "type")),
      "):\n", sep = "")
  stats::printCoefmat(fixef_table(x), digits = digits, has.Pvalue = TRUE,
                      P.values = TRUE, signif.stars = FALSE)
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

#' The fixed-effects table: Est., SE, z and p
#' @noRd
fixef_table <- function(x) {
  est <- x$beta
  se <- sqrt(diag(vcov(x)))
  z <- est / se
  cbind("Est." = est, "SE" = se, "z" = z, "Pr(>|z|)" = 2 * stats::pnorm(-abs(z)))
}
