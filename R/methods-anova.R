# anova(): likelihood-ratio tests between nested fits of the same data, or
# Wald tests of the fixed-effects terms of one fit.

#' Likelihood-ratio tests and fixed-effects tests
#'
#' With several fits, the likelihood-ratio table of lme4: for each model the
#' number of parameters, AIC, BIC, log-likelihood and -2 log L, and between
#' consecutive models (ordered by the number of parameters) the chi-square
#' statistic (twice the log-likelihood difference), its degrees of freedom
#' and p-value. The fits must use the same observations. REML fits with the
#' same fixed effects are compared through their REML criteria; otherwise
#' (fixed effects that differ, or REML and ML fits together) the REML fits
#' are refitted by maximum likelihood, with a message, as lme4 does (lme4
#' refits REML fits in every case). With one fit of a linear mixed model,
#' an F test of each term of the fixed-effects part as lmerTest's anova
#' gives it: Sum Sq, Mean Sq, NumDF, DenDF, F value and Pr(>F), with type
#' III (lmerTest's default) or type I (sequential) hypotheses and
#' Satterthwaite's or Kenward-Roger's denominator degrees of freedom (see
#' [summary.glmmr()]). With one generalized model (or `ddf = "none"`), a
#' Wald chi-square test for each term.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Further fitted `"glmmr"` models.
#' @param type,ddf For one linear mixed model: the type of the hypotheses
#'   (`"III"` or `"I"`) and the denominator degrees of freedom
#'   (`"Satterthwaite"`, `"Kenward-Roger"`, which needs a REML fit, or
#'   `"none"` for Wald chi-square tests).
#' @return A data frame of class `"anova"`.
#' @examples
#' m0 <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
#' m1 <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' anova(m0, m1)
#' anova(m1)
#' @export
anova.glmmr <- function(object, ..., type = c("III", "I"),
                        ddf = c("Satterthwaite", "Kenward-Roger", "none")) {
  models <- c(list(object), list(...))
  if (!all(vapply(models, inherits, TRUE, "glmmr"))) {
    stop("all arguments of anova() must be glmmr fits", call. = FALSE)
  }
  if (length(models) == 1L) {
    if (!is.character(type) || !type[1L] %in% c("III", "I", "3", "1")) {
      stop("`type` must be \"III\" or \"I\"", call. = FALSE)
    }
    type <- if (type[1L] %in% c("III", "3")) "III" else "I"
    ddf <- ddf_method(object, ddf, !missing(ddf))
    if (ddf == "none") return(wald_terms_table(object))
    return(ddf_anova_table(object, type, ddf))
  }
  if (!missing(type) || !missing(ddf)) {
    stop("`type` and `ddf` apply to the tests of one model, not to the ",
         "likelihood-ratio tests of several", call. = FALSE)
  }
  names(models) <- vapply(as.list(substitute(list(object, ...)))[-1L], deparse1, "")
  n <- vapply(models, nobs, 0)
  if (length(unique(n)) != 1L ||
      !all(vapply(models, function(m) isTRUE(all.equal(m$y, models[[1L]]$y)), TRUE))) {
    stop("the models were not all fitted to the same data (different ",
         "observations or responses)", call. = FALSE)
  }
  # REML criteria are comparable only between fits with the same fixed
  # effects (and not with ML log-likelihoods): otherwise the REML fits are
  # refitted by ML, as lme4's anova() does
  reml <- vapply(models, function(m) isTRUE(m$REML), TRUE)
  same_x <- all(vapply(models, function(m) {
    isTRUE(all.equal(unname(m$X), unname(models[[1L]]$X), check.attributes = FALSE))
  }, TRUE))
  if (any(reml) && !(all(reml) && same_x)) {
    message("refitting model(s) with ML (instead of REML)")
    models[reml] <- lapply(models[reml], ml_fit)
  }
  ll <- lapply(models, logLik)
  npar <- vapply(ll, attr, 0, "df")
  ord <- order(npar)
  models <- models[ord]
  ll <- ll[ord]
  npar <- npar[ord]
  logl <- vapply(ll, as.numeric, 0)
  chisq <- c(NA, 2 * diff(logl))
  df <- c(NA, diff(npar))
  p <- ifelse(!is.na(df) & df > 0, stats::pchisq(chisq, df, lower.tail = FALSE), NA)
  tab <- data.frame(npar = npar,
                    AIC = vapply(models, stats::AIC, 0),
                    BIC = vapply(models, stats::BIC, 0),
                    logLik = logl, "-2 log L" = -2 * logl,
                    Chisq = chisq, Df = df, "Pr(>Chisq)" = p,
                    check.names = FALSE, row.names = names(models))
  structure(tab, heading = "Likelihood-ratio tests of nested models\n",
            class = c("anova", "data.frame"))
}

#' Wald chi-square tests of each fixed-effects term
#' @noRd
wald_terms_table <- function(object) {
  X <- object$X
  asgn <- attr(X, "assign")
  labels <- attr(object$fixed_terms, "term.labels")
  v <- vcov(object)
  rows <- list()
  for (k in sort(unique(asgn[asgn > 0]))) {
    idx <- which(asgn == k)
    b <- object$beta[idx]
    stat <- drop(t(b) %*% solve(v[idx, idx, drop = FALSE], b))
    rows[[labels[k]]] <- c(Df = length(idx), Chisq = stat,
                           "Pr(>Chisq)" = stats::pchisq(stat, length(idx), lower.tail = FALSE))
  }
  tab <- as.data.frame(do.call(rbind, rows), check.names = FALSE)
  structure(tab, heading = "Wald chi-square tests of the fixed-effects terms\n",
            class = c("anova", "data.frame"))
}

#' @importFrom stats anova
NULL
