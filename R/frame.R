# Model frame and model structures for mixed models.
#
# `build_frame()` turns the matched call of the user entry point into one
# model frame holding every variable of the model (so that rows with missing
# values are dropped once, consistently), and `build_structures()` derives
# from it the response, the fixed-effects model matrix, weights, offset and
# the random-effects term records used by the numerical engine.

#' Deparse a variable the way model.frame() names its columns
#'
#' @param x A language object (symbol or call).
#' @return A single string.
#' @noRd
deparse_var <- function(x) {
  # a symbol deparses to its name (deparse() is slow and runs per variable)
  if (is.symbol(x)) return(as.character(x))
  paste(deparse(x, width.cutoff = 500L,
                backtick = !is.symbol(x) && is.language(x)),
        collapse = " ")
}

#' Terms of part of the model, evaluated against the model frame
#'
#' The terms of `form` (the fixed-effects part, or the left-hand side of a
#' random-effects term), with the `"predvars"` and `"dataClasses"`
#' attributes taken from the terms of the full model frame, so that
#' data-dependent bases (e.g. `poly()`, `scale()`, `ns()`) are re-created
#' for new data in `predict()` with the coefficients of the fit rather than
#' recomputed from the new rows.
#'
#' @param form A formula (one- or two-sided) whose variables are variables
#'   of the model frame.
#' @param frame A model frame built from `sub_bars(formula)`.
#' @return A `terms` object.
#' @noRd
make_sub_terms <- function(form, frame) {
  ft <- stats::terms(form)
  full <- attr(frame, "terms")
  if (is.null(full)) return(ft)
  fvars <- as.list(attr(ft, "variables"))[-1L]
  avars <- as.list(attr(full, "variables"))[-1L]
  idx <- match_language(fvars, avars)
  pv <- attr(full, "predvars")
  if (!is.null(pv) && !anyNA(idx)) {
    attr(ft, "predvars") <- as.call(c(list(as.name("list")),
                                      as.list(pv)[-1L][idx]))
  }
  dc <- attr(full, "dataClasses")
  if (!is.null(dc)) {
    nm <- vapply(fvars, deparse_var, character(1))
    keep <- nm[nm %in% names(dc)]
    attr(ft, "dataClasses") <- dc[keep]
  }
  ft
}

#' Positions of language objects in a list of them
#'
#' `match()` for variables of terms: the first element of `table` that is
#' identical() to each of `x`, or NA; matched by their text in one match()
#' call, each match then confirmed by identical().
#' @param x,table Lists of language objects.
#' @return An integer vector as long as `x`.
#' @noRd
match_language <- function(x, table) {
  # identical objects have the same text, so the first element with the
  # same text is the first identical one, if that one is identical at all
  idx <- match(as.character(x), as.character(table))
  for (i in which(!is.na(idx))) {
    if (identical(x[[i]], table[[idx[i]]])) next
    hit <- which(vapply(table, identical, logical(1), x[[i]]))
    idx[i] <- if (length(hit)) hit[1L] else NA_integer_
  }
  idx
}

#' Terms of the fixed-effects part, evaluated against a model frame
#'
#' [make_sub_terms()] of `no_bars(formula)`.
#'
#' @param formula The full mixed-model formula.
#' @param frame A model frame built from `sub_bars(formula)`.
#' @return A `terms` object.
#' @noRd
make_fixed_terms <- function(formula, frame) {
  make_sub_terms(no_bars(formula), frame)
}

#' stats::.getXlevels(), with the variables deparsed by [deparse_var()]
#'
#' The levels of the factor and character variables of `terms` in the
#' model frame, as .getXlevels() returns them; it deparses every variable
#' with deparse(), a large part of a small model's fit.
#' @param terms A terms object whose variables are columns of `frame`.
#' @param frame A model frame.
#' @noRd
xlevels <- function(terms, frame) {
  xvars <- vapply(as.list(attr(terms, "variables"))[-1L], deparse_var, "")
  if ((yvar <- attr(terms, "response")) > 0) xvars <- xvars[-yvar]
  if (!length(xvars)) return(NULL)
  if (!all(xvars %in% names(frame))) return(stats::.getXlevels(terms, frame))
  xlev <- lapply(stats::setNames(nm = xvars), function(v) {
    x <- .subset2(frame, v)
    if (is.factor(x)) levels(x) else if (is.character(x)) levels(as.factor(x))
  })
  xlev[!vapply(xlev, is.null, NA)]
}

