# Extractor and print methods of a fitted "glmmr" model. Numbers asserted
# come from the lme4 fixtures (fixtures/lmm-fixtures.rds) or are identities
# between the methods themselves.

fit_sleep <- function(REML = FALSE) {
  glmmr(Reaction ~ 1 + Days + (1 + Days | Subject), data = sleepstudy,
        REML = REML)
}

test_that("fixef returns the named fixed effects", {
  m <- fit_sleep()
  b <- fixef(m)
  expect_type(b, "double")
  expect_named(b, lmm_fixtures$sleep_ml$X_colnames)
})

test_that("vcov is a named symmetric positive-definite p x p matrix", {
  m <- fit_sleep()
  V <- vcov(m)
  nms <- lmm_fixtures$sleep_ml$X_colnames
  expect_true(is.matrix(V))
  expect_identical(dim(V), c(2L, 2L))
  expect_identical(dimnames(V), list(nms, nms))
  expect_equal(V, t(V))
  expect_true(all(eigen(V, symmetric = TRUE, only.values = TRUE)$values > 0))
})

test_that("logLik has df = p + length(theta) + 1 and a nobs attribute", {
  for (REML in c(FALSE, TRUE)) {
    m <- fit_sleep(REML)
    ll <- logLik(m)
    expect_s3_class(ll, "logLik")
    expect_identical(as.numeric(attr(ll, "df")),
                     as.numeric(length(fixef(m)) + length(m$theta) + 1))
    # sleepstudy: 2 fixed effects, 3 theta, sigma (lme4's df is 6)
    fx <- if (REML) lmm_fixtures$sleep_reml else lmm_fixtures$sleep_ml
    expect_equal(attr(ll, "df"), fx$df)
    expect_equal(attr(ll, "nobs"), fx$nobs)
    expect_equal(attr(ll, "nobs"), 180)
  }
})

test_that("AIC and BIC are -2 logLik + 2 df and + log(n) df", {
  m <- fit_sleep()
  ll <- logLik(m)
  df <- attr(ll, "df")
  n <- nobs(m)
  expect_equal(AIC(m), -2 * as.numeric(ll) + 2 * df)
  expect_equal(BIC(m), -2 * as.numeric(ll) + log(n) * df)
})

test_that("nobs and sigma", {
  m <- fit_sleep()
  expect_equal(nobs(m), 180)
  s <- sigma(m)
  expect_type(s, "double")
  expect_length(s, 1)
  expect_gt(s, 0)
  # the residual row of VarCorr is sigma
  vc <- as.data.frame(VarCorr(m))
  expect_equal(vc$sdcor[vc$grp == "Residual"], s)
  expect_equal(vc$vcov[vc$grp == "Residual"], s^2)
})

test_that("VarCorr prints the table of variance components", {
  m <- fit_sleep()
  vc <- VarCorr(m)
  expect_output(print(vc), "Subject")
  expect_output(print(vc), "Residual")
  expect_output(print(vc), "Std\\.Dev\\.")
  expect_output(print(vc), "Variance")
  expect_output(print(vc), "\\(Intercept\\)")
  expect_output(print(vc), "Days")
})

test_that("as.data.frame(VarCorr()) has lme4's columns and consistent sdcor", {
  m <- fit_sleep()
  vc <- as.data.frame(VarCorr(m))
  expect_identical(names(vc), c("grp", "var1", "var2", "vcov", "sdcor"))
  expect_identical(nrow(vc), nrow(lmm_fixtures$sleep_ml$varcorr))

  sd1 <- vc$sdcor[vc$grp == "Subject" & vc$var1 == "(Intercept)" & is.na(vc$var2)]
  sd2 <- vc$sdcor[vc$grp == "Subject" & vc$var1 == "Days" & is.na(vc$var2)]
  cv <- vc[vc$grp == "Subject" & !is.na(vc$var2), ]
  expect_identical(nrow(cv), 1L)
  expect_identical(c(cv$var1, cv$var2), c("(Intercept)", "Days"))
  expect_equal(cv$sdcor, cv$vcov / (sd1 * sd2))
  # variances and standard deviations agree
  diag_rows <- is.na(vc$var2)
  expect_equal(vc$sdcor[diag_rows], sqrt(vc$vcov[diag_rows]))
})

test_that("print() of an LMM shows lme4's t values, without normal p-values", {
  out <- capture.output(print(fit_sleep()))
  expect_true(any(grepl("^ +Est\\. +SE +t$", out)))
  expect_false(any(grepl("Pr\\(", out)))
  skip_if_not_installed("lme4")
  l <- lme4::lmer(Reaction ~ 1 + Days + (1 + Days | Subject), lme4::sleepstudy, REML = FALSE)
  t_row <- out[grep("^Days ", out)]
  expect_equal(as.numeric(strsplit(trimws(t_row), " +")[[1]][4]),
               unname(summary(l)$coefficients["Days", "t value"]), tolerance = 1e-3)
})

test_that("print() shows the method, formula and number of observations", {
  m <- fit_sleep()
  expect_output(print(m), "maximum likelihood")
  expect_output(print(m),
                "Reaction ~ 1 \\+ Days \\+ \\(1 \\+ Days \\| Subject\\)")
  expect_output(print(m), "Number of obs: 180")
  expect_output(print(m), "Subject 18")

  mr <- fit_sleep(REML = TRUE)
  expect_output(print(mr), "REML")
  expect_output(print(mr), "Number of obs: 180")
  out <- capture.output(print(mr))
  expect_false(any(grepl("maximum likelihood", out)))

  expect_output(vis <- withVisible(print(m)))
  expect_false(vis$visible)
  expect_identical(vis$value, m)
})

test_that("fixef, ranef and VarCorr are nlme's generics", {
  expect_identical(glmmr::fixef, nlme::fixef)
  expect_identical(glmmr::ranef, nlme::ranef)
  expect_identical(glmmr::VarCorr, nlme::VarCorr)
})

test_that("lme4's fixef/ranef/VarCorr dispatch to the glmmr methods", {
  skip_if_not_installed("lme4")
  m <- fit_sleep()
  # lme4 re-exports nlme's generics, so dispatch reaches our methods
  expect_identical(lme4::fixef(m), fixef(m))
  expect_identical(lme4::ranef(m), ranef(m))
  expect_identical(lme4::VarCorr(m), VarCorr(m))
})
