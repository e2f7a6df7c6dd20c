# Bad input gives an R error that names the problem; the Rust engine never
# crashes R.

err_data <- function() {
  data.frame(
    y = c(2.1, 3.4, 1.9, 5.0, 4.2, 3.3, 6.1, 2.8, 4.4, 3.9, 5.5, 2.2),
    x = c(1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6),
    g = factor(rep(c("g1", "g2", "g3"), each = 4)),
    w = rep(c(1, 2), 6),
    id = 1:12
  )
}

test_that("the error data fit without error (so the errors below are real)", {
  expect_s3_class(glmmr(y ~ x + (1 | g), data = err_data()), "glmmr")
})

test_that("a variable not in the data is named", {
  d <- err_data()
  expect_error(glmmr(y ~ x + not_a_column_xyz + (1 | g), data = d),
               "not_a_column_xyz.*not found")
  expect_error(glmmr(y ~ x + (1 | no_such_group_xyz), data = d),
               "no_such_group_xyz.*not found")
})

test_that("a formula without a random-effects term is an error", {
  expect_error(glmmr(y ~ x, data = err_data()), "random-effects")
})

test_that("no rows left after removing missing values is an error", {
  d <- err_data()
  d$y <- NA_real_
  expect_error(glmmr(y ~ x + (1 | g), data = d), "no observations")
})

test_that("a non-numeric response is an error for family = gaussian", {
  d <- err_data()
  d$yf <- factor(rep(c("a", "b"), 6))
  d$yc <- rep(c("a", "b"), 6)
  expect_error(glmmr(yf ~ x + (1 | g), data = d, family = gaussian),
               "response must be numeric|response.*numeric")
  expect_error(glmmr(yc ~ x + (1 | g), data = d, family = gaussian),
               "response.*numeric")
})

test_that("Inf and NaN in the response or a predictor are errors", {
  d <- err_data()
  d$y[3] <- Inf
  expect_error(glmmr(y ~ x + (1 | g), data = d), "'y'.*non-finite")
  d <- err_data()
  d$y[3] <- NaN
  expect_error(glmmr(y ~ x + (1 | g), data = d), "'y'.*non-finite")
  d <- err_data()
  d$x[5] <- -Inf
  expect_error(glmmr(y ~ x + (1 | g), data = d), "'x'.*non-finite")
  d <- err_data()
  d$x[5] <- NaN
  expect_error(glmmr(y ~ x + (1 | g), data = d), "'x'.*non-finite")
})

test_that("negative weights are an error", {
  d <- err_data()
  d$w[2] <- -1
  expect_error(glmmr(y ~ x + (1 | g), data = d, weights = w),
               "weights.*non-negative")
})

test_that("a grouping factor with one level per observation is an error", {
  expect_error(glmmr(y ~ x + (1 | id), data = err_data()),
               "number of levels")
})

test_that("a grouping factor with a single level is an error, with lme4's words", {
  d <- err_data()
  d$one <- "a"
  expect_error(glmmr(y ~ x + (1 | one), data = d),
               "grouping factors must have > 1 sampled level (problems: one)", fixed = TRUE)
  expect_error(glmmr(y ~ x + (1 | g), data = d, subset = g == g[1]),
               "grouping factors must have > 1 sampled level (problems: g)", fixed = TRUE)
  g <- glmm_fixtures$cbpp_cbind$data
  expect_error(glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), g,
                     family = binomial, subset = herd == "1"),
               "> 1 sampled level")
  skip_if_not_installed("lme4")
  # lme4 refuses it the same way
  expect_error(lme4::lmer(y ~ x + (1 | one), data = d), "grouping factors must have > 1 sampled level")
})

# ---------------------------------------------------------------------------
# lme4's identifiability checks (check.nlev.gtr.1, check.nobs.vs.nlev,
# check.nobs.vs.nRE), with lmer's settings for a linear mixed model and
# glmer's for a GLMM; lme4 on the same data is the reference for each.

