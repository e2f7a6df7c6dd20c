# profile(): likelihood profiles of every parameter as lme4 gives them (the
# signed square root zeta of the rise in -2 log L against the parameter's
# value), with confint(), as.data.frame() and plot() methods. The profile
# steps are the ones confint(method = "profile") takes, through the fit's
# prepared model.

#' Likelihood profiles
#'
#' For each parameter (named as [confint.glmmr()] names them), the profile
#' statistic \eqn{\zeta = \mathrm{sign}(v - \hat v)\sqrt{D(v) - D(\hat v)}}
#' at values `v` on each side of the estimate, where `D(v)` is -2 log L (the
#' REML criterion for a REML fit's variance parameters) minimised over the
#' other parameters with this one held at `v`. The values run to where
#' \eqn{|\zeta|} reaches the normal quantile of `1 - alphamax / 2`, as in
#' lme4. A REML fit's fixed effects are profiled on its ML refit, as lme4
#' does. `confint()` of the result interpolates \eqn{\zeta} (as lme4's
#' confint of a profile does); `as.data.frame()` gives lme4's long format
#' (`.zeta`, `.par`, `.focal`); `plot()` draws \eqn{\zeta} against each
#' parameter.
#'
#' @param fitted A fitted `"glmmr"` model.
#' @param which Optional names (or indices, in `confint()`'s order) of the
#'   parameters to profile; all by default.
#' @param alphamax The profiles reach the \eqn{1 - \mathrm{alphamax}}
#'   confidence limits.
#' @param npts The number of values on each side of the estimate.
#' @param ... Must be empty.
#' @return An object of class `"profile.glmmr"`: a list with one data frame
#'   per parameter (columns `value` and `.zeta`) and the estimates as
#'   attribute `"estimates"`.
#' @examples
#' m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
#' pr <- profile(m)
#' confint(pr)
#' head(as.data.frame(pr))
#' @export
profile.glmmr <- function(fitted, which = NULL, alphamax = 0.01, npts = 8L, ...) {
  check_dots(...)
  object <- fitted
  if (!is.numeric(alphamax) || length(alphamax) != 1L || alphamax <= 0 || alphamax >= 1) {
    stop("`alphamax` must be a number between 0 and 1", call. = FALSE)
  }
  if (!is.numeric(npts) || length(npts) != 1L || npts < 2) {
    stop("`npts` must be a whole number of at least 2", call. = FALSE)
  }
  est <- parameter_vector(object$theta, object$beta, object$sigma, object)
  wanted <- if (is.null(which)) names(est) else if (is.numeric(which)) names(est)[which] else which
  unknown <- setdiff(wanted, names(est))
  if (length(unknown) || anyNA(wanted)) {
    stop("`which` names no parameter of the model: ",
         paste0("`", unknown, "`", collapse = ", "), call. = FALSE)
  }
  crit <- stats::qchisq(1 - alphamax, 1)
  ml <- NULL
  out <- list()
  for (nm in wanted) {
    is_fixed <- nm %in% names(object$beta)
    at_zero <- FALSE
    fit <- object
    if (is_fixed && isTRUE(object$REML)) {
      if (is.null(ml)) {
        message("profiling the fixed effects of a REML fit on the ML criterion ",
                "(the model refitted by ML), as lme4 does")
        ml <- ml_fit(object)
      }
      fit <- ml
    }
    if (is_fixed) {
      ends <- profile_beta(fit, nm, crit)
      engine_name <- paste0("beta_", nm)
      centre <- fit$beta[[nm]]
    } else {
      sp <- Filter(function(p) p$name == nm, profiled_params(fit))[[1L]]
      ends <- profile_param(fit, sp, crit)
      engine_name <- nm
      centre <- sp$estimate
      # the engine holds an sd above 0 and a correlation inside (-1, 1): an
      # end at the boundary (a profile that never reaches the limit there)
      # is approached, not evaluated
      at_zero <- !sp$correlation && isTRUE(ends[1L] == 0)
      if (at_zero) ends[1L] <- 1e-3 * centre
      if (sp$correlation) ends <- pmin(pmax(ends, -0.9999), 0.9999)
    }
    rise <- profile_rise(fit, engine_name, 0)
    values <- profile_grid(centre, ends, npts)
    zeta <- vapply(values, function(v) {
      if (v == centre) return(0)
      sign(v - centre) * sqrt(max(rise(v), 0))
    }, 0)
    out[[nm]] <- structure(data.frame(value = values, .zeta = zeta),
                           lower_bound = !is_fixed && at_zero)
  }
  structure(out, estimates = est[wanted], alphamax = alphamax,
            class = "profile.glmmr")
}

