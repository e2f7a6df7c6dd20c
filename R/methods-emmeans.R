# emmeans support for glmmr fits: recover_data() and emm_basis(), as the
# emmeans vignette "xtending" describes, registered lazily for emmeans'
# generics. They follow emmeans' methods for lme4's fits (merMod).

#' Estimated marginal means of glmmr fits (emmeans)
#'
#' glmmr registers methods for emmeans' `recover_data()` and `emm_basis()`,
#' so that `emmeans::emmeans(m, ~ f)`, `emmeans::ref_grid(m)`, `pairs()`,
#' `contrast()` and the rest of emmeans work on a glmmr fit `m`: estimates
#' and standard errors from the fixed effects and [vcov.glmmr()], for a
#' generalized model on the link scale with the link known to emmeans
#' (`type = "response"` back-transforms). Aliased columns dropped at the fit
#' make the estimates that need them non-estimable, as for lme4's fits.
#'
#' The degrees of freedom are infinite (asymptotic z tests and intervals),
#' for linear mixed models too: emmeans gives lme4's linear mixed models
#' Kenward-Roger or Satterthwaite degrees of freedom (and, with
#' Kenward-Roger, an adjusted covariance matrix) when pbkrtest or lmerTest
#' is installed, which glmmr does not compute; its estimates and standard
#' errors are those of `emmeans(lmer_fit, ..., lmer.df = "asymptotic")`.
#'
#' @param object A fitted `"glmmr"` model.
#' @param trms,xlev,grid As emmeans passes them.
#' @param vcov. Optional covariance matrix of the fixed effects, or a
#'   function of the fit that returns one, as in emmeans.
#' @param ... Further arguments from emmeans.
#' @return `recover_data()`: the data of the fit; `emm_basis()`: the list
#'   emmeans builds its reference grid from.
#' @examplesIf requireNamespace("emmeans", quietly = TRUE)
#' gm1 <- glmmr(use ~ 1 + age + I(age^2) + urban + livch + (1 | dist), contra,
#'              family = binomial, nAGQ = 9,
#'              contrasts = list(urban = "contr.helmert"))
#' emm <- emmeans::emmeans(gm1, ~ livch)
#' emm
#' pairs(emm)
#' emmeans::emmeans(gm1, ~ urban, type = "response")
#' @name glmmr-emmeans
#' @aliases recover_data.glmmr emm_basis.glmmr
NULL

#' @rdname glmmr-emmeans
#' @exportS3Method emmeans::recover_data
recover_data.glmmr <- function(object, ...) {
  emmeans::recover_data(object$call, stats::delete.response(object$fixed_terms),
                        attr(object$frame, "na.action"), frame = object$frame, ...)
}

#' @rdname glmmr-emmeans
#' @exportS3Method emmeans::emm_basis
emm_basis.glmmr <- function(object, trms, xlev, grid, vcov., ...) {
  # the covariance emmeans is asked to use, or the fit's (vcov.glmmr()
  # refuses the further arguments emmeans passes along in `...`)
  V <- if (missing(vcov.)) vcov(object) else emmeans::.my.vcov(object, vcov.)
  V <- unclass(V)
  attr(V, "type") <- NULL
  contrasts <- object$contrasts
  m <- stats::model.frame(trms, grid, na.action = stats::na.pass, xlev = xlev)
  X <- stats::model.matrix(trms, m, contrasts.arg = contrasts)
  bhat <- fixef(object)
  if (length(bhat) < ncol(X)) {
    # aliased columns dropped at the fit: NA coefficients, and the
    # estimability check against the full model matrix
    kept <- match(names(bhat), colnames(X))
    bhat <- NA * X[1, ]
    bhat[kept] <- fixef(object)
    modmat <- stats::model.matrix(trms, object$frame, contrasts.arg = contrasts)
    nbasis <- estimability::nonest.basis(modmat)
  } else {
    nbasis <- estimability::all.estble
  }
  misc <- list()
  if (!is.na(object$nAGQ)) misc <- emmeans::.std.link.labels(object$family, misc)
  dffun <- function(k, dfargs) Inf
  # emmeans names the method for linear mixed models (where it has several)
  if (is.na(object$nAGQ)) attr(dffun, "mesg") <- "asymptotic"
  list(X = X, bhat = bhat, nbasis = nbasis, V = V, dffun = dffun,
       dfargs = list(), misc = misc,
       model.matrix = emmeans::.cmpMM(object$X, object$weights,
                                      attr(object$X, "assign")))
}