#' model.matrix() of terms whose variables are columns of a model frame
#'
#' model.matrix() first copies the frame's columns of the variables in
#' their order (`[.data.frame`); this hands it those columns as a frame of
#' their own, made without the copy, so the matrix is the same. Where every
#' term is a plain numeric variable, the matrix is built here
#' ([numeric_model_matrix()]): model.matrix()'s own steps (deparsing each
#' variable, setting up contrasts) cost more than the columns.
#'
#' The matrix has no row names: n strings (about 60 MB for a million rows)
#' that the fit would carry and copy for nothing; the methods that return
#' the matrix (model.matrix(), getME()) give it the model frame's row names.
#' @param terms A terms object.
#' @param frame A model frame (with its `"terms"` attribute).
#' @param contrasts As model.matrix()'s `contrasts.arg`.
#' @noRd
frame_model_matrix <- function(terms, frame, contrasts = NULL) {
  vars <- vapply(as.list(attr(terms, "variables"))[-1L], deparse_var, "")
  if (length(vars) && !anyDuplicated(vars) && all(vars %in% names(frame))) {
    cols <- .subset(frame, vars)
    attributes(cols) <- list(names = vars, row.names = .row_names_info(frame, 0L),
                             class = "data.frame", terms = attr(frame, "terms"))
    if (is.null(contrasts)) {
      m <- numeric_model_matrix(terms, cols)
      if (!is.null(m)) return(m)
    }
    frame <- cols
  }
  m <- stats::model.matrix(terms, frame, contrasts.arg = contrasts)
  dimnames(m) <- list(NULL, colnames(m))
  m
}

#' model.matrix() of terms that are plain numeric variables, or NULL
#'
#' When each term of `terms` is one variable, a numeric vector without a
#' class or dimensions (no factors, logicals, matrices or `I()`), and there
#' is no offset, model.matrix() gives the intercept column (if any) and the
#' variables as doubles, named by the terms, with the "assign" attribute
#' (and no row names); this builds that matrix directly. Otherwise NULL
#' (model.matrix() is then called).
#' @param terms A terms object.
#' @param cols A data frame of the variables of `terms`, in their order,
#'   named as model.frame() names them.
#' @noRd
numeric_model_matrix <- function(terms, cols) {
  if (!is.null(attr(terms, "offset"))) return(NULL)
  labels <- attr(terms, "term.labels")
  resp <- attr(terms, "response")
  xvars <- if (resp > 0L) names(cols)[-resp] else names(cols)
  if (!identical(labels, xvars)) return(NULL)
  for (v in xvars) {
    x <- .subset2(cols, v)
    if (!is.numeric(x) || is.object(x) || !is.null(dim(x))) return(NULL)
  }
  int <- attr(terms, "intercept") == 1L
  k <- length(xvars) + int
  if (k == 0L) return(NULL)
  n <- .row_names_info(cols, 2L)
  m <- matrix(as.double(unlist(c(if (int) list(rep(1, n)), .subset(cols, xvars)),
                               use.names = FALSE)), n, k)
  dimnames(m) <- list(NULL, c(if (int) "(Intercept)", xvars))
  attr(m, "assign") <- c(if (int) 0L, seq_along(xvars))
  m
}

#' Check a raw model frame for non-finite numeric values
#'
#' Used inside the `na.action` of the model-frame call, i.e. before rows with
#' missing values are removed, so that `NaN` (which `is.na()` treats as
#' missing) is reported rather than silently dropped.
#'
#' @param frame A data frame (the model frame before NA handling).
#' @return `frame`, invisibly; signals an error if a problem is found.
#' @noRd
check_frame_finite <- function(frame) {
  for (nm in names(frame)) {
    x <- .subset2(frame, nm)
    if (!is.numeric(x) || all(is.finite(x))) next
    bad <- is.nan(x) | is.infinite(x)
    if (any(bad)) {
      if (identical(nm, "(weights)")) {
        stop("`weights` must be finite: found Inf or NaN values",
             call. = FALSE)
      }
      if (identical(nm, "(offset)") || startsWith(nm, "offset(")) {
        stop("`offset` must be finite: found Inf or NaN values in '",
             nm, "'", call. = FALSE)
      }
      stop("variable '", nm, "' contains non-finite values (Inf or NaN)",
           call. = FALSE)
    }
  }
  invisible(frame)
}

