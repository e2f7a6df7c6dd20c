# t and F tests with Satterthwaite's and Kenward-Roger's degrees of freedom,
# against lmerTest (and, through it, pbkrtest) on lme4's fits of the same
# models, to 1e-3 relative. The lme4 fits use tight optimizer tolerances:
# with lme4's defaults the optimum itself differs by up to 1e-4 in theta,
# which small p-values amplify past 1e-3.

skip_without_lmertest <- function() {
  skip_if_not_installed("lme4")
  skip_if_not_installed("lmerTest")
  skip_if_not_installed("pbkrtest")
}

# lme4's fits, to the optimum (called with it inside each test: lmerTest
# evaluates the call again for the deviance function)
tight <- function() {
  lme4::lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14, ftol_abs = 1e-14,
                                   xtol_abs = 1e-12, maxeval = 1e5))
}

# the largest relative difference, over finite reference values
expect_rel <- function(got, want, tol = 1e-3) {
  got <- unname(as.numeric(as.matrix(got)))
  want <- unname(as.numeric(as.matrix(want)))
  expect_length(got, length(want))
  expect_true(all(is.finite(got)))
  expect_lt(max(abs(got - want) / abs(want)), tol)
}

# p-values: relative for those above 1e-8; below, where a relative change
# of the statistic of 1e-5 moves p by more than 1e-3, on the log scale
expect_p <- function(got, want, tol = 1e-3) {
  got <- unname(as.numeric(got))
  want <- unname(as.numeric(want))
  big <- want > 1e-8
  if (any(big)) expect_rel(got[big], want[big], tol)
  if (any(!big)) expect_rel(log(got[!big]), log(want[!big]), tol)
}

# lmerTest's summary table (Estimate, Std. Error, df, t value, Pr(>|t|))
expect_ttable <- function(got, want) {
  expect_identical(colnames(got), c("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"))
  expect_identical(rownames(got), rownames(want))
  for (j in 1:4) expect_rel(got[, j], want[, j])
  expect_p(got[, 5], want[, 5])
}

# lmerTest's anova table (Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F))
expect_ftable <- function(got, want) {
  expect_s3_class(got, "anova")
  expect_identical(names(got), c("Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"))
  expect_identical(rownames(got), rownames(want))
  if (nrow(want) == 0L) return(expect_identical(nrow(got), 0L))
  expect_equal(got$NumDF, as.numeric(want$NumDF))
  for (j in c("Sum Sq", "Mean Sq", "DenDF", "F value")) expect_rel(got[[j]], want[[j]])
  expect_p(got[["Pr(>F)"]], want[["Pr(>F)"]])
}

# every test of a glmmr fit against lmerTest's of the lme4 fit: t-tests and
# F tests (types III and I) with Satterthwaite's df, and for REML fits with
# Kenward-Roger's
compare_with_lmertest <- function(m, l) {
  expect_ttable(summary(m)$coefficients, summary(l)$coefficients)
  expect_ttable(summary(m, ddf = "Satterthwaite")$coefficients,
                summary(l, ddf = "Satterthwaite")$coefficients)
  for (type in c("III", "I")) {
    expect_ftable(anova(m, type = type), anova(l, type = type))
  }
  if (m$REML) {
    expect_ttable(summary(m, ddf = "Kenward-Roger")$coefficients,
                  summary(l, ddf = "Kenward-Roger")$coefficients)
    for (type in c("III", "I")) {
      expect_ftable(anova(m, type = type, ddf = "Kenward-Roger"),
                    anova(l, type = type, ddf = "Kenward-Roger"))
    }
  }
}

test_that("sleepstudy: Satterthwaite and Kenward-Roger as lmerTest, REML and ML", {
  skip_without_lmertest()
  ctl <- tight()
  d <- lme4::sleepstudy
  for (reml in c(TRUE, FALSE)) {
    m <- glmmr(Reaction ~ Days + (Days | Subject), d, REML = reml)
    l <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), d, REML = reml, control = ctl)
    compare_with_lmertest(m, l)
  }
})

test_that("Penicillin (crossed terms, intercept only) as lmerTest", {
  skip_without_lmertest()
  ctl <- tight()
  d <- lme4::Penicillin
  for (reml in c(TRUE, FALSE)) {
    m <- glmmr(diameter ~ 1 + (1 | plate) + (1 | sample), d, REML = reml)
    l <- lmerTest::lmer(diameter ~ 1 + (1 | plate) + (1 | sample), d, REML = reml, control = ctl)
    compare_with_lmertest(m, l)
    # no term to test: an empty table, as lmerTest's
    expect_identical(nrow(anova(l)), 0L)
    expect_identical(nrow(anova(m)), 0L)
  }
})