# 300 observations, a 60-level factor f and a 20-level grouping factor g:
# (f | g) has 20 * 60 = 1200 random effects and 1830 variance parameters.
# Before the check the optimizer spent hours on it.
many_re_data <- function() {
  set.seed(11)
  n <- 300
  d <- data.frame(x = stats::rnorm(n),
                  f = factor(rep(1:60, length.out = n)),
                  g = factor(rep(1:20, each = 15)))
  d$y <- stats::rnorm(n)
  d$yb <- stats::rbinom(n, 1, 0.5)
  d
}

test_that("more random effects than observations is an error, in lme4's words", {
  # in a fresh process with a time limit: a regression here is a hang
  msgs <- in_fresh_r(function(d) {
    run <- function(expr) tryCatch({ expr; NA_character_ }, error = conditionMessage)
    c(lmm = run(glmmr::glmmr(y ~ x + (f | g), d)),
      glmm = run(glmmr::glmmr(yb ~ x + (f | g), d, family = stats::binomial)))
  }, list(d = many_re_data()), timeout = 60)
  expect_identical(
    msgs[["lmm"]],
    paste("number of observations (=300) <= number of random effects (=1200)",
          "for term (f | g); the random-effects parameters and the residual",
          "variance (or scale parameter) are probably unidentifiable"))
  expect_identical(
    msgs[["glmm"]],
    paste("number of observations (=300) < number of random effects (=1200)",
          "for term (f | g); the random-effects parameters are probably",
          "unidentifiable"))
  skip_if_not_installed("lme4")
  d <- many_re_data()
  expect_identical(msgs[["lmm"]], error_message(lme4::lmer(y ~ x + (f | g), d)))
  expect_identical(msgs[["glmm"]],
                   error_message(lme4::glmer(yb ~ x + (f | g), d, family = binomial)))
})

test_that("as many random effects as observations: an error for an LMM only, as lme4", {
  d <- err_data()
  d$yb <- rep(c(0, 1, 1, 0), 3)
  d$g6 <- factor(rep(1:6, each = 2))
  # (1 + x | g6): 6 levels times 2 columns = 12 random effects, 12 observations
  msg <- error_message(glmmr(y ~ x + (1 + x | g6), data = d))
  expect_identical(msg, paste(
    "number of observations (=12) <= number of random effects (=12) for term",
    "(1 + x | g6); the random-effects parameters and the residual variance",
    "(or scale parameter) are probably unidentifiable"))
  # a GLMM is allowed as many (glmer's allow.n = TRUE): it gets to the fit
  expect_false(grepl("unidentifiable",
                     error_message(suppressWarnings(
                       glmmr(yb ~ 1 + (1 + x | g6), data = d, family = binomial)))))
  skip_if_not_installed("lme4")
  expect_identical(msg, error_message(lme4::lmer(y ~ x + (1 + x | g6), data = d)))
  expect_true(is.na(error_message(suppressWarnings(suppressMessages(
    lme4::glmer(yb ~ 1 + (1 + x | g6), data = d, family = binomial))))))
})

test_that("a level per observation: an error for an LMM, allowed for a GLMM, as lme4", {
  d <- err_data()
  msg <- error_message(glmmr(y ~ x + (1 | id), data = d))
  expect_identical(msg, paste("number of levels of each grouping factor must be",
                              "< number of observations (problems: id)"))
  # an observation-level random effect of a Poisson GLMM (overdispersion)
  d$count <- c(0, 3, 1, 7, 2, 0, 12, 1, 4, 0, 9, 2)
  fit <- glmmr(count ~ x + (1 | id), data = d, family = poisson)
  skip_if_not_installed("lme4")
  expect_identical(msg, error_message(lme4::lmer(y ~ x + (1 | id), data = d)))
  ref <- lme4::glmer(count ~ x + (1 | id), data = d, family = poisson)
  expect_equal(as.numeric(logLik(fit)), as.numeric(logLik(ref)), tolerance = 1e-5)
  expect_equal(fixef(fit), lme4::fixef(ref), tolerance = 1e-3)
})