#' Does na.omit() find a row to drop?
#'
#' The test of `stats:::na.omit.data.frame()`: a missing value in an
#' atomic column (a matrix column counts by its rows).
#' @param frame A data frame.
#' @noRd
frame_has_na <- function(frame) {
  for (x in frame) {
    if (is.atomic(x) && anyNA(x)) return(TRUE)
  }
  FALSE
}

#' model.frame()'s `drop.unused.levels = TRUE`, done on its result
#'
#' model.frame() tests every factor with unique(), which costs more than
#' the rest of a small model's frame; tabulate() finds the same factors.
#' Those are dropped and warned about as model.frame() does.
#' @param frame A model frame built with `drop.unused.levels = FALSE`.
#' @return The frame as model.frame() with `drop.unused.levels = TRUE`
#'   gives it.
#' @noRd
drop_frame_levels <- function(frame) {
  for (nm in names(frame)) {
    x <- .subset2(frame, nm)
    if (is.factor(x) && !all(tabulate(unclass(x), length(levels(x))) > 0L)) {
      ctr <- attr(x, "contrasts")
      frame[[nm]] <- x[, drop = TRUE]
      if (!identical(attr(frame[[nm]], "contrasts"), ctr)) {
        warning(gettext(sprintf("contrasts dropped from factor %s due to missing levels",
                                nm), domain = NA), call. = FALSE)
      }
    }
  }
  frame
}