test_that("cake (factors with polynomial contrasts, an interaction) as lmerTest", {
  skip_without_lmertest()
  ctl <- tight()
  d <- lme4::cake
  for (reml in c(TRUE, FALSE)) {
    m <- glmmr(angle ~ recipe * temperature + (1 | recipe:replicate), d, REML = reml)
    l <- lmerTest::lmer(angle ~ recipe * temperature + (1 | recipe:replicate), d, REML = reml, control = ctl)
    compare_with_lmertest(m, l)
  }
})

test_that("an unbalanced design (a factor by a covariate) as lmerTest: types I and III differ", {
  skip_without_lmertest()
  ctl <- tight()
  d <- lme4::sleepstudy[-c(seq(1, 180, by = 7), 50:58), ]
  d$phase <- cut(d$Days, c(-1, 2, 6, 9), labels = c("a", "b", "c"))
  for (reml in c(TRUE, FALSE)) {
    m <- glmmr(Reaction ~ phase * Days + (Days || Subject), d, REML = reml)
    l <- lmerTest::lmer(Reaction ~ phase * Days + (Days || Subject), d, REML = reml, control = ctl)
    compare_with_lmertest(m, l)
    # the design is unbalanced: the sequential and marginal tests differ
    a1 <- anova(m, type = "I")
    a3 <- anova(m, type = "III")
    expect_gt(abs(a1["phase", "F value"] / a3["phase", "F value"] - 1), 0.01)
  }
})

test_that("weighted fits: Satterthwaite's df as lmerTest's", {
  skip_without_lmertest()
  ctl <- tight()
  d <- lme4::sleepstudy
  d$w <- rep(c(0.5, 1, 2), length.out = nrow(d))
  m <- glmmr(Reaction ~ Days + (Days | Subject), d, weights = w, REML = TRUE)
  l <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), d, weights = w, REML = TRUE, control = ctl)
  expect_ttable(summary(m)$coefficients, summary(l)$coefficients)
})

test_that("weighted fits: Kenward-Roger as pbkrtest's on the rescaled unweighted model", {
  # pbkrtest builds the covariance of y with an identity for the residual
  # term, whatever the prior weights, so on a weighted lme4 fit it is not a
  # reference. A weighted LMM is the unweighted LMM of sqrt(w) y with the
  # rows of X and Z scaled by sqrt(w) (the same likelihood up to a constant,
  # and the same covariance parameters): built through lme4's modular
  # functions, that model is one pbkrtest handles correctly.
  skip_without_lmertest()
  d <- lme4::sleepstudy
  d$w <- rep(c(0.5, 1, 2), length.out = nrow(d))
  f <- Reaction ~ Days + (Days | Subject)
  m <- glmmr(f, d, weights = w, REML = TRUE)
  lf <- lme4::lFormula(f, d)
  s <- sqrt(d$w)
  lf$X <- lf$X * s
  lf$reTrms$Zt <- lf$reTrms$Zt %*% Matrix::Diagonal(x = s)
  lf$fr$Reaction <- d$Reaction * s
  dev <- do.call(lme4::mkLmerDevfun, lf)
  opt <- lme4::optimizeLmer(dev, control = list(xtol_rel = 1e-12, ftol_rel = 1e-14,
                                                ftol_abs = 1e-14, xtol_abs = 1e-12))
  l <- lme4::mkMerMod(environment(dev), opt, lf$reTrms, fr = lf$fr)
  expect_rel(m$theta, lme4::getME(l, "theta"), 1e-4)
  Va <- pbkrtest::vcovAdj(l)
  ddf <- vapply(1:2, function(i) {
    pbkrtest::Lb_ddf(matrix(replace(numeric(2), i, 1), 1L), as.matrix(vcov(l)), Va)
  }, 0)
  got <- summary(m, ddf = "Kenward-Roger")$coefficients
  expect_rel(got[, "Std. Error"], sqrt(diag(as.matrix(Va))))
  expect_rel(got[, "df"], ddf)
})

test_that("a singular fit (a variance at zero): both methods as lmerTest's", {
  skip_without_lmertest()
  ctl <- tight()
  set.seed(1)
  d <- data.frame(g = factor(rep(1:10, each = 5)), x = rnorm(50))
  d$y <- d$x + rnorm(50)
  m <- glmmr(y ~ x + (1 | g), d, REML = TRUE)
  l <- suppressMessages(lmerTest::lmer(y ~ x + (1 | g), d, REML = TRUE, control = ctl))
  expect_equal(unname(m$theta), 0)
  compare_with_lmertest(m, l)
})

