# The true Laplace approximation (observed information at the mode) for
# every link, and families with a dispersion parameter, against glmmTMB
# (fixtures/glmmtmb-fixtures.rds), the
# exact integral, and the invariances a likelihood must have.

laplace_refs <- setdiff(names(glmmtmb_fixtures), c("salamanders_sqrt", "owls_sqrt"))

for (nm in laplace_refs) {
  local({
    fx <- glmmtmb_fixtures[[nm]]
    test_that(paste0(nm, " [", fx$family, "(", fx$link, ")]: the Laplace optimum and standard errors are glmmTMB's"), {
      expect_warning(m <- fit_glmmtmb_fixture(fx), NA)
      # the same approximation, the same optimum
      expect_lte(abs(m2ll(m) - fx$m2ll), 1e-3)
      expect_equal(attr(logLik(m), "df"), fx$df)
      beta <- fixef(m)[names(fx$fixef)]
      expect_lte(max(abs(beta - fx$fixef) / fx$se), 0.01)
      # default standard errors (the Hessian in all parameters) as glmmTMB's
      se <- sqrt(diag(vcov(m)))[names(fx$se)]
      expect_lte(max(abs(se / fx$se - 1)), 0.01)
      vc <- as.data.frame(VarCorr(m))
      sds <- vc$sdcor[vc$grp != "Residual" & is.na(vc$var2)]
      expect_equal(sort(sds), sort(unname(fx$re_sd)), tolerance = 5e-3)
      if (fx$family %in% c("Gamma", "gaussian")) {
        expect_equal(sigma(m), fx$sigma, tolerance = 2e-3)
      }
    })
  })
}

test_that("non-canonical links: the default standard errors equal the factor's and lme4's size (no Hessian error)", {
  # cbpp with an observation-level term, cloglog: the Hessian standard errors
  # were 47-66% too small (0.126 for the intercept against 0.267)
  fx <- glmmtmb_fixtures$cbpp_obs_cloglog
  m <- fit_glmmtmb_fixture(fx)
  se <- sqrt(diag(vcov(m)))
  expect_equal(unname(se), unname(fx$lme4_se), tolerance = 0.03)
  expect_equal(unname(se), unname(sqrt(diag(vcov(m, type = "factor")))), tolerance = 0.05)
})

test_that("the true Laplace optimum is below lme4's Fisher-information value for cloglog (bacteria)", {
  fx <- glmmtmb_fixtures$bacteria_cloglog
  m <- fit_glmmtmb_fixture(fx)
  # lme4 reports 194.33 here, glmmTMB (true Laplace) 192.65
  expect_lt(m2ll(m), fx$lme4_m2ll - 1)
  expect_lte(abs(m2ll(m) - fx$m2ll), 1e-3)
})

for (nm in c("salamanders_sqrt", "owls_sqrt")) {
  local({
    fx <- glmmtmb_fixtures[[nm]]
    test_that(paste0(nm, ": the sqrt link optimises (exact integral as the reference)"), {
      expect_warning(m1 <- fit_glmmtmb_fixture(fx), NA)
      expect_warning(m25 <- fit_glmmtmb_fixture(fx, nAGQ = 25), NA)
      # quadrature's optimum cannot be worse than the exact integral at
      # lme4's estimates; before, theta stayed at its start (2227.6)
      expect_lte(m2ll(m25), fx$m2ll_bruteforce_at_lme4 + 1e-3)
      expect_gte(m2ll(m25), fx$m2ll_bruteforce_at_lme4 - 1)
      # estimates near lme4's (a different Laplace value, the same model)
      expect_lte(max(abs(fixef(m25) - fx$lme4_fixef) / fx$lme4_se), 0.25)
      expect_equal(unname(m25$theta), unname(fx$lme4_theta), tolerance = 0.05)
      # the Laplace fit sits next to the integral
      expect_lte(abs(m2ll(m1) - m2ll(m25)), 2)
    })
  })
}