#' Build the model frame of a mixed model
#'
#' Like `lm()` or `lme4::lFormula()`: builds a call to `stats::model.frame()`
#' with the formula `sub_bars(formula)` (so that every variable of the model
#' is included), and the `data`, `subset`, `weights`, `offset` and
#' `na.action` arguments of the matched call, with
#' `drop.unused.levels = TRUE` (applied by [drop_frame_levels()]), and
#' evaluates it in `env`. `weights`,
#' `offset` and `subset` use non-standard evaluation as in `lm()`: they may
#' refer to columns of `data` or to objects visible from the formula's
#' environment. The default `na.action` is `na.omit`; rows with a missing
#' value in any variable used anywhere in the model (including weights and
#' offset) are dropped once.
#'
#' @param mc The matched call (`match.call()`) of the user entry point
#'   `glmmr(formula, data, family, REML, weights, offset, subset, na.action,
#'   contrasts, nAGQ, control)`.
#' @param env The environment of the caller of the entry point.
#' @return A model frame (data frame with a `"terms"` attribute) with extra
#'   attributes `"formula"` (the mixed-model formula, with `.` expanded over
#'   the columns of `data` by [expand_dot()]) and
#'   `"fixed_terms"` (terms of the fixed-effects part, see
#'   `make_fixed_terms()`).
#' @noRd
build_frame <- function(mc, env = parent.frame()) {
  if (is.null(mc$formula)) {
    stop("`formula` is required", call. = FALSE)
  }
  formula <- eval(mc$formula, env)
  if (is.character(formula)) formula <- stats::as.formula(formula, env = env)
  if (!inherits(formula, "formula")) {
    stop("`formula` must be a formula", call. = FALSE)
  }
  if (length(formula) != 3L) {
    stop("`formula` must have a response (left-hand side)", call. = FALSE)
  }
  fenv <- environment(formula)
  if (is.null(fenv)) {
    fenv <- env
    environment(formula) <- env
  }

  data <- NULL
  if (!is.null(mc$data)) {
    data <- eval(mc$data, env)
    if (!inherits(data, "data.frame")) {
      stop("`data` must be a data frame", call. = FALSE)
    }
  }

  formula <- expand_dot(formula, data)
  full_form <- sub_bars(formula)
  vars <- all.vars(full_form)
  for (v in vars[!(vars %in% names(data))]) {
    if (!exists(v, envir = fenv)) {
      stop("variable '", v, "' not found in `data` or in the environment ",
           "of the formula", call. = FALSE)
    }
  }

  user_na <- if (is.null(mc$na.action)) {
    stats::na.omit
  } else {
    eval(mc$na.action, env)
  }
  if (is.null(user_na)) {
    user_na <- function(object, ...) object
  } else {
    user_na <- match.fun(user_na)
  }
  # na.omit() subsets the frame even when no row has a missing value (the
  # result is the same frame); that copy is skipped
  default_na <- identical(user_na, stats::na.omit)
  na_action <- function(object, ...) {
    check_frame_finite(object)
    if (default_na && !frame_has_na(object)) return(object)
    user_na(object, ...)
  }

  mf <- call("model.frame", formula = full_form)
  mf[[1L]] <- quote(stats::model.frame)
  if (!is.null(data)) mf$data <- data
  for (arg in c("subset", "weights", "offset")) {
    if (!is.null(mc[[arg]])) mf[[arg]] <- mc[[arg]]
  }
  mf$na.action <- na_action

  frame <- tryCatch(
    drop_frame_levels(eval(mf, env)),
    error = function(e) {
      msg <- conditionMessage(e)
      m <- regmatches(msg, regexec("object '([^']*)' not found", msg))[[1L]]
      if (length(m) == 2L) {
        stop("variable '", m[2L], "' not found in `data` or in the ",
             "environment of the formula", call. = FALSE)
      }
      m <- regmatches(msg, regexec("variable lengths differ \\(found for '([^']*)'\\)",
                                   msg))[[1L]]
      if (length(m) == 2L) {
        what <- m[2L]
        if (identical(what, "(offset)") || startsWith(what, "offset(")) {
          stop("`offset` must have one value per observation ",
               "(variable lengths differ for '", what, "')", call. = FALSE)
        }
        if (identical(what, "(weights)")) {
          stop("`weights` must have one value per observation ",
               "(variable lengths differ)", call. = FALSE)
        }
        stop("variable lengths differ (found for '", what, "')",
             call. = FALSE)
      }
      stop(e)
    }
  )

  if (nrow(frame) == 0L) {
    stop("no observations left after removing missing values and ",
         "applying `subset`", call. = FALSE)
  }

  w <- stats::model.weights(frame)
  if (!is.null(w)) {
    if (!is.numeric(w)) {
      stop("`weights` must be a numeric vector", call. = FALSE)
    }
    if (any(!is.finite(w))) {
      stop("`weights` must be finite", call. = FALSE)
    }
    if (any(w < 0)) {
      stop("`weights` must be non-negative", call. = FALSE)
    }
  }
  if (!is.null(o <- .subset2(frame, "(offset)"))) {
    if (!is.numeric(o)) {
      stop("`offset` must be a numeric vector", call. = FALSE)
    }
    if (NROW(o) != nrow(frame)) {
      stop("`offset` must have one value per observation", call. = FALSE)
    }
  }
  off <- stats::model.offset(frame)
  if (!is.null(off) && any(!is.finite(off))) {
    stop("`offset` must be finite", call. = FALSE)
  }

  attr(frame, "formula") <- formula
  attr(frame, "fixed_terms") <- make_fixed_terms(formula, frame)
  frame
}

