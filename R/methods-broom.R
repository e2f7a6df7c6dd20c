# broom.mixed's verbs for glmmr fits: tidy(), glance() and augment() are the
# generics of the 'generics' package (broom and broom.mixed re-export them),
# so the methods are registered for generics' generics, lazily. Their output
# is what broom.mixed gives for lme4's fit of the same model: the same
# columns, in the same order, with the same meanings.

#' Tidy summaries of a glmmr fit (broom.mixed's tidy, glance, augment)
#'
#' `tidy()` gives a row per parameter: with `effects = "fixed"` the fixed
#' effects (estimate, standard error, z statistic and, for a generalized
#' model, its p-value: for a linear mixed model lme4 and broom.mixed give
#' none, and neither does glmmr), with `"ran_pars"` the standard deviations
#' and correlations of the random effects and the residual standard
#' deviation (`scales = "vcov"`: variances and covariances), with
#' `"ran_vals"` the conditional modes of the random effects and their
#' conditional standard deviations. `conf.int = TRUE` adds Wald intervals
#' (fixed effects and conditional modes; `NA` for the variance parameters,
#' as for lme4's fits with `conf.method = "Wald"`). `glance()` gives one row
#' of fit statistics and `augment()` the data with fitted values,
#' residuals, the fixed-effects prediction, hat values and Cook's distances
#' (computed as lme4 computes them, from the penalized least-squares system
#' at the estimates) and the working quantities broom.mixed takes from an
#' lme4 fit.
#'
#' @param x A fitted `"glmmr"` model.
#' @param effects Any of `"fixed"`, `"ran_pars"` and `"ran_vals"`.
#' @param scales For `"ran_pars"`: `"sdcor"` (the default) or `"vcov"`, one
#'   value per element of `effects` (`NA` for the others), as broom.mixed.
#' @param exponentiate Exponentiate the fixed effects and their intervals
#'   (the standard error by the delta method).
#' @param conf.int Add confidence intervals.
#' @param conf.level Their level.
#' @param conf.method `"Wald"` (the only method here).
#' @param data For `augment()`: the data to augment, by default the model
#'   frame.
#' @param newdata For `augment()`: new data, which gets `.fitted` only.
#' @param ... Unused; an error if given.
#' @return A tibble (a data frame if the tibble package is missing).
#' @examplesIf requireNamespace("broom.mixed", quietly = TRUE)
#' library(broom.mixed)
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' tidy(m, conf.int = TRUE)
#' tidy(m, effects = "ran_vals")
#' glance(m)
#' head(augment(m))
#' @name glmmr-broom
#' @aliases tidy.glmmr glance.glmmr augment.glmmr
NULL

