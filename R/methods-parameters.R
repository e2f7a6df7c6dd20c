# parameters::model_parameters() for glmmr fits.
#
# parameters' default method (and its ci(), p_value(), ...) refuses any
# object whose class is not on insight's fixed list of supported models
# (insight::is_model()), and insight has no way for another package to add a
# class. So glmmr gives model_parameters() a method of its own, which builds
# the table parameters builds for an lme4 fit of the same model, from the
# pieces glmmr already has (vcov, VarCorr, ranef, the lmerTest-style
# denominator degrees of freedom), with the attributes parameters' print,
# format and insight::standardize_names() methods read.

#' Model parameters of a glmmr fit, as the parameters package gives them
#'
#' A method for [parameters::model_parameters()]: the fixed effects with
#' standard errors, confidence intervals and tests, and the random-effect
#' standard deviations and correlations (or, with `group_level = TRUE`, the
#' conditional modes), in the rows and columns parameters gives for the
#' same model fitted by lme4.
#'
#' @param model A [glmmr()] fit.
#' @param ci The confidence level of the intervals.
#' @param ci_method How the intervals and p-values of the fixed effects are
#'   computed: `"residual"` (t with the residual degrees of freedom, the
#'   default for a linear mixed model, as for an lme4 fit), `"wald"` (the same
#'   for a linear model; z for a generalized one, its default), `"normal"`
#'   (z), `"satterthwaite"` or `"kenward"` (`"kr"`) (t with lmerTest's
#'   denominator degrees of freedom; Kenward-Roger also adjusts the standard
#'   errors and needs a REML fit) or `"profile"` (profile-likelihood
#'   intervals, [profile.glmmr()]).
#' @param effects `"all"`, `"fixed"` or `"random"`.
#' @param group_level With `TRUE`, the random rows are the conditional modes
#'   of the random effects (with their conditional standard deviations)
#'   instead of the variance parameters.
#' @param exponentiate Exponentiate the fixed effects and their intervals
#'   (odds or rate ratios).
#' @param p_adjust `NULL`, or a [stats::p.adjust()] method applied to the
#'   fixed effects' p-values.
#' @param keep,drop `NULL`, or regular expressions: keep (or drop) the rows
#'   whose parameter name matches.
#' @param component `"all"` or `"conditional"`: a glmmr model has only the
#'   conditional component.
#' @param bootstrap Only `FALSE`: bootstrap intervals come from
#'   `confint(model, method = "boot")` or [bootstrap()].
#' @param iterations Unused without `bootstrap`; accepted as parameters'
#'   callers (sjPlot) pass it.
#' @param standardize Only `NULL`.
#' @param verbose Unused (glmmr has no warnings to give here); accepted as
#'   parameters' callers pass it.
#' @param ... Must be empty: an unknown argument is an error.
#' @return A data frame of class `"parameters_model"`, as parameters returns.
#' @examplesIf requireNamespace("parameters", quietly = TRUE)
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' parameters::model_parameters(m)
#' parameters::model_parameters(m, ci_method = "satterthwaite", effects = "fixed")
#' @exportS3Method parameters::model_parameters
model_parameters.glmmr <- function(model, ci = 0.95, ci_method = NULL, effects = "all",
                                   group_level = FALSE, exponentiate = FALSE,
                                   p_adjust = NULL, keep = NULL, drop = NULL,
                                   component = "all", bootstrap = FALSE,
                                   iterations = 1000, standardize = NULL,
                                   verbose = TRUE, ...) {
  check_dots(...)
  if (!is.numeric(ci) || length(ci) != 1L || !(ci > 0 && ci < 1)) {
    stop("`ci` must be a number between 0 and 1", call. = FALSE)
  }
  effects <- match_choice(effects, c("all", "fixed", "random"), "effects")
  component <- match_choice(component, c("all", "conditional"), "component")
  for (a in c("group_level", "exponentiate", "bootstrap")) {
    v <- get(a)
    if (!is.logical(v) || length(v) != 1L || is.na(v)) {
      stop("`", a, "` must be TRUE or FALSE", call. = FALSE)
    }
  }
  if (bootstrap) {
    stop("`bootstrap` = TRUE is not supported: use confint(model, method = \"boot\") ",
         "or bootstrap()", call. = FALSE)
  }
  if (!is.null(standardize)) {
    stop("`standardize` is not supported for a glmmr fit", call. = FALSE)
  }
  linear <- is.na(model$nAGQ)
  ci_method <- params_ci_method(ci_method, linear)

  fixed <- if (effects != "random") {
    params_fixed(model, ci, ci_method, exponentiate, p_adjust, keep, drop)
  }
  random <- if (effects != "fixed") {
    if (group_level) params_group_level(model, ci) else params_variances(model, ci)
  }
  out <- params_bind(fixed, random, group_level)
  # as for lme4 fits, no Group column when there are no random rows
  if (effects == "fixed") out$Group <- NULL
  params_attributes(out, model, ci, ci_method, exponentiate, group_level,
                    object_name = deparse1(substitute(model)))
}

