# Formula handling for lme4-style mixed-model formulas.
#
# A mixed-model formula looks like
#   y ~ x + (1 + x | g) + (1 | a/b) + (z || h)
# The helpers below split it into the fixed-effects part (`no_bars()`), the
# random-effects terms (`find_bars()`, `expand_bars()`) and a formula that
# mentions every variable of the model (`sub_bars()`), used to build a single
# model frame so that missing values are handled consistently.
#
# A right-hand side with many terms is a long chain of `+` calls, nested as
# deep as there are terms. The helpers walk such chains with a loop
# (`sum_chain()`), and recurse only into parentheses and grouping
# expressions, so that a formula with hundreds of terms does not exhaust
# R's C stack.

#' Is a language object a random-effects bar call?
#'
#' @param x A language object.
#' @return `TRUE` if `x` is a call to `|` or `||`.
#' @noRd
is_bar_call <- function(x) {
  # primitives only (no identical()/as.name() calls): the formula helpers
  # call these for every node of the formula at every fit
  is.call(x) && is.symbol(h <- x[[1L]]) &&
    ((op <- as.character(h)) == "|" || op == "||")
}

#' Is a language object a call to a given operator?
#'
#' @param x A language object.
#' @param op Character name of the operator / function.
#' @noRd
is_call_to <- function(x, op) {
  is.call(x) && is.symbol(h <- x[[1L]]) && as.character(h) == op
}

#' The operator of a call
#'
#' The helpers below branch on it once per node of a formula, rather than
#' testing each operator with [is_call_to()] (a function call per test, at
#' every node, at every fit).
#' @param x A language object.
#' @return The name of the function `x` calls when that is a symbol, else
#'   `""` (also when `x` is not a call).
#' @noRd
call_op <- function(x) {
  if (is.call(x) && is.symbol(h <- x[[1L]])) as.character(h) else ""
}

#' Right-hand side of a formula
#'
#' @param formula A formula (one- or two-sided).
#' @return The language object of the right-hand side.
#' @noRd
formula_rhs <- function(formula) {
  formula[[length(formula)]]
}

#' The operands of a chain of binary `+` and `-` calls
#'
#' `a + b - c` is parsed as `(a + b) - c`: a left spine as long as the
#' number of terms. This walks the spine with a loop, not by recursion.
#'
#' @param expr A language object.
#' @return A list: `first`, the leftmost operand (which is not a binary
#'   `+` or `-` call; it may be a unary one), `ops`, the operators and
#'   `operands`, the right operands, both from left to right, so that
#'   `first ops[1] operands[[1]] ops[2] operands[[2]] ...` is `expr`
#'   (empty when `expr` is not a binary `+` or `-` call).
#' @noRd
sum_chain <- function(expr) {
  ops <- character(0)
  operands <- list()
  k <- 0L
  while (is.call(expr) && length(expr) == 3L && is.symbol(h <- expr[[1L]]) &&
           ((op <- as.character(h)) == "+" || op == "-")) {
    k <- k + 1L
    ops[k] <- op
    operands[k] <- list(expr[[3L]])
    expr <- expr[[2L]]
  }
  if (k > 1L) {
    ops <- ops[k:1L]
    operands <- operands[k:1L]
  }
  list(first = expr, ops = ops, operands = operands)
}

#' Rebuild a chain of `+` and `-` calls from its pieces
#'
#' The inverse of [sum_chain()], left-associated as the parser builds it,
#' with pieces dropped where they are `NULL`: a dropped `first` makes the
#' next operand the first (with a unary minus if its operator is `-`).
#'
#' @param first,ops,operands As returned by [sum_chain()], with some
#'   elements possibly `NULL`.
#' @return A language object, or `NULL` if every piece was dropped.
#' @noRd
fold_chain <- function(first, ops, operands) {
  acc <- first
  for (i in seq_along(ops)) {
    r <- operands[[i]]
    if (is.null(r)) next
    acc <- if (!is.null(acc)) call(ops[i], acc, r)
           else if (ops[i] == "-") call("-", r)
           else r
  }
  acc
}

