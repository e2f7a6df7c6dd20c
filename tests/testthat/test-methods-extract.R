# Each method's meaning, stated as an identity that can fail.

sleep_fit <- function() glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
contra_fit <- function(nAGQ = 1) {
  glmmr(use ~ 1 + age + I(age^2) + urban + livch + (1 | dist), contra,
        family = binomial, nAGQ = nAGQ, contrasts = list(urban = "contr.helmert"))
}

test_that("coef is fixef plus ranef for every level", {
  m <- sleep_fit()
  cf <- coef(m)$Subject
  re <- ranef(m)$Subject
  expect_equal(rownames(cf), rownames(re))
  for (nm in names(fixef(m))) {
    expect_equal(cf[[nm]], unname(fixef(m)[nm] + re[[nm]]))
  }
})

test_that("predict with re.form = NA is X beta (+ offset), and fitted is predict on the response scale", {
  m <- sleep_fit()
  X <- model.matrix(m)
  expect_equal(unname(predict(m, re.form = NA)), unname(drop(X %*% fixef(m))))
  g <- contra_fit()
  expect_equal(fitted(g), predict(g, type = "response"))
  expect_equal(unname(predict(g, re.form = NA)),
               unname(drop(model.matrix(g) %*% fixef(g))))
  # the linear predictor is X beta + Z b with Z from model.matrix(type = "random")
  Z <- model.matrix(g, type = "random")
  b <- ranef(g)$dist[["(Intercept)"]]
  expect_equal(unname(predict(g)), unname(drop(model.matrix(g) %*% fixef(g) + Z %*% b)))
})

test_that("predict on the training rows through newdata equals fitted", {
  m <- sleep_fit()
  expect_equal(unname(predict(m, newdata = sleepstudy)), unname(fitted(m)))
  g <- contra_fit()
  expect_equal(unname(predict(g, newdata = contra, type = "response")), unname(fitted(g)))
  # re.form naming the model's only term is the full prediction
  expect_equal(predict(g, newdata = contra, re.form = ~ (1 | dist)),
               predict(g, newdata = contra))
})

test_that("new levels: an error naming them, or the population value when allowed", {
  g <- contra_fit()
  nd <- data.frame(age = c(0, 5), urban = c("Y", "N"), livch = c("0", "1"),
                   dist = c("not-a-district", "1"))
  expect_error(predict(g, nd), "not-a-district")
  p <- predict(g, nd, allow.new.levels = TRUE)
  expect_equal(p[[1]], predict(g, nd, re.form = NA)[[1]])
  expect_equal(p[[2]], predict(g, nd[2, ])[[1]])
  expect_error(predict(g, nd, re.form = ~ (1 | urban)), "does not have")
})

test_that("se.fit of the population prediction is sqrt(x' V x)", {
  g <- contra_fit()
  nd <- data.frame(age = 0, urban = c("Y", "N"), livch = "1", dist = "1")
  out <- predict(g, nd, re.form = NA, se.fit = TRUE)
  X <- model.matrix(~ age + I(age^2) + urban + livch,
                    transform(nd, urban = factor(urban, levels = c("N", "Y")),
                              livch = factor(livch, levels = levels(contra$livch))),
                    contrasts.arg = list(urban = "contr.helmert"))
  expect_equal(unname(out$se.fit), unname(sqrt(diag(X %*% vcov(g) %*% t(X)))))
  expect_error(predict(g, nd, se.fit = TRUE), "re.form = NA")
})

test_that("residuals of each type follow their definitions", {
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), lme4_cbpp(),
             family = binomial)
  y <- g$y
  mu <- fitted(g)
  w <- weights(g)
  expect_equal(unname(residuals(g, "response")), unname(y - mu))
  expect_equal(unname(residuals(g, "pearson")), unname((y - mu) * sqrt(w) / sqrt(mu * (1 - mu))))
  expect_equal(sum(residuals(g)^2), sum(binomial()$dev.resids(y, mu, w)))
  eta <- predict(g)
  expect_equal(unname(residuals(g, "working")),
               unname((y - mu) / binomial()$mu.eta(eta)))
  m <- sleep_fit()
  expect_equal(residuals(m), sleepstudy$Reaction - fitted(m), ignore_attr = TRUE)
})

