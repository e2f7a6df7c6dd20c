# Family objects -> what the engine fits: gaussian with the identity link is
# a linear mixed model; binomial, poisson, Gamma, inverse.gaussian, gaussian
# with another link and the negative binomial (nbinom2) are GLMMs, with the
# links in `glmm_links`. Also the checks of nAGQ and the response of a GLMM,
# and the separation warning.

#' Normalise the `family` argument to a family object
#'
#' Accepts a family function (`gaussian`), a call result (`gaussian()`), a
#' family object or a string (`"gaussian"`).
#' @noRd
as_family <- function(family) {
  if (identical(family, stats::gaussian)) return(default_gaussian())
  if (is.character(family)) {
    if (length(family) != 1L) stop("`family` must be a single name", call. = FALSE)
    fun <- if (identical(family, "nbinom2")) nbinom2 else
      get0(family, mode = "function", envir = asNamespace("stats"))
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
  if (startsWith(family$family, "Negative Binomial(")) {
    # MASS::negative.binomial(theta): theta fixed at the given value
    theta <- get0(".Theta", envir = environment(family$variance))
    if (!is.numeric(theta) || length(theta) != 1L || !is.finite(theta) || theta <= 0) {
      stop("`family` negative.binomial() needs a positive finite theta", call. = FALSE)
    }
    family <- nbinom2(link = family$link, theta = theta)
  }
  family
}

#' gaussian(), made once: the default family, whose link functions
#' gaussian() would build anew at every fit
#' @noRd
default_gaussian <- local({
  family <- NULL
  function() {
    if (is.null(family)) family <<- stats::gaussian()
    family
  }
})

#' The negative binomial family (glmmTMB's nbinom2)
#'
#' Counts with variance \eqn{\mu + \mu^2 / \theta}: overdispersed relative to
#' the Poisson, with \eqn{\theta} estimated by maximum likelihood together
#' with the other parameters (or held at `theta` when given). glmmTMB's own
#' `nbinom2()` family object and `MASS::negative.binomial(theta)` (theta
#' fixed) are accepted as well. After a fit, `sigma()` returns
#' \eqn{\theta}, as glmmTMB's does; a large \eqn{\theta} means little
#' overdispersion (the Poisson is its limit).
#'
#' @param link The link: `"log"` (the default), `"sqrt"` or `"identity"`.
#' @param theta `NULL` to estimate \eqn{\theta}, or a positive number to fix it.
#' @return A family object of class `"family"`.
#' @examples
#' set.seed(1)
#' d <- data.frame(g = factor(rep(1:20, each = 10)), x = rnorm(200))
#' d$y <- rnbinom(200, mu = exp(0.5 + 0.3 * d$x + rnorm(20, sd = 0.4)[d$g]), size = 2)
#' m <- glmmr(y ~ x + (1 | g), d, family = nbinom2)
#' sigma(m)
#' @export
nbinom2 <- function(link = "log", theta = NULL) {
  if (!is.character(link) || length(link) != 1L ||
      !link %in% c("log", "sqrt", "identity")) {
    stop("`link` for nbinom2 must be \"log\", \"sqrt\" or \"identity\"", call. = FALSE)
  }
  if (!is.null(theta) && (!is.numeric(theta) || length(theta) != 1L ||
                          !is.finite(theta) || theta <= 0)) {
    stop("`theta` must be NULL or a single positive number", call. = FALSE)
  }
  lk <- stats::make.link(link)
  th <- if (is.null(theta)) NA_real_ else theta
  structure(list(
    family = "nbinom2", link = link,
    linkfun = lk$linkfun, linkinv = lk$linkinv, mu.eta = lk$mu.eta,
    valideta = lk$valideta,
    variance = function(mu) mu + mu^2 / th,
    dev.resids = function(y, mu, wt) {
      2 * wt * (ifelse(y > 0, y * log(y / mu), 0) -
                  (y + th) * log((y + th) / (mu + th)))
    },
    aic = function(y, n, mu, wt, dev) {
      -2 * sum(wt * stats::dnbinom(y, size = th, mu = mu, log = TRUE))
    },
    validmu = function(mu) all(is.finite(mu)) && all(mu > 0),
    theta = th, fixed_theta = !is.null(theta)
  ), class = "family")
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
  gaussian = c("log", "inverse"),
  nbinom2 = c("log", "sqrt", "identity")
)

#' Stop unless the engine can fit this family and link
#' @noRd
check_glmm_family <- function(family) {
  fam <- family$family
  if (!fam %in% names(glmm_links)) {
    stop("`family` ", fam, " is not supported; use gaussian, binomial, ",
         "poisson, Gamma, inverse.gaussian or nbinom2", call. = FALSE)
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
  } else if (fam == "nbinom2") {
    if (is.matrix(response) || !is.numeric(response)) {
      stop("the response for family nbinom2 must be a numeric vector of counts",
           call. = FALSE)
    }
    y <- as.numeric(response)
    bad <- which(y < 0 | y != round(y))
    if (length(bad)) {
      stop("response value ", y[bad[1L]], " (row ", bad[1L], ") is not ",
           "valid for family nbinom2: counts must be non-negative whole ",
           "numbers", call. = FALSE)
    }
    # the engine reads a fixed theta from the family's name
    dist <- if (isTRUE(family$fixed_theta)) sprintf("nbinom2:%.17g", family$theta) else "nbinom2"
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

#' Fixed-effects columns whose maximum-likelihood estimates are infinite
#'
#' Separation: when some columns of X predict 0/1 responses exactly
#' (binomial), or push the mean to 0 where every count is 0 (Poisson), the
#' likelihood keeps increasing as their coefficients run off to infinity.
#' The random effects do not prevent it (their penalty does not touch the
#' fixed effects), so the engine stops somewhere large with a gradient that
#' does not vanish. Only a fit that reaches fitted values of (nearly)
#' exactly 0 or 1 is looked at further, with a glm of the fixed part: when
#' glm's fit reaches such values too, ten more Newton iterations from its
#' estimates are run; a coefficient with a finite estimate has converged
#' and no longer moves, one that is infinite keeps moving the linear
#' predictor by about one unit per iteration.
#'
#' @param X,y,weights,offset The fixed-effects matrix, response (proportions
#'   for binomial), weights and offset as the engine takes them.
#' @param family The family object.
#' @param eta The engine's linear predictor at the rows with a positive
#'   weight.
#' @return The names of the columns of `X` whose estimates diverge (empty if
#'   none, for other families, or when the glm cannot be fitted).
#' @noRd
separated_columns <- function(X, y, weights, offset, family, eta) {
  if (!family$family %in% c("binomial", "poisson") || ncol(X) == 0L) {
    return(character(0))
  }
  at_edge <- function(mu, edge) {
    any(mu < edge | (family$family == "binomial" & mu > 1 - edge))
  }
  if (!at_edge(family$linkinv(eta), 1e-6)) return(character(0))
  keep <- weights > 0
  X <- X[keep, , drop = FALSE]
  fit_glm <- function(start, control) {
    tryCatch(suppressWarnings(stats::glm.fit(
      X, y[keep], weights[keep], start = start, offset = offset[keep],
      family = family, control = control)), error = function(e) NULL)
  }
  fit <- fit_glm(NULL, stats::glm.control())
  if (is.null(fit) || anyNA(fit$coefficients)) return(character(0))
  # glm's own sign of trouble ("fitted probabilities numerically 0 or 1"),
  # with room for where its convergence rule stops the divergence
  if (!at_edge(fit$fitted.values, 1e-8)) return(character(0))
  # a tolerance no change meets: `maxit` more iterations
  more <- fit_glm(fit$coefficients, list(epsilon = .Machine$double.xmin, maxit = 10L))
  if (is.null(more) || anyNA(more$coefficients)) return(character(0))
  # the change of each column's contribution to the linear predictor
  moved <- abs(more$coefficients - fit$coefficients) *
    apply(abs(X), 2L, max)
  colnames(X)[moved > 1e-2]
}

#' The warning for separation
#' @param columns The columns whose estimates diverge (see
#'   [separated_columns()]).
#' @param family The family object.
#' @noRd
separation_warning <- function(columns, family) {
  warning("separation: the fixed effects ", paste(columns, collapse = ", "),
          " predict some responses exactly (fitted ",
          if (family$family == "binomial") "probabilities of 0 or 1"
          else "means of 0 where the counts are 0",
          "), so their maximum-likelihood estimates are infinite; the ",
          "estimates reported are where the optimizer stopped and their ",
          "standard errors are meaningless. Remove or merge the predictors ",
          "involved, or use a penalized fit", call. = FALSE)
}
