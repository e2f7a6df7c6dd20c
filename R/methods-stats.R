# stats and lme4 habits: extractAIC() (for drop1()), the long format of
# ranef(), and the parts of the formula (formula(m, fixed.only = TRUE),
# formula(m, random.only = TRUE), in methods-extract.R).

#' AIC of a fit for step-wise comparisons (drop1)
#'
#' As lme4: the equivalent degrees of freedom (the number of parameters) and
#' the AIC of the fit, of its refit by maximum likelihood for a REML fit (so
#' that models with different fixed effects are compared by their
#' likelihoods), which lets [stats::drop1()] work on a glmmr fit.
#'
#' @param fit A fitted `"glmmr"` model.
#' @param scale Unused (as in lme4).
#' @param k The penalty per parameter (2 for AIC).
#' @param ... Unused; an error if given.
#' @return A numeric vector: the number of parameters and the AIC.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' extractAIC(m)
#' drop1(m, test = "Chisq")
#' @importFrom stats extractAIC
#' @export
extractAIC.glmmr <- function(fit, scale = 0, k = 2, ...) {
  check_dots(...)
  if (!is.numeric(k) || length(k) != 1L || !is.finite(k)) {
    stop("`k` must be a single finite number", call. = FALSE)
  }
  if (isTRUE(fit$REML)) fit <- ml_fit(fit)
  ll <- logLik(fit)
  edf <- attr(ll, "df")
  c(edf, -2 * as.numeric(ll) + k * edf)
}

#' Random effects in long format
#'
#' lme4's layout of `as.data.frame(ranef(m, condVar = TRUE))`: a row per
#' level and column of each grouping factor, with the factor's name
#' (`grpvar`), the column (`term`), the level (`grp`, a factor whose levels
#' are ordered by the level's first random effect, as lme4's, for dot plots
#' in that order), the conditional mode
#' (`condval`) and, when `ranef()` was called with `condVar = TRUE`, the
#' conditional standard deviation (`condsd`).
#'
#' @param x The result of [ranef.glmmr()].
#' @param row.names,optional Unused, for the generic; errors if given.
#' @param ... Unused; an error if given.
#' @return A data frame.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' head(as.data.frame(ranef(m, condVar = TRUE)))
#' @export
as.data.frame.ranef.glmmr <- function(x, row.names = NULL, optional = FALSE, ...) {
  check_dots(...)
  if (!is.null(row.names) || !isFALSE(optional)) {
    stop("`row.names` and `optional` are not used by as.data.frame() of ",
         "ranef()", call. = FALSE)
  }
  rows <- lapply(names(x), function(g) {
    re <- x[[g]]
    pv <- attr(re, "postVar")
    # lme4's grp: the levels ordered by their first random effect
    grp <- stats::reorder(factor(rownames(re)), re[[1L]], FUN = mean)
    do.call(rbind, lapply(seq_along(re), function(j) {
      d <- data.frame(grpvar = g, term = factor(names(re)[j], levels = names(re)),
                      grp = grp, condval = re[[j]],
                      stringsAsFactors = FALSE)
      if (!is.null(pv)) d$condsd <- sqrt(pv[j, j, ])
      d
    }))
  })
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  out
}
