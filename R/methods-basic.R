# Extractors of a fitted "glmmr" model: fixed effects, random effects,
# covariance of the fixed effects, log-likelihood, sizes.

#' Fixed-effects estimates
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @return A named numeric vector of fixed-effects coefficients.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' fixef(m)
#' @method fixef glmmr
#' @export
fixef.glmmr <- function(object, ...) {
  check_dots(...)
  object$beta
}

#' Conditional modes of the random effects
#'
#' @param object A fitted `"glmmr"` model.
#' @param condVar If `TRUE`, attach to each data frame the conditional
#'   covariance matrices of its random effects as attribute `"postVar"`: a
#'   k-by-k-by-levels array, as lme4 does (for a grouping factor used by
#'   several uncorrelated terms, the covariances between terms are 0).
#' @param ... Unused; an error if given.
#' @return A list with one data frame per grouping factor: a row per level, a
#'   column per random-effects term column (the predicted random effects).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' head(ranef(m)$Subject)
#' re <- ranef(m, condVar = TRUE)
#' attr(re$Subject, "postVar")[, , 1]
#' @method ranef glmmr
#' @export
ranef.glmmr <- function(object, condVar = FALSE, ...) {
  check_dots(...)
  groups <- names(object$ranef)
  out <- list()
  for (g in unique(groups)) {
    which_terms <- which(groups == g)
    mats <- object$ranef[which_terms]
    df <- as.data.frame(do.call(cbind, mats), check.names = FALSE)
    if (condVar) {
      ks <- vapply(mats, ncol, 0L)
      pv <- array(0, c(sum(ks), sum(ks), nrow(df)))
      off <- 0L
      for (i in seq_along(which_terms)) {
        idx <- off + seq_len(ks[i])
        pv[idx, idx, ] <- object$cond_var[[which_terms[i]]]
        off <- off + ks[i]
      }
      attr(df, "postVar") <- pv
    }
    out[[g]] <- df
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
#' Two estimates exist. `type = "factor"` uses the Cholesky factor of the
#' penalized system at the optimum, \eqn{\sigma^2 (R_X' R_X)^{-1}},
#' conditional on the covariance parameters (MixedModels.jl's standard
#' errors). `type = "hessian"` inverts a finite-difference Hessian of the
#' objective in (theta, beta) and so also reflects the uncertainty of theta
#' (lme4's default for generalized models). For a linear mixed model only the
#' factor estimate exists (as in lme4); for a generalized model the default
#' is the Hessian one, falling back to the factor when the Hessian is not
#' available (nAGQ = 0, not positive definite, or not computed for a model
#' with more than 100 parameters).
#'
#' @param object A fitted `"glmmr"` model.
#' @param type `"default"`, `"factor"` or `"hessian"`.
#' @param complete Unused, for callers such as `car::Anova()` that pass it:
#'   as in lme4, aliased columns are dropped at the fit and have no rows.
#' @param ... Unused; an error if given.
#' @return A square matrix named by the fixed-effects coefficients, with
#'   attribute `"type"` saying which estimate it is.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' sqrt(diag(vcov(m)))
#' @export
vcov.glmmr <- function(object, type = c("default", "factor", "hessian"),
                       complete = TRUE, ...) {
  check_dots(...)
  type <- match.arg(type)
  if (type == "default") type <- object$vcov_type
  v <- if (type == "factor") object$vcov_factor else object$vcov_hessian
  if (is.null(v)) {
    stop("`type` = \"", type, "\" is not available for this fit", call. = FALSE)
  }
  attr(v, "type") <- type
  v
}

#' Log-likelihood of a fitted model
#'
#' For a maximum-likelihood fit the log-likelihood; for a REML fit the
#' restricted log-likelihood (minus half the REML criterion), as lme4 reports.
#' For a generalized model the value is on the absolute scale (normalising
#' constants included) for every `nAGQ`. The degrees of freedom count the
#' fixed effects, the covariance parameters (theta) and the one further
#' parameter a family may have: the residual standard deviation of a linear
#' mixed model, the dispersion of a Gamma, inverse Gaussian or non-identity
#' gaussian GLMM, or the negative binomial's estimated theta.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @return An object of class `"logLik"` with attributes `df` and `nobs`.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' logLik(m)
#' AIC(m)
#' @export
logLik.glmmr <- function(object, ...) {
  check_dots(...)
  structure(object$loglik,
            df = length(object$beta) + length(object$theta) +
              as.integer(has_extra_parameter(object)),
            nobs = object$nobs,
            REML = object$REML,
            class = "logLik")
}

#' Number of observations used in a fit
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @param use.fallback Unused, for callers such as [stats::drop1()] that
#'   pass it (the number is always known).
#' @return The number of rows of the model frame with a non-zero prior
#'   weight (as `nobs()` of a glm; rows of weight 0 are outside the fit).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' nobs(m)
#' @importFrom stats nobs
#' @export
nobs.glmmr <- function(object, use.fallback = FALSE, ...) {
  check_dots(...)
  object$nobs
}

#' Residual standard deviation
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @return The estimate of the residual standard deviation \eqn{\sigma}:
#'   for a GLMM with a dispersion \eqn{\phi} (Gamma, inverse Gaussian,
#'   gaussian with another link) \eqn{\sqrt{\phi}}, for the negative
#'   binomial its \eqn{\theta} (as glmmTMB), and 1 for binomial and Poisson
#'   (as in lme4).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' sigma(m)
#' @importFrom stats sigma
#' @export
sigma.glmmr <- function(object, ...) {
  check_dots(...)
  object$sigma
}

#' @importFrom stats vcov logLik AIC BIC
NULL