#' One of a set of strings, or an error naming the argument
#' @noRd
match_choice <- function(x, choices, arg) {
  if (!is.character(x) || length(x) != 1L || !x %in% choices) {
    stop("`", arg, "` must be one of ", paste0('"', choices, '"', collapse = ", "),
         call. = FALSE)
  }
  x
}

#' The interval method, with parameters' default for the model kind
#' (residual t for a linear mixed model, Wald z otherwise)
#' @noRd
params_ci_method <- function(ci_method, linear) {
  if (is.null(ci_method)) return(if (linear) "residual" else "wald")
  known <- c("wald", "normal", "residual", "satterthwaite", "kenward", "kr", "profile")
  ci_method <- match_choice(tolower(ci_method), known, "ci_method")
  if (ci_method == "kr") ci_method <- "kenward"
  if (!linear && ci_method %in% c("satterthwaite", "kenward")) {
    stop("`ci_method` = \"", ci_method, "\" applies to linear mixed models only",
         call. = FALSE)
  }
  ci_method
}

#' The fixed-effects rows: estimate, SE, interval, statistic, df and p
#'
#' `keep` and `drop` select among the fixed effects before the p-values are
#' adjusted, as parameters does (the random rows stay).
#' @noRd
params_fixed <- function(model, ci, ci_method, exponentiate, p_adjust, keep, drop) {
  linear <- is.na(model$nAGQ)
  beta <- model$beta
  q <- (1 + ci) / 2
  if (ci_method %in% c("satterthwaite", "kenward")) {
    ddf <- ddf_method(model, if (ci_method == "kenward") "Kenward-Roger" else "Satterthwaite",
                      given = TRUE)
    tab <- ddf_coef_table(model, ddf)
    se <- tab[, "Std. Error"]
    df <- tab[, "df"]
  } else {
    se <- sqrt(diag(vcov(model)))
    # parameters gives lme4 fits of linear models t tests on the residual
    # degrees of freedom, generalized ones z tests (infinite df); asked for
    # "residual", a generalized model's intervals and p-values use the t
    # distribution on the residual df while its df column stays Inf
    df <- rep(if (linear) stats::df.residual(model) else Inf, length(beta))
  }
  stat <- beta / se
  df_used <- if (!linear && ci_method == "residual") stats::df.residual(model) else df
  if (linear && ci_method == "normal") {
    half <- stats::qnorm(q) * se
    p <- 2 * stats::pnorm(-abs(stat))
  } else {
    half <- stats::qt(q, df_used) * se
    p <- 2 * stats::pt(-abs(stat), df_used)
  }
  low <- beta - half
  high <- beta + half
  if (ci_method == "profile") {
    pr <- suppressMessages(confint(model, parm = names(beta), level = ci, method = "profile"))
    low <- pr[, 1L]
    high <- pr[, 2L]
  }
  if (linear && ci_method %in% c("wald", "normal", "residual")) df <- as.integer(round(df))
  rows <- rep(TRUE, length(beta))
  if (!is.null(keep)) rows <- rows & grepl(paste(keep, collapse = "|"), names(beta), perl = TRUE)
  if (!is.null(drop)) rows <- rows & !grepl(paste(drop, collapse = "|"), names(beta), perl = TRUE)
  if (!is.null(p_adjust)) {
    p_adjust <- match_choice(p_adjust, stats::p.adjust.methods, "p_adjust")
    p[rows] <- stats::p.adjust(p[rows], method = p_adjust)
  }
  if (exponentiate) {
    se <- se * exp(beta)
    beta <- exp(beta)
    low <- exp(low)
    high <- exp(high)
  }
  d <- data.frame(Parameter = names(model$beta), Coefficient = unname(beta),
                  SE = unname(se), CI = ci, CI_low = unname(low), CI_high = unname(high),
                  stat = unname(stat),
                  df_error = unname(df), p = unname(p), Effects = "fixed", Group = "",
                  stringsAsFactors = FALSE)
  d <- d[rows, , drop = FALSE]
  names(d)[names(d) == "stat"] <- if (linear) "t" else "z"
  d
}