#' @rdname glmmr-broom
#' @exportS3Method generics::tidy
tidy.glmmr <- function(x, effects = c("ran_pars", "fixed"), scales = NULL,
                       exponentiate = FALSE, conf.int = FALSE, conf.level = 0.95,
                       conf.method = "Wald", ...) {
  check_dots(...)
  known <- c("fixed", "ran_pars", "ran_vals")
  if (!is.character(effects) || !length(effects) || !all(effects %in% known)) {
    stop("`effects` must be some of ", paste0('"', known, '"', collapse = ", "),
         call. = FALSE)
  }
  if (!is.null(scales) && length(scales) != length(effects)) {
    stop("`scales` must have a value (or NA) for each element of `effects`",
         call. = FALSE)
  }
  for (a in c("exponentiate", "conf.int")) {
    v <- get(a)
    if (!is.logical(v) || length(v) != 1L || is.na(v)) {
      stop("`", a, "` must be TRUE or FALSE", call. = FALSE)
    }
  }
  if (!is.numeric(conf.level) || length(conf.level) != 1L || !(conf.level > 0 && conf.level < 1)) {
    stop("`conf.level` must be a number between 0 and 1", call. = FALSE)
  }
  if (!identical(conf.method, "Wald")) {
    stop("`conf.method` must be \"Wald\" (profile and bootstrap intervals: ",
         "confint(m, method = ))", call. = FALSE)
  }
  q <- stats::qnorm((1 + conf.level) / 2)
  out <- list()
  if ("fixed" %in% effects) {
    se <- sqrt(diag(vcov(x)))
    d <- data.frame(effect = "fixed", term = names(x$beta),
                    estimate = unname(x$beta), std.error = unname(se),
                    statistic = unname(x$beta / se), stringsAsFactors = FALSE)
    # lme4 (and so broom.mixed) gives p-values for generalized models only
    if (!is.na(x$nAGQ)) d$p.value <- 2 * stats::pnorm(-abs(d$statistic))
    if (conf.int) {
      d$conf.low <- d$estimate - q * d$std.error
      d$conf.high <- d$estimate + q * d$std.error
    }
    if (exponentiate) {
      cols <- intersect(c("estimate", "conf.low", "conf.high"), names(d))
      d[cols] <- lapply(d[cols], exp)
      d$std.error <- d$std.error * d$estimate
    }
    out$fixed <- d
  }
  if ("ran_pars" %in% effects) {
    scale <- if (is.null(scales)) "sdcor" else scales[effects == "ran_pars"]
    if (!scale %in% c("sdcor", "vcov")) {
      stop("`scales` for \"ran_pars\" must be \"sdcor\" or \"vcov\"", call. = FALSE)
    }
    d <- ran_pars_frame(x, scale)
    if (conf.int) d$conf.low <- d$conf.high <- NA_real_
    out$ran_pars <- d
  }
  if ("ran_vals" %in% effects) {
    r <- as.data.frame(ranef(x, condVar = TRUE))
    d <- data.frame(effect = "ran_vals", group = r$grpvar, level = as.character(r$grp),
                    term = as.character(r$term), estimate = r$condval,
                    std.error = r$condsd, stringsAsFactors = FALSE)
    if (conf.int) {
      d$conf.low <- d$estimate - q * d$std.error
      d$conf.high <- d$estimate + q * d$std.error
    }
    out$ran_vals <- d
  }
  # broom.mixed's row order (fixed, ran_pars, ran_vals) and column order
  out <- bind_rows_fill(out[intersect(c("fixed", "ran_pars", "ran_vals"), names(out))])
  cols <- c("effect", "group", "level", "term", "estimate", "std.error",
            "statistic", "p.value", "conf.low", "conf.high")
  as_tibble_if(out[intersect(cols, names(out))])
}

#' The variance parameters as broom.mixed names them (sd__x, cor__x.y,
#' sd__Observation), each term's in lme4's lower-triangle order
#' @noRd
ran_pars_frame <- function(x, scale) {
  vc <- VarCorr(x)
  prefix <- if (scale == "sdcor") c("sd", "cor") else c("var", "cov")
  rows <- list()
  # lme4 names the VarCorr elements of a factor's further terms g.1, g.2
  groups <- make.unique(names(vc))
  for (g in seq_along(vc)) {
    cv <- vc[[g]]
    nm <- rownames(cv)
    k <- nrow(cv)
    sd <- attr(cv, "stddev")
    cr <- attr(cv, "correlation")
    for (j in seq_len(k)) for (i in j:k) {
      diag_el <- i == j
      term <- if (diag_el) paste0(prefix[1], "__", nm[i])
              else paste0(prefix[2], "__", nm[j], ".", nm[i])
      est <- if (scale == "vcov") cv[i, j] else if (diag_el) sd[i] else cr[i, j]
      rows[[length(rows) + 1L]] <- data.frame(effect = "ran_pars", group = groups[g],
                                              term = term, estimate = unname(est),
                                              stringsAsFactors = FALSE)
    }
  }
  if (isTRUE(attr(vc, "useSc"))) {
    sc <- attr(vc, "sc")
    rows[[length(rows) + 1L]] <- data.frame(
      effect = "ran_pars", group = "Residual", term = paste0(prefix[1], "__Observation"),
      estimate = if (scale == "vcov") sc^2 else sc, stringsAsFactors = FALSE)
  }
  do.call(rbind, rows)
}

#' rbind() of data frames with different columns, NA filling the gaps
#' @noRd
bind_rows_fill <- function(frames) {
  cols <- unique(unlist(lapply(frames, names)))
  frames <- lapply(frames, function(d) {
    for (cc in setdiff(cols, names(d))) d[[cc]] <- NA
    d[cols]
  })
  out <- do.call(rbind, frames)
  rownames(out) <- NULL
  out
}

#' A tibble, as broom.mixed returns, when the tibble package is there
#' @noRd
as_tibble_if <- function(d) {
  if (requireNamespace("tibble", quietly = TRUE)) tibble::as_tibble(d) else d
}

