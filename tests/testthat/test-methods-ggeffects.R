# Predictions for ggeffects and effects: population-level predictions with
# confidence intervals, as these packages give for the lme4 fit of the same
# model (helper-insight.R).

gg_numbers <- function(g) {
  d <- as.data.frame(g)
  d[c("x", "predicted", "conf.low", "conf.high", "group")]
}

test_that("ggpredict() gives the population-level predictions and intervals of the lme4 fit", {
  skip_if_not_installed("lme4")
  skip_if_not_installed("ggeffects")
  p <- reference_pairs()$lmm
  expect_equal(gg_numbers(ggeffects::ggpredict(p$glmmr, "Days")),
               gg_numbers(ggeffects::ggpredict(p$lme4, "Days")), tolerance = 1e-3)
  # gm1: not conditional on the first district (the old answer) and with
  # intervals. The reference is lme4's fit with treatment contrasts (the
  # same model; predictions and intervals do not depend on the coding):
  # for the Helmert-coded lme4 fit, ggeffects computes the standard errors
  # from a treatment-coded row of X, which does not match the coefficients
  d <- glmmr::contra
  f <- use ~ 1 + age + I(age^2) + urban + livch + (1 | dist)
  l_treat <- suppressWarnings(lme4::glmer(f, d, family = binomial, nAGQ = 9))
  m <- reference_pairs()$gm1$glmmr
  for (terms in list("livch", c("age", "urban"))) {
    gm <- suppressMessages(ggeffects::ggpredict(m, terms))
    gl <- suppressMessages(ggeffects::ggpredict(l_treat, terms))
    expect_false(anyNA(gm$conf.low))
    expect_equal(gg_numbers(gm), gg_numbers(gl), tolerance = 1e-3)
  }
  # the predictions themselves also agree with the Helmert-coded lme4 fit's
  gh <- suppressMessages(ggeffects::ggpredict(reference_pairs()$gm1$lme4, "livch"))
  expect_equal(as.data.frame(suppressMessages(ggeffects::ggpredict(m, "livch")))$predicted,
               gh$predicted, tolerance = 1e-3)
})

test_that("insight::get_predicted() gives lme4's population-level intervals", {
  skip_if_not_installed("lme4")
  skip_if_not_installed("insight")
  p <- reference_pairs()$lmm
  nd <- data.frame(Days = c(0, 4.5, 9))
  expect_equal(as.data.frame(insight::get_predicted(p$glmmr, data = nd, ci = 0.95)),
               as.data.frame(insight::get_predicted(p$lme4, data = nd, ci = 0.95)),
               tolerance = 1e-3)
  # with the grouping factor in the data: the subjects' own lines
  nd$Subject <- factor("308", levels = levels(glmmr::sleepstudy$Subject))
  expect_equal(as.numeric(insight::get_predicted(p$glmmr, data = nd)),
               as.numeric(insight::get_predicted(p$lme4, data = nd)), tolerance = 1e-3)
  # GLMM, response scale (delta-method SE) and link scale; the reference is
  # lme4's fit with treatment contrasts (insight builds the rows of X for the
  # standard errors without the fit's Helmert contrasts)
  p <- list(glmmr = reference_pairs()$gm1$glmmr,
            lme4 = suppressWarnings(lme4::glmer(
              use ~ 1 + age + I(age^2) + urban + livch + (1 | dist),
              glmmr::contra, family = binomial, nAGQ = 9)))
  nd <- data.frame(livch = factor(c("0", "1", "3+"), levels = levels(glmmr::contra$livch)),
                   age = c(-5, 0, 10),
                   urban = factor(c("N", "Y", "Y"), levels = c("N", "Y")))
  for (what in c("expectation", "link")) {
    expect_equal(as.data.frame(insight::get_predicted(p$glmmr, data = nd, ci = 0.95, predict = what)),
                 as.data.frame(insight::get_predicted(p$lme4, data = nd, ci = 0.95, predict = what)),
                 tolerance = 1e-3)
  }
})

test_that("effects::allEffects() and Effect() give the lme4 fit's effects", {
  skip_if_not_installed("lme4")
  skip_if_not_installed("effects")
  for (nm in c("lmm", "gm1")) {
    p <- reference_pairs()[[nm]]
    em <- effects::allEffects(p$glmmr)
    el <- effects::allEffects(p$lme4)
    expect_identical(names(em), names(el))
    for (term in names(el)) {
      sm <- as.data.frame(em[[term]])
      sl <- as.data.frame(el[[term]])
      expect_equal(sm, sl, tolerance = 1e-3)
    }
  }
  p <- reference_pairs()$gm1
  expect_equal(as.data.frame(effects::Effect(c("age", "urban"), p$glmmr)),
               as.data.frame(effects::Effect(c("age", "urban"), p$lme4)),
               tolerance = 1e-3)
})
