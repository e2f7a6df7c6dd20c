# simulate(): responses drawn from the fitted model, with new random
# effects (re.form = NA, lme4's default) or the fitted ones (re.form = NULL).

#' Simulate responses from a fitted model
#'
#' @param object A fitted `"glmmr"` model.
#' @param nsim Number of simulated responses.
#' @param seed Optional seed for `set.seed()`; the generator's state is
#'   restored afterwards, as in `stats::simulate()`.
#' @param re.form `NA` (the default, as in lme4): draw new random effects
#'   from their fitted distribution for each simulation; `NULL`: condition on
#'   the fitted random effects (the conditional modes).
#' @param newdata Optional data frame to simulate for (with `re.form = NULL`
#'   its grouping levels must be known to the fit).
#' @param ... Unused; an error if given.
#' @return A data frame with `nsim` columns `sim_1`, ... of simulated
#'   responses, with the seed as attribute `"seed"`. A binomial response
#'   comes back in the form the model was given it, as lme4's `simulate()`
#'   returns it: a factor response as a factor with the same levels (the
#'   first level a failure, the second a success); `cbind(successes,
#'   failures)` as a two-column matrix with the same column names in each
#'   column of the data frame, whose rows add up to the trials in
#'   `weights()` (for a fit with prior weights, the weights times the
#'   trials, as in lme4); a 0/1, logical or proportion response as
#'   proportions of the trials in `weights()`. With `newdata`, each row is
#'   one trial. Rows with a zero prior weight, which are outside the
#'   likelihood, are `NA`.
#' @examples
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' s <- simulate(m, nsim = 2, seed = 1)
#' head(s)
#' @export
simulate.glmmr <- function(object, nsim = 1, seed = NULL, re.form = NA,
                           newdata = NULL, ...) {
  check_dots(...)
  if (!is.numeric(nsim) || length(nsim) != 1L || nsim < 1 || nsim != round(nsim)) {
    stop("`nsim` must be a positive whole number", call. = FALSE)
  }
  if (!exists(".Random.seed", envir = globalenv(), inherits = FALSE)) stats::runif(1)
  if (is.null(seed)) {
    rng_state <- get(".Random.seed", envir = globalenv())
  } else {
    old <- get(".Random.seed", envir = globalenv())
    on.exit(assign(".Random.seed", old, envir = globalenv()), add = TRUE)
    set.seed(seed)
    rng_state <- structure(seed, kind = as.list(RNGkind()))
  }
  conditional <- is.null(re.form)
  if (!conditional && !identical(re.form, NA)) {
    stop("`re.form` must be NA (new random effects) or NULL (the fitted ones)",
         call. = FALSE)
  }
  if (is.null(newdata)) {
    fixed <- drop(object$X %*% object$beta) + object$offset
    terms <- object$reterms
    w <- object$weights
  } else {
    keep <- rep(FALSE, length(object$reterms))
    nd <- new_design(object, newdata, keep, allow.new.levels = TRUE)
    fixed <- drop(nd$X %*% object$beta) + nd$offset
    fenv <- environment(object$formula)
    terms <- lapply(object$reterms, function(t) {
      g <- new_group_index(t, newdata, fenv)
      idx <- g$index
      if (conditional && anyNA(idx)) {
        stop("`newdata` has levels of '", t$group_name, "' the fit has not ",
             "seen; use re.form = NA to draw random effects for them", call. = FALSE)
      }
      # unseen levels get their own new draws (indices past the fitted ones)
      unseen <- is.na(idx)
      idx[unseen] <- t$nlevels + match(g$new_id[unseen], unique(g$new_id[unseen]))
      list(z = new_re_z(t, newdata), group = idx)
    })
    w <- rep(1, nrow(nd$X))
  }
  form <- response_form(object)
  vc <- VarCorr(object)
  sims <- vector("list", nsim)
  for (s in seq_len(nsim)) {
    effects <- if (conditional) object$ranef else {
      lapply(seq_along(terms), function(i) {
        draw_effects(max(object$reterms[[i]]$nlevels, terms[[i]]$group), vc[[i]])
      })
    }
    eta <- fixed + z_times_b(terms, effects)
    sims[[s]] <- draw_response(object, object$family$linkinv(eta), w, form)
  }
  names <- paste0("sim_", seq_len(nsim))
  out <- if (identical(form$kind, "cbind")) {
    # as lme4's: each column of the data frame a two-column matrix
    # (as.data.frame() would split the matrices into columns)
    structure(stats::setNames(sims, names), row.names = .set_row_names(length(w)),
              class = "data.frame")
  } else {
    as.data.frame(sims, col.names = names)
  }
  attr(out, "seed") <- rng_state
  out
}