#' Grouping factor of a random-effects term
#'
#' Evaluates the grouping expression of a bar term against the model frame.
#' An interaction `a:b` is the interaction of the component variables: one
#' level per combination present, ordered with the first component varying
#' slowest (as `:` on factors). The levels are built from the components'
#' integer codes, not from pasted labels, so that combinations whose labels
#' paste to the same text (`"a:b"` with `"c"` and `"a"` with `"b:c"`) stay
#' distinct groups. Their labels are the component labels joined by `":"`;
#' only when two of them would coincide, components containing `":"` are
#' wrapped in parentheses (`"(a:b):c"`, `"a:(b:c)"`). Factors, characters,
#' integers, numerics and logicals are accepted; unused levels are dropped.
#'
#' @param grp Language object of the grouping expression.
#' @param frame The model frame.
#' @param env Environment in which to evaluate expressions that are not
#'   columns of the frame.
#' @return A factor of length `nrow(frame)` with attribute `"key"`:
#'   `list(components, codes)`, the levels of each component and, for each
#'   level of the factor, its components' codes joined by `"."`, which
#'   [new_group_index()] matches new data against.
#' @noRd
grouping_factor <- function(grp, frame, env) {
  n <- .row_names_info(frame, 2L)
  vals <- lapply(group_components(grp), group_component, frame, env, n)
  components <- lapply(vals, levels)
  if (length(vals) == 1L) {
    # one component: every level occurs, so the levels in their order are
    # the groups and the codes their indices; the keys and labels below
    # come out as this, without pasting and sorting a key per row
    labels <- paste(components[[1L]])
    if (!anyDuplicated(labels)) {
      f <- as.integer(vals[[1L]])
      attributes(f) <- list(levels = labels, class = "factor",
                            key = list(components = components,
                                       codes = as.character(seq_along(labels))))
      return(f)
    }
  }
  codes <- lapply(vals, as.integer)
  row_key <- codes_key(codes)
  first <- !duplicated(row_key)
  combos <- lapply(codes, `[`, first)
  ord <- do.call(order, unname(combos))
  combos <- lapply(combos, `[`, ord)
  level_key <- codes_key(combos)
  labs <- Map(function(cd, lv) lv[cd], combos, components)
  labels <- do.call(paste, c(labs, sep = ":"))
  if (anyDuplicated(labels)) {
    labs <- lapply(labs, function(l) ifelse(grepl(":", l, fixed = TRUE),
                                            paste0("(", l, ")"), l))
    labels <- make.unique(do.call(paste, c(labs, sep = ":")))
  }
  structure(match(row_key, level_key), levels = labels, class = "factor",
            key = list(components = components, codes = level_key))
}

#' One component of a grouping expression as a factor of the frame's rows
#'
#' @param e The component (a language object), a column of the frame or an
#'   expression evaluated in it.
#' @param frame,env As [grouping_factor()]'s.
#' @param n The number of rows of the frame.
#' @return A factor whose levels all occur.
#' @noRd
group_component <- function(e, frame, env, n) {
  nm <- deparse_var(e)
  # .subset2() is NULL for a name that is not a column (never for a column)
  if (is.null(x <- .subset2(frame, nm))) x <- eval(e, frame, env)
  if (if (is.null(dim(x))) length(x) != n else NROW(x) != n || NCOL(x) != 1L) {
    stop("grouping variable '", nm, "' must be a vector with one value ",
         "per observation", call. = FALSE)
  }
  if (anyNA(x)) {
    stop("grouping variable '", nm, "' contains missing values",
         call. = FALSE)
  }
  if (is.factor(x)) drop_unused_levels(x) else factor(x)
}

#' droplevels() of a factor, without rebuilding it when every level occurs
#'
#' Only the levels and the integer codes of the result are used (see
#' [grouping_factor()]); those are droplevels()'s.
#' @param x A factor without missing values.
#' @noRd
drop_unused_levels <- function(x) {
  if (all(tabulate(unclass(x), nlevels(x)) > 0L)) x else droplevels(x)
}

#' One key per row from the integer codes of a grouping expression's
#' components (codes 2 of `a` and 1 of `b` give `"2.1"`): the fit's levels
#' are stored as these keys and new data are matched against them
#' ([new_group_index()]), so both must build them alike.
#' @param codes A list of integer vectors of one length, one per component.
#' @noRd
codes_key <- function(codes) {
  do.call(paste, c(codes, sep = "."))
}

