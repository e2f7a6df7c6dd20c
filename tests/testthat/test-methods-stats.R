# stats and lme4 habits (issue 13, part 2): extractAIC()/drop1(),
# as.data.frame(ranef()), formula(fixed.only, random.only), scaled residuals
# and predict() with some of the random-effects terms, each against lme4's
# result on lme4's fit of the same model.

test_that("extractAIC is lme4's, the ML refit's for a REML fit", {
  skip_if_not_installed("lme4")
  p <- sleep_pair()
  expect_equal(extractAIC(p$g), extractAIC(p$l), tolerance = 1e-6)
  expect_equal(extractAIC(p$g, k = log(180)), extractAIC(p$l, k = log(180)), tolerance = 1e-6)
  r <- sleep_pair(REML = TRUE)
  expect_equal(extractAIC(r$g), extractAIC(r$l), tolerance = 1e-6)
  expect_equal(extractAIC(r$g), extractAIC(p$g), tolerance = 1e-6)
  expect_error(extractAIC(p$g, k = "a"), "`k`")
  expect_error(extractAIC(p$g, foo = 1), "unknown argument .*`foo`")
})

test_that("drop1 gives lme4's table (an LMM with its LRT, and gm1)", {
  skip_if_not_installed("lme4")
  # drop1() evaluates the updated calls where the formula was made: here
  g <- glmmr(Reaction ~ Days + I(Days^2) + (Days | Subject), sleepstudy)
  l <- lme4::lmer(Reaction ~ Days + I(Days^2) + (Days | Subject), sleepstudy, REML = FALSE)
  dg <- drop1(g, test = "Chisq")
  dl <- drop1(l, test = "Chisq")
  expect_identical(rownames(dg), rownames(dl))
  # stats' drop1.default names the columns Df and Pr(>Chi), lme4 npar and Pr(Chi)
  expect_equal(unname(as.matrix(dg)), unname(as.matrix(dl)), tolerance = 1e-3)
  g <- gm1_pair()
  # lme4 warns about its refits (convergence, a contrast for a dropped term)
  dl <- suppressWarnings(drop1(g$l))
  dg <- suppressWarnings(drop1(g$g))
  expect_identical(rownames(dg), rownames(dl))
  expect_equal(dg$AIC, dl$AIC, tolerance = 1e-5)
  expect_equal(dg$Df, dl$npar)
})

test_that("as.data.frame(ranef(condVar = TRUE)) is lme4's", {
  skip_if_not_installed("lme4")
  for (f in c(Reaction ~ Days + (Days | Subject),
              Reaction ~ Days + (1 | Subject) + (0 + Days | Subject))) {
    p <- sleep_pair(f)
    expect_equal(as.data.frame(ranef(p$g, condVar = TRUE)),
                 as.data.frame(lme4::ranef(p$l, condVar = TRUE)), tolerance = 1e-3,
                 info = deparse(f))
    expect_equal(as.data.frame(ranef(p$g)), as.data.frame(lme4::ranef(p$l, condVar = FALSE)),
                 tolerance = 1e-3, info = deparse(f))
  }
  g <- gm1_pair()
  a <- as.data.frame(ranef(g$g, condVar = TRUE))
  expect_named(a, c("grpvar", "term", "grp", "condval", "condsd"))
  expect_equal(a, as.data.frame(lme4::ranef(g$l, condVar = TRUE)), tolerance = 1e-3)
  expect_error(as.data.frame(ranef(g$g), foo = 1), "unknown argument .*`foo`")
})

test_that("formula(fixed.only, random.only) are lme4's", {
  skip_if_not_installed("lme4")
  for (f in c(Reaction ~ Days + (Days | Subject),
              Reaction ~ Days + (1 | Subject) + (0 + Days | Subject),
              Reaction ~ 1 + (1 | Subject))) {
    p <- sleep_pair(f)
    for (a in list(list(fixed.only = TRUE), list(random.only = TRUE), list())) {
      expect_equal(do.call(formula, c(list(p$g), a)), do.call(formula, c(list(p$l), a)),
                   ignore_formula_env = TRUE, info = paste(deparse(f), names(a)))
    }
  }
  # (x || g) stands for its uncorrelated terms, as lme4 writes them out
  p <- sleep_pair(Reaction ~ Days + (Days || Subject))
  expect_equal(formula(p$g, random.only = TRUE), formula(p$l, random.only = TRUE),
               ignore_formula_env = TRUE)
  expect_error(formula(p$g, fixed.only = TRUE, random.only = TRUE), "cannot both be TRUE")
  expect_error(formula(p$g, fixed.only = NA), "`fixed.only`")
  expect_error(formula(p$g, fixedonly = TRUE), "unknown argument .*`fixedonly`")
})

test_that("residuals(scaled = TRUE) are lme4's (LMM and gm1, every type)", {
  skip_if_not_installed("lme4")
  p <- sleep_pair()
  types <- c("response", "pearson", "deviance", "working")
  for (ty in types) {
    expect_equal(residuals(p$g, type = ty, scaled = TRUE),
                 residuals(p$l, type = ty, scaled = TRUE), tolerance = 1e-3, info = ty)
  }
  expect_equal(residuals(p$g, scaled = TRUE), residuals(p$l, scaled = TRUE), tolerance = 1e-3)
  g <- gm1_pair()
  for (ty in types) {
    expect_equal(residuals(g$g, type = ty, scaled = TRUE),
                 residuals(g$l, type = ty, scaled = TRUE), tolerance = 1e-3, info = ty)
  }
  expect_error(residuals(p$g, scaled = "yes"), "`scaled`")
})

test_that("predict with some of the random-effects terms is lme4's", {
  skip_if_not_installed("lme4")
  p <- sleep_pair(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject))
  nd <- sleepstudy[c(1, 15, 60, 121), ]
  for (rf in list(~ (1 | Subject), ~ (0 + Days | Subject), NA, NULL)) {
    expect_equal(predict(p$g, re.form = rf), predict(p$l, re.form = rf),
                 tolerance = 1e-4, info = deparse(rf))
    expect_equal(predict(p$g, newdata = nd, re.form = rf),
                 predict(p$l, newdata = nd, re.form = rf), tolerance = 1e-4, info = deparse(rf))
  }
  g <- gm1_pair()
  nd <- g$data[c(1, 500, 1500), ]
  expect_equal(predict(g$g, newdata = nd, re.form = ~ (1 | district), type = "response"),
               predict(g$l, newdata = nd, re.form = ~ (1 | district), type = "response"),
               tolerance = 1e-4)
})