#' @rdname glmmr-broom
#' @exportS3Method generics::glance
glance.glmmr <- function(x, ...) {
  check_dots(...)
  ll <- logLik(x)
  out <- data.frame(nobs = x$nobs, sigma = x$sigma, logLik = as.numeric(ll),
                    AIC = stats::AIC(x), BIC = stats::BIC(x),
                    # lme4's deviance(): -2 log L of an LMM, the sum of the
                    # deviance residuals of a GLMM
                    deviance = if (is.na(x$nAGQ)) x$objective else devcomp(x)$cmp[["drsum"]],
                    df.residual = as.integer(df.residual(x)))
  if (isTRUE(x$REML)) names(out)[names(out) == "deviance"] <- "REMLcrit"
  as_tibble_if(out)
}

#' @rdname glmmr-broom
#' @exportS3Method generics::augment
augment.glmmr <- function(x, data = stats::model.frame(x), newdata = NULL, ...) {
  check_dots(...)
  if (!is.null(newdata)) {
    if (!is.data.frame(newdata)) stop("`newdata` must be a data frame", call. = FALSE)
    out <- newdata
    out$.fitted <- unname(predict(x, newdata = newdata))
    return(as_tibble_if(out))
  }
  if (!is.data.frame(data)) stop("`data` must be a data frame", call. = FALSE)
  # the model frame's rows, padded to the data's under na.exclude
  pad <- function(v) unname(stats::napredict(attr(x$frame, "na.action"), v))
  n <- nrow(data)
  if (length(pad(x$eta)) != n) {
    stop("`data` must have the rows of the data the model was fitted to",
         call. = FALSE)
  }
  fam <- x$family
  mu <- fam$linkinv(x$eta)
  hat <- hat_values(x)
  pearson <- model_residuals(x, "pearson")
  p <- qr(x$X)$rank
  cook <- (pearson / (1 - hat))^2 * hat / (x$sigma^2 * p)
  cook[is.infinite(cook)] <- NaN
  # lme4's working quantities: sqrtXwt the square root of the PIRLS
  # weights, sqrtrwt that of the prior weights over the variance, wtres the
  # weighted working residuals
  sqrtrwt <- sqrt(x$weights / fam$variance(mu))
  sqrtXwt <- sqrtrwt * fam$mu.eta(x$eta)
  out <- data
  out$.fitted <- pad(x$eta)
  out$.resid <- unname(residuals(x))
  out$.hat <- pad(hat)
  out$.cooksd <- pad(cook)
  out$.fixed <- unname(predict(x, re.form = NA))
  out$.mu <- pad(mu)
  out$.offset <- pad(x$offset)
  out$.sqrtXwt <- pad(sqrtXwt)
  out$.sqrtrwt <- pad(sqrtrwt)
  out$.weights <- pad(x$weights)
  out$.wtres <- pad(sqrtrwt * (x$y - mu))
  if (!is.na(x$nAGQ)) out$.eta <- pad(x$eta)
  rownames(out) <- NULL
  # without the model frame's attributes (terms, formula), as broom.mixed
  attributes(out) <- attributes(out)[c("names", "row.names", "class")]
  out <- as_tibble_if(out)
  # broom.mixed's .fixed keeps predict()'s names (the tibble would drop them)
  out$.fixed <- predict(x, re.form = NA)
  out
}

#' Hat values of the penalized least-squares system at the estimates
#'
#' As lme4's hatvalues(): with A = [Z Lambda, X], W the working (PIRLS)
#' weights (the prior weights of an LMM) and sqrt(w) the square roots of the
#' prior weights, the diagonal of
#' sqrt(w) A (A' W A + diag(1_q, 0_p))^-1 A' sqrt(w).
#' @noRd
hat_values <- function(x) {
  fam <- x$family
  mu <- fam$linkinv(x$eta)
  w_work <- if (is.na(x$nAGQ)) x$weights
            else x$weights * fam$mu.eta(x$eta)^2 / fam$variance(mu)
  A <- cbind(as.matrix(stats::model.matrix(x, type = "random") %*%
                         as.matrix(lambda_matrix(x))), x$X)
  q <- ncol(A) - ncol(x$X)
  M <- crossprod(A * sqrt(w_work)) + diag(c(rep(1, q), rep(0, ncol(x$X))), ncol(A))
  B <- A * sqrt(x$weights)
  h <- rowSums((B %*% solve(M)) * B)
  stats::setNames(h, rownames(x$frame))
}
