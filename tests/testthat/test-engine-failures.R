# Engine-side failures of issue 11: models the engine used to stop on with
# a message about its internals now fit (checked against glmmTMB and lme4
# on the same data), or stop with a message that names the cause.

tmb_summary <- function(m) {
  c(glmmTMB::fixef(m)$cond, sd = sqrt(glmmTMB::VarCorr(m)$cond[[1]][1, 1]),
    logLik = as.numeric(stats::logLik(m)))
}
glmmr_summary <- function(m) {
  c(fixef(m), sd = unname(m$theta), logLik = as.numeric(logLik(m)))
}

test_that("Poisson counts around 1e5 fit with one scalar term, as glmmTMB and lme4 fit them", {
  # was: "PIRLS (one scalar term) did not converge" (the Newton steps of
  # the modes ended below the rounding noise of the deviance)
  set.seed(1)
  d <- data.frame(g = factor(rep(1:20, each = 10)), x = rnorm(200))
  d$y <- rpois(200, exp(log(1e5) + 0.1 * d$x + rnorm(20, 0, 0.2)[d$g]))
  m <- glmmr(y ~ x + (1 | g), d, family = poisson)
  got <- glmmr_summary(m)
  skip_if_not_installed("glmmTMB")
  want <- tmb_summary(glmmTMB::glmmTMB(y ~ x + (1 | g), d, family = poisson))
  expect_equal(unname(got), unname(want), tolerance = 1e-6)
  skip_if_not_installed("lme4")
  l <- suppressWarnings(lme4::glmer(y ~ x + (1 | g), d, family = poisson))
  expect_equal(unname(got[1:3]), unname(c(lme4::fixef(l), lme4::getME(l, "theta"))),
               tolerance = 1e-5)
  expect_equal(got[["logLik"]], as.numeric(logLik(l)), tolerance = 1e-8)
})

test_that("binomial(log) and poisson(identity) fit where a step leaves the valid range, as glmmTMB", {
  skip_if_not_installed("glmmTMB")
  # Means up to 0.95 under the log link: the first PIRLS solve from glm's
  # start gives means above 1 (was: "PIRLS could not start: non-finite
  # deviance"); PIRLS restarts from the intercept and halves its steps.
  set.seed(11)
  d <- data.frame(g = factor(rep(1:15, each = 60)), x = runif(900))
  d$y <- rbinom(900, 1, exp(-0.3 + 0.2 * d$x + rnorm(15, 0, 0.05)[d$g]))
  got <- glmmr_summary(glmmr(y ~ x + (1 | g), d, family = binomial("log")))
  want <- tmb_summary(suppressWarnings(glmmTMB::glmmTMB(
    y ~ x + (1 | g), d, family = binomial("log"), start = list(beta = c(-0.3, 0)))))
  expect_equal(unname(got), unname(want), tolerance = 1e-5)

  set.seed(12)
  d$c <- rpois(900, 2 + 3 * d$x + rnorm(15, 0, 0.5)[d$g])
  got <- glmmr_summary(glmmr(c ~ x + (1 | g), d, family = poisson("identity")))
  want <- tmb_summary(suppressWarnings(glmmTMB::glmmTMB(c ~ x + (1 | g), d,
                                                        family = poisson("identity"))))
  expect_equal(unname(got), unname(want), tolerance = 1e-5)
})

test_that("modes outside the valid range of the link are named, not 'matrix not positive definite'", {
  # Groups of ten with means near 0.85 under the log link: groups of ones
  # put their conditional modes on mu = 1 (lme4 and glmmTMB fail here too).
  set.seed(2)
  d <- data.frame(g = factor(rep(1:20, each = 10)), x = runif(200))
  d$y <- rbinom(200, 1, pmin(0.95, exp(-0.2 + 0.1 * d$x)))
  expect_error(glmmr(y ~ x + (1 | g), d, family = binomial("log")),
               "the linear predictor left the valid range of the link (mu outside (0, 1))",
               fixed = TRUE)
  # Counts whose identity-link line wants negative means
  set.seed(3)
  d <- data.frame(g = factor(rep(1:20, each = 10)), x = rnorm(200))
  d$y <- rpois(200, pmax(0.1, 2 + 3 * d$x))
  expect_error(glmmr(y ~ x + (1 | g), d, family = poisson("identity")),
               "the linear predictor left the valid range of the link (mu < 0)", fixed = TRUE)
})

test_that("a constant response or a zero residual variance is named", {
  d <- data.frame(g = factor(rep(1:20, each = 10)), x = rnorm(200), y = 5)
  # was: "matrix not positive definite: non-positive pivot"
  expect_error(glmmr(y ~ x + (1 | g), d), "response is constant", ignore.case = TRUE)
  # was: "PIRLS (one scalar term) did not converge"
  expect_error(glmmr(y ~ x + (1 | g), d, family = Gamma), "response is constant", ignore.case = TRUE)
  expect_error(glmmr(y ~ x + (1 | g), d, family = Gamma(link = "log")), "response is constant", ignore.case = TRUE)
  # a response the fixed effects reproduce
  d$y2 <- 5 + 2 * d$x
  expect_error(glmmr(y2 ~ x + (1 | g), d),
               "the fixed effects fit the response exactly .*the residual variance is zero")
  # a response constant within the levels of g: the random effects take it
  # up and the residual variance goes to zero (was: a convergence warning)
  set.seed(1)
  d$y3 <- rnorm(20)[d$g]
  expect_error(glmmr(y3 ~ 1 + (1 | g), d),
               "the fixed and random effects fit the response exactly .*the residual variance is zero")
  # with residual noise it fits, as lme4
  d$y4 <- d$y3 + rnorm(200, 0, 0.1)
  m <- glmmr(y4 ~ 1 + (1 | g), d)
  skip_if_not_installed("lme4")
  l <- lme4::lmer(y4 ~ 1 + (1 | g), d, REML = FALSE)
  expect_equal(unname(m$theta), unname(lme4::getME(l, "theta")), tolerance = 1e-4)
  expect_equal(m$sigma, sigma(l), tolerance = 1e-5)
})
