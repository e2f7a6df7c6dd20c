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
