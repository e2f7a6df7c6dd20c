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

# ---------------------------------------------------------------------------
# The engine boundary

test_that("a panic inside Rust comes back as an error element, R survives", {
  res <- glmmr:::rust_panic_test("boom 100% %s %n")
  expect_type(res, "list")
  expect_false(is.null(res$error))
  expect_match(res$error, "boom 100%", fixed = TRUE)
  # R is still alive and the engine still works
  expect_identical(1 + 1, 2)
  expect_s3_class(glmmr(y ~ x + (1 | g), data = err_data()), "glmmr")
})

test_that("engine_call turns an engine error into an R error", {
  expect_error(glmmr:::engine_call(glmmr:::rust_panic_test("x %d")),
               "glmmr engine")
})

test_that("the engine validates its input instead of crashing", {
  # grouping codes out of range (9 > nlevels = 2)
  res <- glmmr:::rust_fit_lmm(
    y = c(1, 2, 3), x = rep(1, 3), p = 1L,
    terms = list(list(group = c(1L, 2L, 9L), nlevels = 2L, z = matrix(1, 3, 1))),
    weights = rep(1, 3), offset = rep(0, 3), reml = FALSE, control = NULL)
  expect_type(res, "list")
  expect_type(res$error, "character")
  expect_match(res$error, "out of range")

  # `terms` not a list
  res <- glmmr:::rust_fit_lmm(
    y = c(1, 2, 3), x = rep(1, 3), p = 1L, terms = "not a list",
    weights = rep(1, 3), offset = rep(0, 3), reml = FALSE, control = NULL)
  expect_type(res, "list")
  expect_type(res$error, "character")
  expect_match(res$error, "terms.*list")

  # R is still alive
  expect_identical(sum(1:3), 6L)
})
