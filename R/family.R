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

#' A linear mixed model: gaussian with the identity link
#' @noRd
is_lmm_family <- function(family) {
  family$family == "gaussian" && family$link == "identity"
}

# The families and links the GLMM engine fits.
glmm_links <- list(
  binomial = c("logit", "probit", "cloglog", "cauchit", "log"),
  poisson = c("log", "sqrt", "identity"),
  Gamma = c("log", "inverse", "identity"),
  inverse.gaussian = c("log", "inverse", "1/mu^2", "identity"),
  gaussian = c("log", "inverse")
)

#' Stop unless the engine can fit this family and link
#' @noRd
check_glmm_family <- function(family) {
  fam <- family$family
  if (!fam %in% names(glmm_links)) {
    stop("`family` ", fam, " is not supported; use gaussian, binomial, ",
         "poisson, Gamma or inverse.gaussian", call. = FALSE)
  }
  if (!family$link %in% glmm_links[[fam]]) {
    stop("`family` ", fam, " with link \"", family$link, "\" is not ",
         "supported; links available: ",
         paste(glmm_links[[fam]], collapse = ", "), call. = FALSE)
  }
  invisible(family)
}

#' nAGQ is a whole number from 0 to 25
#' @noRd
check_nagq_value <- function(nAGQ) {
  if (!is.numeric(nAGQ) || length(nAGQ) != 1L || is.na(nAGQ) ||
      nAGQ != round(nAGQ) || nAGQ < 0 || nAGQ > 25) {
    stop("`nAGQ` must be a whole number from 0 to 25", call. = FALSE)
  }
  invisible(nAGQ)
}

#' Quadrature needs random-effects terms with one grouping factor
#'
#' With nAGQ > 1 every level's integral is taken separately: over one random
#' effect for a single scalar term, over the level's q random effects (all
#' the terms' columns together, a q-dimensional product rule) when several
#' columns or terms share the grouping factor, as in (1 + x | g),
#' (1 | g) + (0 + x | g) or (x || g). Crossed or nested factors tie the
#' levels together, so the integral no longer splits by level.
#' @noRd
check_nagq_terms <- function(nAGQ, reterms) {
  if (nAGQ <= 1 || length(reterms) <= 1L) return(invisible(nAGQ))
  g1 <- reterms[[1L]]$group
  same <- vapply(reterms, function(t) identical(t$group, g1), logical(1))
  if (!all(same)) {
    grps <- unique(vapply(reterms, `[[`, "", "group_name"))
    stop("`nAGQ` > 1 needs random-effects terms that all have the same ",
         "grouping factor; this model has ", length(grps), " (",
         paste(grps, collapse = ", "), "), crossed or nested, so the ",
         "likelihood does not split into one integral per level and ",
         "adaptive Gauss-Hermite quadrature does not apply; use nAGQ = 1 ",
         "(Laplace) for this model", call. = FALSE)
  }
  invisible(nAGQ)
}

