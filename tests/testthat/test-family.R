# Families: the negative binomial (nbinom2) against glmmTMB, its family
# objects, and the responses each family accepts.

for (nm in names(nbinom_fixtures)) {
  local({
    fx <- nbinom_fixtures[[nm]]
    test_that(paste0("nbinom2 ", nm, ": glmmTMB's optimum, estimates and standard errors"), {
      expect_warning(m <- glmmr(stats::as.formula(fx$formula), fx$data, family = nbinom2), NA)
      # the same (true Laplace) approximation: no worse than glmmTMB's
      expect_lte(m2ll(m), fx$m2ll + 1e-3)
      expect_gte(m2ll(m), fx$m2ll - 1e-2)
      expect_equal(attr(logLik(m), "df"), fx$df)
      expect_lte(max(abs(fixef(m)[names(fx$fixef)] - fx$fixef) / fx$se), 0.01)
      expect_lte(max(abs(sqrt(diag(vcov(m)))[names(fx$se)] / fx$se - 1)), 0.01)
      expect_equal(sigma(m), unname(fx$theta), tolerance = 1e-3)
      vc <- as.data.frame(VarCorr(m))
      expect_equal(sort(vc$sdcor), sort(unname(fx$re_sd)), tolerance = 5e-3)
      # on the Poisson's absolute scale: the negative binomial wins by AIC
      mp <- glmmr(stats::as.formula(fx$formula), fx$data, family = poisson)
      expect_lte(abs(m2ll(mp) - fx$poisson_m2ll), 0.05)
      a <- anova(mp, m)
      expect_equal(a$Chisq[2], m2ll(mp) - m2ll(m), tolerance = 1e-8)
      expect_equal(a$Df[2], 1)
      expect_lt(AIC(m), AIC(mp))
    })
  })
}

test_that("nbinom2 by quadrature is the exact integral (brute force) at its estimates", {
  fx <- nbinom_fixtures$salamanders
  d <- fx$data
  m <- glmmr(stats::as.formula(fx$formula), d, family = nbinom2, nAGQ = 25)
  th <- sigma(m)
  sd_re <- as.data.frame(VarCorr(m))$sdcor[1]
  eta0 <- drop(model.matrix(m) %*% fixef(m))
  b <- seq(-8 * sd_re, 8 * sd_re, length.out = 20001)
  total <- 0
  for (g in unique(d$site)) {
    i <- which(d$site == g)
    ll <- colSums(matrix(stats::dnbinom(rep(d$count[i], length(b)), size = th,
                                        mu = exp(outer(eta0[i], b, "+")), log = TRUE),
                         nrow = length(i)))
    total <- total - 2 * log(sum(exp(ll) * stats::dnorm(b, sd = sd_re)) * (b[2] - b[1]))
  }
  expect_equal(m2ll(m), total, tolerance = 1e-7)
  # and the quadrature optimum is no worse than the Laplace one's integral
  expect_lte(m2ll(m), fx$m2ll + 0.5)
})

test_that("a fixed theta: MASS::negative.binomial() and nbinom2(theta =)", {
  fx <- nbinom_fixtures$owls
  f <- stats::as.formula(fx$formula)
  m <- glmmr(f, fx$data, family = nbinom2)
  # held at the ML estimate, the other parameters reach the same optimum
  m1 <- glmmr(f, fx$data, family = nbinom2(theta = sigma(m)))
  expect_equal(m2ll(m1), m2ll(m), tolerance = 1e-8)
  expect_error(nbinom2(theta = 0), "theta")
  expect_error(nbinom2(link = "logit"), "link")
  skip_if_not_installed("MASS")
  m2 <- glmmr(f, fx$data, family = MASS::negative.binomial(sigma(m)))
  expect_equal(m2ll(m2), m2ll(m), tolerance = 1e-8)
  expect_identical(sigma(m2), sigma(m))
  # theta no longer counts as a parameter
  expect_equal(attr(logLik(m2), "df"), attr(logLik(m), "df") - 1)
  expect_error(glmmr(f, fx$data, family = MASS::negative.binomial(-1)), "positive")
})

test_that("glmmTMB's own nbinom2() family object is accepted as it is", {
  skip_if_not_installed("glmmTMB")
  fx <- nbinom_fixtures$epil
  m <- glmmr(stats::as.formula(fx$formula), fx$data, family = glmmTMB::nbinom2())
  expect_lte(abs(m2ll(m) - fx$m2ll), 1e-3)
  m2 <- glmmr(stats::as.formula(fx$formula), fx$data, family = "nbinom2")
  expect_equal(m2ll(m2), m2ll(m))
})

test_that("nbinom2: bad counts are errors that name the problem", {
  d <- data.frame(y = c(0, 2, 5, 1, 3, 0), g = factor(rep(1:3, 2)))
  d$y[2] <- -1
  expect_error(glmmr(y ~ 1 + (1 | g), d, family = nbinom2), "non-negative whole")
  d$y[2] <- 1.5
  expect_error(glmmr(y ~ 1 + (1 | g), d, family = nbinom2), "non-negative whole")
})

test_that("data without overdispersion: a large theta and no warning", {
  set.seed(11)
  d <- data.frame(g = factor(rep(1:30, each = 20)), x = rnorm(600))
  d$y <- rpois(600, exp(0.8 + 0.3 * d$x + rnorm(30, sd = 0.4)[d$g]))
  expect_warning(m <- glmmr(y ~ x + (1 | g), d, family = nbinom2), NA)
  expect_warning(mp <- glmmr(y ~ x + (1 | g), d, family = poisson), NA)
  expect_gt(sigma(m), 30)
  # the Poisson is the limit: the same fixed effects, -2 log L barely lower
  expect_equal(fixef(m), fixef(mp), tolerance = 0.02)
  expect_lte(m2ll(m), m2ll(mp) + 1e-3)
  expect_gte(m2ll(m), m2ll(mp) - 2)
})

test_that("nbinom2: Pearson residuals use the negative binomial variance; simulate draws counts", {
  fx <- nbinom_fixtures$owls
  m <- glmmr(stats::as.formula(fx$formula), fx$data, family = nbinom2)
  mu <- fitted(m)
  th <- sigma(m)
  y <- fx$data$SiblingNegotiation
  expect_equal(unname(residuals(m, type = "pearson")),
               unname((y - mu) / sqrt(mu + mu^2 / th)), tolerance = 1e-10)
  s <- simulate(m, nsim = 400, seed = 1, re.form = NULL)
  draws <- as.matrix(s)
  expect_true(all(draws == round(draws)) && all(draws >= 0))
  # conditional on the fitted random effects: mean mu, variance mu + mu^2/theta
  expect_equal(mean(rowMeans(draws) / mu), 1, tolerance = 0.02)
  v <- apply(draws, 1, stats::var)
  expect_equal(sum(v) / sum(mu + mu^2 / th), 1, tolerance = 0.05)
})
