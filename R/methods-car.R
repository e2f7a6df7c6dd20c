# car::Anova() for glmmr fits: the Wald chi-square tests of the fixed-effects
# terms that car gives for lme4 fits (its Anova.merMod method). car's default
# method reads coef(), which for a mixed model is the per-level table, so
# glmmr has its own method, built like car's for merMod from fixef(),
# vcov(), terms() and the "assign" attribute of model.matrix().

#' Wald chi-square tests of the fixed-effects terms (car::Anova)
#'
#' The method of [car::Anova()] for glmmr fits, as car's method for lme4
#' fits: for each term of the fixed-effects part, the Wald chi-square
#' statistic of the hypothesis that its coefficients are zero, with the
#' covariance matrix `vcov.` of the fixed effects. Type II tests each term
#' after the terms not containing it (marginality respected, car's
#' construction of the hypothesis orthogonal to the term's relatives in the
#' metric of `vcov.`); type III tests each term, the intercept included,
#' given all the others (meaningful with sum-to-zero contrasts).
#'
#' @param mod A fitted `"glmmr"` model.
#' @param type `"II"` (the default) or `"III"`, also given as 2 or 3.
#' @param test.statistic `"Chisq"`, the only one available (car's `"F"`
#'   for lme4 fits uses Kenward-Roger degrees of freedom from pbkrtest,
#'   which needs an lme4 fit).
#' @param vcov. The covariance matrix of the fixed effects (by default
#'   `vcov(mod)`), or a function computing it from `mod`.
#' @param singular.ok Allow aliased coefficients (glmmr drops them, so
#'   there are none).
#' @param ... Unused.
#' @return An `"anova"` data frame with columns `Chisq`, `Df` and
#'   `Pr(>Chisq)`, a row per term, as car's.
#' @examples
#' if (requireNamespace("car", quietly = TRUE)) {
#'   m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#'   car::Anova(m)
#' }
#' @rdname glmmr-car
#' @exportS3Method car::Anova
Anova.glmmr <- function(mod, type = c("II", "III", 2, 3),
                        test.statistic = c("Chisq", "F"), vcov. = vcov(mod),
                        singular.ok, ...) {
  type <- as.character(type)
  type <- match.arg(type)
  type <- switch(type, `2` = "II", `3` = "III", type)
  test.statistic <- match.arg(test.statistic)
  if (test.statistic == "F") {
    stop("`test.statistic = \"F\"` (Kenward-Roger F tests) is not available ",
         "for glmmr fits; use the Wald chi-square tests (\"Chisq\")",
         call. = FALSE)
  }
  if (is.function(vcov.)) vcov. <- vcov.(mod)
  V <- as.matrix(vcov.)
  b <- fixef(mod)
  if (!identical(dim(V), c(length(b), length(b)))) {
    stop("`vcov.` must be a square matrix with a row per fixed effect",
         call. = FALSE)
  }
  tt <- stats::terms(mod)
  assign <- attr(stats::model.matrix(mod), "assign")
  intercept <- "(Intercept)" %in% names(b)
  labels <- attr(tt, "term.labels")
  I_p <- diag(length(b))
  wald <- function(L) {
    L <- L[apply(L, 1L, function(r) any(r != 0)), , drop = FALSE]
    if (!nrow(L)) return(c(NA, 0))
    est <- L %*% b
    c(drop(t(est) %*% solve(L %*% V %*% t(L), est)), nrow(L))
  }
  if (type == "III") {
    names <- c(if (intercept) "(Intercept)", labels)
    res <- lapply(seq_along(names), function(i) {
      wald(I_p[which(assign == i - intercept), , drop = FALSE])
    })
    heading <- "Analysis of Deviance Table (Type III Wald chisquare tests)\n"
  } else {
    names <- labels
    fac <- attr(tt, "factors")
    res <- lapply(seq_along(names), function(i) {
      rel <- car_relatives(names[i], names, fac)
      sub_rel <- which(assign %in% rel)
      H1 <- I_p[sub_rel, , drop = FALSE]
      H2 <- I_p[c(sub_rel, which(assign == i)), , drop = FALSE]
      L <- if (nrow(H1) == 0L) H2 else t(conj_comp(t(H1), t(H2), V))
      wald(L)
    })
    heading <- "Analysis of Deviance Table (Type II Wald chisquare tests)\n"
  }
  stat <- vapply(res, `[`, 0, 1L)
  df <- vapply(res, `[`, 0, 2L)
  result <- data.frame(stat, df, stats::pchisq(stat, df, lower.tail = FALSE))
  row.names(result) <- names
  names(result) <- c("Chisq", "Df", "Pr(>Chisq)")
  class(result) <- c("anova", "data.frame")
  attr(result, "heading") <- c(heading, paste("Response:",
                                              deparse(attr(tt, "variables")[[2L]])))
  result
}

#' The terms a term is marginal to: those whose factors include all of its
#' own (car's relatives(), for type II tests)
#' @noRd
car_relatives <- function(term, names, factors) {
  if (length(names) == 1L) return(integer(0))
  is_relative <- function(t1, t2) all(!(factors[, t1] & !factors[, t2]))
  which_term <- which(term == names)
  others <- seq_along(names)[-which_term]
  others[vapply(names[-which_term], function(t2) is_relative(term, t2), NA)]
}

#' The complement of span(X) in span(Z), orthogonal in the inner product
#' ip (car's ConjComp())
#' @noRd
conj_comp <- function(X, Z, ip) {
  xq <- qr(t(Z) %*% ip %*% X)
  if (xq$rank == 0) return(Z)
  Z %*% qr.Q(xq, complete = TRUE)[, -seq_len(xq$rank), drop = FALSE]
}
