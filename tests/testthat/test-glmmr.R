# Fits of linear mixed models against reference numbers: the seed's
# sleepstudy example (the seed's table of values) and lme4 1.1-31 fits
# stored in fixtures/lmm-fixtures.rds.
# Every number asserted here comes from one of those two sources.

# Largest element-wise relative error of `ours` against `ref`
max_rel_err <- function(ours, ref) max(abs(ours - ref) / abs(ref))

# ---------------------------------------------------------------------------
# The seed's example: sleepstudy, maximum likelihood

test_that("sleepstudy ML fit reproduces the seed's numbers", {
  expect_warning(
    m <- glmmr(Reaction ~ 1 + Days + (1 + Days | Subject), data = sleepstudy),
    NA)

  # All reference numbers below come from the seed's table of values
  # (printed by MixedModels.jl, and lme4's -2 log L, AIC and BIC).
  seed_beta <- c("(Intercept)" = 251.405, Days = 10.4673)
  seed_se <- c("(Intercept)" = 6.63226, Days = 1.50224)
  seed_var <- c(subj_intercept = 565.51067, subj_days = 32.68212,
                residual = 654.94145)
  seed_corr <- 0.08
  seed_dev <- 1751.939
  seed_aic <- 1763.9
  seed_bic <- 1783.1

  beta <- fixef(m)
  expect_named(beta, names(seed_beta))
  expect_lte(max_rel_err(beta, seed_beta), 1e-5)

  se <- sqrt(diag(vcov(m)))
  expect_lte(max_rel_err(se[names(seed_se)], seed_se), 1e-4)

  vc <- as.data.frame(VarCorr(m))
  ours_var <- c(
    vc$vcov[vc$grp == "Subject" & vc$var1 == "(Intercept)" & is.na(vc$var2)],
    vc$vcov[vc$grp == "Subject" & vc$var1 == "Days" & is.na(vc$var2)],
    vc$vcov[vc$grp == "Residual"])
  expect_length(ours_var, 3)
  expect_lte(max_rel_err(ours_var, seed_var), 1e-3)

  corr <- vc$sdcor[vc$grp == "Subject" & !is.na(vc$var2)]
  expect_length(corr, 1)
  expect_equal(round(corr, 2), seed_corr)
  expect_equal(round(attr(VarCorr(m)$Subject, "correlation")[2, 1], 2),
               seed_corr)

  dev <- -2 * as.numeric(logLik(m))
  expect_lte(abs(dev - seed_dev) / seed_dev, 1e-6)
  expect_lte(abs(AIC(m) - seed_aic), 0.1)
  expect_lte(abs(BIC(m) - seed_bic), 0.1)
})

# ---------------------------------------------------------------------------
# REML fit of the same model against lme4

test_that("sleepstudy REML fit matches lme4's (fixture sleep_reml)", {
  fx <- lmm_fixtures$sleep_reml
  expect_warning(m <- fit_fixture(fx), NA)
  expect_true(m$REML)

  # REML criterion (the seed's table of values: 1743.628)
  crit <- -2 * as.numeric(logLik(m))
  expect_lte(abs(crit - fx$deviance) / fx$deviance, 1e-6)
  expect_lte(abs(crit - 1743.628), 1e-3)

  vc <- as.data.frame(VarCorr(m))
  ref <- fx$varcorr
  key <- function(d) paste(d$grp, d$var1, d$var2)
  expect_setequal(key(vc), key(ref))
  ours <- vc$vcov[match(key(ref), key(vc))]
  expect_lte(max_rel_err(ours, ref$vcov), 1e-3)

  # Standard errors: the seed's table of values gives lme4's 6.825 and 1.546
  se <- sqrt(diag(vcov(m)))
  expect_lte(max_rel_err(se[names(fx$se)], fx$se), 1e-3)
  expect_equal(round(unname(se), 3), c(6.825, 1.546))
})

# ---------------------------------------------------------------------------
# Every fixture model against lme4

