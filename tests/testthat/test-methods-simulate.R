# simulate(), confint() and update(): meanings that can fail.

test_that("the mean of many conditional simulations approaches fitted", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  s <- simulate(m, nsim = 4000, seed = 11, re.form = NULL)
  # each row's simulated mean has SE sigma / sqrt(4000)
  expect_lt(max(abs(rowMeans(s) - fitted(m))), 5 * sigma(m) / sqrt(4000))
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), lme4_cbpp(),
             family = binomial)
  sg <- simulate(g, nsim = 4000, seed = 12, re.form = NULL)
  # each column cbind(successes, failures): the proportions' means
  props <- vapply(sg, function(y) y[, 1] / rowSums(y), numeric(nrow(lme4_cbpp())))
  se <- sqrt(fitted(g) * (1 - fitted(g)) / weights(g) / 4000)
  expect_lt(max(abs(rowMeans(props) - fitted(g)) / se), 5)
})

test_that("unconditional simulations have the model's marginal mean and variance", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  s <- as.matrix(simulate(m, nsim = 4000, seed = 13))
  expect_lt(max(abs(rowMeans(s) - predict(m, re.form = NA))), 5 * sqrt(2500 / 4000))
  # at Days = 0 the variance is var(intercept) + sigma^2
  vc <- as.data.frame(VarCorr(m))
  want <- vc$vcov[1] + sigma(m)^2
  day0 <- which(sleepstudy$Days == 0)
  expect_lt(abs(mean(apply(s[day0, ], 1, var)) / want - 1), 0.05)
})

test_that("a binomial response comes back in the form it was given, as lme4's simulate() returns it", {
  skip_if_not_installed("lme4")
  # the form of a simulation: the classes, dimensions, column names and
  # levels of the data frame and its columns
  form <- function(s) {
    list(class = class(s), dim = dim(s), names = names(s),
         cols = lapply(s, function(y) list(class = class(y), type = typeof(y),
                                           dim = dim(y), colnames = colnames(y),
                                           levels = levels(y))))
  }
  cbpp <- lme4_cbpp()
  cbpp$w <- rep(1:2, length.out = nrow(cbpp))
  cbpp$p <- cbpp$incidence / cbpp$size
  cbpp$one <- 1
  ct <- contra
  ct$use01 <- as.numeric(ct$use == "Y")
  ct$uselg <- ct$use == "Y"
  ct$one <- 1
  cb <- cbind(incidence, size - incidence) ~ period + (1 | herd)
  cases <- list(
    factor = list(use ~ age + urban + (1 | dist), ct, "one"),
    zero_one = list(use01 ~ age + urban + (1 | dist), ct, "one"),
    logical = list(uselg ~ age + urban + (1 | dist), ct, "one"),
    cbind = list(cb, cbpp, "one"),
    weighted_cbind = list(cb, cbpp, "w"),
    proportion = list(p ~ period + (1 | herd), cbpp, "size"))
  for (nm in names(cases)) {
    f <- cases[[nm]][[1]]
    d <- cases[[nm]][[2]]
    d$wt <- d[[cases[[nm]][[3]]]]
    g <- glmmr(f, d, family = binomial, weights = wt)
    l <- suppressMessages(lme4::glmer(f, d, family = binomial, weights = wt))
    sg <- simulate(g, nsim = 2, seed = 1)
    expect_identical(form(sg), form(simulate(l, nsim = 2, seed = 1)), info = nm)
    if (nm == "factor") {
      expect_identical(levels(sg$sim_1), c("N", "Y"))
    }
    if (nm %in% c("cbind", "weighted_cbind")) {
      expect_identical(colnames(sg$sim_1), c("incidence", ""))
      # the rows add up to the trials in weights(): prior weights times the
      # trials for the weighted fit, as lme4's do
      expect_identical(rowSums(sg$sim_2), unname(weights(g)))
      expect_identical(unname(weights(g)), d$wt * d$size)
    }
  }
})

