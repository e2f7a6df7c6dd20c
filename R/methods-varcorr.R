# The variance components: VarCorr, its print method and as.data.frame with
# lme4's columns so that tools written for lme4 output read ours.

#' Variance components of a fitted model
#'
#' For each random-effects term the covariance matrix of its columns
#' (\eqn{\sigma^2 \lambda \lambda'} in a linear mixed model,
#' \eqn{\lambda \lambda'} in a generalized one), with the standard
#' deviations and correlations as attributes, and `sigma()` as attribute
#' `"sc"` (the residual standard deviation, the square root of the
#' dispersion, or the negative binomial's theta, which the print shows
#' beneath the table).
#'
#' @param x A fitted `"glmmr"` model.
#' @param sigma Unused; for compatibility with the generic.
#' @param ... Unused; an error if given.
#' @return An object of class `"VarCorr.glmmr"`: a named list of covariance
#'   matrices. Print it for the table of variances, standard deviations and
#'   correlations; `as.data.frame()` gives lme4's long format.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' vc <- VarCorr(m)
#' vc
#' as.data.frame(vc)
#' @method VarCorr glmmr
#' @export
VarCorr.glmmr <- function(x, sigma = 1, ...) {
  check_dots(...)
  re_sc <- if (is.null(x$re_scale)) x$sigma else x$re_scale
  out <- lapply(term_covariances(x$theta, x$reterms, re_sc), function(tc) {
    structure(tc$cov, stddev = tc$sd, correlation = tc$cor)
  })
  names(out) <- vapply(x$reterms, `[[`, "", "group_name")
  structure(out, sc = x$sigma, useSc = isTRUE(x$use_scale),
            nb_theta = if (startsWith(x$dist, "nbinom2")) x$sigma,
            class = "VarCorr.glmmr")
}

#' Covariance matrices of the random-effects terms from theta
#'
#' Each term's block of theta fills the lower triangle of its relative
#' covariance factor lambda (column by column, lme4's order); the term's
#' covariance is `scale^2 * lambda lambda'`.
#' @param theta The covariance parameters of all the terms, in term order.
#' @param reterms The fit's random-effects term records.
#' @param scale sigma for a linear mixed model (whose random effects are
#'   sigma * lambda * u), 1 for a GLMM.
#' @return One list per term: `cov` (k x k, named by the term's columns),
#'   `sd` (the square roots of its diagonal) and `cor` (the correlations; 0
#'   where an sd is 0, so that a singular fit still has a correlation).
#' @noRd
term_covariances <- function(theta, reterms, scale) {
  pos <- 0L
  lapply(reterms, function(t) {
    k <- length(t$cnms)
    nt <- k * (k + 1L) / 2L
    lam <- matrix(0, k, k)
    lam[lower.tri(lam, diag = TRUE)] <- theta[pos + seq_len(nt)]
    pos <<- pos + nt
    cv <- scale^2 * lam %*% t(lam)
    dimnames(cv) <- list(t$cnms, t$cnms)
    sd <- sqrt(diag(cv))
    cr <- cv / outer(sd, sd)
    cr[!is.finite(cr)] <- 0
    diag(cr) <- 1
    list(cov = cv, sd = sd, cor = cr)
  })
}

#' @rdname VarCorr.glmmr
#' @param digits Number of significant digits to print.
#' @export
print.VarCorr.glmmr <- function(x, digits = max(3L, getOption("digits") - 2L), ...) {
  check_dots(...)
  tab <- format_varcorr(x, digits)
  print(tab, quote = FALSE, right = FALSE, row.names = FALSE)
  if (!is.null(attr(x, "nb_theta"))) {
    # the negative binomial's overdispersion: variance mu + mu^2 / theta
    cat(" Negative binomial theta: ", format(signif(attr(x, "nb_theta"), digits)),
        " (variance mu + mu^2 / theta)\n", sep = "")
  }
  invisible(x)
}

#' Character table of the variance components (the seed's layout)
#' @noRd
format_varcorr <- function(x, digits) {
  rows <- list()
  for (g in seq_along(x)) {
    cv <- x[[g]]
    k <- nrow(cv)
    sd <- attr(cv, "stddev")
    cr <- attr(cv, "correlation")
    for (i in seq_len(k)) {
      corr <- if (i > 1L) {
        paste(formatC(cr[i, seq_len(i - 1L)], digits = 2, format = "f",
                      flag = "+"), collapse = " ")
      } else ""
      rows[[length(rows) + 1L]] <- c(
        if (i == 1L) names(x)[g] else "", rownames(cv)[i],
        format(signif(cv[i, i], digits)), format(signif(sd[i], digits)), corr)
    }
  }
  if (isTRUE(attr(x, "useSc"))) {
    sc <- attr(x, "sc")
    rows[[length(rows) + 1L]] <- c("Residual", "", format(signif(sc^2, digits)),
                                   format(signif(sc, digits)), "")
  }
  tab <- as.data.frame(do.call(rbind, rows), stringsAsFactors = FALSE)
  names(tab) <- c("Groups", "Name", "Variance", "Std.Dev.", "Corr.")
  if (all(tab$Corr. == "")) tab$Corr. <- NULL
  tab
}

#' @rdname VarCorr.glmmr
#' @param row.names,optional Unused; for compatibility with the generic.
#' @export
as.data.frame.VarCorr.glmmr <- function(x, row.names = NULL, optional = FALSE, ...) {
  check_dots(...)
  out <- list()
  for (g in seq_along(x)) {
    cv <- x[[g]]
    nm <- rownames(cv)
    k <- nrow(cv)
    sd <- attr(cv, "stddev")
    cr <- attr(cv, "correlation")
    out[[length(out) + 1L]] <- data.frame(
      grp = names(x)[g], var1 = nm, var2 = NA_character_,
      vcov = diag(cv), sdcor = sd, stringsAsFactors = FALSE)
    if (k > 1L) {
      idx <- which(lower.tri(cv), arr.ind = TRUE)
      idx <- idx[order(idx[, "col"], idx[, "row"]), , drop = FALSE]
      out[[length(out) + 1L]] <- data.frame(
        grp = names(x)[g], var1 = nm[idx[, "col"]], var2 = nm[idx[, "row"]],
        vcov = cv[idx], sdcor = cr[idx], stringsAsFactors = FALSE)
    }
  }
  if (isTRUE(attr(x, "useSc"))) {
    sc <- attr(x, "sc")
    out[[length(out) + 1L]] <- data.frame(
      grp = "Residual", var1 = NA_character_, var2 = NA_character_,
      vcov = sc^2, sdcor = sc, stringsAsFactors = FALSE)
  }
  res <- do.call(rbind, out)
  rownames(res) <- NULL
  res
}