#' Model structures of a mixed model
#'
#' @param frame A model frame from [build_frame()].
#' @param formula The mixed-model formula (defaults to the `"formula"`
#'   attribute of `frame`).
#' @param contrasts Optional list of contrasts for factors of the
#'   fixed-effects part (as in `model.matrix(contrasts.arg = )`). Entries
#'   naming variables that only appear in the random-effects part are
#'   ignored; random-effects model matrices use the default contrasts, as
#'   in lme4.
#' @param lmm `TRUE` for a linear mixed model, `FALSE` for a generalized
#'   one: which of lme4's identifiability checks apply (see
#'   [check_identifiable()]).
#' @return A list with components
#'   * `response`: `model.response(frame)` (not converted; may be a factor
#'     or a matrix for binomial models),
#'   * `X`: fixed-effects model matrix of full column rank (attributes
#'     `"assign"` and `"contrasts"` kept),
#'   * `dropped`: names of columns dropped because of rank deficiency,
#'   * `weights`: prior weights (ones if none),
#'   * `offset`: total offset (`offset()` terms plus the `offset` argument;
#'     zeros if none),
#'   * `reterms`: list of random-effects term records, ordered by decreasing
#'     number of random effects (`nlevels * ncol(z)`; ties keep formula
#'     order), each `list(group_name, bar, cnms, group, levels, nlevels,
#'     group_key, z, z_terms, z_xlev, z_contrasts)`; `group_key` finds the
#'     levels of new data (see [grouping_factor()]), the last three rebuild
#'     `z` for new data (the lhs terms with the fit's predvars, its factor
#'     levels and contrasts),
#'   * `fixed_terms`: terms of the fixed-effects part,
#'   * `formula`: the mixed-model formula.
#' @noRd
build_structures <- function(frame, formula = attr(frame, "formula"),
                             contrasts = NULL, lmm = TRUE) {
  if (is.null(formula)) {
    stop("internal error: no formula for build_structures()", call. = FALSE)
  }
  n <- nrow(frame)
  fenv <- environment(formula)
  if (is.null(fenv)) fenv <- parent.frame()

  fixed_terms <- attr(frame, "fixed_terms")
  if (is.null(fixed_terms)) fixed_terms <- make_fixed_terms(formula, frame)

  bars <- expand_bars(find_bars(formula))
  if (length(bars) == 0L) {
    stop("no random-effects terms found in the formula; ",
         "use lm() or glm() for models without random effects",
         call. = FALSE)
  }

  response <- stats::model.response(frame)
  # without the frame's row names (see frame_model_matrix())
  if (is.matrix(response)) rownames(response) <- NULL else names(response) <- NULL
  # the rows the engine fits: those with a positive prior weight (see
  # engine_rows()); no variance can be estimated from fewer than two
  prior_w <- stats::model.weights(frame)
  fit_rows <- if (is.null(prior_w)) seq_len(n) else which(prior_w > 0)
  if (length(fit_rows) < 2L) {
    stop("too few observations (", length(fit_rows), ") to fit a mixed ",
         "model: grouping factors must have > 1 sampled level, which needs ",
         "at least 2 observations", call. = FALSE)
  }

  # Fixed effects -----------------------------------------------------------
  if (!is.null(contrasts)) {
    fixed_vars <- vapply(as.list(attr(fixed_terms, "variables"))[-1L],
                         deparse_var, character(1))
    keep <- !(names(contrasts) %in% setdiff(names(frame), fixed_vars))
    contrasts <- contrasts[keep]
    if (length(contrasts) == 0L) contrasts <- NULL
  }
  X <- frame_model_matrix(fixed_terms, frame, contrasts)
  dropped <- character(0)
  # the rank that counts is that of the rows the engine fits, as in lm.wfit()
  if (ncol(X) > 0L) {
    qx <- qr(if (length(fit_rows) == n) X else X[fit_rows, , drop = FALSE],
             tol = 1e-7, LAPACK = FALSE)
    r <- qx$rank
    if (r < ncol(X)) {
      keep <- sort(qx$pivot[seq_len(r)])
      dropped <- colnames(X)[-keep]
      asgn <- attr(X, "assign")
      ctr <- attr(X, "contrasts")
      X <- X[, keep, drop = FALSE]
      attr(X, "assign") <- asgn[keep]
      if (!is.null(ctr)) attr(X, "contrasts") <- ctr
      message("fixed-effect model matrix is rank deficient so dropping ",
              length(dropped), " column(s) / coefficient(s)")
    }
  }

  # Weights and offset ------------------------------------------------------
  weights <- stats::model.weights(frame)
  weights <- if (is.null(weights)) rep(1, n) else as.numeric(weights)
  offset <- stats::model.offset(frame)
  offset <- if (is.null(offset)) rep(0, n) else as.numeric(offset)

  # Random effects ----------------------------------------------------------
  reterms <- lapply(bars, function(b) {
    lhs <- b[[2L]]
    grp <- b[[3L]]
    lhs_form <- eval(call("~", lhs))
    environment(lhs_form) <- fenv
    # the lhs terms keep the fit's predvars and factor levels, so that new
    # data give the same columns (lme4's mkNewReTrms)
    z_terms <- make_sub_terms(lhs_form, frame)
    z <- frame_model_matrix(z_terms, frame)
    if (ncol(z) == 0L) {
      stop("random-effects term (", deparse1(b),
           ") has no columns in its model matrix", call. = FALSE)
    }
    cnms <- colnames(z)
    k <- ncol(z)
    z_contrasts <- attr(z, "contrasts")
    # drop the n row names and other attributes without copying the values
    attributes(z) <- NULL
    z <- matrix(as.double(z), nrow = n, ncol = k, dimnames = list(NULL, cnms))
    f <- grouping_factor(grp, frame, fenv)
    list(group_name = deparse_var(grp),  # deparse1()'s text
         bar = b,
         cnms = cnms,
         group = as.integer(f),
         levels = levels(f),
         nlevels = nlevels(f),
         group_key = attr(f, "key"),
         z = z,
         z_terms = z_terms,
         z_xlev = xlevels(z_terms, frame),
         z_contrasts = z_contrasts)
  })

  check_identifiable(reterms, length(fit_rows), lmm)

  nre <- vapply(reterms, function(t) t$nlevels * ncol(t$z), numeric(1))
  # order() is stable: terms already in that order (one term) keep it
  if (is.unsorted(-nre)) reterms <- reterms[order(-nre)]

  list(response = response,
       X = X,
       dropped = dropped,
       weights = weights,
       offset = offset,
       reterms = reterms,
       fixed_terms = fixed_terms,
       formula = formula)
}