test_that("the checks count the observations with a positive weight", {
  d <- err_data()
  d$w0 <- c(1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1)
  d$g9 <- factor(c(1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9))
  # 9 levels, 12 rows but 9 observations: lme4 refuses the 9 rows the
  # same way (zero-weight rows are not in the likelihood, nor in nobs())
  msg <- error_message(glmmr(y ~ x + (1 | g9), data = d, weights = w0))
  expect_identical(msg, paste("number of levels of each grouping factor must be",
                              "< number of observations (problems: g9)"))
  skip_if_not_installed("lme4")
  expect_identical(msg, error_message(lme4::lmer(y ~ x + (1 | g9),
                                                 data = d[d$w0 > 0, ])))
})

test_that("fewer than two observations is an error saying so", {
  d <- err_data()
  d$yb <- rep(c(0, 1), 6)
  expect_error(glmmr(yb ~ 1 + (1 | g), data = d[1, ], family = binomial),
               "too few observations (1)", fixed = TRUE)
  expect_error(glmmr(y ~ 1 + (1 | g), data = d[1, ]),
               "too few observations (1)", fixed = TRUE)
  d$w1 <- c(1, rep(0, 11))
  expect_error(glmmr(yb ~ x + (1 | g), data = d, weights = w1, family = binomial),
               "too few observations (1)", fixed = TRUE)
  skip_if_not_installed("lme4")
  # lme4's message for one row is that of its check.nlev.gtr.1, which ours
  # carries too
  expect_error(lme4::glmer(yb ~ 1 + (1 | g), data = d[1, ], family = binomial),
               "grouping factors must have > 1 sampled level")
  expect_error(glmmr(yb ~ 1 + (1 | g), data = d[1, ], family = binomial),
               "grouping factors must have > 1 sampled level")
})

test_that("a constant response is an error for every family, in lme4's words", {
  d <- err_data()
  d$zero <- 0
  d$one <- 1
  d$three <- 3
  d$size <- 4
  for (call in list(
    quote(glmmr(zero ~ x + (1 | g), data = d, family = binomial)),
    quote(glmmr(one ~ x + (1 | g), data = d, family = binomial)),
    quote(glmmr(cbind(zero, size) ~ x + (1 | g), data = d, family = binomial)),
    quote(glmmr(zero ~ x + (1 | g), data = d, family = poisson)),
    quote(glmmr(three ~ x + (1 | g), data = d, family = poisson)),
    quote(glmmr(three ~ x + (1 | g), data = d, family = Gamma)),
    quote(glmmr(three ~ x + (1 | g), data = d)),
    quote(glmmr(three ~ x + (1 | g), data = d, REML = TRUE))
  )) {
    expect_error(eval(call), "^Response is constant \\(every observation is [013]\\)")
  }
  # rows with weight 0 are not fitted: the rest is constant
  d$yw <- c(5, rep(3, 11))
  d$w <- c(0, rep(1, 11))
  expect_error(glmmr(yw ~ x + (1 | g), data = d, weights = w),
               "Response is constant (every observation is 3)", fixed = TRUE)
  skip_if_not_installed("lme4")
  # glmer refuses it in these words; lmer fits a degenerate model with a
  # criterion of -Inf (a zero residual variance)
  expect_error(lme4::glmer(zero ~ x + (1 | g), data = d, family = binomial),
               "^Response is constant$")
  expect_error(lme4::glmer(cbind(zero, size) ~ x + (1 | g), data = d, family = binomial),
               "^Response is constant$")
  expect_error(lme4::glmer(three ~ x + (1 | g), data = d, family = poisson),
               "^Response is constant$")
  ref <- suppressWarnings(suppressMessages(lme4::lmer(three ~ x + (1 | g), data = d)))
  expect_identical(lme4::getME(ref, "devcomp")$cmp[["REML"]], -Inf)
})