test_that("the simulated successes are those of the same model given as proportions", {
  # the form is the only change: the fits below have the same engine input,
  # so the same seed gives the same successes
  ct <- contra
  ct$use01 <- as.numeric(ct$use == "Y")
  gf <- glmmr(use ~ age + urban + (1 | dist), ct, family = binomial)
  g01 <- glmmr(use01 ~ age + urban + (1 | dist), ct, family = binomial)
  for (rf in list(NA, NULL)) {
    sf <- simulate(gf, nsim = 3, seed = 4, re.form = rf)
    s01 <- simulate(g01, nsim = 3, seed = 4, re.form = rf)
    expect_identical(lapply(sf, function(y) as.numeric(y == "Y")), lapply(s01, identity))
  }
  cbpp <- lme4_cbpp()
  cbpp$p <- cbpp$incidence / cbpp$size
  gc <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
              family = binomial)
  gp <- glmmr(p ~ period + (1 | herd), cbpp, family = binomial, weights = size)
  sc <- simulate(gc, nsim = 3, seed = 5)
  sp <- simulate(gp, nsim = 3, seed = 5)
  expect_identical(lapply(sc, function(y) y[, 1] / cbpp$size), lapply(sp, identity))
  # with new data, one trial a row
  nd <- simulate(gc, nsim = 1, seed = 5, newdata = cbpp[1:4, ])
  expect_identical(dim(nd$sim_1), c(4L, 2L))
  expect_identical(unname(rowSums(nd$sim_1)), rep(1, 4))
})

test_that("rows with zero prior weight are NA in every form; non-whole trials are refused for cbind()", {
  cbpp <- lme4_cbpp()
  cbpp$w <- 1
  cbpp$w[c(2, 9)] <- 0
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
             family = binomial, weights = w)
  s <- simulate(g, nsim = 2, seed = 1)$sim_2
  expect_true(all(is.na(s[c(2, 9), ])))
  expect_false(anyNA(s[-c(2, 9), ]))
  ct <- contra
  ct$w <- 1
  ct$w[5] <- 0
  gf <- glmmr(use ~ age + urban + (1 | dist), ct, family = binomial, weights = w)
  sf <- simulate(gf, seed = 1)$sim_1
  expect_identical(levels(sf), c("N", "Y"))
  expect_identical(which(is.na(sf)), 5L)
  cbpp$w <- 1.5
  gw <- suppressWarnings(glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd),
                               cbpp, family = binomial, weights = w))
  odd <- which(cbpp$size %% 2 == 1)[1]
  expect_error(simulate(gw, seed = 1),
               paste0("cannot draw cbind\\(successes, failures\\) for a number of trials ",
                      "that is not whole \\(weights times trials: ", 1.5 * cbpp$size[odd], "\\)"))
})

test_that("a seed makes simulations reproducible and leaves the generator alone", {
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  set.seed(99)
  before <- .Random.seed
  a <- simulate(m, nsim = 3, seed = 5)
  expect_identical(.Random.seed, before)
  expect_identical(a, simulate(m, nsim = 3, seed = 5))
  expect_false(identical(a, simulate(m, nsim = 3, seed = 6)))
})

test_that("Wald intervals are the estimate plus or minus z times the standard error", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  ci <- confint(m, parm = c("(Intercept)", "Days"))
  se <- sqrt(diag(vcov(m)))
  expect_equal(ci[, 1], fixef(m) - qnorm(0.975) * se)
  expect_equal(ci[, 2], fixef(m) + qnorm(0.975) * se)
})

test_that("bootstrap intervals contain the estimates and agree with Wald for a well-determined effect", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  b <- confint(m, method = "boot", nsim = 300, seed = 21)
  w <- confint(m)
  expect_true(all(b[, 1] <= b[, 2]))
  est <- c(as.data.frame(VarCorr(m))$sdcor, fixef(m))
  expect_true(all(b[, 1] <= est & est <= b[, 2]))
  # the fixed effects: widths within 20% of the Wald widths
  for (p in c("(Intercept)", "Days")) {
    expect_lt(abs(diff(b[p, ]) / diff(w[p, ]) - 1), 0.2)
  }
})

test_that("update refits with a changed formula or argument", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  m0 <- update(m, . ~ . - Days)
  expect_identical(names(fixef(m0)), "(Intercept)")
  r <- update(m, REML = TRUE)
  expect_true(r$REML)
  expect_equal(-2 * as.numeric(logLik(r)), 1743.628, tolerance = 1e-6) # the seed's table (lme4)
})