#' nlev draws of a k-vector of random effects with covariance `cv`
#' @noRd
draw_effects <- function(nlev, cv) {
  k <- nrow(cv)
  # a semi-definite factor (singular fits have zero variances)
  e <- eigen(cv, symmetric = TRUE)
  root <- e$vectors %*% diag(sqrt(pmax(e$values, 0)), k)
  matrix(stats::rnorm(nlev * k), nlev, k) %*% t(root)
}

#' The form in which simulate() returns the response: that of the fit's
#' response for binomial (lme4's simfun), a numeric vector otherwise
#' @noRd
response_form <- function(object) {
  if (!identical(object$family$family, "binomial")) return(list(kind = "numeric"))
  r <- stats::model.response(object$frame)
  if (is.factor(r)) {
    list(kind = "factor", levels = levels(r))
  } else if (is.matrix(r)) {
    list(kind = "cbind", colnames = colnames(r))
  } else {
    # lme4 returns a logical response as 0/1 too
    list(kind = "numeric")
  }
}

#' Responses from the conditional distribution with mean mu, in the form
#' `form` (response_form()); NA where the prior weight is 0 (an observation
#' outside the likelihood, whose variance phi / w is infinite; the refits of
#' the bootstrap leave it out too)
#' @noRd
draw_response <- function(object, mu, w, form = list(kind = "numeric")) {
  if (identical(object$family$family, "binomial")) {
    return(draw_binomial(mu, w, form))
  }
  out <- rep(NA_real_, length(mu))
  pos <- w > 0
  mu <- mu[pos]
  w <- w[pos]
  n <- length(mu)
  out[pos] <- switch(object$family$family,
    gaussian = mu + stats::rnorm(n, sd = object$sigma / sqrt(w)),
    poisson = stats::rpois(n, mu),
    nbinom2 = stats::rnbinom(n, size = object$sigma, mu = mu),
    Gamma = {
      phi <- object$sigma^2 / w
      stats::rgamma(n, shape = 1 / phi, scale = mu * phi)
    },
    inverse.gaussian = {
      # Michael, Schucany and Haas (1976)
      lambda <- w / object$sigma^2
      nu <- stats::rnorm(n)^2
      x <- mu + mu^2 * nu / (2 * lambda) -
        mu / (2 * lambda) * sqrt(4 * mu * lambda * nu + mu^2 * nu^2)
      ifelse(stats::runif(n) <= mu / (mu + x), x, mu^2 / x)
    },
    stop("simulate() does not know family ", object$family$family, call. = FALSE))
  out
}

#' Binomial draws with the w trials of the engine (a 0/1 response: one),
#' returned as proportions, a factor or cbind(successes, failures)
#' @noRd
draw_binomial <- function(mu, w, form) {
  pos <- w > 0
  # a factor is one Bernoulli trial a row whatever its weight, as in lme4
  trials <- if (identical(form$kind, "factor")) rep(1, sum(pos)) else round(w[pos])
  if (identical(form$kind, "cbind")) {
    bad <- which(abs(w[pos] - trials) > sqrt(.Machine$double.eps) * pmax(1, trials))
    if (length(bad)) {
      # the successes and failures would not add up to the fit's trials
      stop("simulate() cannot draw cbind(successes, failures) for a number ",
           "of trials that is not whole (weights times trials: ",
           w[pos][bad[1L]], "); lme4 refuses non-integer prior weights too",
           call. = FALSE)
    }
  }
  succ <- stats::rbinom(sum(pos), trials, mu[pos])
  switch(form$kind,
    factor = {
      out <- factor(rep(NA_character_, length(w)), levels = form$levels)
      out[pos] <- form$levels[1L + succ]
      out
    },
    cbind = {
      out <- matrix(NA_real_, length(w), 2L, dimnames = list(NULL, form$colnames))
      out[pos, ] <- cbind(succ, trials - succ)
      out
    },
    {
      out <- rep(NA_real_, length(w))
      out[pos] <- ifelse(trials > 0, succ / pmax(trials, 1), 0)
      out
    })
}

#' @importFrom stats simulate
NULL