# ---------------------------------------------------------------------------
# Separation: infinite fixed-effects estimates get a warning naming them.
# The reference for which columns diverge is the linear program of Konis
# (2007; detectseparation's method), solved with lpSolve: the directions b
# (|b_j| <= 1) along which the log-likelihood keeps increasing: for 0/1
# responses (2y - 1) x_i'b >= 0 for every row; for counts x_i'b <= 0 where
# y = 0 and x_i'b = 0 elsewhere. A column with a non-zero b_j diverges.
lp_separated <- function(X, y, counts = FALSE) {
  A <- if (counts) -X else (2 * y - 1) * X
  dir <- if (counts) ifelse(y == 0, ">=", "=") else rep(">=", nrow(A))
  obj <- colSums(A[dir == ">=", , drop = FALSE])
  p <- ncol(X)
  # lpSolve's variables are non-negative: u = b + 1 in [0, 2]
  sol <- lpSolve::lp("max", obj, rbind(A, diag(p)), c(dir, rep("<=", p)),
                     c(rowSums(A), rep(2, p)))
  colnames(X)[abs(sol$solution - 1) > 1e-8]
}

separation_data <- function() {
  set.seed(5)
  n <- 120
  d <- data.frame(x = stats::rnorm(n), z = stats::rnorm(n),
                  f = factor(sample(c("a", "b", "c"), n, TRUE)),
                  g = factor(rep(1:12, 10)))
  d$complete <- as.numeric(d$x > 0.2)
  d$quasi <- stats::rbinom(n, 1, 0.5)
  d$quasi[d$f == "c"] <- 0
  d$fine <- stats::rbinom(n, 1, stats::plogis(1.5 * d$x))
  d$group0 <- stats::rbinom(n, 1, 0.5)
  d$group0[d$g == "3"] <- 0
  d
}

test_that("separation gets a warning naming it and the columns involved", {
  d <- separation_data()
  expect_warning(m <- glmmr(complete ~ x + (1 | g), d, family = binomial),
                 "^separation: the fixed effects \\(Intercept\\), x predict")
  # lme4 and glmmTMB report these values silently; they are arbitrary
  expect_gt(abs(fixef(m)[["x"]]), 100)
  expect_warning(glmmr(quasi ~ x + f + (1 | g), d, family = binomial),
                 "^separation: the fixed effects fc predict")
  expect_warning(glmmr(quasi ~ x + f + (1 | g), d, family = binomial(link = "probit")),
                 "^separation: the fixed effects fc predict")
  expect_warning(glmmr(complete ~ x + (1 | g), d, family = binomial, nAGQ = 0),
                 "^separation: the fixed effects \\(Intercept\\), x predict")
  # a Poisson level with only zero counts
  d$count <- stats::rpois(nrow(d), 2)
  d$count[d$f == "b"] <- 0
  expect_warning(glmmr(count ~ x + f + (1 | g), d, family = poisson),
                 "^separation: the fixed effects fb predict .*means of 0")
  # no warning without separation, nor when only a level of the grouping
  # factor has no successes (its random effect is penalized)
  expect_silent(glmmr(fine ~ x + z + (1 | g), d, family = binomial))
  expect_silent(glmmr(group0 ~ x + (1 | g), d, family = binomial))
  skip_if_not_installed("lpSolve")
  X <- stats::model.matrix(~ x, d)
  expect_identical(lp_separated(X, d$complete), c("(Intercept)", "x"))
  expect_identical(lp_separated(stats::model.matrix(~ x + f, d), d$quasi), "fc")
  expect_identical(lp_separated(stats::model.matrix(~ x + z, d), d$fine), character(0))
  expect_identical(lp_separated(X, d$group0), character(0))
  expect_identical(lp_separated(stats::model.matrix(~ x + f, d), d$count, counts = TRUE),
                   "fb")
  # and glm's own symptom for the fixed part
  expect_true("glm.fit: fitted probabilities numerically 0 or 1 occurred" %in%
                capture_warnings(stats::glm(complete ~ x, stats::binomial, d)))
})

test_that("`data` must be a data frame", {
  d <- err_data()
  expect_error(glmmr(y ~ x + (1 | g), data = as.matrix(d[, c("y", "x", "id")])),
               "`data` must be a data frame")
  expect_error(glmmr(y ~ x + (1 | g), data = as.list(d)),
               "`data` must be a data frame")
})