test_that("deviance, df.residual, formula, family, model.frame and terms", {
  m <- sleep_fit()
  expect_equal(deviance(m), -2 * as.numeric(logLik(m)))
  expect_equal(df.residual(m), nobs(m) - attr(logLik(m), "df"))
  expect_equal(formula(m), Reaction ~ Days + (Days | Subject), ignore_attr = TRUE)
  expect_identical(family(m)$family, "gaussian")
  expect_equal(nrow(model.frame(m)), 180L)
  expect_identical(attr(terms(m), "term.labels"), "Days")
  expect_equal(dim(model.matrix(m, type = "random")), c(180L, 36L))
})

test_that("anova's Chisq is twice the log-likelihood difference", {
  m0 <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  m1 <- sleep_fit()
  a <- anova(m1, m0)
  expect_identical(rownames(a), c("m0", "m1"))
  expect_equal(a$Chisq[2], 2 * (as.numeric(logLik(m1)) - as.numeric(logLik(m0))))
  expect_equal(a$Df[2], 2)
  expect_equal(a[["Pr(>Chisq)"]][2], pchisq(a$Chisq[2], 2, lower.tail = FALSE))
  expect_equal(a$npar, c(4, 6))
  # fits to different data are refused
  m2 <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy[-1, ])
  expect_error(anova(m1, m2), "same data")
  # one model with ddf = "none": Wald tests of the fixed-effects terms (the
  # default, F tests with Satterthwaite's df, is in test-methods-ddf.R)
  w <- anova(m1, ddf = "none")
  expect_equal(w$Chisq, unname((fixef(m1)["Days"] / sqrt(vcov(m1)["Days", "Days"]))^2))
})

test_that("summary holds the coefficient table and the fixed-effects correlation", {
  g <- contra_fit()
  s <- summary(g)
  expect_equal(s$coefficients[, "Estimate"], fixef(g))
  expect_equal(s$coefficients[, "Std. Error"], sqrt(diag(vcov(g))))
  v <- vcov(g)
  expect_equal(s$correlation, v / outer(sqrt(diag(v)), sqrt(diag(v))))
  expect_output(print(s), "Correlation of Fixed Effects")
  expect_output(print(s), "Hessian in \\(theta, beta\\)")
  # an LMM's z tests (ddf = "none"; by default t-tests, see test-methods-ddf.R)
  expect_output(print(summary(sleep_fit(), ddf = "none")), "Cholesky factor")
})

test_that("conditional variances: postVar blocks are positive and shrink with more data per level", {
  m <- sleep_fit()
  re <- ranef(m, condVar = TRUE)
  pv <- attr(re$Subject, "postVar")
  expect_equal(dim(pv), c(2L, 2L, 18L))
  expect_true(all(pv[1, 1, ] > 0 & pv[2, 2, ] > 0))
  # each block is below the prior covariance (the data inform every level)
  prior <- VarCorr(m)$Subject
  for (j in 1:18) {
    expect_true(all(eigen(prior - pv[, , j], symmetric = TRUE)$values > 0))
  }
  # a scalar GLMM: 1 / (1/theta^2 + sum of Fisher weights) for each district
  g <- contra_fit()
  pvg <- attr(ranef(g, condVar = TRUE)$dist, "postVar")[1, 1, ]
  mu <- fitted(g)
  w <- tapply(mu * (1 - mu), contra$dist, sum)
  th2 <- as.data.frame(VarCorr(g))$vcov[1]
  expect_equal(unname(pvg), as.vector(1 / (1 / th2 + w[levels(contra$dist)])), tolerance = 1e-6)
})

test_that("the plots draw without error", {
  m <- sleep_fit()
  pdf(NULL)
  on.exit(dev.off())
  expect_invisible(plot(m))
  expect_invisible(plot(ranef(m, condVar = TRUE)))
})