test_that("update() of a fit made inside a function finds the function's data, as lme4's", {
  # `dd` exists only inside fit_in(): the call is evaluated where the
  # formula was made (stats::update() evaluated it here: "object 'dd' not
  # found"). fit_in() is defined outside this test's environment, so that
  # its frame does not see the test's variables either.
  fit_in <- function(use_lme4 = FALSE) {
    dd <- glmmr::sleepstudy[glmmr::sleepstudy$Days < 8, ]
    if (use_lme4) {
      lme4::lmer(Reaction ~ Days + (Days | Subject), data = dd, REML = FALSE)
    } else {
      glmmr(Reaction ~ Days + (Days | Subject), data = dd)
    }
  }
  environment(fit_in) <- new.env(parent = asNamespace("glmmr"))
  m <- fit_in()
  m0 <- update(m, . ~ . - (Days | Subject) + (1 | Subject))
  expect_identical(nobs(m0), 144L)
  m1 <- update(m, REML = TRUE)
  expect_true(m1$REML)
  # an object of the caller that the formula's environment does not see is
  # found where update() is called, as stats::update() finds it
  ctl <- glmmr_control(max_evals = 5000)
  m2 <- update(m, control = ctl)
  expect_identical(m2$control$max_evals, 5000)
  expect_identical(update(m, REML = TRUE, evaluate = FALSE)$REML, TRUE)
  skip_if_not_installed("lme4")
  l <- fit_in(use_lme4 = TRUE)
  l0 <- update(l, . ~ . - (Days | Subject) + (1 | Subject))
  expect_equal(as.numeric(logLik(m0)), as.numeric(logLik(l0)), tolerance = 1e-7)
  l1 <- update(l, REML = TRUE)
  expect_equal(as.numeric(logLik(m1)), as.numeric(logLik(l1)), tolerance = 1e-7)
})

test_that("profile intervals contain the estimate and agree with Wald for a well-determined effect", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  p <- confint(m, method = "profile")
  w <- confint(m)
  for (nm in c("(Intercept)", "Days")) {
    expect_true(p[nm, 1] < fixef(m)[[nm]] && fixef(m)[[nm]] < p[nm, 2])
    expect_lt(abs(diff(p[nm, ]) / diff(w[nm, ]) - 1), 0.1)
  }
  # at each end the refitted -2 log L is up by the chi-square quantile: the
  # definition, checked by an independent refit with the coefficient fixed
  # through an offset in the formula
  d <- sleepstudy
  d$off <- p["Days", 2] * d$Days
  held <- glmmr(Reaction ~ 1 + offset(off) + (Days | Subject), d)
  expect_equal(deviance(held) - deviance(m), qchisq(0.95, 1), tolerance = 1e-4)
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), lme4_cbpp(),
             family = binomial)
  pg <- confint(g, parm = "period2", method = "profile")
  wg <- confint(g, parm = "period2")
  expect_true(pg[1, 1] < fixef(g)[["period2"]] && fixef(g)[["period2"]] < pg[1, 2])
  expect_lt(abs(diff(pg[1, ]) / diff(wg[1, ]) - 1), 0.1)
})

test_that("profile intervals of the standard deviations, correlations and fixed effects match lme4's", {
  fx <- readRDS(test_path("fixtures", "profile-fixtures.rds")) # lme4's profile intervals
  for (f in fx) {
    if (isTRUE(f$REML)) next # REML fits: the next test
    m <- glmmr(as.formula(f$formula), f$data, family = f$family)
    ours <- confint(m, method = "profile")
    ref <- f$ci
    for (nm in rownames(ref)) {
      expect_equal(unname(ours[nm, ]), unname(ref[nm, ]), tolerance = 1e-3,
                   info = paste(f$formula, nm))
    }
  }
})

