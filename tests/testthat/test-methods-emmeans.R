# emmeans on glmmr fits (issue 13, part 4): the numbers emmeans gives for
# lme4's fit of the same model. glmmr's degrees of freedom are asymptotic;
# for linear mixed models the reference is emmeans with
# lmer.df = "asymptotic" (without it emmeans uses Kenward-Roger degrees of
# freedom and an adjusted covariance for lme4's fits).

emm_frame <- function(x) as.data.frame(x)

test_that("emmeans, pairs and ref_grid of gm1 are emmeans' for the glmer fit", {
  skip_if_not_installed("emmeans")
  g <- gm1_pair()
  e_g <- emmeans::emmeans(g$g, ~ livch)
  e_l <- emmeans::emmeans(g$l, ~ livch)
  expect_equal(emm_frame(e_g), emm_frame(e_l), tolerance = 1e-3)
  expect_equal(emm_frame(pairs(e_g)), emm_frame(pairs(e_l)), tolerance = 1e-3)
  expect_equal(emm_frame(emmeans::ref_grid(g$g)), emm_frame(emmeans::ref_grid(g$l)),
               tolerance = 1e-3)
  # back-transformed to probabilities, and a contrast of odds ratios
  expect_equal(emm_frame(emmeans::emmeans(g$g, ~ urban, type = "response")),
               emm_frame(emmeans::emmeans(g$l, ~ urban, type = "response")), tolerance = 1e-3)
  expect_equal(emm_frame(pairs(emmeans::emmeans(g$g, ~ urban), type = "response")),
               emm_frame(pairs(emmeans::emmeans(g$l, ~ urban), type = "response")),
               tolerance = 1e-3)
  expect_equal(emm_frame(emmeans::emmeans(g$g, ~ livch | urban, at = list(age = 0))),
               emm_frame(emmeans::emmeans(g$l, ~ livch | urban, at = list(age = 0))),
               tolerance = 1e-3)
})

test_that("emmeans of linear mixed models (ML and REML) are emmeans' asymptotic ones", {
  skip_if_not_installed("emmeans")
  d <- sleepstudy
  d$period <- factor(ifelse(d$Days < 3, "early", ifelse(d$Days < 7, "mid", "late")),
                     levels = c("early", "mid", "late"))
  for (reml in c(FALSE, TRUE)) {
    l <- lme4::lmer(Reaction ~ period + (1 | Subject), d, REML = reml)
    g <- glmmr(Reaction ~ period + (1 | Subject), d, REML = reml)
    e_l <- emmeans::emmeans(l, ~ period, lmer.df = "asymptotic")
    e_g <- emmeans::emmeans(g, ~ period)
    expect_equal(emm_frame(e_g), emm_frame(e_l), tolerance = 1e-3, info = reml)
    expect_equal(emm_frame(pairs(e_g)), emm_frame(pairs(e_l)), tolerance = 1e-3, info = reml)
    # the estimates do not depend on the degrees of freedom: the same as
    # with emmeans' default (Kenward-Roger or Satterthwaite) for lme4's fit
    expect_equal(emm_frame(e_g)$emmean, emm_frame(emmeans::emmeans(l, ~ period))$emmean,
                 tolerance = 1e-3, info = reml)
    expect_true(all(is.infinite(emm_frame(e_g)$df)))
  }
  p <- sleep_pair()
  expect_equal(emm_frame(emmeans::emmeans(p$g, ~ Days, at = list(Days = c(0, 4.5, 9)))),
               emm_frame(emmeans::emmeans(p$l, ~ Days, at = list(Days = c(0, 4.5, 9)),
                                          lmer.df = "asymptotic")), tolerance = 1e-3)
})

test_that("a user covariance (vcov.) and aliased columns work as for lme4's fits", {
  skip_if_not_installed("emmeans")
  d <- sleepstudy
  d$period <- factor(ifelse(d$Days < 5, "a", "b"))
  d$copy <- d$period # aliased with period: dropped at the fit
  l <- suppressMessages(lme4::lmer(Reaction ~ period + copy + (1 | Subject), d, REML = FALSE))
  g <- suppressMessages(glmmr(Reaction ~ period + copy + (1 | Subject), d))
  # emmeans notes the nesting of period in copy for both fits
  expect_equal(emm_frame(suppressMessages(emmeans::emmeans(g, ~ period + copy))),
               emm_frame(suppressMessages(emmeans::emmeans(l, ~ period + copy,
                                                           lmer.df = "asymptotic"))),
               tolerance = 1e-3)
  m <- glmmr(Reaction ~ period + (1 | Subject), d)
  v <- 4 * vcov(m)
  expect_equal(emm_frame(emmeans::emmeans(m, ~ period, vcov. = v))$SE,
               2 * emm_frame(emmeans::emmeans(m, ~ period))$SE, tolerance = 1e-10)
})
