#' glmmr: fast generalized linear mixed models with a Rust engine
#'
#' Fits linear and generalized linear mixed models from 'lme4'-style
#' formulas. R builds the model frame and the model structures; a Rust
#' engine does the numerics in one call: penalized least squares on a
#' blocked system and the profiled deviance (or REML criterion) for a linear
#' mixed model; penalized iteratively reweighted least squares and the
#' Laplace approximation or adaptive Gauss-Hermite quadrature for a
#' generalized one; quasi-Newton (BFGS) optimisation for both. See
#' [glmmr()]; its section "Coming from lme4" lists where glmmr
#' intentionally differs from lme4 and how to get lme4's behaviour.
#'
#' @keywords internal
#' @docType package
#' @name glmmr-package
#' @aliases glmmr-package
#' @useDynLib glmmr, .registration = TRUE
#' @importFrom stats gaussian
NULL

#' Generics shared with nlme and lme4
#'
#' `fixef()`, `ranef()` and `VarCorr()` are the generics of the 'nlme'
#' package, re-exported here so that loading 'lme4' as well masks nothing.
#' See [fixef.glmmr()], [ranef.glmmr()] and [VarCorr.glmmr()].
#'
#' @importFrom nlme fixef ranef VarCorr
#' @export fixef ranef VarCorr
#' @name reexports
#' @aliases fixef ranef VarCorr
#' @keywords internal
NULL