# Group names that cannot be matched one-to-one with lme4's: our nested term
# (1 | batch/cask) is called "batch:cask" where lme4 says "cask:batch", and our
# `||` terms share the group name ("Subject" twice) where lme4 names them
# "Subject" and "Subject.1". When the (grp, var1, var2) keys do not all match,
# compare the sorted vcov values of the model instead (the variance
# components are then compared as a multiset).
compare_varcorr <- function(ours, ref) {
  key <- function(d) paste(d$grp, d$var1, d$var2, sep = "\r")
  close <- function(a, b) abs(a - b) <= pmax(1e-3 * abs(b), 1e-4)
  expect_identical(nrow(ours), nrow(ref))
  if (setequal(key(ours), key(ref)) && !anyDuplicated(key(ours))) {
    a <- ours$vcov[match(key(ref), key(ours))]
    b <- ref$vcov
  } else {
    expect_identical(sort(ours$var1, na.last = TRUE),
                     sort(ref$var1, na.last = TRUE))
    a <- sort(ours$vcov)
    b <- sort(ref$vcov)
  }
  ok <- close(a, b)
  expect_true(all(ok), label = paste0(
    "vcov within 1e-3 relative or 1e-4 absolute of lme4's (ours: ",
    paste(signif(a[!ok], 8), collapse = ", "), "; lme4: ",
    paste(signif(b[!ok], 8), collapse = ", "), ")"))
}

for (nm in names(lmm_fixtures)) {
  local({
    fx <- lmm_fixtures[[nm]]
    test_that(paste0("fixture ", nm, ": ", fx$formula,
                     if (fx$REML) " (REML)" else " (ML)",
                     " agrees with lme4"), {
      expect_warning(m <- fit_fixture(fx), NA)

      # -2 log L (or the REML criterion): no worse than lme4's, and not
      # absurdly better (which would mean a different likelihood)
      ll <- logLik(m)
      ours <- -2 * as.numeric(ll)
      expect_lte(ours, fx$deviance + 1e-6 * abs(fx$deviance))
      expect_gte(ours, fx$deviance - 1e-3)

      # Fixed effects within 1% of lme4's standard error, matched by name
      beta <- fixef(m)
      expect_setequal(names(beta), fx$X_colnames)
      b <- beta[fx$X_colnames]
      expect_true(all(abs(b - fx$fixef[fx$X_colnames]) <=
                        0.01 * fx$se[fx$X_colnames]))

      # Standard errors within 1e-3 relative
      se <- sqrt(diag(vcov(m)))[fx$X_colnames]
      expect_lte(max_rel_err(se, fx$se[fx$X_colnames]), 1e-3)

      # Residual standard deviation
      expect_lte(abs(sigma(m) - fx$sigma) / fx$sigma, 1e-3)

      # Variance components
      compare_varcorr(as.data.frame(VarCorr(m)), fx$varcorr)

      # Sizes
      expect_equal(nobs(m), fx$nobs)
      expect_equal(attr(ll, "df"), fx$df)
      expect_equal(attr(ll, "nobs"), fx$nobs)

      if (isTRUE(fx$singular)) {
        # lme4 finds theta = 0 (a boundary fit); ours must too, silently
        expect_true(all(abs(m$theta) < 1e-6))
      }
    })
  })
}

test_that("the singular fixture is fitted at theta = 0 without a warning", {
  fx <- lmm_fixtures$dyestuff2_singular
  expect_true(fx$singular)
  expect_warning(m <- fit_fixture(fx), NA)
  expect_true(all(m$theta == 0 | abs(m$theta) < 1e-6))
  expect_equal(unname(fx$theta), 0)
})

# ---------------------------------------------------------------------------
# Conditional modes

test_that("ranef() of sleepstudy ML matches lme4's conditional modes", {
  fx <- lmm_fixtures$sleep_ml
  m <- fit_fixture(fx)
  re <- ranef(m)
  expect_named(re, "Subject")
  ours <- as.matrix(re$Subject)
  ref <- fx$ranef$Subject
  expect_identical(dim(ours), dim(ref))
  expect_setequal(rownames(ours), rownames(ref))
  expect_identical(colnames(ours), colnames(ref))
  ours <- ours[rownames(ref), colnames(ref)]
  ok <- abs(ours - ref) <= pmax(1e-3 * abs(ref), 1e-2)
  expect_true(all(ok))
})

# ---------------------------------------------------------------------------
# Invariance to a linear reparametrisation of a vector-valued term

test_that("raw and centred/scaled quadratic-in-days terms give the same -2 log L", {
  m1 <- fit_fixture(lmm_fixtures$sleep_vector3)
  m2 <- fit_fixture(lmm_fixtures$sleep_vector3_scaled)
  d1 <- -2 * as.numeric(logLik(m1))
  d2 <- -2 * as.numeric(logLik(m2))
  expect_lte(abs(d1 - d2) / abs(d2), 1e-6)
  # and lme4 agrees that the two models are one (fixture values)
  expect_lte(abs(lmm_fixtures$sleep_vector3$deviance -
                   lmm_fixtures$sleep_vector3_scaled$deviance) /
               lmm_fixtures$sleep_vector3_scaled$deviance, 1e-6)
})