test_that("ngrps and isSingular are lme4's, and work on glmmr fits", {
  # glmmr registers methods for lme4's generics (its own generics of these
  # names masked lme4's); more in test-methods-lme4.R
  skip_if_not_installed("lme4")
  m <- sleep_fit()
  expect_identical(lme4::ngrps(m), c(Subject = 18L))
  expect_false(lme4::isSingular(m))
  fx <- lmm_fixtures$dyestuff2_singular
  s <- glmmr(as.formula(fx$formula), fx$data)
  expect_true(lme4::isSingular(s))
  expect_identical(lme4::isSingular(s), fx$singular) # lme4's verdict in the fixture
})

test_that("new data reuse the fit's poly()/scale() bases and factor levels in random-effects terms", {
  # Issue 10 (3): these were recomputed from the new rows (poly: 29.4, 319.8,
  # 567.3 on the first three training rows, whose fitted values are 250.2,
  # 271.6, 292.7), a one-row newdata failed with scale(), and a factor given
  # as character or with one level present failed in contrasts().
  for (f in c("Reaction ~ Days + (poly(Days, 2) | Subject)",
              "Reaction ~ Days + (scale(Days) | Subject)")) {
    m <- glmmr(as.formula(f), sleepstudy)
    expect_equal(predict(m, newdata = sleepstudy), fitted(m), info = f)
    expect_equal(predict(m, newdata = sleepstudy[1:3, ]), fitted(m)[1:3], info = f)
    expect_equal(predict(m, newdata = sleepstudy[2, ]), fitted(m)[2], info = f)
    # simulate() on new data conditions on the same linear predictor
    s <- simulate(m, nsim = 2000, seed = 3, re.form = NULL, newdata = sleepstudy[1:3, ])
    expect_lt(max(abs(rowMeans(s) - fitted(m)[1:3])), 5 * sigma(m) / sqrt(2000))
  }
  d <- sleepstudy
  d$f <- factor(ifelse(d$Days > 4, "b", "a"))
  m <- glmmr(Reaction ~ Days + (f | Subject), d)
  nd <- d[1:3, ]
  expect_equal(predict(m, nd), fitted(m)[1:3])
  nd$f <- as.character(nd$f)
  expect_equal(predict(m, nd), fitted(m)[1:3])
  expect_equal(predict(m, nd[1, ]), fitted(m)[1])
  expect_equal(simulate(m, newdata = nd, seed = 1)$sim_1,
               simulate(m, newdata = d[1:3, ], seed = 1)$sim_1)
})

test_that("predictions on new data with poly()/scale()/factors in random-effects terms match lme4's", {
  skip_if_not_installed("lme4")
  nd <- data.frame(Days = c(0.5, 4.5, 9.5), Subject = c("308", "309", "372"),
                   f = c("a", "a", "b"))
  d <- sleepstudy
  d$f <- factor(ifelse(d$Days > 4, "b", "a"))
  for (f in c("Reaction ~ Days + (poly(Days, 2) | Subject)",
              "Reaction ~ Days + (scale(Days) | Subject)",
              "Reaction ~ Days + (f | Subject)")) {
    m <- glmmr(as.formula(f), d)
    l <- suppressWarnings(lme4::lmer(as.formula(f), d, REML = FALSE,
                                     control = lme4::lmerControl(optimizer = "bobyqa")))
    expect_equal(predict(m, nd), predict(l, nd), tolerance = 1e-4, info = f)
    expect_equal(predict(m, nd[2, ]), predict(l, nd[2, ]), tolerance = 1e-4, info = f)
  }
})

