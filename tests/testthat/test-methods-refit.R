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
  # simulate() gives the factor back; 0/1 and logical are the same response
  expect_identical(levels(ys[[1]]), c("N", "Y"))
  as_01 <- as.numeric(ys[[1]] == "Y")
  expect_identical(fixef(lme4::refit(gm, as_01)), fixef(r[[1]]))
  expect_identical(logLik(lme4::refit(gm, ys[[1]] == "Y")), logLik(r[[1]]))
})

test_that("refit() of a 0/1 or a proportion response is the fit of that response", {
  ct <- contra
  ct$use01 <- as.numeric(ct$use == "Y")
  g01 <- glmmr(use01 ~ age + urban + (1 | dist), ct, family = binomial)
  y <- simulate(g01, seed = 2)[[1]]
  expect_type(y, "double")
  fresh <- glmmr(use01 ~ age + urban + (1 | dist), transform(ct, use01 = y),
                 family = binomial)
  r <- lme4::refit(g01, y)
  expect_identical(fixef(r), fixef(fresh))
  expect_identical(logLik(r), logLik(fresh))
  cbpp <- lme4_cbpp()
  cbpp$p <- cbpp$incidence / cbpp$size
  gp <- glmmr(p ~ period + (1 | herd), cbpp, family = binomial, weights = size)
  yp <- simulate(gp, seed = 3)[[1]]
  fresh <- glmmr(p ~ period + (1 | herd), transform(cbpp, p = yp), family = binomial,
                 weights = size)
  r <- lme4::refit(gp, yp)
  expect_identical(fixef(r), fixef(fresh))
  expect_identical(logLik(r), logLik(fresh))
})

test_that("refit() of cbind(successes, failures) is the fit of that response, one per column", {
  skip_if_not_installed("lme4")
  cbpp <- lme4_cbpp()
  f <- cbind(incidence, size - incidence) ~ period + (1 | herd)
  g <- glmmr(f, cbpp, family = binomial)
  ys <- simulate(g, nsim = 2, seed = 6)
  r <- lme4::refit(g, ys)
  expect_length(r, 2L)
  for (j in 1:2) {
    d <- cbpp
    d$Y <- ys[[j]]
    fresh <- glmmr(Y ~ period + (1 | herd), d, family = binomial)
    expect_identical(fixef(r[[j]]), fixef(fresh))
    expect_identical(logLik(r[[j]]), logLik(fresh))
    # one matrix alone is one response, not two
    expect_identical(fixef(lme4::refit(g, ys[[j]])), fixef(fresh))
  }
  # lme4's refit of its fit to the same matrix
  l <- lme4::glmer(f, cbpp, family = binomial)
  rl <- lme4::refit(l, ys[[1]])
  expect_equal(unname(fixef(r[[1]])), unname(lme4::fixef(rl)), tolerance = 1e-4)
  expect_equal(as.numeric(logLik(r[[1]])), as.numeric(logLik(rl)), tolerance = 1e-6)
})

test_that("refit() of a weighted cbind() fit: simulate()'s totals drop the prior weights, the fit's own trials keep them", {
  skip_if_not_installed("lme4")
  cbpp <- lme4_cbpp()
  cbpp$w <- rep(1:2, length.out = nrow(cbpp))
  f <- cbind(incidence, size - incidence) ~ period + (1 | herd)
  gw <- glmmr(f, cbpp, family = binomial, weights = w)
  expect_false(gw$ll_correction == 0)
  # simulate(): rows adding up to weights times trials, as lme4's; the refit
  # is the fit of that matrix without prior weights (what lme4's refit
  # does: it sets the weights to the totals)
  y <- simulate(gw, seed = 3)[[1]]
  d <- cbpp
  d$Y <- y
  fresh <- glmmr(Y ~ period + (1 | herd), d, family = binomial)
  r <- lme4::refit(gw, y)
  expect_identical(fixef(r), fixef(fresh))
  expect_identical(logLik(r), logLik(fresh))
  lw <- lme4::glmer(f, cbpp, family = binomial, weights = w)
  rl <- lme4::refit(lw, y)
  expect_equal(unname(fixef(r)), unname(lme4::fixef(rl)), tolerance = 1e-4)
  expect_equal(as.numeric(logLik(r)), as.numeric(logLik(rl)), tolerance = 1e-6)
  # a response with the fit's own trials keeps the prior weights, with the
  # likelihood's binomial coefficients for the new successes
  s <- simulate(glmmr(f, cbpp, family = binomial), seed = 4)[[1]]
  d$Y <- s
  fresh <- glmmr(Y ~ period + (1 | herd), d, family = binomial, weights = w)
  expect_false(fresh$ll_correction == gw$ll_correction)
  r <- lme4::refit(gw, s)
  expect_identical(fixef(r), fixef(fresh))
  expect_identical(logLik(r), logLik(fresh))
  # the fit's own response gives the fit back
  own <- lme4::refit(gw, cbind(cbpp$incidence, cbpp$size - cbpp$incidence))
  expect_identical(logLik(own), logLik(gw))
  expect_identical(fixef(own), fixef(gw))
  # a proportion does not say which trials it is of
  expect_error(lme4::refit(gw, cbpp$incidence / cbpp$size),
               "`newresp` for a cbind\\(\\) binomial fit with prior weights must be cbind")
})

test_that("refit() refuses a cbind(successes, failures) that is not of the fit's trials", {
  cbpp <- lme4_cbpp()
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
             family = binomial)
  y <- cbind(cbpp$incidence, cbpp$size - cbpp$incidence)
  y2 <- y
  y2[3, 2] <- y2[3, 2] + 1
  expect_error(lme4::refit(g, y2), paste0(
    "`newresp` as cbind\\(successes, failures\\) must have the fit's numbers of trials.*",
    "row 3: ", cbpp$size[3] + 1, ", not ", cbpp$size[3]))
  y2 <- y
  y2[4, ] <- c(-1, cbpp$size[4] + 1)
  expect_error(lme4::refit(g, y2), "`newresp` as cbind.*non-negative whole numbers \\(row 4: -1,")
  y2 <- y
  y2[5, 1] <- NA
  expect_error(lme4::refit(g, y2), "`newresp` has missing values")
  expect_error(lme4::refit(g, y[1:10, ]), "`newresp` must have one value per row of the model frame \\(56\\)")
  # two 0/1 responses as a matrix are taken for cbind(), as lme4 does
  gm <- glmmr(use ~ age + urban + (1 | dist), contra, family = binomial)
  two <- sapply(simulate(gm, nsim = 2, seed = 1), function(y) as.numeric(y == "Y"))
  expect_error(lme4::refit(gm, two), "give two responses as a data frame")
  expect_length(lme4::refit(gm, as.data.frame(two)), 2L)
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  expect_error(glmmr:::refit_object(m, cbind(sleepstudy$Reaction, 1)),
               "a two-column `newresp`, cbind\\(successes, failures\\), needs a binomial fit")
})

test_that("refit() refuses a response of the wrong length or kind, and unknown arguments", {
  skip_if_not_installed("lme4")
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  expect_error(lme4::refit(m, 1:3), "`newresp` must have one value per row of the model frame \\(180\\)")
  expect_error(lme4::refit(m, factor(sleepstudy$Reaction > 250)), "needs a binomial fit")
  expect_error(lme4::refit(m), "`newresp` is missing")
  expect_error(lme4::refit(m, sleepstudy$Reaction, nsim = 2), "unknown argument.*`nsim`")
})