test_that("dispersion families do not depend on the response's units", {
  ergo <- glmmtmb_fixtures$ergo_gamma_log$data
  orth <- glmmtmb_fixtures$orthodont_gaussian_log$data
  cases <- list(
    list(d = ergo, y = "effort", f = "Type", fam = Gamma(link = "log")),
    list(d = ergo, y = "effort", f = "Type", fam = Gamma(link = "inverse")),
    list(d = orth, y = "distance", f = "age", fam = gaussian(link = "log")),
    list(d = orth, y = "distance", f = "age", fam = inverse.gaussian(link = "log"))
  )
  for (cs in cases) {
    d <- cs$d
    d$y10 <- d[[cs$y]] / 10
    grp <- "Subject"
    f1 <- stats::as.formula(paste(cs$y, "~", cs$f, "+ (1 |", grp, ")"))
    f2 <- stats::as.formula(paste("y10 ~", cs$f, "+ (1 |", grp, ")"))
    expect_warning(m1 <- glmmr(f1, d, family = cs$fam), NA)
    expect_warning(m2 <- glmmr(f2, d, family = cs$fam), NA)
    lab <- paste(cs$fam$family, cs$fam$link)
    # a density of y/10 is 10 times the density of y: log L rises by n log 10
    expect_equal(as.numeric(logLik(m2)), as.numeric(logLik(m1)) + nrow(d) * log(10),
                 tolerance = 1e-6, info = lab)
    if (cs$fam$link == "log") {
      shift <- c(-log(10), rep(0, length(fixef(m1)) - 1))
      expect_equal(unname(fixef(m2)), unname(fixef(m1)) + shift, tolerance = 1e-4, info = lab)
      expect_equal(unname(m2$theta), unname(m1$theta), tolerance = 1e-3, info = lab)
    } else {
      # inverse link: eta scales by 10
      expect_equal(unname(fixef(m2)), 10 * unname(fixef(m1)), tolerance = 1e-4, info = lab)
    }
  }
})

test_that("a weighted cbind() binomial response has the log-likelihood of its expanded rows", {
  cbpp <- glmmtmb_fixtures$cbpp_cloglog$data
  cbpp$w <- rep(1:3, length.out = nrow(cbpp))
  long <- cbpp[rep(seq_len(nrow(cbpp)), cbpp$w), ]
  f <- cbind(incidence, size - incidence) ~ period + (1 | herd)
  mw <- glmmr(f, cbpp, family = binomial, weights = w)
  ml <- glmmr(f, long, family = binomial)
  # a row of weight w is w identical rows (glm's and lme4's meaning)
  expect_equal(as.numeric(logLik(mw)), as.numeric(logLik(ml)), tolerance = 1e-7)
  expect_equal(fixef(mw), fixef(ml), tolerance = 1e-5)
  skip_if_not_installed("lme4")
  g <- lme4::glmer(f, cbpp, family = binomial, weights = w)
  expect_lte(abs(as.numeric(logLik(mw)) - as.numeric(logLik(g))), 1e-3)
  # the profile still crosses its threshold on the engine's own scale
  ci <- confint(mw, parm = "period2", method = "profile")
  expect_true(all(is.finite(ci)))
  expect_lt(ci[1], fixef(mw)[["period2"]])
  expect_gt(ci[2], fixef(mw)[["period2"]])
})

test_that("a binomial proportion without weights warns as glm does and is fitted as glmmTMB fits it", {
  cbpp <- glmmtmb_fixtures$cbpp_cloglog$data
  cbpp$p <- cbpp$incidence / cbpp$size
  expect_warning(m <- glmmr(p ~ period + (1 | herd), cbpp, family = binomial),
                 "non-integer #successes")
  skip_if_not_installed("glmmTMB")
  # glmmTMB keeps the non-integer successes in the terms of mu; lme4 rounds
  # them there too and ends at a degenerate fit here (intercept -330)
  t <- suppressWarnings(glmmTMB::glmmTMB(p ~ period + (1 | herd), cbpp, family = binomial))
  expect_lte(abs(as.numeric(logLik(m)) - as.numeric(logLik(t))), 1e-3)
  expect_equal(unname(fixef(m)), unname(glmmTMB::fixef(t)$cond), tolerance = 1e-3)
})