test_that("families and responses the GLMM engine cannot take are errors", {
  d <- err_data()
  d$yb <- rep(c(0, 1), 6)
  d$y2 <- rep(c(0, 2), 6)
  d$yneg <- rep(c(-1, 3), 6)
  d$yfrac <- rep(c(0.5, 1.5), 6)
  d$yzero <- c(0, d$y[-1])
  expect_error(glmmr(yzero ~ x + (1 | g), data = d, family = Gamma),
               "response value 0 \\(row 1\\).*Gamma.*positive")
  expect_error(glmmr(y ~ x + (1 | g), data = d, family = Gamma(link = "sqrt")),
               "link")
  expect_error(glmmr(yb ~ x + (1 | g), data = d, family = quasibinomial),
               "not supported")
  expect_error(glmmr(yb ~ x + (1 | g), data = d, family = poisson(link = "logit")),
               "link")
  # values the family cannot take
  expect_error(glmmr(y2 ~ x + (1 | g), data = d, family = binomial),
               "response value 2 \\(row 2\\).*binomial")
  expect_error(glmmr(yneg ~ x + (1 | g), data = d, family = poisson),
               "response value -1 \\(row 1\\).*poisson")
  expect_error(glmmr(cbind(yb, -yb) ~ x + (1 | g), data = d, family = binomial),
               "non-negative whole numbers")
  expect_error(glmmr(factor(g) ~ x + (1 | g), data = d, family = poisson),
               "poisson")
  # REML and nAGQ
  expect_error(glmmr(yb ~ x + (1 | g), data = d, family = binomial, REML = TRUE),
               "REML")
  expect_error(glmmr(yb ~ x + (1 | g), data = d, family = binomial, nAGQ = 30),
               "nAGQ")
  expect_error(glmmr(yb ~ x + (1 | g), data = d, family = binomial, nAGQ = 1.5),
               "nAGQ")
  # crossed or nested grouping factors: the integral does not split by level
  d$h <- factor(rep(c("h1", "h2"), 6))
  expect_error(glmmr(yb ~ x + (1 | g) + (1 | h), data = d, family = binomial,
                     nAGQ = 9),
               "same grouping factor.*crossed or nested.*nAGQ = 1")
  expect_error(glmmr(yb ~ x + (1 | g/h), data = d, family = binomial,
                     nAGQ = 3),
               "same grouping factor.*g:h")
})

test_that("invalid REML and control are errors", {
  d <- err_data()
  expect_error(glmmr(y ~ x + (1 | g), data = d, REML = NA), "REML")
  expect_error(glmmr(y ~ x + (1 | g), data = d, REML = c(TRUE, FALSE)), "REML")
  expect_error(glmmr(y ~ x + (1 | g), data = d, control = list()),
               "glmmr_control")
  expect_error(glmmr_control(max_evals = -1), "max_evals")
})

test_that("unknown or misspelled arguments are errors naming them", {
  d <- err_data()
  d$yb <- rep(c(0, 1), 6)
  expect_error(glmmr(yb ~ x + (1 | g), data = d, famly = binomial),
               "unused argument (famly = binomial)", fixed = TRUE)
  # lme4's arguments that glmmr does not have are not silently ignored
  expect_error(glmmr(y ~ x + (1 | g), data = d, verbose = 2),
               "unused argument (verbose = 2)", fixed = TRUE)
  expect_error(glmmr(y ~ x + (1 | g), data = d, start = list(theta = 1)),
               "unused argument (start = list(theta = 1))", fixed = TRUE)
  expect_error(glmmr_control(maxevals = 10), "unused argument (maxevals = 10)",
               fixed = TRUE)
  expect_error(glmmr_control(optimizer = "bobyqa"),
               "unused argument (optimizer = \"bobyqa\")", fixed = TRUE)
  m <- glmmr(y ~ x + (1 | g), data = d)
  expect_error(update(m, REMl = TRUE), "unused argument (REMl = TRUE)", fixed = TRUE)
})

# ---------------------------------------------------------------------------
# The engine boundary: these call the Rust binding with input that would end
# the R session if the binding mishandled it, so they run in a fresh R
# process (helper-subprocess.R), where a crash fails the test instead of
# ending the test run.

