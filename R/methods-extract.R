# Extractors with lme4's meanings: coefficients per level, fitted values,
# residuals of several kinds, weights, deviance, degrees of freedom and the
# pieces of the model (formula, family, frame, matrices, terms).

#' Coefficients per level of each grouping factor
#'
#' For each grouping factor, a data frame with a row per level: the fixed
#' effects plus that level's random effects for the columns that have them
#' (columns with random effects only are appended), as lme4's `coef()`.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @return A list of data frames, one per grouping factor.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' head(coef(m)$Subject)
#' @export
coef.glmmr <- function(object, ...) {
  check_dots(...)
  fe <- object$beta
  re <- ranef(object)
  out <- lapply(re, function(r) {
    cf <- as.data.frame(matrix(fe, nrow = nrow(r), ncol = length(fe), byrow = TRUE,
                               dimnames = list(rownames(r), names(fe))),
                        check.names = FALSE)
    for (nm in names(r)) {
      if (nm %in% names(cf)) cf[[nm]] <- cf[[nm]] + r[[nm]] else cf[[nm]] <- r[[nm]]
    }
    cf
  })
  structure(out, class = "coef.glmmr")
}

#' @export
print.coef.glmmr <- function(x, ...) {
  print(unclass(x), ...)
  invisible(x)
}

#' Fitted values
#'
#' The conditional means \eqn{g^{-1}(X\beta + Zb + offset)} on the response
#' scale, at the conditional modes of the random effects.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @return A numeric vector named by the rows of the model frame; with
#'   `na.action = na.exclude`, padded with `NA` to the rows of the data (as
#'   [stats::napredict()] does for glm and lme4).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' head(fitted(m))
#' @export
fitted.glmmr <- function(object, ...) {
  check_dots(...)
  stats::napredict(attr(object$frame, "na.action"),
                   stats::setNames(object$family$linkinv(object$eta),
                                   rownames(object$frame)))
}

#' Residuals of a fitted model
#'
#' `"response"`: \eqn{y - \mu}; `"pearson"`: scaled by the square root of
#' the prior weight over the variance function; `"deviance"`: the signed
#' square roots of the deviance contributions; `"working"`: on the linear
#' predictor scale, \eqn{(y - \mu) / (d\mu/d\eta)}. The default is
#' `"response"` for a linear mixed model and `"deviance"` otherwise, as in
#' lme4. For binomial data the response is the proportion of successes.
#'
#' @param object A fitted `"glmmr"` model.
#' @param type The kind of residual.
#' @param scaled If `TRUE`, divided by the residual standard deviation
#'   [sigma()] (1 for families without a scale parameter), as lme4's
#'   `residuals(m, scaled = TRUE)`.
#' @param ... Unused; an error if given.
#' @return A numeric vector named by the rows of the model frame; with
#'   `na.action = na.exclude`, padded with `NA` to the rows of the data (as
#'   [stats::naresid()] does for glm and lme4).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' summary(residuals(m))
#' @export
residuals.glmmr <- function(object, type = c("default", "response", "pearson",
                                             "deviance", "working"),
                           scaled = FALSE, ...) {
  check_dots(...)
  type <- match.arg(type)
  if (!is.logical(scaled) || length(scaled) != 1L || is.na(scaled)) {
    stop("`scaled` must be TRUE or FALSE", call. = FALSE)
  }
  r <- model_residuals(object, type)
  # lme4's scaled residuals: divided by sigma (1 without a scale parameter)
  if (scaled) r <- r / object$sigma
  stats::naresid(attr(object$frame, "na.action"), r)
}