#' The random-effect standard deviations and correlations, each term's
#' standard deviations before its correlations, and the residual standard
#' deviation last (parameters' rows for an lme4 fit; no intervals, as
#' parameters gives none for lme4 without merDeriv)
#' @noRd
params_variances <- function(model, ci) {
  vc <- VarCorr(model)
  groups <- names(vc)
  rows <- list()
  add <- function(par, est, group) {
    rows[[length(rows) + 1L]] <<- data.frame(
      Parameter = par, Coefficient = unname(est), SE = NA_real_, CI = ci,
      CI_low = NA_real_, CI_high = NA_real_, Effects = "random", Group = group,
      stringsAsFactors = FALSE)
  }
  for (g in seq_along(vc)) {
    cv <- vc[[g]]
    # parameters writes lme4's "(Intercept)" as "Intercept" here
    nm <- sub("^\\(Intercept\\)$", "Intercept", rownames(cv))
    sd <- attr(cv, "stddev")
    for (i in seq_along(nm)) add(paste0("SD (", nm[i], ")"), sd[i], groups[g])
    cr <- attr(cv, "correlation")
    k <- length(nm)
    for (j in seq_len(k - 1L)) for (i in (j + 1L):k) {
      add(paste0("Cor (", nm[j], "~", nm[i], ")"), cr[i, j], groups[g])
    }
  }
  if (isTRUE(attr(vc, "useSc"))) add("SD (Observations)", attr(vc, "sc"), "Residual")
  do.call(rbind, rows)
}

#' The conditional modes, with normal intervals from their conditional
#' standard deviations
#' @noRd
params_group_level <- function(model, ci) {
  r <- as.data.frame(ranef(model, condVar = TRUE))
  half <- stats::qnorm((1 + ci) / 2) * r$condsd
  data.frame(Parameter = as.character(r$term), Level = as.character(r$grp),
             Coefficient = r$condval, SE = r$condsd, CI = ci,
             CI_low = r$condval - half, CI_high = r$condval + half,
             Effects = "random", Group = as.character(r$grpvar),
             stringsAsFactors = FALSE)
}

#' Fixed and random rows in one frame, in parameters' column order
#' @noRd
params_bind <- function(fixed, random, group_level) {
  frames <- Filter(Negate(is.null), list(fixed, random))
  out <- bind_rows_fill(frames)
  stat <- intersect(c("t", "z"), names(out))
  cols <- c("Parameter", if (group_level && !is.null(random)) "Level", "Coefficient",
            "SE", "CI", "CI_low", "CI_high", stat,
            if (!is.null(fixed)) c("df_error", "p"), "Effects", "Group")
  out[intersect(cols, names(out))]
}

#' The attributes parameters' print and format methods read
#' @noRd
params_attributes <- function(out, model, ci, ci_method, exponentiate, group_level,
                              object_name) {
  linear <- is.na(model$nAGQ)
  fam <- model$family
  log_link <- fam$link %in% c("log", "logit", "cloglog")
  pretty <- parameters::format_parameters(model)
  labels <- out$Parameter
  fixed_rows <- out$Effects == "fixed"
  labels[fixed_rows] <- ifelse(out$Parameter[fixed_rows] %in% names(pretty),
                               pretty[out$Parameter[fixed_rows]], out$Parameter[fixed_rows])
  names(labels) <- out$Parameter
  method_name <- switch(ci_method, wald = if (linear) "residual" else "Wald",
                        normal = "normal", residual = "residual",
                        satterthwaite = "satterthwaite", kenward = "kenward",
                        profile = "profile")
  coef_name <- if (exponentiate) {
    switch(fam$link, logit = "Odds Ratio", log = if (fam$family == "binomial") "Risk Ratio" else "IRR",
           "exp(Coefficient)")
  } else {
    switch(fam$link, logit = "Log-Odds", probit = "Z-Score", log = if (fam$family == "binomial") "Log-Risk" else "Log-Mean",
           "Coefficient")
  }
  attrs <- list(
    pretty_names = pretty, ci = ci, ci_method = method_name, df_method = method_name,
    verbose = TRUE, exponentiate = exponentiate, ordinal_model = FALSE,
    linear_model = linear, mixed_model = TRUE, n_obs = as.integer(stats::nobs(model)),
    model_class = "glmmr", bootstrap = FALSE, iterations = 1000, robust_vcov = FALSE,
    ignore_group = !group_level, ran_pars = !group_level, show_summary = FALSE,
    log_link = log_link, pretty_labels = labels,
    test_statistic = if (linear) "t-statistic" else "z-statistic",
    log_response = FALSE, log_predictors = FALSE,
    weighted_nobs = sum(model$weights),
    model_formula = deparse1(formula(model, fixed.only = TRUE)),
    coefficient_name = coef_name, zi_coefficient_name = "Log-Odds",
    digits = 2, ci_digits = 2, p_digits = 3, footer_digits = 3,
    object_name = object_name)
  for (a in names(attrs)) attr(out, a) <- attrs[[a]]
  class(out) <- c("parameters_model", "see_parameters_model", "data.frame")
  out
}
