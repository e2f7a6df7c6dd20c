# Adaptive Gauss-Hermite quadrature for vector-valued random effects of one
# grouping factor (engine: vector_quadrature.rs). lme4 refuses nAGQ > 1 for
# these models, so the references are lme4's Laplace fit (nAGQ = 1) and a
# brute-force marginal likelihood computed here (a fine 2-D grid per
# district).

contra_slope <- use ~ age + I(age^2) + urban + livch + (1 + urban | dist)

# -2 log L of the contra model at theta (lme4's order) and beta: each
# district's integral over its spherical random effects u ~ N(0, I_2),
# b = Lambda u, by the trapezoid rule on [-7, 7]^2 with step 0.1 (spectrally
# accurate for these smooth integrands; step 0.05 on [-9, 9]^2 gives the same
# value to 1e-10).
contra_bruteforce <- function(theta, beta, h = 0.1, lim = 7) {
  X <- model.matrix(~ age + I(age^2) + urban + livch, contra)
  y <- as.numeric(contra$use == "Y")
  zu <- as.numeric(contra$urban == "Y")
  lam <- matrix(c(theta[1], theta[2], 0, theta[3]), 2)
  eta0 <- drop(X %*% beta)
  g <- seq(-lim, lim, by = h)
  U <- as.matrix(expand.grid(g, g))
  B <- U %*% t(lam)
  lp <- -0.5 * rowSums(U^2) - log(2 * pi)
  dist <- as.integer(contra$dist)
  total <- 0
  for (j in seq_len(nlevels(contra$dist))) {
    ll <- lp
    for (o in which(dist == j)) {
      e <- eta0[o] + B[, 1] + zu[o] * B[, 2]
      ll <- ll + if (y[o] == 1) plogis(e, log.p = TRUE) else plogis(-e, log.p = TRUE)
    }
    mx <- max(ll)
    total <- total - 2 * (log(sum(exp(ll - mx)) * h^2) + mx)
  }
  total
}

test_that("contra (1 + urban | dist): nAGQ = 1 is the Laplace fit (lme4's)", {
  m1 <- glmmr(contra_slope, contra, family = binomial, nAGQ = 1)
  m_default <- glmmr(contra_slope, contra, family = binomial)
  expect_identical(m2ll(m1), m2ll(m_default))
  expect_match(paste(capture.output(print(m1)), collapse = "\n"),
               "Laplace approximation")
  skip_if_not_installed("lme4")
  # (lme4 warns that age is unscaled)
  l1 <- suppressWarnings(lme4::glmer(contra_slope, contra, family = binomial))
  # Bernoulli data: lme4's deviance is on the absolute scale at nAGQ = 1
  expect_lte(abs(m2ll(m1) - (-2 * as.numeric(logLik(l1)))), 1e-3)
  expect_lte(max(abs(fixef(m1) - lme4::fixef(l1))), 2e-3)
})

test_that("contra (1 + urban | dist) with nAGQ = 7: near Laplace, below it, and the brute-force likelihood", {
  m1 <- glmmr(contra_slope, contra, family = binomial)
  expect_warning(m7 <- glmmr(contra_slope, contra, family = binomial, nAGQ = 7), NA)
  expect_identical(m7$nAGQ, 7L)
  expect_match(paste(capture.output(print(m7)), collapse = "\n"),
               "adaptive Gauss-Hermite quadrature, nAGQ = 7")
  # -2 log L: 2360.610 (Laplace), 2360.016 (nAGQ = 7), on one scale
  expect_lt(m2ll(m7), m2ll(m1))
  expect_lt(m2ll(m1) - m2ll(m7), 1)
  # estimates move a little: fixed effects by at most 8.1e-4 (the
  # intercept), standard deviations of the intercept 0.6204 -> 0.6267 and
  # of urbanY 0.7357 -> 0.7490, correlation -0.793 -> -0.791
  expect_lte(max(abs(fixef(m7) - fixef(m1))), 2e-3)
  expect_gt(max(abs(fixef(m7) - fixef(m1))), 1e-5)
  vc1 <- as.data.frame(VarCorr(m1))
  vc7 <- as.data.frame(VarCorr(m7))
  expect_lte(max(abs(vc7$sdcor - vc1$sdcor)), 0.03)
  # the quadrature's value at its estimates against the brute-force
  # marginal likelihood there: 2.1e-5 apart (the error of 7 nodes)
  bf7 <- contra_bruteforce(m7$theta, fixef(m7))
  expect_lte(abs(m2ll(m7) - bf7), 1e-3)
  # the Laplace value is 0.6 away from the integral at its own estimates
  bf1 <- contra_bruteforce(m1$theta, fixef(m1))
  expect_gt(m2ll(m1) - bf1, 0.3)
})