test_that("the tables are lmerTest's shape and print", {
  skip_if_not_installed("lme4")
  m <- glmmr(angle ~ recipe * temperature + (1 | recipe:replicate), lme4::cake, REML = TRUE)
  s <- summary(m)
  expect_identical(s$ddf, "Satterthwaite")
  expect_output(print(s), "t-tests with Satterthwaite's degrees of freedom")
  expect_output(print(s), "Estimate Std. Error +df t value Pr\\(>\\|t\\|\\)")
  expect_output(print(summary(m, ddf = "Kenward-Roger")), "Kenward-Roger's standard errors")
  a <- anova(m)
  expect_match(attr(a, "heading"), "Type III Analysis of Variance Table with Satterthwaite's method")
  expect_output(print(a), "Sum Sq Mean Sq NumDF DenDF F value Pr\\(>F\\)")
  expect_match(attr(anova(m, type = "1", ddf = "Kenward-Roger"), "heading"),
               "Type I Analysis of Variance Table with Kenward-Roger's method")
  # the F test of one column is the square of its t-test, with the same df
  m1 <- glmmr(Reaction ~ Days + (Days | Subject), lme4::sleepstudy)
  a <- anova(m1)
  s <- summary(m1)$coefficients
  expect_equal(a["Days", "F value"], s["Days", "t value"]^2)
  expect_equal(a["Days", "DenDF"], s["Days", "df"])
})

test_that("ddf = 'none' keeps the z tests and the Wald chi-square table", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  s <- summary(m, ddf = "none")$coefficients
  expect_identical(colnames(s), c("Estimate", "Std. Error", "z value", "Pr(>|z|)"))
  expect_equal(s[, "Std. Error"], sqrt(diag(vcov(m))))
  expect_equal(s[, "Pr(>|z|)"], 2 * pnorm(-abs(fixef(m) / sqrt(diag(vcov(m))))))
  w <- anova(m, ddf = "none")
  expect_equal(w$Chisq, unname((fixef(m)["Days"] / sqrt(vcov(m)["Days", "Days"]))^2))
  # and the t-test's statistic is the z statistic, its p-value larger
  t <- summary(m)$coefficients
  expect_equal(t[, "t value"], s[, "z value"])
  expect_true(all(t[, "Pr(>|t|)"] > s[, "Pr(>|z|)"]))
})

test_that("a GLMM keeps z tests and refuses other ddf", {
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), lme4_cbpp(),
             family = binomial)
  s <- summary(g)
  expect_identical(s$ddf, "none")
  expect_identical(colnames(s$coefficients), c("Estimate", "Std. Error", "z value", "Pr(>|z|)"))
  expect_identical(colnames(summary(g, ddf = "none")$coefficients), colnames(s$coefficients))
  expect_error(summary(g, ddf = "Satterthwaite"), "`ddf`.*linear mixed models only")
  expect_error(anova(g, ddf = "Kenward-Roger"), "`ddf`.*linear mixed models only")
  expect_identical(names(anova(g)), c("Df", "Chisq", "Pr(>Chisq)"))
})

test_that("bad ddf and type arguments are refused by name", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  expect_error(summary(m, ddf = "KR"), "`ddf` must be one of")
  expect_error(anova(m, ddf = 1), "`ddf` must be one of")
  expect_error(anova(m, type = "II"), "`type` must be")
  # Kenward-Roger is for REML estimates (as in lmerTest)
  expect_error(summary(m, ddf = "Kenward-Roger"), "`ddf` = \"Kenward-Roger\" needs a REML fit")
  expect_error(anova(m, ddf = "Kenward-Roger"), "needs a REML fit")
  # several models: likelihood-ratio tests, which have no type or ddf
  m0 <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  expect_error(anova(m, m0, type = "I"), "`type` and `ddf` apply to the tests of one model")
  expect_error(anova(m, m0, ddf = "none"), "`type` and `ddf` apply to the tests of one model")
})

test_that("Kenward-Roger refuses models too large for its dense matrices", {
  set.seed(3)
  n <- 5200
  d <- data.frame(g = factor(rep(1:260, each = 20)), x = rnorm(n))
  d$y <- d$x + rnorm(260)[d$g] + rnorm(n)
  m <- glmmr(y ~ x + (1 | g), d, REML = TRUE)
  expect_error(summary(m, ddf = "Kenward-Roger"),
               "`ddf` = \"Kenward-Roger\" works with dense n x n matrices and is limited to 5000")
})

test_that("a fit read back from a file gives the same tests", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE)
  f <- unserialize(serialize(m, NULL))
  expect_equal(summary(f)$coefficients, summary(m)$coefficients)
  expect_equal(anova(f, ddf = "Kenward-Roger"), anova(m, ddf = "Kenward-Roger"))
})