test_that("a panic inside Rust comes back as an error element, R survives", {
  out <- in_fresh_r(function(d) {
    res <- glmmr:::rust_panic_test("boom 100% %s %n")
    # R is still alive and the engine still works
    fit <- glmmr::glmmr(y ~ x + (1 | g), data = d)
    list(res = res, class = class(fit), loglik = as.numeric(logLik(fit)),
         engine_error = tryCatch(glmmr:::engine_call(glmmr:::rust_panic_test("x %d")),
                                 error = conditionMessage))
  }, list(d = err_data()))
  expect_type(out$res, "list")
  expect_false(is.null(out$res$error))
  expect_match(out$res$error, "boom 100%", fixed = TRUE)
  expect_identical(out$class, "glmmr")
  # the fit after the panic is the fit of a process that saw none
  expect_equal(out$loglik, as.numeric(logLik(glmmr(y ~ x + (1 | g), data = err_data()))))
  # engine_call() turns the engine's error element into an R error
  expect_match(out$engine_error, "^glmmr engine: ")
})

test_that("the engine validates its input instead of crashing", {
  # a balanced one-way layout, whose ML estimates have a closed form
  y <- c(4.1, 5.3, 4.8, 6.9, 7.4, 6.1, 2.2, 3.9, 3.0, 5.5, 6.8, 5.0)
  group <- rep(1:4, each = 3)
  out <- in_fresh_r(function(y, group) {
    model <- list(
      y = y, x = rep(1, length(y)), weights = rep(1, length(y)),
      offset = rep(0, length(y)),
      terms = list(list(group = group, nlevels = 4L, z = matrix(1, length(y), 1),
                        label = "g", columns = "(Intercept)")),
      beta_names = "(Intercept)", lmm = TRUE, reml = FALSE)
    # grouping codes out of range (9 > nlevels = 4)
    bad <- model
    bad$terms[[1]]$group[3] <- 9L
    range <- glmmr:::rust_prepare(bad)
    # `terms` not a list
    bad <- model
    bad$terms <- "not a list"
    not_list <- glmmr:::rust_prepare(bad)
    # an element the engine does not know (a misspelt name) is refused
    bad <- model
    bad$REML <- TRUE
    unknown <- glmmr:::rust_prepare(bad)
    # a prepared model read back from a file has a cleared pointer
    prepared <- glmmr:::rust_prepare(model)$prepared
    stale <- unserialize(serialize(prepared, NULL))
    list(range = range, not_list = not_list, unknown = unknown,
         live = glmmr:::rust_is_prepared(prepared),
         stale_live = glmmr:::rust_is_prepared(stale),
         stale_fit = glmmr:::rust_fit(stale, NULL, NULL),
         not_pointer = glmmr:::rust_fit(list(1), NULL, NULL),
         # after the bad input, a valid call still fits correctly
         fit = glmmr:::rust_fit(prepared, NULL, NULL))
  }, list(y = y, group = group))
  expect_match(out$range$error, "out of range")
  expect_match(out$not_list$error, "terms.*list")
  expect_match(out$unknown$error, "unknown element `REML`")
  expect_true(out$live)
  expect_false(out$stale_live)
  expect_match(out$stale_fit$error, "not a live prepared model")
  expect_match(out$not_pointer$error, "not a live prepared model")
  # ML for a balanced one-way layout (a levels of n rows): the grand mean,
  # sigma^2 = the within mean square, sigma_b^2 = (SSB / a - sigma^2) / n
  expect_null(out$fit$error)
  n <- 3
  a <- 4
  means <- tapply(y, group, mean)
  s2 <- sum((y - means[group])^2) / (a * (n - 1))
  sb2 <- (n * sum((means - mean(y))^2) / a - s2) / n
  expect_gt(sb2, 0) # the closed form holds inside the parameter space
  expect_equal(out$fit$beta, mean(y), tolerance = 1e-6)
  expect_equal(out$fit$sigma, sqrt(s2), tolerance = 1e-5)
  expect_equal(out$fit$theta, sqrt(sb2 / s2), tolerance = 1e-5)
})
