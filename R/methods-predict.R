# Predictions: on the training rows or new data, with all, none or some of
# the random effects, on the link or the response scale.

#' Predictions from a fitted model
#'
#' @param object A fitted `"glmmr"` model.
#' @param newdata Optional data frame; by default the rows the model was
#'   fitted to.
#' @param re.form Which random effects to include: `NULL` (all, the
#'   default), `NA` or `~0` (none: the population-level prediction
#'   \eqn{X\beta}), or a formula naming the random-effects terms to keep,
#'   e.g. `~ (1 | dist)`.
#' @param type `"link"` (the linear predictor) or `"response"`.
#' @param allow.new.levels If `FALSE` (the default) a level of a grouping
#'   factor that the fit has not seen is an error; if `TRUE` it gets the
#'   population value (a random effect of zero).
#' @param se.fit If `TRUE`, also return standard errors of the
#'   population-level prediction (`re.form = NA` only), from `vcov()`, on the
#'   link scale (or, with `type = "response"`, by the delta method).
#' @param ... Unused; an error if given.
#' @return A numeric vector, or with `se.fit = TRUE` a list with `fit` and
#'   `se.fit`. Without `newdata`, a fit with `na.action = na.exclude` gets
#'   `NA` for the rows left out (as [stats::napredict()] does).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' head(predict(m))
#' predict(m, newdata = data.frame(Days = 0:2, Subject = "308"))
#' predict(m, newdata = data.frame(Days = 0:2), re.form = NA)
#' @export
predict.glmmr <- function(object, newdata = NULL, re.form = NULL,
                          type = c("link", "response"), allow.new.levels = FALSE,
                          se.fit = FALSE, ...) {
  check_dots(...)
  type <- match.arg(type)
  keep <- kept_terms(object, re.form)
  if (is.null(newdata)) {
    X <- object$X
    offset <- object$offset
    zb <- z_times_b(object$reterms[keep], object$ranef[keep])
    rn <- rownames(object$frame)
  } else {
    if (!is.data.frame(newdata)) stop("`newdata` must be a data frame", call. = FALSE)
    nd <- new_design(object, newdata, keep, allow.new.levels)
    X <- nd$X
    offset <- nd$offset
    zb <- nd$zb
    rn <- rownames(newdata)
  }
  eta <- drop(X %*% object$beta) + offset + zb
  fit <- if (type == "response") object$family$linkinv(eta) else eta
  fit <- stats::setNames(fit, rn)
  # the training rows: padded to the data's rows under na.exclude
  pad <- if (is.null(newdata)) {
    function(v) stats::napredict(attr(object$frame, "na.action"), v)
  } else identity
  if (!se.fit) return(pad(fit))
  if (any(keep)) {
    stop("`se.fit = TRUE` is available for `re.form = NA` only", call. = FALSE)
  }
  se <- sqrt(rowSums((X %*% vcov(object)) * X))
  if (type == "response") se <- se * abs(object$family$mu.eta(eta))
  list(fit = pad(fit), se.fit = pad(stats::setNames(se, rn)))
}

#' Which random-effects terms re.form keeps (logical, one per term)
#' @noRd
kept_terms <- function(object, re.form) {
  nt <- length(object$reterms)
  if (is.null(re.form)) return(rep(TRUE, nt))
  if (identical(re.form, NA) || (inherits(re.form, "formula") &&
                                 identical(deparse(re.form[[length(re.form)]]), "0"))) {
    return(rep(FALSE, nt))
  }
  if (!inherits(re.form, "formula")) {
    stop("`re.form` must be NULL, NA or a formula of random-effects terms",
         call. = FALSE)
  }
  wanted <- vapply(expand_bars(find_bars(re.form)), deparse1, "")
  have <- vapply(object$reterms, function(t) deparse1(t$bar), "")
  unknown <- setdiff(wanted, have)
  if (length(unknown)) {
    stop("`re.form` names random-effects terms the model does not have: ",
         paste(unknown, collapse = ", "), call. = FALSE)
  }
  have %in% wanted
}

#' X, offset and Z b for new data
#' @noRd
new_design <- function(object, newdata, keep, allow.new.levels) {
  tt <- stats::delete.response(object$fixed_terms)
  xlev <- .getXlevels(tt, object$frame)
  mf <- stats::model.frame(tt, newdata, na.action = stats::na.pass, xlev = xlev)
  X <- stats::model.matrix(tt, mf, contrasts.arg = object$contrasts)
  X <- X[, colnames(object$X), drop = FALSE]
  offset <- stats::model.offset(mf)
  if (is.null(offset)) offset <- rep(0, nrow(X))
  fenv <- environment(object$formula)
  # a new level's random effect is 0: the row after the fitted levels
  terms <- lapply(object$reterms[keep], function(t) {
    g <- new_group_index(t, newdata, fenv)
    idx <- g$index
    if (anyNA(idx) && !allow.new.levels) {
      stop("new level(s) of grouping factor '", t$group_name, "' in `newdata`: ",
           paste(utils::head(unique(g$labels[is.na(idx)]), 5), collapse = ", "),
           "; use allow.new.levels = TRUE to predict them at the population value",
           call. = FALSE)
    }
    idx[is.na(idx)] <- t$nlevels + 1L
    list(z = new_re_z(t, newdata), group = idx)
  })
  effects <- lapply(object$ranef[keep], function(b) rbind(b, 0))
  zb <- rep(0, nrow(X)) + z_times_b(terms, effects)  # a vector also when no term is kept
  list(X = X, offset = offset, zb = zb)
}

#' A random-effects term's model-matrix columns on new data
#'
#' Built from the term's lhs terms with the fit's predvars (so `poly()` or
#' `scale()` keep the fit's coefficients instead of being recomputed from
#' the new rows), its factor levels (a factor given as character, or with
#' only some of its levels present, gets the fit's levels) and contrasts,
#' as lme4's mkNewReTrms does.
#' @param t A random-effects term record of the fit.
#' @param newdata A data frame.
#' @return An nrow(newdata)-by-k matrix with the term's columns `t$cnms`.
#' @noRd
new_re_z <- function(t, newdata) {
  mf <- stats::model.frame(t$z_terms, newdata, na.action = stats::na.pass,
                           xlev = t$z_xlev)
  z <- stats::model.matrix(t$z_terms, mf, contrasts.arg = t$z_contrasts)
  z[, t$cnms, drop = FALSE]
}

#' Each row's level of a random-effects term's grouping factor on new data
#'
#' Each component of the grouping expression (`a` and `b` of `a:b`) is
#' matched to that component's levels in the fit, and the combination to
#' the fit's combinations by their codes, never by pasted labels (which can
#' coincide, see [grouping_factor()]).
#' @param t A random-effects term record of the fit.
#' @param data A data frame.
#' @param env The environment of the model formula.
#' @return A list: `index`, each row's level among `t$levels` (NA for a
#'   combination the fit has not seen), `new_id`, an id shared by the rows of
#'   one unseen combination, and `labels`, the rows' labels for messages.
#' @noRd
new_group_index <- function(t, data, env) {
  vals <- lapply(group_components(t$bar[[3L]]),
                 function(e) as.character(eval(e, data, env)))
  key <- t$group_key
  codes <- Map(match, vals, key$components)
  index <- match(codes_key(codes), key$codes)
  own <- codes_key(lapply(vals, function(v) match(v, unique(v))))
  list(index = index, new_id = match(own, unique(own)),
       labels = do.call(paste, c(vals, sep = ":")))
}

#' @importFrom stats predict .getXlevels
#' @importFrom utils head
NULL