#' Find the random-effects terms of a mixed-model formula
#'
#' Walks the right-hand side of `formula` and collects every bar term
#' `(lhs | g)` or `(lhs || g)`, in order of appearance. Bars are looked for
#' at the top level of the right-hand side, i.e. inside sums (`+`), unary or
#' binary minus, and parentheses. Bars hidden inside other calls (for example
#' `x:(1 | g)`) are not random-effects terms and are not returned.
#'
#' @param formula A formula, or the language object of a right-hand side.
#' @return A list of calls to `|` or `||` (language objects), possibly empty.
#' @noRd
find_bars <- function(formula) {
  walk <- function(term) {
    op <- call_op(term)
    if (op == "|" || op == "||") return(list(term))
    if (op == "(") return(walk(term[[2L]]))
    if (op == "+" || op == "-") {
      if (length(term) == 2L) return(walk(term[[2L]]))
      sc <- sum_chain(term)
      return(unlist(lapply(c(list(sc$first), sc$operands), walk),
                    recursive = FALSE))
    }
    list()
  }
  if (inherits(formula, "formula") || is_call_to(formula, "~")) {
    formula <- formula_rhs(formula)
  }
  res <- walk(formula)
  if (is.null(res)) list() else res
}

#' Does a formula have random-effects terms?
#'
#' @param formula A formula.
#' @return `TRUE` if `formula` contains at least one `(lhs | g)` or
#'   `(lhs || g)` term.
#' @noRd
has_bars <- function(formula) {
  length(find_bars(formula)) > 0L
}

#' Expand nested grouping specifications
#'
#' `a/b` becomes `a` and `a:b`; `a/b/c` becomes `a`, `a:b`, `a:b:c`.
#' Other grouping expressions (including interactions `a:b`) are returned
#' unchanged. Redundant parentheses are removed.
#'
#' @param grp Language object of the grouping part of a bar.
#' @return A list of grouping expressions.
#' @noRd
expand_slash <- function(grp) {
  while (is_call_to(grp, "(")) grp <- grp[[2L]]
  if (is_call_to(grp, "/") && length(grp) == 3L) {
    left <- expand_slash(grp[[2L]])
    right <- expand_slash(grp[[3L]])
    last <- left[[length(left)]]
    return(c(left, lapply(right, function(r) call(":", last, r))))
  }
  list(grp)
}

#' Split the left-hand side of a `||` term into uncorrelated parts
#'
#' The lhs is expanded per *term* of `~ lhs`: an intercept (unless removed
#' with `0 +` or `- 1`) gives `1`, and every other term `t` gives `0 + t`.
#' A term that produces several model-matrix columns (a factor, `poly()`,
#' ...) keeps those columns together in one part, so their random effects
#' remain correlated with each other (as in lme4).
#'
#' @param lhs Language object of the left-hand side of a `||` term.
#' @return A list of language objects, each a left-hand side of a `|` term.
#' @noRd
split_double_bar_lhs <- function(lhs) {
  tt <- stats::terms(stats::as.formula(call("~", lhs)))
  labs <- attr(tt, "term.labels")
  out <- list()
  if (attr(tt, "intercept") == 1L) out <- c(out, list(1))
  for (lab in labs) {
    out <- c(out, list(call("+", 0, str2lang(lab))))
  }
  if (length(out) == 0L) {
    # No intercept and no terms (e.g. `0 || g`): keep it as is so that the
    # problem is reported when the model matrix is built.
    out <- list(lhs)
  }
  out
}