test_that("groups of a:b whose labels contain ':' are fitted and predicted as distinct groups (lme4 on relabelled data)", {
  # Issue 10 (9). lme4 merges ("a:b", "c") with ("a", "b:c"); its fit to the
  # same data with "_" for ":" in the labels is the reference (6 groups).
  set.seed(1)
  d <- data.frame(a = rep(c("a:b", "a", "x", "x:y", "p", "p"), each = 10),
                  b = rep(c("c", "b:c", "y", "z", "q", "r"), each = 10))
  d$y <- rnorm(60) + rep(c(-2, 2, 0, 1, -1, 0.5), each = 10)
  d$x <- rnorm(60)
  m <- glmmr(y ~ x + (1 | a:b), d)
  expect_identical(glmmr:::group_sizes(m), c("a:b" = 6L))
  # lme4 1.1-31, lmer(y ~ x + (1 | a:b), d2, REML = FALSE), d2 relabelled
  expect_equal(as.numeric(logLik(m)), -87.15109, tolerance = 1e-6)
  expect_equal(ranef(m)[["a:b"]][["(Intercept)"]],
               c(1.9487554, -1.9505622, -0.9982487, 0.4209855, -0.3094363, 0.8885063),
               tolerance = 1e-4)
  # new data find each group by its components
  expect_equal(predict(m, newdata = d), fitted(m))
  nd <- d[c(11, 1), ]
  expect_equal(unname(predict(m, nd)), unname(fitted(m)[c(11, 1)]))
  skip_if_not_installed("lme4")
  d2 <- d
  d2$a <- gsub(":", "_", d2$a)
  d2$b <- gsub(":", "_", d2$b)
  l <- lme4::lmer(y ~ x + (1 | a:b), d2, REML = FALSE)
  expect_equal(as.numeric(logLik(m)), as.numeric(logLik(l)), tolerance = 1e-6)
  expect_equal(ranef(m)[["a:b"]][["(Intercept)"]], lme4::ranef(l)[["a:b"]][["(Intercept)"]],
               tolerance = 1e-4)
})

test_that("a row with zero prior weight contributes nothing: the fit without it (lme4 on the rows kept)", {
  # Issue 10 (8): zero-weight rows still counted as observations in an LMM
  # (sigma, theta and logLik changed), and simulate() drew NaN for them.
  d <- sleepstudy
  d$w <- 1
  d$w[c(1, 5, 30, 77)] <- 0
  m <- glmmr(Reaction ~ Days + (Days | Subject), d, weights = w)
  kept <- glmmr(Reaction ~ Days + (Days | Subject), d[d$w > 0, ])
  expect_equal(logLik(m), logLik(kept))
  expect_equal(sigma(m), sigma(kept))
  expect_equal(m$theta, kept$theta)
  expect_equal(fixef(m), fixef(kept))
  expect_identical(nobs(m), 176L)
  expect_equal(df.residual(m), df.residual(kept))
  # lme4 1.1-31 fitted to the 176 rows (its fit with zero weights has
  # logLik -Inf): logLik -858.2306, sigma 25.79993
  expect_equal(as.numeric(logLik(m)), -858.2306, tolerance = 1e-6)
  expect_equal(sigma(m), 25.79993, tolerance = 1e-5)
  # the zero-weight rows still get fitted values and residuals
  expect_length(fitted(m), 180L)
  expect_equal(unname(fitted(m)[1]), unname(predict(kept, newdata = d[1, ])))
  # simulate() gives NA there (infinite variance), and the bootstrap runs
  s <- simulate(m, nsim = 3, seed = 1)
  expect_true(all(is.na(s[d$w == 0, ])))
  expect_false(anyNA(s[d$w > 0, ]))
  ci <- confint(m, method = "boot", nsim = 10, seed = 1)
  expect_false(anyNA(ci))
  expect_equal(confint(m, method = "profile"), confint(kept, method = "profile"))
  # a level seen only in zero-weight rows: its random effect is 0
  d$w[d$Subject == "308"] <- 0
  m <- glmmr(Reaction ~ Days + (Days | Subject), d, weights = w)
  kept <- glmmr(Reaction ~ Days + (Days | Subject), droplevels(d[d$w > 0, ]))
  expect_equal(logLik(m), logLik(kept))
  expect_equal(unlist(ranef(m)$Subject["308", ]), c("(Intercept)" = 0, Days = 0))
  # a fixed-effects column that is zero on the weighted rows is aliased there
  # (as lm() with weights finds); the fit is the one without that level
  d <- sleepstudy
  d$f <- factor(ifelse(seq_len(180) %in% c(1, 5), "odd", ifelse(d$Days > 4, "late", "early")))
  d$w <- ifelse(d$f == "odd", 0, 1)
  expect_message(m <- glmmr(Reaction ~ f + (1 | Subject), d, weights = w), "dropping 1")
  kept <- glmmr(Reaction ~ f + (1 | Subject), droplevels(d[d$w > 0, ]))
  expect_equal(logLik(m), logLik(kept))
  expect_equal(fixef(m), fixef(kept))
  # a GLMM too; lme4 1.1-31: logLik -88.94433, with or without the row
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), lme4_cbpp(),
             family = binomial, weights = c(0, rep(1, 55)))
  g_kept <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd),
                  lme4_cbpp()[-1, ], family = binomial)
  expect_equal(logLik(g), logLik(g_kept))
  expect_equal(fixef(g), fixef(g_kept))
  expect_identical(nobs(g), 55L)
  # (glmmr's optimum is 3e-4 above lme4's default-tolerance one)
  expect_equal(as.numeric(logLik(g)), -88.94433, tolerance = 1e-5)
  skip_if_not_installed("lme4")
  l <- lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy[-c(1, 5, 30, 77), ], REML = FALSE)
  m <- glmmr(Reaction ~ Days + (Days | Subject), transform(sleepstudy, w = replace(rep(1, 180), c(1, 5, 30, 77), 0)),
             weights = w)
  expect_equal(as.numeric(logLik(m)), as.numeric(logLik(l)), tolerance = 1e-6)
  expect_equal(sigma(m), sigma(l), tolerance = 1e-5)
})

