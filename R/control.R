#' Control settings for the glmmr optimizer
#'
#' @param max_evals Maximum number of objective evaluations.
#' @param rel_tol The optimizer stops when the decrease of the objective
#'   (the deviance) that its quadratic model predicts falls below
#'   `rel_tol * (1 + |deviance|)`.
#' @param cost_tol The optimizer also stops when two iterations in a row
#'   improve the objective by less than `cost_tol * (1 + |deviance|)`.
#' @param max_iter Maximum number of quasi-Newton iterations.
#' @param progress Show the progress of long fits (evaluations, objective,
#'   time per evaluation) on the console; by default in interactive sessions
#'   only. It is never shown while knitr renders a document (option
#'   `knitr.in.progress`), whatever this says, since the line would be
#'   printed into the document.
#'   Whatever this says, a fit checks for a user interrupt (Ctrl-C, Esc) ten
#'   times a second and stops as R code does on an interrupt: with an
#'   interrupt condition (which `tryCatch(interrupt = )` sees and `try()` does
#'   not catch).
#' @param check_tol A fit whose largest scaled gradient (the Newton step,
#'   \eqn{|H^{-1} g|}) at the optimum exceeds this gets a convergence warning.
#' @param threads The most threads a fit may use (a positive whole number).
#'   Large GLMMs (from 20,000 observations) share their per-observation
#'   passes between threads, and large models the dense part of the factor;
#'   small ones use one thread whatever this says. The estimates are the same
#'   for any number of threads. By default, what [parallel::detectCores()]
#'   reports, but at most 2 under `R CMD check` (when the environment
#'   variable `_R_CHECK_LIMIT_CORES_` is set, as CRAN sets it). Set it to 1
#'   on a shared server, or where fits already run in parallel workers.
#' @return A list of class `"glmmr_control"`.
#' @examples
#' glmmr_control(max_evals = 5000)
#' @export
glmmr_control <- function(max_evals = 20000, rel_tol = 1e-12, cost_tol = 1e-11,
                          max_iter = 500, check_tol = 1e-3,
                          progress = default_progress(),
                          threads = default_threads()) {
  num <- function(x, name, int = FALSE) {
    if (!is.numeric(x) || length(x) != 1L || !is.finite(x) || x <= 0 ||
        (int && x != round(x))) {
      stop("`", name, "` must be a single positive ",
           if (int) "whole number" else "number", call. = FALSE)
    }
    x
  }
  if (!is.logical(progress) || length(progress) != 1L || is.na(progress)) {
    stop("`progress` must be TRUE or FALSE", call. = FALSE)
  }
  ctl <- list(max_evals = num(max_evals, "max_evals", TRUE),
              rel_tol = num(rel_tol, "rel_tol"),
              cost_tol = num(cost_tol, "cost_tol"),
              max_iter = num(max_iter, "max_iter", TRUE),
              check_tol = num(check_tol, "check_tol"),
              progress = progress,
              threads = as.integer(num(threads, "threads", TRUE)))
  class(ctl) <- "glmmr_control"
  ctl
}

#' Whether fits show their progress by default: in an interactive session,
#' and not while knitr renders a document
#' @noRd
default_progress <- function(interactive = base::interactive()) {
  interactive && !knitting()
}

#' Is knitr rendering a document?
#' @noRd
knitting <- function() isTRUE(getOption("knitr.in.progress"))

#' The default thread cap: the cores R sees, at most 2 under R CMD check
#' (`_R_CHECK_LIMIT_CORES_` set to anything but "false", as CRAN does)
#' @importFrom parallel detectCores
#' @noRd
default_threads <- function(cores = detected_cores(),
                            check = Sys.getenv("_R_CHECK_LIMIT_CORES_", "")) {
  if (is.na(cores) || cores < 1) cores <- 1L
  if (nzchar(check) && !identical(tolower(check), "false")) cores <- min(cores, 2L)
  as.integer(cores)
}

#' parallel::detectCores(), asked once per session: on Linux it runs a shell
#' command (about 5 ms, more than a small model's whole fit)
#' @noRd
detected_cores <- local({
  cores <- NULL
  function() {
    if (is.null(cores)) cores <<- parallel::detectCores()
    cores
  }
})