test_that("na.exclude pads fitted, residuals and predict with NA to the data's rows", {
  d <- sleepstudy
  d$Reaction[c(3, 50)] <- NA
  d$Days[7] <- NA
  m <- glmmr(Reaction ~ Days + (Days | Subject), d, na.action = na.exclude)
  o <- glmmr(Reaction ~ Days + (Days | Subject), d, na.action = na.omit)
  gone <- c(3L, 7L, 50L)
  for (v in list(fitted(m), residuals(m), residuals(m, "pearson"), predict(m),
                 predict(m, re.form = NA), predict(m, re.form = NA, se.fit = TRUE)$se.fit)) {
    expect_length(v, 180L)
    expect_identical(unname(which(is.na(v))), gone)
    expect_identical(names(v), rownames(d))
  }
  expect_equal(fitted(m)[-gone], fitted(o))
  expect_equal(residuals(m)[-gone], residuals(o))
  expect_equal(predict(m)[-gone], predict(o))
  # na.omit keeps the short vectors; summary still works
  expect_length(fitted(o), 177L)
  expect_s3_class(summary(m), "summary.glmmr")
  skip_if_not_installed("lme4")
  l <- lme4::lmer(Reaction ~ Days + (Days | Subject), d, na.action = na.exclude, REML = FALSE)
  expect_equal(fitted(m), fitted(l), tolerance = 1e-5)
  expect_equal(residuals(m), residuals(l), tolerance = 1e-4)
  expect_equal(predict(m), predict(l), tolerance = 1e-5)
  expect_equal(predict(m, re.form = NA), predict(l, re.form = NA), tolerance = 1e-5)
  cb <- lme4_cbpp()
  cb$incidence[2] <- NA
  g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), cb,
             family = binomial, na.action = na.exclude)
  gl <- lme4::glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb,
                    family = binomial, na.action = na.exclude)
  expect_equal(residuals(g), residuals(gl), tolerance = 1e-3)
  expect_equal(fitted(g), fitted(gl), tolerance = 1e-3) # lme4 stops earlier
})

test_that("anova of REML fits with different fixed effects refits them by ML, as lme4 does", {
  m0 <- glmmr(Reaction ~ 1 + (Days | Subject), sleepstudy, REML = TRUE)
  m1 <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE)
  expect_message(a <- anova(m0, m1), "refitting model\\(s\\) with ML \\(instead of REML\\)")
  # the table of the ML fits
  b <- anova(update(m0, REML = FALSE), update(m1, REML = FALSE))
  expect_equal(unname(as.matrix(a)), unname(as.matrix(b)), tolerance = 1e-6)
  # lme4 1.1-31: anova(l0, l1) of the REML lmer fits (bobyqa)
  expect_equal(a$AIC, c(1785.476, 1763.939), tolerance = 1e-6)
  expect_equal(a$BIC, c(1801.441, 1783.097), tolerance = 1e-6)
  expect_equal(a$logLik, c(-887.7379, -875.9697), tolerance = 1e-6)
  expect_equal(a$Chisq[2], 23.53654, tolerance = 1e-5)
  expect_equal(a[["Pr(>Chisq)"]][2], 1.22564e-06, tolerance = 1e-4)
  # a REML fit with an ML fit of the same fixed effects: refitted too
  expect_message(c2 <- anova(m1, update(m1, . ~ . - (Days | Subject) + (1 | Subject), REML = FALSE)),
                 "refitting")
  expect_equal(c2$logLik[2], as.numeric(logLik(update(m1, REML = FALSE))), tolerance = 1e-7)
  # REML fits with the same fixed effects: compared by the REML criterion, silently
  m2 <- update(m1, . ~ . - (Days | Subject) + (1 | Subject))
  expect_silent(r <- anova(m1, m2))
  expect_equal(r$logLik, c(as.numeric(logLik(m2)), as.numeric(logLik(m1))))
  skip_if_not_installed("lme4")
  l0 <- lme4::lmer(Reaction ~ 1 + (Days | Subject), sleepstudy,
                   control = lme4::lmerControl(optimizer = "bobyqa"))
  l1 <- lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy,
                   control = lme4::lmerControl(optimizer = "bobyqa"))
  la <- suppressMessages(anova(l0, l1))
  for (col in c("npar", "AIC", "BIC", "logLik", "Chisq", "Df")) {
    expect_equal(a[[col]], la[[col]], tolerance = 1e-6, info = col)
  }
})