#' Values of a parameter from the lower to the upper end of its profile,
#' with the estimate among them (ends that are NA, never reached, or at a
#' bound of the parameter's range are left out)
#' @noRd
profile_grid <- function(centre, ends, npts) {
  lower <- if (is.finite(ends[1L]) && ends[1L] < centre) ends[1L] else NA
  upper <- if (is.finite(ends[2L]) && ends[2L] > centre) ends[2L] else NA
  below <- if (is.na(lower)) numeric(0) else seq(lower, centre, length.out = npts + 1L)[-(npts + 1L)]
  above <- if (is.na(upper)) numeric(0) else seq(centre, upper, length.out = npts + 1L)[-1L]
  c(below, centre, above)
}

#' @rdname profile.glmmr
#' @param object A `"profile.glmmr"` object.
#' @param parm Optional names (or indices) of the parameters.
#' @param level The confidence level.
#' @export
confint.profile.glmmr <- function(object, parm, level = 0.95, ...) {
  check_dots(...)
  if (!is.numeric(level) || length(level) != 1L || level <= 0 || level >= 1) {
    stop("`level` must be a number between 0 and 1", call. = FALSE)
  }
  a <- (1 - level) / 2
  pct <- paste(format(100 * c(a, 1 - a), trim = TRUE, scientific = FALSE, digits = 3), "%")
  nms <- names(object)
  if (!missing(parm)) nms <- if (is.numeric(parm)) nms[parm] else intersect(parm, nms)
  q <- stats::qnorm(1 - a)
  ci <- matrix(NA_real_, length(nms), 2L, dimnames = list(nms, pct))
  for (nm in nms) {
    d <- object[[nm]]
    bound <- attr(d, "lower_bound")
    d <- d[order(d$.zeta), ]
    attr(d, "lower_bound") <- bound
    # value as a function of zeta (monotone), interpolated by a spline
    # through the profile's points, as lme4's confint of a profile does;
    # an end beyond the profile's range is NA
    if (nrow(d) >= 2L && length(unique(d$.zeta)) == nrow(d)) {
      f <- stats::splinefun(d$.zeta, d$value, method = "monoH.FC")
      inside <- function(z) z >= min(d$.zeta) && z <= max(d$.zeta)
      # an sd whose profile stays below the limit down to 0 has 0 as its
      # lower limit, as lme4 reports
      lower <- if (inside(-q)) f(-q) else if (isTRUE(attr(d, "lower_bound"))) 0 else NA_real_
      ci[nm, ] <- c(lower, if (inside(q)) f(q) else NA_real_)
    }
  }
  ci
}

#' @rdname profile.glmmr
#' @param x A `"profile.glmmr"` object.
#' @param row.names,optional Unused, for the generic.
#' @export
as.data.frame.profile.glmmr <- function(x, row.names = NULL, optional = FALSE, ...) {
  check_dots(...)
  rows <- lapply(names(x), function(nm) {
    data.frame(.zeta = x[[nm]]$.zeta, .par = nm, .focal = x[[nm]]$value)
  })
  out <- do.call(rbind, rows)
  out$.par <- factor(out$.par, levels = names(x))
  out
}

#' @rdname profile.glmmr
#' @param levels Confidence levels marked on the plot.
#' @export
plot.profile.glmmr <- function(x, levels = c(0.5, 0.8, 0.9, 0.95, 0.99), ...) {
  check_dots(...)
  n <- length(x)
  old <- graphics::par(mfrow = c(1L, n), mar = c(4, 4, 1, 1))
  on.exit(graphics::par(old))
  q <- stats::qnorm(1 - (1 - levels) / 2)
  for (nm in names(x)) {
    d <- x[[nm]]
    graphics::plot(d$value, d$.zeta, type = "b", pch = 20, xlab = nm,
                   ylab = expression(zeta))
    graphics::abline(h = c(-q, q), lty = 3, col = "grey50")
    graphics::abline(v = attr(x, "estimates")[[nm]], lty = 2, col = "grey50")
  }
  invisible(x)
}

#' @importFrom stats profile
NULL
