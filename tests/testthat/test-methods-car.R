# car::Anova() on glmmr fits: the Wald chi-square tests car gives for the
# lme4 fit of the same model (helper-insight.R).

test_that("car::Anova() gives car's Wald tests of the lme4 fit, types II and III", {
  skip_if_not_installed("lme4")
  skip_if_not_installed("car")
  for (nm in c("lmm", "reml", "gm1")) {
    p <- reference_pairs()[[nm]]
    for (type in c("II", "III")) {
      am <- car::Anova(p$glmmr, type = type)
      al <- car::Anova(p$lme4, type = type)
      expect_s3_class(am, "anova")
      expect_identical(dimnames(am), dimnames(al))
      expect_identical(attr(am, "heading"), attr(al, "heading"))
      # the GLMM's covariance matrices are finite-difference Hessians: theirs
      # and ours agree to about 2e-4
      expect_equal(am, al, tolerance = 1e-3, ignore_attr = TRUE)
    }
  }
  p <- reference_pairs()$gm1
  expect_error(car::Anova(p$glmmr, test.statistic = "F"), "not available")
})

test_that("car::Anova() respects marginality in type II tests", {
  skip_if_not_installed("lme4")
  skip_if_not_installed("car")
  # an interaction: type II tests main effects ignoring the interaction,
  # type III does not (treatment contrasts, so the two differ)
  d <- glmmr::sleepstudy
  d$late <- factor(d$Days > 4)
  f <- Reaction ~ Days * late + (1 | Subject)
  m <- glmmr::glmmr(f, d)
  l <- lme4::lmer(f, d, REML = FALSE)
  a2 <- car::Anova(m, type = 2)
  expect_equal(a2, car::Anova(l, type = 2), tolerance = 1e-4, ignore_attr = TRUE)
  expect_equal(car::Anova(m, type = 3), car::Anova(l, type = 3), tolerance = 1e-4,
               ignore_attr = TRUE)
  expect_identical(rownames(a2), c("Days", "late", "Days:late"))
})