#' Expand random-effects bar terms
#'
#' Turns the bar terms found by [find_bars()] into a list of plain `|` calls:
#' * `(lhs || g)` is split into uncorrelated terms, one per term of the lhs
#'   formula: `(1 | g)` if the lhs has an intercept, then `(0 + t | g)` for
#'   every term `t` of the lhs. A term giving several columns (e.g. a factor)
#'   keeps its columns together in a single term, as lme4 does.
#' * `(lhs | a/b)` becomes `(lhs | a)` and `(lhs | a:b)`; deeper nesting
#'   `a/b/c` gives `a`, `a:b`, `a:b:c`.
#' * `(lhs | a:b)` is kept: its grouping factor is the interaction of `a`
#'   and `b`.
#'
#' For a term such as `(x || a/b)`, the lhs parts vary slowest:
#' `(1 | a), (1 | a:b), (0 + x | a), (0 + x | a:b)`.
#'
#' @param bars A list of `|` / `||` calls, as returned by [find_bars()].
#' @return A list of `|` calls.
#' @noRd
expand_bars <- function(bars) {
  if (is_bar_call(bars)) bars <- list(bars)
  out <- list()
  for (b in bars) {
    if (!is_bar_call(b)) {
      stop("internal error: expand_bars() needs calls to '|' or '||'",
           call. = FALSE)
    }
    lhs <- b[[2L]]
    groups <- expand_slash(b[[3L]])
    lhs_parts <- if (identical(b[[1L]], as.name("||"))) {
      split_double_bar_lhs(lhs)
    } else {
      list(lhs)
    }
    for (l in lhs_parts) {
      for (g in groups) {
        out <- c(out, list(call("|", l, g)))
      }
    }
  }
  out
}

#' The components of a grouping expression
#'
#' `a:b:c` (parentheses allowed) gives `a`, `b` and `c`; anything else is a
#' single component.
#'
#' @param grp Language object of the grouping part of a bar (after
#'   [expand_slash()]).
#' @return A list of language objects.
#' @noRd
group_components <- function(grp) {
  while (is_call_to(grp, "(")) grp <- grp[[2L]]
  if (is_call_to(grp, ":") && length(grp) == 3L) {
    c(group_components(grp[[2L]]), group_components(grp[[3L]]))
  } else {
    list(grp)
  }
}

#' Fixed-effects part of a mixed-model formula
#'
#' Removes every random-effects bar term from the right-hand side, keeping
#' everything else (offset() terms, `I()`, `poly()`, interactions, `0 +` or
#' `- 1`). If nothing is left on the right-hand side it becomes `1`.
#'
#' @param formula A formula.
#' @return A formula with the same response and environment.
#' @noRd
no_bars <- function(formula) {
  strip <- function(term) {
    op <- call_op(term)
    if (op == "|" || op == "||") return(NULL)
    if (op == "(") {
      inner <- strip(term[[2L]])
      if (is.null(inner)) return(NULL)
      term[[2L]] <- inner
      return(term)
    }
    if (op == "+" && length(term) == 2L) return(strip(term[[2L]]))
    if (op == "-" && length(term) == 2L) {
      r <- strip(term[[2L]])
      if (is.null(r)) return(NULL)
      return(call("-", r))
    }
    if (op == "+" || op == "-") {
      sc <- sum_chain(term)
      return(fold_chain(strip(sc$first), sc$ops, lapply(sc$operands, strip)))
    }
    term
  }
  rhs <- strip(formula_rhs(formula))
  if (is.null(rhs)) rhs <- 1
  formula[[length(formula)]] <- rhs
  formula
}

#' Formula mentioning every variable of a mixed model
#'
#' Replaces each random-effects term `(lhs | g)` (or `||`) by `(lhs + g)`,
#' where `/` and `:` in the grouping part are replaced by `+`. The result can
#' be given to a single `model.frame()` call to collect all the variables of
#' the model (response, fixed effects, random-effects covariates and grouping
#' factors), so that missing values are dropped once for the whole model.
#'
#' @param formula A formula.
#' @return A formula with the same response and environment.
#' @noRd
sub_bars <- function(formula) {
  plus_grouping <- function(g) {
    if (!is.call(g)) return(g)
    op <- call_op(g)
    if (op == "/" || op == ":") {
      g[[1L]] <- as.name("+")
    }
    for (i in seq_along(g)[-1L]) g[[i]] <- plus_grouping(g[[i]])
    g
  }
  replace <- function(term) {
    if (!is.call(term)) return(term)
    op <- call_op(term)
    if (op == "|" || op == "||") {
      return(call("+", term[[2L]], plus_grouping(term[[3L]])))
    }
    if ((op == "+" || op == "-") && length(term) == 3L) {
      sc <- sum_chain(term)
      return(fold_chain(replace(sc$first), sc$ops,
                        lapply(sc$operands, replace)))
    }
    if (op == "(" || op == "+" || op == "-") {
      for (i in seq_along(term)[-1L]) term[[i]] <- replace(term[[i]])
    }
    term
  }
  formula[[length(formula)]] <- replace(formula_rhs(formula))
  formula
}

