# Arguments a method does not know are errors: the generics of stats and
# lme4 take `...`, so that a misspelt argument (confint(m, nsims = 10))
# would otherwise be ignored without a word.

#' Stop if `...` holds anything
#'
#' For methods whose `...` is there only because their generic has it.
#' Names the arguments (or, unnamed, their expressions) and the call.
#' @param ... The method's `...`, passed on as they are (not evaluated).
#' @return `NULL`, invisibly, when `...` is empty.
#' @noRd
check_dots <- function(...) {
  if (...length() == 0L) return(invisible(NULL))
  exprs <- as.list(substitute(list(...)))[-1L]
  nms <- names(exprs)
  if (is.null(nms)) nms <- rep("", length(exprs))
  shown <- ifelse(is.na(nms) | nms == "",
                  vapply(exprs, function(e) deparse1(e, width.cutoff = 40L), ""),
                  nms)
  caller <- sys.call(-1L)
  fun <- if (is.null(caller)) "this function" else paste0(deparse1(caller[[1L]]), "()")
  stop(sprintf("unknown argument%s to %s: %s",
               if (length(shown) > 1L) "s" else "", fun,
               paste0("`", shown, "`", collapse = ", ")),
       call. = FALSE)
}