#' Residuals of the rows of the model frame (residuals.glmmr() before the
#' na.exclude padding)
#' @noRd
model_residuals <- function(object, type) {
  if (type == "default") type <- if (is.na(object$nAGQ)) "response" else "deviance"
  fam <- object$family
  y <- object$y
  eta <- object$eta
  mu <- fam$linkinv(eta)
  w <- object$weights
  r <- switch(type,
    response = y - mu,
    pearson = (y - mu) * sqrt(w) / sqrt(fam$variance(mu)),
    deviance = sign(y - mu) * sqrt(pmax(fam$dev.resids(y, mu, w), 0)),
    working = (y - mu) / fam$mu.eta(eta))
  stats::setNames(r, rownames(object$frame))
}

#' Prior weights
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @return The prior weights of the fit (for binomial data given as
#'   `cbind(successes, failures)`, the numbers of trials).
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' head(weights(m))
#' @export
weights.glmmr <- function(object, ...) {
  check_dots(...)
  object$weights
}

#' Deviance and residual degrees of freedom
#'
#' `deviance()` is -2 times the log-likelihood on the absolute scale (the
#' REML criterion for a REML fit); `df.residual()` is the number of
#' observations less the number of parameters.
#'
#' @param object A fitted `"glmmr"` model.
#' @param ... Unused; an error if given.
#' @return A number.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' deviance(m)
#' df.residual(m)
#' @export
deviance.glmmr <- function(object, ...) {
  check_dots(...)
  object$objective
}

#' @rdname deviance.glmmr
#' @export
df.residual.glmmr <- function(object, ...) {
  check_dots(...)
  object$nobs - attr(logLik(object), "df")
}

#' The pieces of a fitted model
#'
#' `formula()` gives the mixed-model formula, `family()` the family,
#' `model.frame()` the frame the model was fitted to (after `subset` and
#' missing values), `terms()` the terms of the fixed-effects part, and
#' `model.matrix()` the fixed-effects matrix X (`type = "fixed"`) or the
#' random-effects matrix Z as a dense matrix (`type = "random"`).
#'
#' @param x,object,formula A fitted `"glmmr"` model.
#' @param type For `model.matrix()`: `"fixed"` or `"random"`.
#' @param fixed.only,random.only For `formula()`: the formula without the
#'   random-effects terms, or with only them (and the response), as lme4's.
#' @param ... Unused; an error if given.
#' @return The piece asked for.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' formula(m)
#' formula(m, fixed.only = TRUE)
#' formula(m, random.only = TRUE)
#' dim(model.matrix(m))
#' dim(model.matrix(m, type = "random"))
#' @name glmmr-pieces
NULL

#' @rdname glmmr-pieces
#' @export
formula.glmmr <- function(x, fixed.only = FALSE, random.only = FALSE, ...) {
  check_dots(...)
  for (a in c("fixed.only", "random.only")) {
    v <- get(a)
    if (!is.logical(v) || length(v) != 1L || is.na(v)) {
      stop("`", a, "` must be TRUE or FALSE", call. = FALSE)
    }
  }
  if (fixed.only && random.only) {
    stop("`fixed.only` and `random.only` cannot both be TRUE", call. = FALSE)
  }
  f <- x$formula
  if (fixed.only) return(no_bars(f))
  if (random.only) {
    # lme4's reOnly(): the response and the random-effects terms, with
    # (x || g) and (1 | a/b) written out as the terms they stand for
    rhs <- Reduce(function(a, b) call("+", a, b),
                  lapply(expand_bars(find_bars(f)), function(b) call("(", b)))
    f[[length(f)]] <- rhs
  }
  f
}

#' @rdname glmmr-pieces
#' @export
family.glmmr <- function(object, ...) {
  check_dots(...)
  object$family
}

#' @rdname glmmr-pieces
#' @export
model.frame.glmmr <- function(formula, ...) {
  check_dots(...)
  formula$frame
}

#' @rdname glmmr-pieces
#' @export
terms.glmmr <- function(x, ...) {
  check_dots(...)
  x$fixed_terms
}

#' @rdname glmmr-pieces
#' @export
model.matrix.glmmr <- function(object, type = c("fixed", "random"), ...) {
  check_dots(...)
  type <- match.arg(type)
  if (type == "fixed") return(with_frame_rownames(object$X, object))
  blocks <- lapply(object$reterms, function(t) {
    k <- ncol(t$z)
    zt <- matrix(0, nrow(t$z), t$nlevels * k,
                 dimnames = list(NULL, paste(rep(t$levels, each = k), t$cnms, sep = ":")))
    for (a in seq_len(k)) {
      zt[cbind(seq_len(nrow(t$z)), (t$group - 1L) * k + a)] <- t$z[, a]
    }
    zt
  })
  do.call(cbind, blocks)
}

#' A matrix of the fit's rows with the model frame's row names, as
#' model.matrix() gives them (the fit keeps its matrices without them)
#' @noRd
with_frame_rownames <- function(m, object) {
  rownames(m) <- rownames(object$frame)
  m
}

#' @importFrom stats coef fitted residuals weights deviance df.residual
#' @importFrom stats formula family model.frame terms model.matrix
NULL

#' Update and refit a model
#'
#' As [stats::update()]: the fit's call with `formula.` (applied with
#' [stats::update.formula()]) and the arguments in `...` changed, evaluated
#' again. Like lme4's `update()`, the call is evaluated where the fit's
#' formula was made, so that a fit made inside a function, with data that
#' exist only there, can be updated from outside it (if that environment
#' does not see every object the fit's call names, the call is evaluated in
#' the caller's environment instead, as `stats::update()` does). The
#' arguments given in `...` are the caller's: the objects they name are
#' looked up where `update()` is called.
#'
#' @param object A fitted `"glmmr"` model.
#' @param formula. Changes to the formula, e.g. `. ~ . - x`.
#' @param ... Arguments of [glmmr()] to change (`NULL` removes one).
#' @param evaluate If `FALSE`, return the updated call instead of fitting it.
#' @return The refitted model, or the call.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' update(m, . ~ . - (Days | Subject) + (1 | Subject), REML = TRUE)
#' @importFrom stats update
#' @export
update.glmmr <- function(object, formula., ..., evaluate = TRUE) {
  call <- object$call
  if (is.null(call)) {
    stop("`object` has no call to update", call. = FALSE)
  }
  caller <- parent.frame()
  env <- environment(stats::formula(object))
  if (is.null(env) || !call_visible_from(call, env)) env <- caller
  extras <- match.call(expand.dots = FALSE)$...
  if (!missing(formula.)) {
    call$formula <- stats::update.formula(stats::formula(object), formula.)
  }
  # as stats::update.default: NULL removes an argument the call has
  if (length(extras)) {
    existing <- !is.na(match(names(extras), names(call)))
    for (a in names(extras)[existing]) call[[a]] <- extras[[a]]
    if (any(!existing)) call <- as.call(c(as.list(call), extras[!existing]))
  }
  if (!evaluate) return(call)
  if (length(extras) && !identical(env, caller)) {
    # the objects the new arguments name, as the caller sees them, in front
    # of the environment of the fit
    vars <- unique(unlist(lapply(extras, all.vars)))
    vars <- vars[vapply(vars, exists, logical(1), envir = caller)]
    env <- list2env(mget(vars, envir = caller, inherits = TRUE),
                    parent = env)
  }
  eval(call, env)
}

#' Does an environment see every object a model call names?
#'
#' The function called and the variables of its arguments, but not of the
#' formula, `weights`, `offset` or `subset`, which `model.frame()` looks up
#' in the data first.
#' @noRd
call_visible_from <- function(call, env) {
  args <- as.list(call)[-1L]
  args <- args[!names(args) %in% c("formula", "weights", "offset", "subset")]
  needed <- unique(unlist(lapply(args, all.vars)))
  if (is.name(call[[1L]])) needed <- c(needed, as.character(call[[1L]]))
  all(vapply(needed, exists, logical(1), envir = env))
}