test_that("a REML fit's fixed effects are profiled on the ML criterion, as lme4 does", {
  # Issue 10 (6): profiling the REML criterion with a reduced X compares
  # criteria that are not comparable (sleepstudy (1 | Subject) failed in
  # uniroot). lme4 refits by ML and profiles its deviance (its intervals
  # are in fixtures/profile-fixtures.rds).
  fx <- readRDS(test_path("fixtures", "profile-fixtures.rds"))
  for (f in fx[vapply(fx, function(f) isTRUE(f$REML), TRUE)]) {
    m <- glmmr(as.formula(f$formula), f$data, REML = TRUE)
    expect_message(ours <- confint(m, method = "profile"), "ML criterion")
    for (nm in names(fixef(m))) {
      expect_equal(unname(ours[nm, ]), unname(f$ci[nm, ]), tolerance = 1e-5,
                   info = paste(f$formula, nm))
    }
    # the fixed effects are equal to the ML fit's intervals
    ml <- confint(update(m, REML = FALSE), parm = names(fixef(m)), method = "profile")
    expect_equal(ours[names(fixef(m)), ], ml, tolerance = 1e-6)
  }
  # one message per call; none when no fixed effect is asked for
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy, REML = TRUE)
  msgs <- character(0)
  withCallingHandlers(confint(m, parm = c("(Intercept)", "Days"), method = "profile"),
                      message = function(e) {
                        msgs <<- c(msgs, conditionMessage(e))
                        invokeRestart("muffleMessage")
                      })
  expect_length(msgs, 1)
  expect_silent(confint(m, parm = "sigma", method = "profile"))
})

test_that("a dispersion GLMM's random-effect sd has a profile interval around its estimate", {
  d <- glmm_fixtures$gamma_log$data
  m <- glmmr(y ~ x + (1 | g), d, family = Gamma(link = "log"), nAGQ = 25)
  ci <- confint(m, method = "profile")
  est <- as.data.frame(VarCorr(m))$sdcor[1]
  expect_true(0 < ci["sd_(Intercept)|g", 1] && ci["sd_(Intercept)|g", 1] < est)
  expect_true(est < ci["sd_(Intercept)|g", 2])
  # the sd the fixture's data were simulated with (0.4) lies inside
  expect_true(ci["sd_(Intercept)|g", 1] < 0.4 && 0.4 < ci["sd_(Intercept)|g", 2])
  # sigma = sqrt(dispersion): around its estimate and glmmTMB's (0.459)
  expect_true(ci["sigma", 1] < sigma(m) && sigma(m) < ci["sigma", 2])
  expect_true(ci["sigma", 1] < 0.459 && 0.459 < ci["sigma", 2])
})

test_that("a repeated term's parameters have their own names and profile intervals", {
  # Issue 10 (10): in (1 | Subject) + (1 | Subject) both sds were named
  # "sd_(Intercept)|Subject", and the second row of the profile intervals
  # was NA. Only the sum of the two variances is identified, so each sd's
  # profile is flat from 0 up to the single term's estimate and then follows
  # the single term's profile: the interval is 0 to the single (1 | Subject)
  # model's upper limit (lme4's, profile-fixtures.rds).
  m <- suppressWarnings(glmmr(Reaction ~ Days + (1 | Subject) + (1 | Subject), sleepstudy))
  expect_identical(names(m$theta), c("Subject.(Intercept)", "Subject.1.(Intercept)"))
  ci <- confint(m, method = "profile")
  expect_identical(rownames(ci), c("sd_(Intercept)|Subject", "sd_(Intercept)|Subject.1",
                                   "sigma", "(Intercept)", "Days"))
  ref <- readRDS(test_path("fixtures", "profile-fixtures.rds"))$sleep_intercept$ci
  for (nm in c("sd_(Intercept)|Subject", "sd_(Intercept)|Subject.1")) {
    expect_equal(ci[nm, 1], 0)
    expect_equal(ci[nm, 2], ref["sd_(Intercept)|Subject", 2], tolerance = 1e-4)
  }
  for (nm in c("sigma", "(Intercept)", "Days")) {
    expect_equal(unname(ci[nm, ]), unname(ref[nm, ]), tolerance = 1e-4)
  }
  # (x || g) keeps lme4's names, without a suffix
  m2 <- glmmr(Reaction ~ Days + (Days || Subject), sleepstudy)
  expect_identical(rownames(confint(m2))[1:2], c("sd_(Intercept)|Subject", "sd_Days|Subject"))
})