# ---------------------------------------------------------------------------
# Formulas: `.` and many terms (issue 11)

test_that("`.` stands for the other columns of the data, as in lme4", {
  set.seed(21)
  d <- data.frame(y = stats::rnorm(40), a = stats::rnorm(40), b = stats::rnorm(40),
                  g = factor(rep(1:8, 5)), x = stats::rnorm(40))
  m <- glmmr(y ~ . + (1 | g), d)
  expect_identical(deparse1(formula(m)), "y ~ a + b + g + x + (1 | g)")
  skip_if_not_installed("lme4")
  # lme4 leaves `.` to model.frame(), which includes the grouping factor
  ref <- suppressMessages(lme4::lmer(y ~ . + (1 | g), d, REML = FALSE))
  expect_identical(names(fixef(m)), names(lme4::fixef(ref)))
  expect_equal(fixef(m), lme4::fixef(ref), tolerance = 1e-5)
  expect_equal(as.numeric(logLik(m)), as.numeric(logLik(ref)), tolerance = 1e-7)
  d$count <- stats::rpois(40, 3)
  mp <- glmmr(count ~ . - y + (1 | g), d[, c("count", "y", "a", "g")], family = poisson)
  refp <- suppressMessages(lme4::glmer(count ~ . - y + (1 | g),
                                       d[, c("count", "y", "a", "g")], family = poisson))
  expect_equal(fixef(mp), lme4::fixef(refp), tolerance = 1e-4)
})

test_that("a formula with 200 terms is fitted (it exhausted the C stack), as lme4 fits it", {
  many_terms <- function() {
    set.seed(22)
    n <- 400
    d <- as.data.frame(matrix(stats::rnorm(n * 200), n, 200,
                              dimnames = list(NULL, paste0("v", 1:200))))
    d$g <- factor(rep(1:20, each = 20))
    d$y <- stats::rnorm(n) + d$v1 + stats::rnorm(20)[d$g]
    f <- stats::as.formula(paste("y ~", paste0("v", 1:200, collapse = " + "), "+ (1 | g)"))
    list(d = d, f = f)
  }
  # in a fresh process: a stack overflow in C code could end the session
  fit <- in_fresh_r(function(many_terms) {
    x <- many_terms()
    m <- glmmr::glmmr(x$f, x$d)
    list(fixef = glmmr::fixef(m), logLik = as.numeric(stats::logLik(m)))
  }, list(many_terms = many_terms))
  expect_length(fit$fixef, 201L)
  skip_if_not_installed("lme4")
  x <- many_terms()
  ref <- lme4::lmer(x$f, x$d, REML = FALSE)
  expect_equal(fit$logLik, as.numeric(logLik(ref)), tolerance = 1e-7)
  expect_equal(fit$fixef, lme4::fixef(ref), tolerance = 1e-5)
})
