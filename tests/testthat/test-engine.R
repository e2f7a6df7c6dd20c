# The prepared model (R/engine.R): a model crosses into the engine once and
# is reused by refits and profile steps; a fit read back from a file
# prepares it again from what it stores.

test_that("a refit through the prepared model is the fit of that response from scratch", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  y2 <- simulate(m, seed = 11)[[1]]
  refit <- glmmr:::refit_response(m, y2)
  d2 <- transform(sleepstudy, Reaction = y2)
  fresh <- glmmr(Reaction ~ Days + (Days | Subject), d2)
  expect_identical(refit$objective, fresh$objective)
  expect_identical(refit$beta, unname(fresh$beta))
  expect_identical(refit$theta, unname(fresh$theta))
  # the model's own response again: the original fit, not a warm restart
  again <- glmmr:::engine_fit(m$prepared, m$control)
  expect_identical(again$objective, m$objective)

  gm <- glmmr(use ~ age + urban + (1 | dist), contra, family = binomial)
  ys <- simulate(gm, seed = 3)[[1]]
  # simulate() gives the factor; the engine takes 0/1
  refit <- glmmr:::refit_response(gm, as.numeric(ys == "Y"))
  dg <- transform(contra, use = ys)
  fresh <- glmmr(use ~ age + urban + (1 | dist), dg, family = binomial)
  expect_identical(refit$objective, fresh$objective)
  expect_identical(refit$beta, unname(fresh$beta))
  expect_identical(glmmr:::engine_fit(gm$prepared, gm$control)$objective, gm$objective)
})

test_that("the engine names the parameters as confint() does", {
  d <- sleepstudy
  d$g2 <- factor(as.integer(d$Subject) %% 3)
  fits <- list(
    glmmr(Reaction ~ Days + (Days | Subject) + (1 | g2), d),
    # a repeated term gets its own label (Subject.1); the model is not
    # identifiable, as the warning says
    suppressWarnings(glmmr(Reaction ~ Days + (1 | Subject) + (1 | Subject), d)),
    glmmr(use ~ age + (1 | dist), contra, family = binomial),
    glmmr(round(Reaction / 10) ~ Days + (1 | Subject), d, family = nbinom2),
    glmmr(Reaction ~ Days + (1 | Subject), d, family = gaussian(link = "log"))
  )
  for (m in fits) {
    engine_names <- glmmr:::engine_call(glmmr:::rust_parameter_names(m$prepared))$names
    est <- glmmr:::parameter_vector(m$theta, m$beta, m$sigma, m)
    is_beta <- names(est) %in% names(m$beta)
    expect_identical(engine_names, c(names(est)[!is_beta], paste0("beta_", names(est)[is_beta])))
  }
})

test_that("a fit read back from a file prepares its model again, with the same results", {
  path <- tempfile(fileext = ".rds")
  on.exit(unlink(path))
  live <- in_fresh_r(function(path) {
    m <- glmmr::glmmr(Reaction ~ Days + (Days | Subject), glmmr::sleepstudy)
    saveRDS(m, path)
    list(ci = confint(m, method = "profile"),
         prepared = glmmr:::rust_is_prepared(m$prepared))
  }, list(path = path))
  read <- in_fresh_r(function(path) {
    library(glmmr)
    m <- readRDS(path)
    list(ci = confint(m, method = "profile"),
         prepared = glmmr:::rust_is_prepared(m$prepared),
         boot = confint(m, method = "boot", nsim = 3, seed = 1))
  }, list(path = path))
  expect_true(live$prepared)
  expect_false(read$prepared)
  expect_identical(read$ci, live$ci)
  expect_equal(dim(read$boot), c(6L, 2L))
  expect_true(all(is.finite(read$boot)))
})

test_that("profiles hold fixed effects and variance parameters by name", {
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  rise <- glmmr:::profile_rise(m, "beta_Days", 0)
  # at the estimate the profile is the optimum; it rises away from it
  expect_equal(rise(m$beta[["Days"]]), 0, tolerance = 1e-6)
  expect_gt(rise(m$beta[["Days"]] + 2), 1)
  # the same as refitting with the coefficient held as an offset
  d <- transform(sleepstudy, held = 12 * Days)
  m12 <- glmmr(Reaction ~ 1 + offset(held) + (1 | Subject), d)
  expect_equal(rise(12), m12$objective - m$objective, tolerance = 1e-8)
  expect_error(glmmr:::profile_rise(m, "beta_nope", 0)(1), "no parameter `beta_nope`")
  sd_rise <- glmmr:::profile_rise(m, "sd_(Intercept)|Subject", 0)
  expect_equal(sd_rise(attr(VarCorr(m)$Subject, "stddev")[[1]]), 0, tolerance = 1e-6)
})
