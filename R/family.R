# Family objects -> what the engine fits. Until the GLMM engine lands only the
# gaussian family with the identity link (a linear mixed model) is accepted.

#' Normalise the `family` argument to a family object
#'
#' Accepts a family function (`gaussian`), a call result (`gaussian()`), a
#' family object or a string (`"gaussian"`).
#' @noRd
as_family <- function(family) {
  if (is.character(family)) {
    if (length(family) != 1L) stop("`family` must be a single name", call. = FALSE)
    fun <- get0(family, mode = "function", envir = asNamespace("stats"))
    if (is.null(fun)) {
      stop("`family` \"", family, "\" is not a known family", call. = FALSE)
    }
    family <- fun
  }
  if (is.function(family)) family <- family()
  if (!inherits(family, "family")) {
    stop("`family` must be a family object, a family function or its name",
         call. = FALSE)
  }
  family
}

#' Is this family/link a linear mixed model the engine can fit?
#' @noRd
check_lmm_family <- function(family) {
  if (family$family != "gaussian") {
    stop("`family` ", family$family, " is not supported yet: this version of ",
         "glmmr fits linear mixed models (family = gaussian)", call. = FALSE)
  }
  if (family$link != "identity") {
    stop("`family` gaussian with link \"", family$link, "\" is not supported ",
         "yet: only the identity link", call. = FALSE)
  }
  invisible(family)
}
