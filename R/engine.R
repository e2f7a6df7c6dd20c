# The engine's step of the pipeline (formula -> model structures -> engine
# -> fitted object): the model structures become one named list, which the
# Rust binding converts once into a prepared model held behind an external
# pointer on the fit; fits, refits (bootstrap, simulation) and profile steps
# all go through it.

#' The model as the engine reads it: one named list, which one Rust
#' function converts (`rust_prepare()`)
#'
#' @param y The response as the engine fits it (proportions for a binomial).
#' @param structures A list with X, reterms, weights and offset (the model
#'   structures of `build_structures()`, or a fit, which stores them).
#' @param lmm A linear mixed model (fitted by ML or REML) or a GLMM.
#' @param REML For a linear mixed model.
#' @param dist,link,nAGQ For a GLMM: the engine's name of the distribution
#'   (see `glmm_response()`), the link's name and the number of nodes.
#' @return list(y, x, weights, offset, terms, beta_names, lmm, then reml, or
#'   family, link and nAGQ), of the rows with positive weight (see
#'   `engine_rows()`); each term with its label and column names, with which
#'   the engine names the parameters (as `parameter_vector()` does).
#' @noRd
engine_model <- function(y, structures, lmm, REML = FALSE, dist = NULL,
                         link = NULL, nAGQ = NULL) {
  d <- engine_rows(y, structures$X, structures$reterms, structures$weights,
                   structures$offset)
  model <- list(y = d$y, x = d$x, weights = d$weights, offset = d$offset,
                terms = d$terms, beta_names = as.character(colnames(structures$X)),
                lmm = lmm)
  if (lmm) {
    if (REML && length(d$y) <= d$p) {
      stop("REML needs more observations than fixed-effects coefficients",
           call. = FALSE)
    }
    model$reml <- REML
  } else {
    model$family <- dist
    model$link <- link
    model$nAGQ <- as.integer(nAGQ)
  }
  model
}

#' Prepare a model in the engine: its external pointer
#' @noRd
prepare_model <- function(model) {
  engine_call(rust_prepare(model))$prepared
}

#' The fit's prepared model. A fit read back from a file (or sent to another
#' process) holds a cleared pointer: the model is then prepared again from
#' what the fit stores, which gives the same model.
#' @noRd
prepared_model <- function(object) {
  p <- object$prepared
  if (!is.null(p) && rust_is_prepared(p)) return(p)
  is_lmm <- is.na(object$nAGQ)
  prepare_model(engine_model(object$y, object, lmm = is_lmm, REML = isTRUE(object$REML),
                             dist = object$dist, link = object$family$link,
                             nAGQ = object$nAGQ))
}

#' Fit a prepared model to its own response (`y` NULL) or to `y`, a
#' response for the rows it was prepared with
#' @noRd
engine_fit <- function(prepared, control, y = NULL) {
  engine_call(rust_fit(prepared, if (!is.null(y)) as.numeric(y), engine_control(control)))
}

#' The data the engine fits: the rows with a positive prior weight
#'
#' A zero prior weight takes an observation out of the likelihood, as in
#' glm(): it must not count in n (which the profiled deviance and sigma of a
#' linear mixed model use), and its variance phi / w is infinite. So the
#' engine sees the other rows only. The grouping codes keep every level of
#' the fit: a level seen only in zero-weight rows gets no data, so its
#' random effect is predicted as 0 with the prior covariance.
#' @param y,X,reterms,weights,offset The response, fixed-effects matrix,
#'   random-effects term records, prior weights and offset of all the rows.
#' @return A list: y, x (X as a plain double vector), p, terms (as
#'   [engine_terms()]), weights and offset of the rows with positive weight.
#' @noRd
engine_rows <- function(y, X, reterms, weights, offset) {
  keep <- weights > 0
  if (!any(keep)) {
    stop("no observations with a positive weight", call. = FALSE)
  }
  rows <- if (all(keep)) NULL else which(keep)
  if (!is.null(rows)) {
    X <- X[rows, , drop = FALSE]
    y <- y[rows]
    weights <- weights[rows]
    offset <- offset[rows]
  }
  list(y = as.numeric(y), x = plain_double(X), p = ncol(X),
       terms = engine_terms(reterms, rows), weights = as.numeric(weights),
       offset = as.numeric(offset))
}

#' The values of a numeric matrix as a plain double vector (column-major),
#' without copying its row names along
#' @noRd
plain_double <- function(m) {
  attributes(m) <- NULL
  as.double(m)
}

#' The control settings the engine reads
#' @noRd
engine_control <- function(control) {
  control <- unclass(control)
  # a fit saved before `threads` existed has none: today's default
  if (is.null(control$threads)) control$threads <- default_threads()
  ctl <- control[c("max_evals", "rel_tol", "cost_tol", "max_iter", "progress", "threads")]
  # the progress line would be printed into a document that knitr renders
  ctl$progress <- isTRUE(ctl$progress) && !knitting()
  ctl
}

#' Term records in the shape the engine reads (of the given rows, by
#' default all), with the labels and column names that name their
#' parameters (see `term_labels()`)
#' @noRd
engine_terms <- function(reterms, rows = NULL) {
  labels <- term_labels(reterms)
  lapply(seq_along(reterms), function(i) {
    t <- reterms[[i]]
    z <- if (is.null(rows)) t$z else t$z[rows, , drop = FALSE]
    group <- if (is.null(rows)) t$group else t$group[rows]
    list(group = as.integer(group), nlevels = as.integer(t$nlevels), z = z,
         label = labels[i], columns = as.character(t$cnms))
  })
}
