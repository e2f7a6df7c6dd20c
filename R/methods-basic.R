# Extractors of a fitted "glmmr" model: fixed effects, random effects,
# covariance of the fixed effects, log-likelihood, sizes.

#' Fixed-effects estimates
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused.
#' @return A named numeric vector of fixed-effects coefficients.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' fixef(m)
#' @method fixef glmmr
#' @export
fixef.glmmr <- function(object, ...) object$beta

#' Conditional modes of the random effects
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused.
#' @return A list with one data frame per grouping factor: a row per level, a
#'   column per random-effects term column (the predicted random effects).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' head(ranef(m)$Subject)
#' @method ranef glmmr
#' @export
ranef.glmmr <- function(object, ...) {
  groups <- names(object$ranef)
  out <- list()
  for (g in unique(groups)) {
    mats <- object$ranef[groups == g]
    out[[g]] <- as.data.frame(do.call(cbind, mats), check.names = FALSE)
  }
  structure(out, class = "ranef.glmmr")
}

#' @export
print.ranef.glmmr <- function(x, ...) {
  print(unclass(x), ...)
  invisible(x)
}

#' Covariance matrix of the fixed-effects estimates
#'
#' Computed from the Cholesky factor at the optimum: \eqn{\sigma^2 (R_X'
#' R_X)^{-1}}, conditional on the variance-component estimates.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused.
#' @return A square matrix named by the fixed-effects coefficients.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' sqrt(diag(vcov(m)))
#' @export
vcov.glmmr <- function(object, ...) object$vcov

#' Log-likelihood of a fitted model
#'
#' For a maximum-likelihood fit the log-likelihood; for a REML fit the
#' restricted log-likelihood (minus half the REML criterion), as lme4 reports.
#' The degrees of freedom count the fixed effects, the covariance parameters
#' (theta) and the residual standard deviation.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused.
#' @return An object of class `"logLik"` with attributes `df` and `nobs`.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' logLik(m)
#' AIC(m)
#' @export
logLik.glmmr <- function(object, ...) {
  structure(object$loglik,
            df = length(object$beta) + length(object$theta) + 1L,
            nobs = object$nobs,
            REML = object$REML,
            class = "logLik")
}

#' Number of observations used in a fit
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused.
#' @return The number of rows of the model frame.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' nobs(m)
#' @importFrom stats nobs
#' @export
nobs.glmmr <- function(object, ...) object$nobs

#' Residual standard deviation
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused.
#' @return The estimate of the residual standard deviation \eqn{\sigma}.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' sigma(m)
#' @importFrom stats sigma
#' @export
sigma.glmmr <- function(object, ...) object$sigma

#' @importFrom stats vcov logLik AIC BIC
NULL
