# ngrps() and isSingular(), which lme4 users call on fits: glmmr has its own
# (generic) versions, and when lme4 is loaded its ngrps() and getME() also
# learn glmmr fits, so lme4::isSingular() and lme4::ngrps() work on them too.

#' Number of levels of each grouping factor
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused.
#' @return A named integer vector: the number of levels per grouping factor.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' ngrps(m)
#' @export
ngrps <- function(object, ...) UseMethod("ngrps")

#' @rdname ngrps
#' @export
ngrps.glmmr <- function(object, ...) group_sizes(object)

#' Is the fit singular?
#'
#' A fit is singular when a variance component is estimated as zero (a
#' relative covariance factor with a zero on its diagonal), as lme4 defines
#' it.
#'
#' @param x A fitted `"glmmr"` model.
#' @param tol Diagonal elements of the relative covariance factor below this
#'   count as zero.
#' @param ... Unused.
#' @return `TRUE` or `FALSE`.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' isSingular(m)
#' @export
isSingular <- function(x, tol = 1e-4, ...) UseMethod("isSingular")

#' @rdname isSingular
#' @export
isSingular.glmmr <- function(x, tol = 1e-4, ...) {
  lower <- theta_lower(x)
  any(x$theta[lower == 0] < tol)
}

#' 0 for the diagonal elements of each term's lambda, -Inf elsewhere
#' (lme4's "lower")
#' @noRd
theta_lower <- function(x) {
  unlist(lapply(x$reterms, function(t) {
    k <- length(t$cnms)
    m <- matrix(-Inf, k, k)
    diag(m) <- 0
    m[lower.tri(m, diag = TRUE)]
  }))
}

#' lme4's getME() for the pieces its own helpers ask of a fit
#' @noRd
getME_glmmr <- function(object, name, ...) {
  switch(name,
         theta = object$theta,
         lower = theta_lower(object),
         beta = unname(object$beta),
         X = object$X,
         Z = model.matrix(object, type = "random"),
         stop("getME(): '", name, "' is not available for glmmr fits", call. = FALSE))
}

.onLoad <- function(libname, pkgname) {
  register_lme4 <- function(...) {
    ns <- asNamespace("lme4")
    registerS3method("ngrps", "glmmr", ngrps.glmmr, envir = ns)
    registerS3method("getME", "glmmr", getME_glmmr, envir = ns)
  }
  if (isNamespaceLoaded("lme4")) register_lme4()
  setHook(packageEvent("lme4", "onLoad"), register_lme4)
  invisible()
}