#' lme4's identifiability checks of the random-effects terms
#'
#' The checks lme4's `lFormula()` and `glFormula()` run with their default
#' settings, in their order and words (so that a search for the message
#' finds lme4's explanation), all of them errors:
#' * `check.nlev.gtr.1`: every grouping factor has more than one level;
#' * `check.nobs.vs.nlev`: fewer levels than observations (a linear mixed
#'   model, whose residual variance is then confounded with the random
#'   effects), or no more levels than observations (a GLMM);
#' * `check.nobs.vs.nRE`: per term, more observations than random effects
#'   (levels times columns; an LMM), or at least as many (a GLMM). Without
#'   it a term such as `(f | g)` with a many-level factor `f` has thousands
#'   of variance parameters that the data cannot determine, and the
#'   optimizer spends hours on them.
#'
#' The observations are those the engine fits, the rows with a positive
#' prior weight (lme4 counts every row of the frame; without zero weights
#' the two agree).
#'
#' @param reterms The random-effects term records, in formula order.
#' @param n The number of observations.
#' @param lmm `TRUE` for lme4's `lmer()` settings, `FALSE` for `glmer()`'s.
#' @return `NULL`, invisibly; signals an error if a check fails.
#' @noRd
check_identifiable <- function(reterms, n, lmm) {
  groups <- vapply(reterms, `[[`, "", "group_name")
  nl <- vapply(reterms, `[[`, integer(1), "nlevels")
  problems <- function(bad) paste(unique(groups[bad]), collapse = ", ")
  if (any(nl < 2L)) {
    stop("grouping factors must have > 1 sampled level (problems: ",
         problems(nl < 2L), ")", call. = FALSE)
  }
  bad <- if (lmm) nl >= n else nl > n
  if (any(bad)) {
    stop("number of levels of each grouping factor must be ",
         if (lmm) "<" else "<=", " number of observations (problems: ",
         problems(bad), ")", call. = FALSE)
  }
  # lme4 checks the terms after sorting them by decreasing number of levels
  # (mkReTrms), so that of several failing terms it names the same one
  ord <- if (any(diff(nl) > 0)) rev(order(nl)) else seq_along(nl)
  for (i in ord) {
    nre <- nl[i] * length(reterms[[i]]$cnms)
    if (if (lmm) n <= nre else n < nre) {
      stop(sprintf(paste0("number of observations (=%d) %s number of random ",
                          "effects (=%d) for term (%s); the random-effects ",
                          "parameters%s are probably unidentifiable"),
                   as.integer(n), if (lmm) "<=" else "<", as.integer(nre),
                   deparse1(reterms[[i]]$bar),
                   if (lmm) " and the residual variance (or scale parameter)"
                   else ""),
           call. = FALSE)
    }
  }
  invisible(NULL)
}