#' Expand `.` in a formula over the columns of the data
#'
#' As in `lm()` and lme4, `.` on the right-hand side stands for every column
#' of `data` that is not a variable of the response (lme4 leaves it to
#' `model.frame()`; so grouping variables and random-effects covariates are
#' included too). It is expanded here, before the model frame is built, so
#' that the fit's formula names its variables and `predict()` and
#' `simulate()` need no data to understand it. `.` is expanded where
#' `terms()` would expand it: as a term of the fixed part, or an operand of
#' `+`, `-`, `*`, `/`, `:`, `^`, `%in%` or parentheses; not inside other
#' calls, and not inside random-effects terms, where it is an error.
#'
#' @param formula A two-sided formula.
#' @param data The data frame, or `NULL`.
#' @return The formula with `.` replaced (same environment), or `formula`
#'   unchanged if it has no `.`.
#' @noRd
expand_dot <- function(formula, data) {
  rhs <- formula_rhs(formula)
  if (!("." %in% all.vars(rhs))) return(formula)
  if (is.null(data)) {
    stop("'.' in formula and no `data` argument: `.` stands for the ",
         "columns of `data`", call. = FALSE)
  }
  cols <- setdiff(names(data), all.vars(formula[[2L]]))
  dot <- as.name(".")
  sum_of <- if (length(cols)) {
    Reduce(function(a, b) call("+", a, b), lapply(cols, as.name))
  } else {
    1
  }
  ops <- c("+", "-", "*", "/", ":", "^", "%in%", "(")
  # a `.` deeper than the top-level sum is replaced by `(a + b + ...)`, so
  # that `.^2` or `. : x` keep their meaning
  expand <- function(term) {
    if (identical(term, dot)) return(call("(", sum_of))
    if (!is.call(term) || is_bar_call(term)) return(term)
    if (!any(vapply(ops, function(op) is_call_to(term, op), logical(1)))) {
      return(term)
    }
    if ((is_call_to(term, "+") || is_call_to(term, "-")) && length(term) == 3L) {
      sc <- sum_chain(term)
      return(fold_chain(expand(sc$first), sc$ops, lapply(sc$operands, expand)))
    }
    for (i in seq_along(term)[-1L]) term[[i]] <- expand(term[[i]])
    term
  }
  # the terms of the top-level sum: a `.` added there becomes the columns'
  # terms themselves, so `y ~ . + (1 | g)` reads `y ~ a + b + g + (1 | g)`
  sc <- sum_chain(rhs)
  pieces <- c(list(sc$first), sc$operands)
  ops_in <- c("+", sc$ops)
  out_ops <- character(0)
  out <- list()
  for (i in seq_along(pieces)) {
    if (identical(pieces[[i]], dot) && ops_in[i] == "+" && length(cols)) {
      out <- c(out, lapply(cols, as.name))
      out_ops <- c(out_ops, rep("+", length(cols)))
    } else {
      out <- c(out, list(expand(pieces[[i]])))
      out_ops <- c(out_ops, ops_in[i])
    }
  }
  rhs <- fold_chain(out[[1L]], out_ops[-1L], out[-1L])
  if (any(vapply(find_bars(rhs), function(b) "." %in% all.vars(b), logical(1)))) {
    stop("`.` cannot be used inside a random-effects term such as (. | g): ",
         "name the variables", call. = FALSE)
  }
  formula[[length(formula)]] <- rhs
  formula
}
