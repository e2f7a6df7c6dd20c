# refit(): the model fitted again to a new response, through the fit's
# prepared model; a refit must be the fit of that response from scratch.

test_that("refit() of a linear mixed model is the fit of the new response, and lme4's", {
  skip_if_not_installed("lme4")
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  y2 <- simulate(m, seed = 4)[[1]]
  r <- lme4::refit(m, y2)
  expect_s3_class(r, "glmmr")
  fresh <- glmmr(Reaction ~ Days + (Days | Subject), transform(sleepstudy, Reaction = y2))
  expect_identical(fixef(r), fixef(fresh))
  expect_identical(r$theta, fresh$theta)
  expect_identical(logLik(r), logLik(fresh))
  expect_equal(ranef(r), ranef(fresh))
  # lme4's refit of its ML fit to the same response
  ml <- lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)
  rl <- lme4::refit(ml, y2)
  expect_equal(unname(fixef(r)), unname(lme4::fixef(rl)), tolerance = 1e-4)
  expect_equal(as.numeric(logLik(r)), as.numeric(logLik(rl)), tolerance = 1e-6)
  # the original fit is unchanged and its prepared model still fits its own response
  expect_identical(glmmr:::engine_fit(m$prepared, m$control)$objective, m$objective)
})

test_that("refit() of a GLMM takes a factor or 0/1 response, and gives one fit per column", {
  skip_if_not_installed("lme4")
  gm <- glmmr(use ~ age + urban + (1 | dist), contra, family = binomial)
  ys <- simulate(gm, nsim = 2, seed = 8)
  r <- lme4::refit(gm, ys)
  expect_length(r, 2L)
  for (j in 1:2) {
    fresh <- glmmr(use ~ age + urban + (1 | dist), transform(contra, use = ys[[j]]),
                   family = binomial)
    expect_identical(fixef(r[[j]]), fixef(fresh))
    expect_identical(logLik(r[[j]]), logLik(fresh))
  }
  as_factor <- factor(ifelse(ys[[1]] == 1, "Y", "N"), levels = c("N", "Y"))
  expect_identical(fixef(lme4::refit(gm, as_factor)), fixef(r[[1]]))
})

test_that("refit() refuses a response of the wrong length or kind, and unknown arguments", {
  skip_if_not_installed("lme4")
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  expect_error(lme4::refit(m, 1:3), "`newresp` must have one value per row of the model frame \\(180\\)")
  expect_error(lme4::refit(m, factor(sleepstudy$Reaction > 250)), "needs a binomial fit")
  expect_error(lme4::refit(m), "`newresp` is missing")
  expect_error(lme4::refit(m, sleepstudy$Reaction, nsim = 2), "unknown argument.*`nsim`")
})