#' The response of a GLMM as the engine takes it
#'
#' Returns list(y, weights, dist, has_scale, ll_correction): for binomial, y is
#' the proportion of successes and the weights count the trials (as glm),
#' dist is "bernoulli" when every y is 0 or 1; ll_correction is what the
#' engine's -2 log L lacks for a weighted cbind() response (0 otherwise).
#' @noRd
glmm_response <- function(response, family, weights) {
  fam <- family$family
  if (is.null(response)) stop("the formula has no response", call. = FALSE)
  ll_correction <- 0
  if (fam == "binomial") {
    if (is.matrix(response)) {
      if (ncol(response) != 2L || !is.numeric(response)) {
        stop("a matrix response for family binomial must be ",
             "cbind(successes, failures)", call. = FALSE)
      }
      s <- response[, 1L]
      f <- response[, 2L]
      bad <- which(s < 0 | f < 0 | s != round(s) | f != round(f))
      if (length(bad)) {
        stop("the binomial response cbind(successes, failures) needs ",
             "non-negative whole numbers (row ", bad[1L], ": ", s[bad[1L]],
             ", ", f[bad[1L]], ")", call. = FALSE)
      }
      trials <- s + f
      y <- ifelse(trials > 0, s / trials, 0)
      # The engine sees w * n trials per row; with prior weights w != 1 its
      # binomial coefficient choose(w n, w s) is not the likelihood's
      # choose(n, s)^w (a row of weight w stands for w identical rows, as in
      # glm and lme4): the difference is a constant of the data.
      ll_correction <- -2 * (sum(weights * lchoose(trials, s)) -
                               sum(lchoose(weights * trials, round(weights * s))))
      weights <- weights * trials
    } else if (is.factor(response)) {
      y <- as.numeric(response != levels(response)[1L])
    } else if (is.logical(response)) {
      y <- as.numeric(response)
    } else if (is.numeric(response)) {
      y <- as.numeric(response)
      bad <- which(y < 0 | y > 1)
      if (length(bad)) {
        stop("response value ", y[bad[1L]], " (row ", bad[1L], ") is not ",
             "valid for family binomial: use 0/1, a proportion with ",
             "`weights` the number of trials, or cbind(successes, failures)",
             call. = FALSE)
      }
      succ <- y * weights
      bad <- which(abs(succ - round(succ)) > 1e-7)
      if (length(bad) && !all(y %in% c(0, 1))) {
        # glm's and lme4's words; fitted with the continuous binomial
        # coefficient (as glmmTMB), not rounded successes
        warning("non-integer #successes in a binomial glm! (response value ",
                y[bad[1L]], " at row ", bad[1L], " times its weight; a ",
                "proportion usually needs `weights` = number of trials)",
                call. = FALSE)
      }
    } else {
      stop("the response for family binomial must be numeric, logical, a ",
           "factor or cbind(successes, failures)", call. = FALSE)
    }
    dist <- if (all(y %in% c(0, 1))) "bernoulli" else "binomial"
  } else if (fam == "poisson") {
    if (is.matrix(response) || !is.numeric(response)) {
      stop("the response for family poisson must be a numeric vector of counts",
           call. = FALSE)
    }
    y <- as.numeric(response)
    bad <- which(y < 0)
    if (length(bad)) {
      stop("response value ", y[bad[1L]], " (row ", bad[1L], ") is not ",
           "valid for family poisson: counts must be non-negative",
           call. = FALSE)
    }
    # Non-integer counts: glm() and lme4 warn and fit. The engine's
    # log-likelihood uses lgamma(y + 1) for y!, so it is defined for them.
    frac <- which(is.finite(y) & y != round(y))
    if (length(frac)) {
      warning(sprintf(paste0(
        "non-integer x = %f (row %d; %d non-integer response value(s)) for ",
        "family poisson: the log-likelihood uses lgamma(y + 1) for y!"),
        y[frac[1L]], frac[1L], length(frac)), call. = FALSE)
    }
    dist <- "poisson"
  } else if (fam %in% c("Gamma", "inverse.gaussian", "gaussian")) {
    if (is.matrix(response) || !is.numeric(response)) {
      stop("the response for family ", fam, " must be a numeric vector",
           call. = FALSE)
    }
    y <- as.numeric(response)
    if (fam != "gaussian") {
      bad <- which(y <= 0)
      if (length(bad)) {
        stop("response value ", y[bad[1L]], " (row ", bad[1L], ") is not ",
             "valid for family ", fam, ": values must be positive",
             call. = FALSE)
      }
    }
    dist <- fam
  } else {
    stop("internal error: unexpected family ", fam, call. = FALSE)
  }
  if (any(!is.finite(y))) {
    stop("the response contains non-finite values", call. = FALSE)
  }
  list(y = y, weights = as.numeric(weights), dist = dist,
       has_scale = fam %in% c("Gamma", "inverse.gaussian", "gaussian"),
       ll_correction = ll_correction)
}
