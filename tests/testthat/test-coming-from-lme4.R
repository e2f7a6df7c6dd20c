# The "Coming from lme4" lists (?glmmr and the vignette) say where glmmr
# differs from lme4 and how to get lme4's behaviour; these tests hold the
# lists to the code, so a change of either shows up here.

test_that("REML: glmmr fits by ML by default, lmer() by REML", {
  expect_false(formals(glmmr)$REML)
  skip_if_not_installed("lme4")
  expect_true(formals(lme4::lmer)$REML)
})

test_that("deviance() of a GLMM: -2 log L here, lme4's is the sum of squared deviance residuals", {
  p <- gm1_pair()
  expect_equal(deviance(p$g), -2 * as.numeric(logLik(p$g)))
  expect_equal(deviance(p$g), -2 * as.numeric(logLik(p$l)), tolerance = 1e-6)
  # the recipe for lme4's number, which is far from -2 log L
  ours <- sum(residuals(p$g, type = "deviance")^2)
  expect_equal(ours, deviance(p$l), tolerance = 1e-4)
  expect_gt(deviance(p$g) - ours, 50)
})

test_that("a REML fit's deviance() is the REML criterion, without lme4's warning", {
  p <- sleep_pair(REML = TRUE)
  expect_silent(d <- deviance(p$g))
  expect_equal(d, lme4::REMLcrit(p$l), tolerance = 1e-6)
})

test_that("confint(): Wald by default, parameters named as lme4's oldNames = FALSE", {
  expect_identical(eval(formals(getS3method("confint", "glmmr"))$method)[1], "Wald")
  p <- sleep_pair()
  ci <- confint(p$g)
  expect_true(all(is.na(ci[c("sigma", "sd_(Intercept)|Subject"), ])))
  expect_false(anyNA(ci[c("(Intercept)", "Days"), ]))
  lme4_ci <- confint(p$l, method = "Wald", oldNames = FALSE)
  expect_setequal(rownames(ci), rownames(lme4_ci))
})

test_that("ranef(): condVar = FALSE by default, TRUE on request", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  expect_null(attr(ranef(m)$Subject, "postVar"))
  expect_false(is.null(attr(ranef(m, condVar = TRUE)$Subject, "postVar")))
})

test_that("summary(ddf = 'none') and anova(type = 'I') give lme4's statistics", {
  p <- sleep_pair()
  z <- summary(p$g, ddf = "none")$coefficients
  t_lme4 <- stats::coef(summary(p$l))
  expect_equal(unname(z[, "z value"]), unname(t_lme4[, "t value"]), tolerance = 1e-4)
  a <- anova(p$g, type = "I")
  expect_equal(a[["F value"]], anova(p$l)[["F value"]], tolerance = 1e-4)
})

test_that("anova() of REML fits with the same fixed effects: REML criteria, as lme4's refit = FALSE", {
  skip_if_not_installed("lme4")
  g0 <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy, REML = TRUE)
  g1 <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE)
  l0 <- lme4::lmer(Reaction ~ Days + (1 | Subject), sleepstudy)
  l1 <- lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
  expect_silent(a <- anova(g0, g1))
  b <- anova(l0, l1, refit = FALSE)
  expect_equal(a$Chisq[2], b$Chisq[2], tolerance = 1e-4)
})

test_that("lme4's isSingular() works on a glmmr fit; lme4's control objects are refused", {
  skip_if_not_installed("lme4")
  d <- sleepstudy[sleepstudy$Days < 3, ]
  s <- expect_silent(glmmr(Reaction ~ Days + (1 | Subject) + (1 | Days), d))
  expect_true(lme4::isSingular(s))
  expect_error(glmmr(Reaction ~ Days + (Days | Subject), sleepstudy,
                     control = lme4::lmerControl()), "glmmr_control")
})