test_that("contra with nAGQ = 25 equals the brute-force likelihood at its estimates", {
  m25 <- glmmr(contra_slope, contra, family = binomial, nAGQ = 25)
  # 4.5e-13 apart when this test was written
  expect_lte(abs(m2ll(m25) - contra_bruteforce(m25$theta, fixef(m25))), 1e-7)
})

test_that("(1 | dist) + (0 + urbanY | dist) and (urbanY || dist) take the quadrature over both effects", {
  # a numeric 0/1 column: with the factor urban, (0 + urban | dist) has two
  # columns, and with the intercept the model is over-parameterised
  d <- contra
  d$urbanY <- as.numeric(d$urban == "Y")
  fa <- use ~ age + I(age^2) + urban + livch + (1 | dist) + (0 + urbanY | dist)
  fb <- use ~ age + I(age^2) + urban + livch + (urbanY || dist)
  expect_warning(ma <- glmmr(fa, d, family = binomial, nAGQ = 5), NA)
  expect_warning(mb <- glmmr(fb, d, family = binomial, nAGQ = 5), NA)
  expect_lte(abs(m2ll(ma) - m2ll(mb)), 1e-6)
  expect_lte(max(abs(fixef(ma) - fixef(mb))), 1e-5)
  # 2370.684 (Laplace, lme4's value too), 2370.179 (nAGQ = 5)
  la <- glmmr(fa, d, family = binomial)
  expect_lt(m2ll(ma), m2ll(la))
  expect_lt(m2ll(la) - m2ll(ma), 1)
  expect_lte(max(abs(fixef(ma) - fixef(la))), 2e-3)
})

test_that("a crossed model with nAGQ > 1 is an error that says why", {
  expect_error(glmmr(use ~ age + urban + (1 | dist) + (1 | livch), contra,
                     family = binomial, nAGQ = 5),
               "same grouping factor.*dist, livch.*does not split into one integral per level")
  # the same model by Laplace is fine
  expect_s3_class(glmmr(use ~ age + urban + (1 | dist) + (1 | livch), contra,
                        family = binomial), "glmmr")
})

test_that("sqrt link with zero counts: the quadrature fit reaches the optimum", {
  # zero counts may take their modes across eta = 0 (their deviance, 2 eta^2,
  # is smooth there); held at eta > 0, this fit stopped at 840.73, 12 above
  # the optimum that nAGQ = 7 and a brute-force integration confirm
  set.seed(3)
  ng <- 30; n <- ng * 8
  d <- data.frame(g = factor(rep(seq_len(ng), each = 8)), x = runif(n, -1, 1),
                  x2 = rnorm(n))
  b <- cbind(rnorm(ng, sd = 0.5), rnorm(ng, sd = 0.3), rnorm(ng, sd = 0.3))
  eta <- 0.5 + 0.3 * d$x + b[d$g, 1] + b[d$g, 2] * d$x + b[d$g, 3] * d$x2
  d$y <- rpois(n, exp(eta))
  f <- y ~ x + (1 + x + x2 | g)
  expect_warning(m5 <- glmmr(f, d, family = poisson(link = "sqrt"), nAGQ = 5), NA)
  m7 <- glmmr(f, d, family = poisson(link = "sqrt"), nAGQ = 7)
  # 828.386 and 828.368 (brute force at the Laplace estimates: 828.358)
  expect_lte(abs(m2ll(m5) - m2ll(m7)), 0.05)
  expect_lte(abs(m2ll(m7) - 828.368), 0.01)
})
