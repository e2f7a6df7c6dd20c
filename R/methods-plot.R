# Base-graphics plots: the caterpillar plot of the random effects and the
# residuals against the fitted values.

#' Caterpillar plot of the random effects
#'
#' For each grouping factor and each of its columns, the conditional modes
#' in increasing order with intervals of +- `mult` conditional standard
#' deviations.
#'
#' @param x The result of `ranef()` on a `"glmmr"` fit; with
#'   `condVar = TRUE` the intervals are drawn, without it only the modes.
#' @param mult Half-width of the intervals in conditional standard deviations
#'   (1.96 gives 95 percent intervals).
#' @param ... Further arguments to `plot()`.
#' @return `x`, invisibly.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' plot(ranef(m, condVar = TRUE))
#' @export
plot.ranef.glmmr <- function(x, mult = 1.96, ...) {
  for (g in names(x)) {
    re <- x[[g]]
    pv <- attr(re, "postVar")
    for (j in seq_along(re)) {
      est <- re[[j]]
      se <- if (is.null(pv)) rep(0, length(est)) else sqrt(pv[j, j, ])
      o <- order(est)
      lo <- est - mult * se
      hi <- est + mult * se
      graphics::plot(est[o], seq_along(o), xlim = range(lo, hi), pch = 19,
                     yaxt = "n", xlab = paste(names(re)[j], "(conditional mode)"),
                     ylab = g, main = paste0(g, ": ", names(re)[j]), ...)
      graphics::segments(lo[o], seq_along(o), hi[o], seq_along(o))
      graphics::axis(2, at = seq_along(o), labels = rownames(re)[o], las = 1,
                     cex.axis = 0.6)
      graphics::abline(v = 0, lty = 2)
    }
  }
  invisible(x)
}

#' Residuals against fitted values
#'
#' @param x A fitted `"glmmr"` model.
#' @param ... Further arguments to `plot()`.
#' @return `x`, invisibly.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' plot(m)
#' @export
plot.glmmr <- function(x, ...) {
  graphics::plot(fitted(x), residuals(x, type = "pearson"), xlab = "Fitted values",
                 ylab = "Pearson residuals", ...)
  graphics::abline(h = 0, lty = 2)
  invisible(x)
}
